// Ends the sign-in dialog: hands the token (or the failure in words) to the
// task pane through Office's dialog API, or the harness's stand-in for it.
(function () {
  "use strict";
  var msg = document.body.getAttribute("data-message");
  function send(office) {
    office.context.ui.messageParent(msg);
    document.getElementById("done").textContent = "You can close this window.";
  }
  if (window.Office && window.Office.onReady) {
    window.Office.onReady(function () { send(window.Office); });
  } else if (window.parent !== window && window.parent.HarnessOffice) {
    send(window.parent.HarnessOffice);
  } else {
    document.getElementById("done").textContent = "Open this page from the crmsync add-in.";
  }
})();
