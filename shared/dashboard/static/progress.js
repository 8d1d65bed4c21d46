// crmsync dashboard: the overview's progress bar follows a running sync.
// The page already shows the progress as of loading; this script asks the
// progress API again every two seconds until the sync is done, and shows the
// API's own words. Without it the page is right as of loading.
"use strict";
(function () {
  var box = document.getElementById("live-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-url");
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var heading = document.getElementById("prog-h");
  function show(p) {
    if (p.planned > 0 || p.done) { bar.value = p.percent; } else { bar.removeAttribute("value"); }
    bar.textContent = p.percent + "%";
    text.textContent = p.text;
    box.setAttribute("data-written", String(p.written));
  }
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("progress: status " + r.status); }
        return r.json();
      })
      .then(function (p) {
        show(p);
        if (p.running) { setTimeout(tick, 2000); return; }
        heading.textContent = p.done ? "Sync finished" : "Sync stopped";
        box.setAttribute("data-state", p.done ? "done" : "stopped");
      })
      .catch(function () { setTimeout(tick, 10000); });
  }
  box.setAttribute("data-state", "running");
  setTimeout(tick, 2000);
})();
