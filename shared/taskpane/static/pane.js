// crmsync's Outlook task pane. It reads the open item through Office.js (or
// the harness's stand-in) and talks to crmsync's add-in API with a bearer
// token. Requirement sets per path (checked at run time):
//   read mode: Mailbox 1.1 (item properties, body.getAsync);
//   attachments to a record: Mailbox 1.8 (getAttachmentContentAsync);
//   Track opens: Mailbox 1.3 (saveAsync for the draft's id) + 1.1 (body.getTypeAsync,
//     body.prependAsync, HTML bodies only) — the pixel is inserted where the user sees
//     it; prependOnSendAsync (1.13) would need the AppendOnSend permission, not asked for;
//   Share when sent: Mailbox 1.8 (categories.addAsync, internetHeaders.setAsync);
//   sign-in dialog: DialogApi 1.1;
//   a draft's people as recipients are added: Mailbox 1.7 (Item.addHandlerAsync,
//     RecipientsChanged); below 1.7 the pane offers "Look up recipients".
(function () {
  "use strict";
  var O = window.Office || (window.parent !== window && window.parent.HarnessOffice) || null;
  var API = "/api/addin", PIXEL = "/api/pixel";
  var token = null, tokenExpires = 0, stack = [], item = null, info = null, found = null;
  // The token lives in this pane's session storage (as MSAL keeps its own),
  // so opening the pane on the next item needs no new sign-in.
  var TOKEN_KEY = "crmsync.taskpane.token";
  function keepToken() {
    try { sessionStorage.setItem(TOKEN_KEY, JSON.stringify({ token: token, expires: tokenExpires })); } catch (e) { /* storage off: memory only */ }
  }
  try {
    var kept = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
    if (kept && kept.token && kept.expires > Date.now()) { token = kept.token; tokenExpires = kept.expires; }
  } catch (e) { /* nothing kept */ }
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") { e.textContent = attrs[k]; } else if (k === "on") { e.addEventListener("click", attrs[k]); } else { e.setAttribute(k, attrs[k]); }
    }
    (kids || []).forEach(function (c) { if (c) { e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); } });
    return e;
  }
  function status(msg) { $("status").textContent = msg || ""; }
  function problem(msg, action) {
    var p = $("problem");
    p.textContent = "";
    if (!msg) { p.hidden = true; return; }
    p.appendChild(el("span", { text: msg }));
    if (action) { p.appendChild(document.createTextNode(" ")); p.appendChild(action); }
    p.hidden = false;
  }
  function supported(set, v) { return !!(O && O.context.requirements && O.context.requirements.isSetSupported(set, v)); }
  function async(fn) { return new Promise(function (res, rej) { fn(function (r) { r && r.status === "failed" ? rej(r.error || new Error("Outlook refused")) : res(r && r.value); }); }); }

  // ---- sign-in ----
  // Nested app authentication (requirement set NestedAppAuth 1.1: new
  // Outlook, Outlook on the web, current Windows, Mac and mobile builds with
  // Microsoft 365): MSAL's nestable public client, served by crmsync itself,
  // gets the API token through Outlook's own sign-in. Elsewhere (Exchange on
  // premises, older clients) the pane falls back to the sign-in dialog.
  var naaClient = null;
  function loadScript(src) {
    return new Promise(function (res, rej) {
      var s = document.createElement("script");
      s.src = src; s.onload = res; s.onerror = function () { rej(new Error("script")); };
      document.head.appendChild(s);
    });
  }
  // naa gets a token through Outlook's sign-in. fresh asks past MSAL's
  // cache: after the API refused a token, the cache would hand the same
  // token back.
  function naa(interactive, fresh) {
    var clientId = document.body.getAttribute("data-client-id"), scope = document.body.getAttribute("data-scope");
    if (!clientId || !supported("NestedAppAuth", "1.1")) { return Promise.reject(new Error("no naa")); }
    // The simulated Outlook's stand-in for Outlook's NAA bridge.
    if (!window.nestedAppAuthBridge && window.parent !== window && window.parent.HarnessNAABridge) { window.nestedAppAuthBridge = window.parent.HarnessNAABridge; }
    var ready = naaClient ? Promise.resolve(naaClient) : loadScript("/api/taskpane/static/msal-browser.min.js").then(function () {
      return window.msal.createNestablePublicClientApplication({ auth: { clientId: clientId, authority: document.body.getAttribute("data-authority") || "https://login.microsoftonline.com/common" } });
    }).then(function (pca) { naaClient = pca; return pca; });
    return ready.then(function (pca) {
      var req = { scopes: [scope] };
      return pca.acquireTokenSilent(fresh ? { scopes: [scope], forceRefresh: true } : req).catch(function (e) {
        if (!interactive) { throw e; }
        return pca.acquireTokenPopup(req);
      });
    }).then(function (r) {
      token = r.accessToken;
      tokenExpires = (r.expiresOn ? new Date(r.expiresOn).getTime() : Date.now() + 3600e3) - 60000;
      keepToken();
    });
  }
  function signIn() {
    return new Promise(function (resolve, reject) {
      if (!supported("DialogApi", "1.1")) { reject(new Error("dialog")); return; }
      var url = location.origin + "/api/taskpane/signin" + (document.body.getAttribute("data-harness") === "true" ? "?host=harness" : "");
      O.context.ui.displayDialogAsync(url, { height: 60, width: 30, displayInIframe: false }, function (r) {
        if (r.status === "failed") {
          // 12009: the user declined the window (Outlook on the web);
          // 12011: the browser blocks pop-ups; 12007: one is open already.
          var code = r.error && r.error.code;
          if (code === 12009 || code === 12011) { reject(new Error("Outlook or the browser blocked the sign-in window. Allow pop-ups for Outlook, then press Sign in again.")); return; }
          if (code === 12007) { reject(new Error("A sign-in window is open already. Finish or close it, then press Sign in again.")); return; }
          reject(new Error("dialog"));
          return;
        }
        var d = r.value;
        // Events from the open window: 12006 the user closed it; 12002 and
        // 12003 it could not show the sign-in page (Office's "Handle errors
        // and events in the Office dialog box").
        d.addEventHandler(O.EventType.DialogEventReceived, function (arg) {
          var code = arg && arg.error;
          reject(new Error(code === 12006 ? "The sign-in window was closed before you signed in." :
            "The sign-in window could not show crmsync's sign-in page (Outlook's code " + code + ")."));
        });
        d.addEventHandler(O.EventType.DialogMessageReceived, function (arg) {
          d.close();
          var m = {};
          try { m = JSON.parse(arg.message); } catch (e) { m = { message: "Sign-in answered nonsense. Try again." }; }
          if (!m.token) { reject(new Error(m.message || "Sign-in did not finish.")); return; }
          token = m.token; tokenExpires = Date.now() + (m.expiresIn || 3600) * 1000 - 60000;
          keepToken();
          resolve();
        });
      });
    });
  }
  function signInButton(then, why) {
    var b = el("button", { type: "button", id: "sign-in", text: "Sign in" });
    b.addEventListener("click", function () {
      b.disabled = true;
      naa(true).catch(function (e) {
        if (e && e.message !== "no naa") { problem("Outlook's sign-in did not work; trying crmsync's sign-in window."); }
        return signIn();
      }).then(function () { problem(""); then(); }, function (e) {
        b.disabled = false;
        var words = e.message === "dialog" ? "This Outlook cannot open the sign-in window. Use Outlook on the web or a current Outlook." : e.message;
        // Signing in failed: say so, with the way forward; a form the
        // user was filling stays as it is.
        if (e.message !== "dialog" && !/press sign in/i.test(words)) { words += " Press Sign in to try again."; }
        if (typing()) { words += " What you typed is kept."; }
        problem(words, b);
      });
    });
    problem(why || "Sign in to crmsync to see the CRM records of this item's people.", b);
  }

  // ---- API ----
  // crm is what the API says of the user's CRM (GET /crm): its name for
  // the pane's words, whether it has a feed to post to, its words for
  // objects. Until it answers (or when it cannot), the pane says "the CRM".
  var crm = { name: "the CRM", feed: true, relate: true, fileOn: [], labels: {}, category: "Salesforce" }, crmAsked = null;
  function crmInfo() {
    if (!crmAsked) {
      crmAsked = call("GET", API + "/crm").then(function (c) { crm = { name: c.name, feed: !!c.feed, relate: !!c.relate, fileOn: c.fileOn || [], labels: c.labels || {}, category: c.category || "Salesforce" }; return crm; },
        function (e) { crmAsked = null; if (e && e.auth) { throw e; } return crm; });
    }
    return crmAsked;
  }
  function label(object) { return crm.labels[object] || object; }
  function upper(t) { return t.charAt(0).toUpperCase() + t.slice(1); }
  function words(code) {
    var n = crm.name;
    return {
      reconnect: upper(n) + " needs you to sign in again: open the crmsync dashboard and press Reconnect.",
      forbidden: "Your " + n + " permissions do not allow this. Ask your " + n + " admin for access.",
      forbidden_related: "A record this one points to is not shared with you in " + n + ". Choose another, or ask its owner or your " + n + " admin to share it with you.",
      not_found: "That record does not exist or you cannot see it in " + n + ".",
      throttled: upper(n) + " is busy right now. Wait a minute and try again.",
      quota: "Your organisation has used up today's " + n + " API allowance. Try again tomorrow, or ask your admin to raise the limit.",
      crm_unavailable: upper(n) + " did not answer. Try again in a minute.",
      in_progress: "This e-mail is being shared already.",
      not_configured: "The add-in is not set up on this crmsync yet. Ask your crmsync admin."
    }[code];
  }
  function call(method, path, body, raw) {
    if (!token || Date.now() > tokenExpires) {
      token = null;
      return Promise.reject({ auth: true });
    }
    var opts = { method: method, headers: { Authorization: "Bearer " + token } };
    if (raw) { opts.body = raw; } else if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (resp) {
      return resp.text().then(function (t) {
        var data = null;
        try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
        if (resp.status === 401) { token = null; try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* none */ } throw { auth: true }; }
        renewals = 0;
        if (!resp.ok) { throw { status: resp.status, code: data && data.error, message: data && data.message, data: data }; }
        return data;
      });
    }, function () { throw { network: true }; });
  }
  // fail shows a failure in plain words with the way forward; retry runs
  // again after signing in (what the user typed stays in the form).
  // typing says a form is open: after a failure it stays as the user left it.
  function typing() { return !!document.querySelector("#view form"); }
  // renewals counts silent renewals since the API last said yes: one is
  // tried after a refusal, a second refusal asks the user (no loop).
  var renewals = 0;
  function fail(e, retry) {
    status("");
    if (e && e.auth) {
      // A silent NAA renewal first; the button (NAA interactively, else the
      // dialog) when that fails. What the user typed stays in the form.
      // A retry that fails again is explained like the first failure.
      var again = function () {
        var p = retry ? retry() : null;
        if (p && typeof p.catch === "function") { p.catch(function (e2) { fail(e2); }); }
      };
      var ask = function () {
        signInButton(again, "Your crmsync sign-in has expired. Sign in again" +
          (!typing() ? "." : retry ? "; what you typed is kept and saved once you are signed in." : "; what you typed is kept."));
      };
      if (renewals++ > 0) { ask(); return; }
      naa(false, true).then(again, ask);
      return;
    }
    if (e && e.network) { problem("crmsync cannot be reached. Check your connection and try again."); return; }
    if (e && e.code === "validation" || (e && e.data && e.data.fields)) {
      problem(upper(crm.name) + " refused the record: " + (e.message || "check the highlighted fields") + ".");
      return;
    }
    problem((e && e.code && words(e.code)) || (e && e.message ? e.message.charAt(0).toUpperCase() + e.message.slice(1) + "." : "Something went wrong. Try again."));
  }

  // ---- layout: what the pane shows (the user's own, else the organisation's) ----
  var layoutAnswer = null;
  function getLayout() {
    if (layoutAnswer) { return Promise.resolve(layoutAnswer); }
    return call("GET", API + "/layout").then(function (a) { layoutAnswer = a; return a; });
  }
  function layoutFields(object) {
    var l = layoutAnswer && layoutAnswer.layout;
    return (l && l.fields && l.fields[object] && l.fields[object].length) ? l.fields[object] : null;
  }

  // ---- the open item ----
  function addr(p) { return p && (p.emailAddress || p.address || "").toLowerCase(); }
  function composing() { return item && item.subject && typeof item.subject.getAsync === "function"; }
  function readInfo() {
    var me = addr(O.context.mailbox.userProfile);
    if (composing()) {
      return Promise.all([async(function (cb) { item.to.getAsync(cb); }), async(function (cb) { item.cc.getAsync(cb); }),
        async(function (cb) { item.subject.getAsync(cb); })]).then(function (v) {
        // How many recipients the pane last read (tests wait for it).
        document.body.setAttribute("data-recipients", String(v[0].length + v[1].length));
        return { compose: true, me: me, subject: v[2], people: v[0].concat(v[1]).map(addr), recipients: v[0].length + v[1].length };
      });
    }
    var people = [];
    if (item.itemType === "appointment") {
      people = [item.organizer].concat(item.requiredAttendees || [], item.optionalAttendees || []);
    } else {
      people = [item.from].concat(item.to || [], item.cc || []);
    }
    return Promise.resolve({ compose: false, me: me, subject: item.subject, people: people.map(addr), from: addr(item.from || item.organizer),
      to: (item.to || item.requiredAttendees || []).map(addr), cc: (item.cc || item.optionalAttendees || []).map(addr) });
  }
  // ---- a draft's recipients ----
  // watchingRecipients: Outlook tells the pane when a draft's recipients
  // change (Office.EventType.RecipientsChanged, "olkRecipientsChanged",
  // Item.addHandlerAsync: Mailbox 1.7). Below 1.7 there is no such event;
  // the pane offers "Look up recipients" instead.
  var watchingRecipients = false, recheckTimer = null;
  function watchRecipients() {
    watchingRecipients = false;
    if (!composing() || !supported("Mailbox", "1.7") || !item.addHandlerAsync || !O.EventType.RecipientsChanged) { return; }
    watchingRecipients = true;
    item.addHandlerAsync(O.EventType.RecipientsChanged, function () {
      // Typing addresses fires one event each: look up once they settle.
      clearTimeout(recheckTimer);
      recheckTimer = setTimeout(function () {
        // A record or form the user went to stays: the people are read
        // now and show when they are back.
        if (stack.length > 1 || typing()) { readInfo().then(function (i) { info = i; }); return; }
        recheck();
      }, 300);
    }, function (r) { if (r && r.status === "failed") { watchingRecipients = false; } });
  }
  // recheck reads the item's people again and shows them afresh.
  function recheck() {
    readInfo().then(function (i) {
      info = i;
      if (!token) { return; }
      stack = []; show(home);
    }, function () { problem("Outlook did not give this item's recipients. Try again."); });
  }
  function others(list, me) {
    var seen = {}, out = [];
    list.forEach(function (a) { if (a && a !== me && !seen[a]) { seen[a] = true; out.push(a); } });
    return out;
  }

  // ---- views ----
  // Focus follows the user: a view opened from another gets the focus on
  // its heading (keyboard and screen-reader users start there, not at the
  // top of the page), and Back returns it to the control that opened the
  // view. origins[i] remembers that control for the view at stack depth i;
  // views render after their data arrives, so the focus waits for them.
  var origins = [], pendingFocus = null;
  function focusKey(e) {
    var v = $("view");
    if (!e || !v.contains(e)) { return null; }
    var sel = e.id ? "#" + e.id : e.getAttribute("data-record") ? '[data-record="' + e.getAttribute("data-record") + '"]' : null;
    if (!sel) { return null; }
    return { sel: sel, index: Array.prototype.indexOf.call(v.querySelectorAll(sel), e) };
  }
  function settleFocus() {
    if (!pendingFocus) { return; }
    var v = $("view"), a = document.activeElement;
    // The user went on meanwhile (typing a search, say): leave them there.
    if (a && a !== document.body && !v.contains(a) && a.id !== "back" && a.id !== "search-go") { pendingFocus = null; return; }
    if (pendingFocus.sel) {
      var target = v.querySelectorAll(pendingFocus.sel)[pendingFocus.index];
      if (target) { target.focus(); pendingFocus = null; return; }
    }
    var h = v.querySelector("h2");
    if (h) { h.setAttribute("tabindex", "-1"); h.focus(); pendingFocus = null; }
  }
  function show(render, push) {
    if (push !== false) {
      // The first view of an item takes no focus: the pane just opened.
      if (stack.length) { origins[stack.length - 1] = focusKey(document.activeElement); pendingFocus = { heading: true }; } else { pendingFocus = null; }
      stack.push(render);
    }
    $("back").hidden = stack.length < 2;
    problem("");
    render();
  }
  function back() {
    if (stack.length > 1) {
      stack.pop();
      var r = stack[stack.length - 1];
      pendingFocus = origins[stack.length - 1] || { heading: true };
      $("back").hidden = stack.length < 2;
      problem("");
      r();
    }
  }
  function view(nodes) {
    var v = $("view");
    v.textContent = "";
    nodes.forEach(function (n) { if (n) { v.appendChild(typeof n === "string" ? document.createTextNode(n) : n); } });
    settleFocus();
  }
  function recordLink(object, id, name) {
    return el("button", { type: "button", "class": "link", "data-record": id, text: name || id, on: function () { openRecord(object, id); } });
  }

  function home() {
    view([el("p", { "class": "muted", text: "Looking up this item's people…" })]);
    var list = others(info.people, info.me);
    if (!list.length) {
      // Nothing to look up, so nothing is asked of the CRM (GET /crm asks
      // crmsync only, for the CRM's name). A draft gets its people as they
      // are added: Outlook tells the pane (RecipientsChanged, Mailbox 1.7);
      // older Outlooks cannot, so the pane offers to look again.
      var nobody = function () {
        var nodes0 = [el("h2", { text: info.subject || "(no subject)" }), el("p", { id: "no-people", text: info.compose ?
          "No recipients yet. Add people to To or Cc" + (watchingRecipients ? " and their " + crm.name + " records show here." : ", then press Look up recipients.") :
          "Nobody but you is on this item, so there is nobody to look up." })];
        if (info.compose && !watchingRecipients) { nodes0.push(el("button", { type: "button", id: "recheck", text: "Look up recipients", on: recheck })); }
        nodes0.push(info.compose ? composeTools() : itemTools());
        view(nodes0);
      };
      crmInfo().then(nobody, nobody);
      return;
    }
    var shown = list.slice(0, 500);
    var qs = shown.map(function (a) { return "email=" + encodeURIComponent(a); }).join("&");
    var t0 = performance.now();
    Promise.all([call("GET", API + "/people?" + qs), crmInfo()]).then(function (v) {
      var ans = v[0];
      var nodes = [el("h2", { text: info.subject || "(no subject)" })];
      if (list.length > shown.length) { nodes.push(el("p", { "class": "muted", text: "Showing the first 500 of " + list.length + " people." })); }
      var ul = el("ul", { id: "people" });
      shown.forEach(function (a) {
        var recs = ans.people[a] || [];
        if (!recs.length) { ul.appendChild(el("li", { "class": "card unknown", text: a + " — not in " + crm.name })); return; }
        recs.forEach(function (p) {
          var card = el("li", { "class": "card person" }, [recordLink(p.object, p.id, p.name), el("span", { "class": "muted", text: " " + p.object + (p.title ? ", " + p.title : "") })]);
          var acc = p.accountId && ans.accounts[p.accountId];
          if (acc) {
            card.appendChild(el("div", {}, ["Account: ", recordLink("Account", acc.id, acc.name)]));
            if (acc.opportunities && acc.opportunities.length) {
              card.appendChild(el("h3", { text: "Open opportunities" }));
              card.appendChild(el("ul", {}, acc.opportunities.map(function (o) { return el("li", {}, [recordLink("Opportunity", o.id, o.name), " " + [o.status, o.amount].filter(Boolean).join(", ")]); })));
            }
            if (acc.cases && acc.cases.length) {
              card.appendChild(el("h3", { text: "Open " + label("Case").toLowerCase() + "s" }));
              card.appendChild(el("ul", {}, acc.cases.map(function (c) { return el("li", {}, [recordLink("Case", c.id, c.name), " " + (c.status || "")]); })));
            }
          } else if (p.company) {
            card.appendChild(el("div", { "class": "muted", text: p.company }));
          }
          ul.appendChild(card);
        });
      });
      nodes.push(ul);
      if (info.compose && !watchingRecipients) { nodes.push(el("button", { type: "button", id: "recheck", text: "Look up recipients again", on: recheck })); }
      found = ans;
      nodes.push(info.compose ? composeTools() : itemTools());
      view(nodes);
      // For the benchmark: when the people were shown, and how long their
      // lookup took, in ms since this page started loading.
      document.body.setAttribute("data-people-shown", String(performance.now()));
      document.body.setAttribute("data-people-ms", String(performance.now() - t0));
    }, function (e) { fail(e, home); });
  }

  // itemTools: share now, file attachments, create (read mode).
  function itemTools() {
    var box = el("section", { "class": "card", id: "share" });
    var isMail = item.itemType !== "appointment";
    box.appendChild(el("h2", { text: isMail ? "Share this e-mail" : "Share this meeting" }));
    var atts = (item.attachments || []).filter(function (a) { return !a.isInline && a.attachmentType === "file"; });
    var attBox = null;
    if (atts.length) {
      attBox = el("input", { type: "checkbox", id: "share-attachments", checked: "checked" });
      box.appendChild(el("label", {}, [attBox, " with its " + atts.length + " attachment" + (atts.length > 1 ? "s" : "")]));
    }
    // Related to: the Task is linked to the people found (the API does that)
    // and, when chosen, to one account, opportunity or case of theirs.
    var related = null;
    if (isMail && found && crm.relate) {
      var opts = [el("option", { value: "", text: "Nothing else" })];
      Object.keys(found.accounts || {}).forEach(function (k) {
        var a = found.accounts[k];
        opts.push(el("option", { value: a.id, text: "Account: " + a.name }));
        (a.opportunities || []).forEach(function (o) { opts.push(el("option", { value: o.id, text: "Opportunity: " + o.name })); });
        (a.cases || []).forEach(function (c) { opts.push(el("option", { value: c.id, text: label("Case") + ": " + c.name })); });
      });
      if (opts.length > 1) {
        related = el("select", { id: "share-related" }, opts);
        box.appendChild(el("label", { "for": "share-related", text: "Related to" }));
        box.appendChild(related);
      }
    }
    var btn = el("button", { type: "button", id: "share-now", text: "Share now" });
    btn.addEventListener("click", function () { if (isMail) { shareNow(btn, attBox && attBox.checked ? atts : [], related && related.value); } else { shareMeeting(btn); } });
    box.appendChild(btn);
    var tools = el("div", { "class": "actions" }, [el("button", { type: "button", id: "create", text: "Create a record", on: function () { show(createChooser); } })]);
    var opens = el("section", { id: "opens", hidden: "hidden" });
    if (isMail) { showOpens(opens); }
    return el("div", {}, [opens, box, tools]);
  }

  // showOpens fills the section with a tracked e-mail's opens: the id
  // "Track opens" put in the x-crmsync-track header (reading headers:
  // Mailbox 1.8). An untracked e-mail shows nothing.
  function showOpens(box) {
    if (!supported("Mailbox", "1.8") || !item.getAllInternetHeadersAsync) { return; }
    async(function (cb) { item.getAllInternetHeadersAsync(cb); }).then(function (headers) {
      var m = /^x-crmsync-track:[ \t]*(\S+)/im.exec(String(headers || ""));
      if (!m) { return null; }
      return call("GET", PIXEL + "/stats?message=" + encodeURIComponent(m[1]));
    }).then(function (st) {
      if (!st) { return; }
      var words = st.opens === 0 ? "Not opened yet." :
        "Opened " + st.opens + (st.opens === 1 ? " time" : " times") + " (" + st.humanOpens + " by people, " + st.proxyOpens + " through mail proxies, " + st.machineOpens + " by machines)" +
        (st.lastOpen ? "; last " + new Date(st.lastOpen).toLocaleString() : "") + ".";
      box.appendChild(el("h2", { text: "Opens" }));
      box.appendChild(el("p", { id: "opens-words", text: words }));
      box.removeAttribute("hidden");
      box.className = "card";
    }, function () { /* an untracked or unknown message: nothing to show */ });
  }

  function messageId() {
    var id = item.itemId || "";
    if (O.context.mailbox.convertToRestId && id) { id = O.context.mailbox.convertToRestId(id, O.MailboxEnums.RestVersion.v2_0); }
    return id;
  }

  function shareNow(btn, atts, what) {
    if (btn.disabled) { return; } // pressing twice shares once
    btn.disabled = true;
    status("Sharing…");
    async(function (cb) { item.body.getAsync(O.CoercionType.Text, cb); }).then(function (body) {
      var fromMe = info.from === info.me;
      var req = { messageId: messageId(), subject: info.subject || "", from: info.from || "", to: info.to, cc: info.cc,
        sent: (item.dateTimeCreated || item.start || new Date()).toISOString(), body: String(body || "").slice(0, 32000),
        direction: fromMe ? "Outbound" : "Inbound", userAddress: info.me,
        attachments: atts.map(function (a) { return { name: a.name, size: a.size }; }) };
      var go = function () {
        return call("POST", API + "/share", req).then(function (ans) {
          // The chosen record becomes the Task's What (Task.WhatId is
          // editable: the API's record update does it).
          var relate = what && !ans.alreadyShared ? call("PATCH", API + "/records/Task/" + encodeURIComponent(ans.taskId), { WhatId: what }) : Promise.resolve();
          return relate.then(function () { return uploadAll(atts, ans); }).then(function () {
            status(ans.alreadyShared ? "Already shared: this e-mail is in " + crm.name + " once." : "Shared with " + ans.people + " " + crm.name + " " + (ans.people === 1 ? "person" : "people") + ".");
            btn.textContent = "Shared";
          });
        });
      };
      return go().catch(function (e) { btn.disabled = false; fail(e, function () { btn.disabled = true; go().catch(function (e2) { btn.disabled = false; fail(e2); }); }); });
    }, function () { btn.disabled = false; problem("Outlook did not give the e-mail's text. Try again."); });
  }
  // A meeting is shared the way crmsync shares any mailbox item: it gets the
  // CRM's share category (GET /crm: "Salesforce"; a C4C deployment's "SAP
  // C4C"), and the next sync creates the Event (with its attendees as
  // relations) and keeps it in sync (categories in read mode: Mailbox 1.8).
  function shareMeeting(btn) {
    if (btn.disabled) { return; }
    if (!supported("Mailbox", "1.8") || !item.categories) { problem("This Outlook cannot mark the meeting (it needs Mailbox 1.8). Give it the " + crm.category + " category in Outlook instead."); return; }
    btn.disabled = true;
    async(function (cb) { item.categories.addAsync([crm.category], cb); }).then(function () {
      status("This meeting will be in " + crm.name + " after the next sync, within minutes, and stays in sync.");
      btn.textContent = "Shared";
    }, function () { btn.disabled = false; problem("Outlook did not let crmsync mark this meeting. Try again."); });
  }
  function attachmentBlob(a) {
    if (!supported("Mailbox", "1.8")) { return Promise.reject({ message: "This Outlook cannot hand attachments to add-ins (it needs Mailbox 1.8). Use Outlook on the web" }); }
    return async(function (cb) { item.getAttachmentContentAsync(a.id, cb); }).then(function (c) {
      if (c.format !== "base64") { throw { message: a.name + " is not a file " + crm.name + " can keep" }; }
      var bin = atob(c.content), bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
      return new Blob([bytes], { type: a.contentType || "application/octet-stream" });
    });
  }
  function upload(path, a) {
    return attachmentBlob(a).then(function (blob) {
      var fd = new FormData();
      fd.append("file", blob, a.name);
      return call("POST", path, undefined, fd);
    });
  }
  function uploadAll(atts, ans) {
    var byName = {};
    (ans.uploads || []).forEach(function (u) { byName[u.name] = u.path; });
    if (ans.alreadyShared) { return Promise.resolve(); }
    return atts.reduce(function (p, a) {
      return p.then(function () { return byName[a.name] ? upload(byName[a.name], a) : null; });
    }, Promise.resolve());
  }

  // ---- compose ----
  function composeTools() {
    var box = el("section", { "class": "card", id: "compose" }, [el("h2", { text: "While you write" })]);
    var track = el("button", { type: "button", id: "track-opens", text: "Track opens" });
    track.addEventListener("click", function () { trackOpens(track); });
    var later = el("button", { type: "button", id: "share-when-sent", text: "Share when sent" });
    later.addEventListener("click", function () { shareWhenSent(later); });
    box.appendChild(el("div", { "class": "actions" }, [track, later]));
    box.appendChild(el("p", { "class": "muted", text: "Share when sent files the e-mail in " + crm.name + ", linked to the people above, once it is sent." }));
    return box;
  }
  function trackOpens(btn) {
    if (btn.disabled) { return; }
    if (!supported("Mailbox", "1.3")) { problem("This Outlook cannot insert the tracking image (it needs Mailbox 1.3)."); return; }
    btn.disabled = true;
    // The message is known by an id crmsync makes, carried in an internet
    // header the sent message keeps (Mailbox 1.8), so the pane finds its
    // opens when the sent e-mail is opened; without 1.8 the draft's id
    // (saveAsync, Mailbox 1.3) is used, and the opens show in the dashboard.
    var withHeader = supported("Mailbox", "1.8") && item.internetHeaders && window.crypto && crypto.randomUUID;
    async(function (cb) { item.body.getTypeAsync(cb); }).then(function (type) {
      if (type !== "html") { throw { message: "This e-mail is plain text; open tracking needs an HTML e-mail (Format text → HTML)" }; }
      if (withHeader) {
        var id = "crmsync-" + crypto.randomUUID();
        return async(function (cb) { item.internetHeaders.setAsync({ "x-crmsync-track": id }, cb); }).then(function () { return id; });
      }
      return async(function (cb) { item.saveAsync(cb); });
    }).then(function (id) {
      return call("POST", PIXEL + "/tokens", { messageId: id, recipients: info.recipients || 1 });
    }).then(function (ans) {
      var img = '<img src="' + ans.url.replace(/"/g, "&quot;") + '" width="1" height="1" alt="" style="display:none">';
      return async(function (cb) { item.body.prependAsync(img, { coercionType: O.CoercionType.Html }, cb); });
    }).then(function () {
      status("Opens will be tracked. Open the sent e-mail with this pane to see them.");
      btn.textContent = "Tracking opens";
    }).catch(function (e) { btn.disabled = false; fail(e, function () { trackOpens(btn); }); });
  }
  function shareWhenSent(btn) {
    if (btn.disabled) { return; }
    if (!supported("Mailbox", "1.8")) { problem("This Outlook cannot mark the e-mail (it needs Mailbox 1.8). Share the sent e-mail from Sent Items instead."); return; }
    btn.disabled = true;
    async(function (cb) { item.categories.addAsync([crm.category], cb); }).then(function () {
      return async(function (cb) { item.internetHeaders.setAsync({ "x-crmsync-share": "1" }, cb); });
    }).then(function () {
      status("This e-mail will be shared into " + crm.name + " once it is sent.");
      btn.textContent = "Will be shared";
    }, function () { btn.disabled = false; problem("Outlook did not let crmsync mark this e-mail. Try again."); });
  }

  // ---- records ----
  // lookup lets a reference field be chosen by searching the objects it
  // may point at; the field keeps the chosen record's id.
  function lookup(f, input) {
    var q = el("input", { type: "search", id: "find-" + f.name, placeholder: "Find " + f.referenceTo.slice(0, 3).join(" or "), "aria-label": "Find a record for " + f.label });
    var go = el("button", { type: "button", id: "find-go-" + f.name, text: "Find" });
    var chosen = el("span", { id: "chosen-" + f.name, "class": "muted" });
    var hits = el("ul", { id: "found-" + f.name });
    // Enter in the search box searches; it must not submit the record's
    // form around it (a browser's implicit submission would save the
    // record before an account was chosen).
    q.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { ev.preventDefault(); go.click(); } });
    q.addEventListener("keypress", function (ev) { if (ev.key === "Enter") { ev.preventDefault(); } });
    go.addEventListener("click", function () {
      var text = q.value.trim();
      if (text.length < 2) { problem("Search for at least 2 characters."); return; }
      call("GET", API + "/search?q=" + encodeURIComponent(text) + "&objects=" + encodeURIComponent(f.referenceTo.slice(0, 10).join(","))).then(function (ans) {
        hits.textContent = "";
        if (!ans.hits.length) { hits.appendChild(el("li", { text: "Nothing found." })); }
        ans.hits.forEach(function (h) {
          hits.appendChild(el("li", {}, [el("button", { type: "button", "class": "link", "data-pick": h.id, text: h.name + " (" + h.object + ")", on: function () {
            // The list goes; the focus goes back to the search box.
            input.value = h.id; chosen.textContent = h.name; hits.textContent = ""; q.focus();
          } })]));
        });
      }, function (e) { fail(e); });
    });
    return el("div", { "class": "lookup" }, [q, " ", go, " ", chosen, hits]);
  }

  function openRecord(object, id) { show(function () { recordView(object, id); }); }
  function recordView(object, id) {
    view([el("p", { "class": "muted", text: "Opening…" })]);
    Promise.all([call("GET", API + "/records/" + encodeURIComponent(object) + "/" + encodeURIComponent(id)), describe(object), getLayout(), crmInfo()]).then(function (v) {
      var rec = v[0], desc = v[1], dl = el("dl", { id: "record" });
      var fields = desc.fields.filter(function (f) { return rec.fields && rec.fields[f.name] !== undefined && rec.fields[f.name] !== null && f.name !== "Id"; });
      var chosen = layoutFields(object);
      if (chosen) { fields = chosen.map(function (n) { return fields.filter(function (f) { return f.name === n; })[0]; }).filter(Boolean); }
      fields.slice(0, 40).forEach(function (f) {
        var v = String(rec.fields[f.name]);
        dl.appendChild(el("dt", { text: f.label }));
        dl.appendChild(el("dd", { text: (f.picklistLabels && f.picklistLabels[v]) || v }));
      });
      var more = fields.length > 40 ? el("p", { "class": "muted", id: "record-more", text: "Showing 40 of the " + fields.length + " fields with a value. Choose which in Layout." }) : null;
      var nodes = [el("h2", { text: desc.label + ": " + (rec.fields.Name || rec.fields.Subject || rec.fields.CaseNumber || [rec.fields.FirstName, rec.fields.LastName].filter(Boolean).join(" ") || id) }), dl, more,
        el("div", { "class": "actions" }, [
          desc.updateable ? el("button", { type: "button", id: "edit", text: "Edit", on: function () { show(function () { recordForm(object, desc, rec); }); } }) : null
        ])];
      // A CRM without a feed (C4C) gets no post box: nothing offered that
      // could only fail.
      if (crm.feed) { nodes.push(chatterBox(id)); }
      var atts = (item && item.attachments || []).filter(function (a) { return !a.isInline && a.attachmentType === "file"; });
      // Offered only where the CRM keeps files (C4C: contacts, accounts).
      if (atts.length && (!crm.fileOn.length || crm.fileOn.indexOf(object) >= 0)) { nodes.push(fileBox(id, atts)); }
      view(nodes);
    }, function (e) {
      // A record the user may not see: the CRM answers as if it did not
      // exist (Salesforce: 404 NOT_FOUND). The view says so, with the way
      // forward, in the CRM's name.
      if (e && (e.code === "not_found" || e.code === "forbidden")) {
        var n = crm.name;
        view([el("h2", { text: "Record not available" }), el("p", { id: "no-access", text: e.code === "not_found" ?
          "This record does not exist, or it is not shared with you in " + n + ". If a colleague owns it, ask them or your " + n + " admin to share it with you." :
          "Your " + n + " access does not let you open this record. Ask the record's owner or your " + n + " admin to share it with you." })]);
        return;
      }
      fail(e, function () { recordView(object, id); });
    });
  }
  var describes = {};
  // FORM_FIELDS bounds a form without a layout of its own.
  var FORM_FIELDS = 40;
  // Describes are kept in the pane's session storage for a while (as the
  // API keeps them per user), so a form opened in the next item's pane
  // does not fetch a large describe again.
  var DESCRIBE_TTL = 10 * 60e3;
  function describeKey(object) { return "crmsync.taskpane.describe." + (info && info.me || "") + "." + object; }
  function describe(object) {
    if (!describes[object]) {
      try {
        var kept = JSON.parse(sessionStorage.getItem(describeKey(object)) || "null");
        if (kept && kept.at > Date.now() - DESCRIBE_TTL && kept.d && kept.d.fields) { describes[object] = kept.d; }
      } catch (e) { /* nothing kept */ }
    }
    if (describes[object]) { return Promise.resolve(describes[object]); }
    return call("GET", API + "/objects/" + encodeURIComponent(object)).then(function (d) {
      describes[object] = d;
      try { sessionStorage.setItem(describeKey(object), JSON.stringify({ at: Date.now(), d: d })); } catch (e) { /* storage full or off: memory only */ }
      return d;
    });
  }
  function chatterBox(id) {
    var ta = el("textarea", { id: "chatter-text", rows: "3", maxlength: "10000", "aria-label": "Chatter post" });
    var btn = el("button", { type: "button", id: "chatter-post", text: "Post to Chatter" });
    btn.addEventListener("click", function () {
      if (!ta.value.trim()) { problem("Write something to post first."); return; }
      btn.disabled = true;
      var go = function () { return call("POST", API + "/records/" + encodeURIComponent(id) + "/chatter", { text: ta.value }).then(function () { status("Posted to Chatter."); ta.value = ""; btn.disabled = false; }); };
      go().catch(function (e) { btn.disabled = false; fail(e, go); });
    });
    return el("section", { "class": "card" }, [el("h3", { text: "Chatter" }), ta, btn]);
  }
  function fileBox(id, atts) {
    var sel = el("select", { id: "file-choice", "aria-label": "Attachment" }, atts.map(function (a) { return el("option", { value: a.id, text: a.name }); }));
    var btn = el("button", { type: "button", id: "file-attach", text: "File attachment here" });
    btn.addEventListener("click", function () {
      var a = atts.filter(function (x) { return x.id === sel.value; })[0];
      btn.disabled = true;
      var go = function () { return upload(API + "/records/" + encodeURIComponent(id) + "/files", a).then(function () { status(a.name + " filed in " + crm.name + "."); btn.disabled = false; }); };
      go().catch(function (e) { btn.disabled = false; fail(e, go); });
    });
    return el("section", { "class": "card" }, [el("h3", { text: "Attachments" }), sel, " ", btn]);
  }

  function createChooser() {
    view([el("p", { "class": "muted", text: "Loading objects…" })]);
    Promise.all([call("GET", API + "/objects"), getLayout()]).then(function (v) {
      var ans = v[0], only = v[1].layout.create || [];
      var objs = ans.objects.filter(function (o) { return o.createable && (!only.length || only.indexOf(o.name) >= 0); });
      var sel = el("select", { id: "create-object", "aria-label": "Object" }, objs.map(function (o) { return el("option", { value: o.name, text: o.label }); }));
      var go = el("button", { type: "button", id: "create-go", text: "Continue" });
      go.addEventListener("click", function () {
        var name = sel.value;
        Promise.all([describe(name), prefillFor(name)]).then(function (v) { show(function () { recordForm(name, v[0], null, v[1]); }); }, function (e) { fail(e); });
      });
      view([el("h2", { text: "Create a record" }), sel, " ", go]);
    }, function (e) { fail(e, createChooser); });
  }
  // prefillFor proposes values for a new Contact or Lead from the open
  // e-mail's sender and signature (the API parses it in memory; nothing is
  // stored). Anything else, or a compose item, starts empty.
  function prefillFor(object) {
    var from = item && !composing() && item.from;
    if ((object !== "Contact" && object !== "Lead") || !from || addr(from) === info.me) { return Promise.resolve({}); }
    return async(function (cb) { item.body.getAsync(O.CoercionType.Text, cb); }).then(function (text) {
      text = String(text || "");
      return call("POST", API + "/prefill", { fromName: from.displayName || "", fromAddress: from.emailAddress || "", signature: text.slice(-4000), object: object });
    }).then(function (a) {
      var out = {};
      Object.keys(a.fields || {}).forEach(function (k) { out[k] = a.fields[k]; });
      if (object === "Lead" && a.account && a.account.Name && !out.Company) { out.Company = a.account.Name; }
      return out;
    }, function () { return {}; });
  }
  function recordForm(object, desc, rec, prefill) {
    var creating = !rec;
    var form = el("form", { "class": "record", id: "record-form", novalidate: "novalidate" });
    var inputs = {};
    var editable = function (f) { return creating ? f.createable : f.updateable; };
    // Required: what a create must set. The describe's nillable=false also
    // marks fields the CRM fills itself (owner, defaulted picklists and
    // checkboxes): defaultedOnCreate says which, and those start at the
    // CRM's default (its value where the describe gives it, else the
    // blank "Salesforce's default") instead of asking.
    var required = function (f) {
      return creating && f.createable && !f.nillable && f.type !== "boolean" && !f.defaultedOnCreate;
    };
    var fields = desc.fields.filter(function (f) { return editable(f) || (!creating && rec.fields[f.name] != null && f.name !== "Id"); });
    var chosen = layoutFields(object);
    if (chosen) {
      // A dependent picklist shown brings its controller along: its values
      // mean nothing without it.
      var wanted = chosen.slice();
      fields.forEach(function (f) { if (f.controllerName && wanted.indexOf(f.name) >= 0 && wanted.indexOf(f.controllerName) < 0) { wanted.push(f.controllerName); } });
      fields = fields.filter(function (f) { return required(f) || wanted.indexOf(f.name) >= 0; });
    }
    fields.sort(function (a, b) { return (required(b) ? 1 : 0) - (required(a) ? 1 : 0); });
    // A controller comes before the picklists that depend on it.
    for (var i = 0; i < fields.length; i++) {
      var ci = fields[i].controllerName ? fields.map(function (f) { return f.name; }).indexOf(fields[i].controllerName) : -1;
      if (ci > i) { fields.splice(i, 0, fields.splice(ci, 1)[0]); i--; }
    }
    // A wide object (hundreds of fields) shows a bounded form: the layout's
    // fields, else the required ones first and up to FORM_FIELDS in all;
    // the rest come only when asked for ("Show all fields").
    var t0 = performance.now();
    var bound = chosen ? fields.length : Math.max(FORM_FIELDS, fields.filter(required).length);
    var first = fields.slice(0, bound), rest = fields.slice(bound);
    var box = el("div", { id: "form-fields" });
    form.appendChild(box);
    first.forEach(function (f) { addField(f, box); });
    if (rest.length) {
      var more = el("div", { id: "more-fields" });
      var all = el("button", { type: "button", id: "all-fields", text: "Show all " + fields.length + " fields" });
      var told = el("p", { "class": "muted", id: "fields-shown", text: "Showing " + first.length + " of " + fields.length + " fields. Choose which in Layout, or show all." });
      all.addEventListener("click", function () {
        var t1 = performance.now();
        rest.forEach(function (f) { addField(f, more); });
        rest.forEach(function (f) { dependOn(inputs, f.name, creating); });
        told.remove(); all.remove();
        document.body.setAttribute("data-all-fields-ms", String(performance.now() - t1));
        var x = rest[0] && $("f-" + rest[0].name);
        if (x) { x.focus(); }
      });
      form.appendChild(more);
      form.appendChild(el("div", { "class": "actions" }, [told, all]));
    }
    function addField(f, parent) {
      var id = "f-" + f.name, value = rec && rec.fields[f.name] != null ? String(rec.fields[f.name]) : "", input;
      var proposed = !rec && prefill && prefill[f.name] != null ? String(prefill[f.name]) : "";
      // A new record starts at the CRM's own default where the describe
      // knows it ("New", a checked box); the user can change it.
      var shown = creating && f["default"] ? f["default"] : value;
      if (f.picklist && f.picklist.length && editable(f)) {
        input = el("select", { id: id, name: f.name });
        fillPicklist(input, f, f.picklist, shown, "", creating);
      } else if (f.type === "textarea") {
        input = el("textarea", { id: id, name: f.name, rows: "3" }); input.value = shown;
      } else if (f.type === "boolean") {
        input = el("input", { id: id, name: f.name, type: "checkbox" }); input.checked = shown === "true";
      } else {
        var types = { date: "date", email: "email", "double": "number", currency: "number", "int": "number", percent: "number", phone: "tel", url: "url" };
        input = el("input", { id: id, name: f.name, type: types[f.type] || "text" }); input.value = shown;
        if (f.length) { input.setAttribute("maxlength", String(f.length)); }
      }
      if (!editable(f)) { input.setAttribute("readonly", "readonly"); input.setAttribute("disabled", "disabled"); input.className = "readonly"; }
      if (required(f)) { input.setAttribute("required", "required"); }
      if (proposed && editable(f)) { if (f.type === "boolean") { input.checked = proposed === "true"; } else { input.value = proposed; } }
      var note = el("div", { "class": "field-error", id: "err-" + f.name });
      // What is said about a field (required, cleared, refused) is read
      // out with it.
      input.setAttribute("aria-describedby", "err-" + f.name);
      inputs[f.name] = { input: input, field: f, original: value, note: note };
      parent.appendChild(el("label", { "for": id, text: f.label + (required(f) ? " *" : "") + (editable(f) ? "" : " (read-only)") }));
      parent.appendChild(input);
      if (f.type === "reference" && editable(f) && f.referenceTo && f.referenceTo.length) { parent.appendChild(lookup(f, input)); }
      parent.appendChild(note);
    }
    Object.keys(inputs).forEach(function (n) { dependOn(inputs, n, creating); });
    var save = el("button", { type: "submit", id: "save-record", text: creating ? "Create" : "Save" });
    form.appendChild(el("div", { "class": "actions" }, [save]));
    form.addEventListener("submit", function (ev) { ev.preventDefault(); trySave(); });
    // trySave reads the form and saves it. After a lost sign-in it runs
    // again once the user is signed in (with what the form holds then),
    // unless the user has left the form meanwhile.
    function trySave() {
      if (!document.body.contains(form)) { return; }
      var body = {}, missing = [];
      Object.keys(inputs).forEach(function (n) {
        var x = inputs[n];
        $("err-" + n).textContent = "";
        if (!editable(x.field)) { return; }
        var v = x.field.type === "boolean" ? x.input.checked : x.input.value.trim();
        // A field that started at the CRM's default is sent as the form
        // shows it, changed or not: what the user saw is what is saved.
        // Leaving it out would mostly come to the same, but not always: a
        // picklist's default can differ per record type (the describe
        // gives the master's), and a default also fills a field left out,
        // so an unchecked box or an emptied field would come back set.
        // Only the blank that reads "Salesforce's default" is left out.
        var started = creating && x.field["default"];
        if (started) {
          if (x.field.type !== "boolean" && v === "" && x.field.defaultedOnCreate) { return; }
        } else if (x.field.type === "boolean" ? String(v) === (x.original || "false") : v === x.original) { return; }
        if (v !== "" && ["double", "currency", "int", "percent"].indexOf(x.field.type) >= 0) { v = Number(v); }
        body[n] = v === "" ? null : v;
      });
      var firstMissing = null;
      Object.keys(inputs).forEach(function (n) {
        var x = inputs[n], empty = required(x.field) && (body[n] == null || body[n] === "");
        if (empty) { missing.push(x.field.label); $("err-" + n).textContent = "Required"; firstMissing = firstMissing || x.input; }
        if (empty) { x.input.setAttribute("aria-invalid", "true"); } else { x.input.removeAttribute("aria-invalid"); }
      });
      // The keyboard goes where the work is: the first field to fill in.
      if (missing.length) { problem("Fill in " + missing.join(", ") + " first."); firstMissing.focus(); return; }
      if (!creating && !Object.keys(body).length) { status("Nothing changed."); return; }
      save.disabled = true;
      var go = function () {
        var p = creating ? call("POST", API + "/records/" + encodeURIComponent(object), body)
          : call("PATCH", API + "/records/" + encodeURIComponent(object) + "/" + encodeURIComponent(rec.id), body);
        return p.then(function (ans) {
          save.disabled = false;
          var id = creating ? ans.id : rec.id;
          // Back from the record leads where the user came from: the form
          // (and, after a create, the object chooser) leave the stack.
          stack.pop();
          if (creating) { stack.pop(); stack.push(function () { recordView(object, id); }); }
          $("back").hidden = stack.length < 2;
          problem("");
          pendingFocus = { heading: true };
          recordView(object, id);
          status(creating ? desc.label + " created." : "Saved.");
        });
      };
      go().catch(function (e) {
        save.disabled = false;
        if (e && e.data && e.data.fields) { e.data.fields.forEach(function (n) { var x = $("err-" + n); if (x) { x.textContent = (e.data.problems && e.data.problems[n]) || "Check this field"; } }); }
        // Refused for want of access: nothing was saved; the form stays
        // as typed, and Save works again once access is given.
        if (e && e.code === "forbidden") {
          problem(creating ? upper(crm.name) + " did not create the " + desc.label + ": your " + crm.name + " permissions do not allow it. Ask your " + crm.name + " admin for access. What you typed is kept." :
            upper(crm.name) + " did not save your changes: this " + desc.label + " is shared with you read-only. Ask its owner or your " + crm.name + " admin for edit access, then press Save again. What you typed is kept.");
          return;
        }
        if (e && e.code === "not_found" && !creating) {
          problem(upper(crm.name) + " did not save your changes: this " + desc.label + " no longer exists or is no longer shared with you. Ask its owner or your " + crm.name + " admin to share it with you. What you typed is kept.");
          return;
        }
        fail(e, trySave);
      });
    }
    view([el("h2", { text: (creating ? "New " : "Edit ") + desc.label }), form]);
    // For the benchmark: how long the form took to build and show, in ms.
    document.body.setAttribute("data-form-ms", String(performance.now() - t0));
  }
  // ---- dependent picklists ----
  // A dependent picklist offers only the values valid for its controller's
  // value. The describe gives each value's validFor: base64 of a bit set
  // whose bit i (most significant bit of each byte first) is the
  // controller's i-th picklist value; for a checkbox controller bit 0 is
  // unchecked and bit 1 checked (Salesforce's DescribeSObjectResult).
  function validForBit(b64, i) {
    if (!b64 || i < 0) { return false; }
    var s;
    try { s = atob(b64); } catch (e) { return false; }
    return (i >> 3) < s.length && (s.charCodeAt(i >> 3) & (0x80 >> (i & 7))) !== 0;
  }
  // controllerIndex is the bit the controller's current value stands for
  // (-1: no value chosen).
  function controllerIndex(ctl) {
    if (ctl.field.type === "boolean") { return ctl.input.checked ? 1 : 0; }
    return (ctl.field.picklist || []).indexOf(ctl.input.value);
  }
  // fillPicklist puts values into a select, with the blank choice first:
  // "Salesforce's default" on create for a field the CRM fills itself,
  // else "—". A value the record holds that is not offered stays, marked,
  // so opening a form never changes a record by itself.
  function fillPicklist(sel, f, values, keep, why, creating) {
    sel.textContent = "";
    sel.appendChild(el("option", { value: "", text: creating && f.defaultedOnCreate ? upper(crm.name) + "'s default" : "—" }));
    // A code list's values show their descriptions (C4C: "Active" for 2).
    values.forEach(function (p) { sel.appendChild(el("option", { value: p, text: (f.picklistLabels && f.picklistLabels[p]) || p })); });
    if (keep && values.indexOf(keep) < 0) { sel.appendChild(el("option", { value: keep, text: keep + (why ? " (" + why + ")" : "") })); }
    sel.value = keep || "";
  }
  // dependOn wires the field n to its controller when both are in the
  // form: its values follow the controller's, and a choice the new
  // controller value does not allow is cleared, saying so.
  function dependOn(inputs, n, creating) {
    var x = inputs[n], ctl = x.field.controllerName && inputs[x.field.controllerName];
    if (!ctl || x.input.tagName !== "SELECT") { return; }
    x.input.setAttribute("data-controller", ctl.field.name);
    var hint = el("div", { "class": "muted hint", id: "hint-" + n });
    x.input.setAttribute("aria-describedby", "hint-" + n + " err-" + n);
    x.note.parentNode.insertBefore(hint, x.note);
    var refill = function (first) {
      var i = controllerIndex(ctl), vf = x.field.validFor || {};
      var offered = x.field.picklist.filter(function (p) { return validForBit(vf[p], i); });
      var current = x.input.value;
      var what = ctl.field.type === "boolean" ? (ctl.input.checked ? "checked" : "not checked") : "“" + ctl.input.value + "”";
      var keep = current;
      // Opening an edit form keeps the record's value, marked; anything
      // else the controller does not allow is cleared, in words.
      if (current && offered.indexOf(current) < 0 && first && creating && current === x.field["default"]) {
        // The CRM's default, not valid for the controller's first value:
        // the user chose nothing, so nothing is said.
        keep = "";
      } else if (current && offered.indexOf(current) < 0 && !(first && !creating)) {
        keep = "";
        x.note.textContent = "“" + current + "” was cleared: it is not offered when " + ctl.field.label + " is " + what + ".";
      } else if (!first) {
        x.note.textContent = "";
      }
      fillPicklist(x.input, x.field, offered, keep, "not offered when " + ctl.field.label + " is " + what, creating);
      x.input.disabled = x.input.hasAttribute("readonly") || (!offered.length && !keep);
      hint.textContent = offered.length ? "" : (i < 0 ? "Choose " + ctl.field.label + " first." : "Nothing to choose when " + ctl.field.label + " is " + what + ".");
      if (current !== x.input.value) { x.input.dispatchEvent(new Event("change")); }
    };
    ctl.input.addEventListener("change", function () { refill(false); });
    refill(true);
  }

  function layoutView() {
    view([el("p", { "class": "muted", text: "Loading the layout…" })]);
    layoutAnswer = null;
    Promise.all([getLayout(), call("GET", API + "/objects")]).then(function (v) {
      var l = v[0].layout, objs = v[1].objects;
      var from = { user: "This is your own layout.", org: "This is your organisation's layout.", "default": "This is crmsync's layout: everything." }[v[0].source];
      function boxes(id, chosen) {
        return el("div", { id: id }, objs.map(function (o) {
          var b = el("input", { type: "checkbox", value: o.name, id: id + "-" + o.name });
          b.checked = (chosen || []).indexOf(o.name) >= 0;
          return el("label", { "for": id + "-" + o.name }, [b, " " + o.label]);
        }));
      }
      function picked(id) { return Array.prototype.slice.call(document.querySelectorAll("#" + id + " input:checked")).map(function (b) { return b.value; }); }
      var fieldsObj = el("select", { id: "layout-fields-object", "aria-label": "Object" }, [el("option", { value: "", text: "—" })].concat(objs.map(function (o) { return el("option", { value: o.name, text: o.label }); })));
      var fieldsBox = el("div", { id: "layout-fields" });
      var fields = JSON.parse(JSON.stringify(l.fields || {}));
      fieldsObj.addEventListener("change", function () {
        fieldsBox.textContent = "";
        var name = fieldsObj.value;
        if (!name) { return; }
        describe(name).then(function (d) {
          d.fields.forEach(function (f) {
            var b = el("input", { type: "checkbox", value: f.name, id: "lf-" + f.name });
            b.checked = (fields[name] || []).indexOf(f.name) >= 0;
            b.addEventListener("change", function () {
              fields[name] = Array.prototype.slice.call(fieldsBox.querySelectorAll("input:checked")).map(function (x) { return x.value; });
            });
            fieldsBox.appendChild(el("label", { "for": "lf-" + f.name }, [b, " " + f.label]));
          });
        }, function (e) { fail(e); });
      });
      function body() { return { create: picked("layout-create"), search: picked("layout-search").slice(0, 10), fields: fields }; }
      function saved(a, words) { layoutAnswer = a; status(words); }
      var save = el("button", { type: "button", id: "layout-save", text: "Save as my layout" });
      save.addEventListener("click", function () { call("POST", API + "/layout", body()).then(function (a) { saved(a, "Your layout is saved."); }, function (e) { fail(e); }); });
      var org = el("button", { type: "button", id: "layout-org", text: "Save for my organisation" });
      org.addEventListener("click", function () {
        call("POST", API + "/layout/org", body()).then(function () { status("Your organisation's layout is saved: everyone without their own layout gets it."); }, function (e) {
          if (e && e.status === 403) { problem("Only an organisation admin can set the organisation's layout. Save it as yours, or share it with a code."); return; }
          fail(e);
        });
      });
      var reset = el("button", { type: "button", id: "layout-reset", text: "Use my organisation's" });
      reset.addEventListener("click", function () { call("DELETE", API + "/layout").then(function (a) { saved(a, "You now use your organisation's layout."); show(layoutView, false); }, function (e) { fail(e); }); });
      var code = el("output", { id: "layout-code" });
      var share = el("button", { type: "button", id: "layout-share", text: "Share my layout" });
      share.addEventListener("click", function () {
        call("POST", API + "/layout/share").then(function (a) { code.textContent = a.code; status("Give your colleagues this code: " + a.code); }, function (e) {
          if (e && e.code === "no_layout") { problem("Save a layout of your own first, then share it."); return; }
          fail(e);
        });
      });
      var takeCode = el("input", { id: "layout-take-code", maxlength: "10", "aria-label": "A colleague's layout code", placeholder: "Code" });
      var take = el("button", { type: "button", id: "layout-take", text: "Take a colleague's layout" });
      take.addEventListener("click", function () {
        call("POST", API + "/layout/take", { code: takeCode.value }).then(function (a) { saved(a, "You now use your colleague's layout."); show(layoutView, false); }, function (e) {
          if (e && (e.code === "no_such_code" || e.code === "bad_code")) { problem("No colleague shared a layout under this code. Check it with them."); return; }
          fail(e);
        });
      });
      view([el("h2", { text: "Layout" }), el("p", { id: "layout-source", text: from }),
        el("h3", { text: "Search in" }), boxes("layout-search", l.search),
        el("h3", { text: "Offer to create" }), boxes("layout-create", l.create),
        el("h3", { text: "Fields shown" }), fieldsObj, fieldsBox,
        el("div", { "class": "actions" }, [save, org, reset]),
        el("div", { "class": "actions" }, [share, code]),
        el("div", { "class": "actions" }, [takeCode, take])]);
    }, function (e) { fail(e, layoutView); });
  }

  function search(q) {
    show(function () {
      view([el("p", { "class": "muted", text: "Searching…" })]);
      getLayout().then(function (l) {
        var objs = l.layout.search || [];
        return call("GET", API + "/search?q=" + encodeURIComponent(q) + (objs.length ? "&objects=" + encodeURIComponent(objs.join(",")) : ""));
      }).then(function (ans) {
        var ul = el("ul", { id: "hits" }, ans.hits.map(function (h) { return el("li", {}, [recordLink(h.object, h.id, h.name), el("span", { "class": "muted", text: " " + label(h.object) })]); }));
        view([el("h2", { text: "Results for “" + q + "”" }), ans.hits.length ? ul : el("p", { text: "Nothing found. Try fewer or other words." })]);
      }, function (e) { fail(e, function () { search(q); }); });
    });
  }

  function start() {
    if (!O) { problem("Open this pane from Outlook: it needs Outlook's add-in runtime."); view([]); return; }
    item = O.context.mailbox.item;
    if (!item) { problem("Select an e-mail or a meeting to see its people."); view([]); return; }
    $("back").addEventListener("click", back);
    $("layout-open").addEventListener("click", function () { if (token) { show(layoutView); } });
    $("search-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var q = $("search").value.trim();
      if (q.length < 2) { problem("Search for at least 2 characters."); return; }
      search(q);
    });
    // A pinned pane stays open while the user selects other items
    // (Mailbox 1.5): it follows the selection.
    if (supported("Mailbox", "1.5") && O.context.mailbox.addHandlerAsync && O.EventType.ItemChanged) {
      O.context.mailbox.addHandlerAsync(O.EventType.ItemChanged, function () {
        item = O.context.mailbox.item;
        if (!item) { problem("Select an e-mail or a meeting to see its people."); view([]); return; }
        watchRecipients();
        readInfo().then(function (i) { info = i; stack = []; if (token) { show(home); } else { signInButton(function () { stack = []; show(home); }); } });
      });
    }
    watchRecipients();
    readInfo().then(function (i) {
      info = i;
      var go = function () { stack = []; show(home); };
      if (token) { go(); return; }
      naa(false).then(go, function () {
        view([el("h2", { text: info.subject || "(no subject)" })]);
        signInButton(go);
      });
    }, function () { problem("Outlook did not give this item's details. Select it again."); });
  }
  (O && O.onReady ? O.onReady() : Promise.resolve()).then(start);
})();
