// The simulated Outlook: an Office object with a sample e-mail, meeting and
// draft, shaped as Office.js's (read mode: plain properties; compose mode:
// async getters), for trying the task pane without Outlook. The pane frame
// finds it as parent.HarnessOffice.
(function () {
  "use strict";
  var me = { emailAddress: "demo@crmsync.local", displayName: "Dana Demo" };
  function ok(value) { return { status: "succeeded", value: value }; }
  function later(cb, value) { if (cb) { setTimeout(function () { cb(ok(value)); }, 0); } }
  var attachmentText = "Proposal: renewal of 40 seats for another year.\n";
  var items = {
    email: {
      itemType: "message", subject: "Renewal questions", itemId: "AAMkAGharness/email+1=",
      internetMessageId: "<renewal-1@acme.example>", dateTimeCreated: new Date(Date.now() - 3600e3),
      from: { emailAddress: "alice@acme.example", displayName: "Alice Anders" },
      to: [me], cc: [{ emailAddress: "bob@acme.example", displayName: "Bob Brown" }],
      attachments: [{ id: "att-1", name: "proposal.txt", contentType: "text/plain", size: attachmentText.length, attachmentType: "file", isInline: false }],
      text: "Hello Dana,\nCould we talk about the renewal?\n\nAlice Anders\nCTO, Acme Corporation\n+1 415 555 0101\nalice@acme.example\n"
    },
    meeting: {
      itemType: "appointment", subject: "Quarterly review", itemId: "AAMkAGharness/meeting+1=",
      start: new Date(Date.now() + 86400e3), dateTimeCreated: new Date(Date.now() - 7200e3),
      organizer: { emailAddress: "chloe@globex.example", displayName: "Chloé Dubois" },
      requiredAttendees: [me, { emailAddress: "chloe@globex.example", displayName: "Chloé Dubois" }],
      optionalAttendees: [{ emailAddress: "frank@initech.example", displayName: "Frank Fischer" }],
      attachments: [], text: "Agenda: numbers, plans."
    }
  };
  // Bad input: a message to nobody but the user, and one to 200 people.
  var crowd = [me];
  for (var i = 0; i < 200; i++) { crowd.push({ emailAddress: "person" + i + "@crowd.example", displayName: "Person " + i }); }
  crowd.push({ emailAddress: "alice@acme.example", displayName: "Alice Anders" });
  items.self = { itemType: "message", subject: "Note to self", itemId: "AAMkAGharness/self+1=", internetMessageId: "<self-1@crmsync.local>",
    dateTimeCreated: new Date(), from: me, to: [me], cc: [], attachments: [], text: "Remember the milk." };
  items.crowd = { itemType: "message", subject: "Newsletter", itemId: "AAMkAGharness/crowd+1=", internetMessageId: "<crowd-1@crowd.example>",
    dateTimeCreated: new Date(), from: { emailAddress: "news@crowd.example", displayName: "News" }, to: crowd, cc: [], attachments: [], text: "News." };
  // A message from the user to nobody else (a read item whose only address
  // is the sender's).
  items.alone = { itemType: "message", subject: "Draft notes", itemId: "AAMkAGharness/alone+1=", internetMessageId: "<alone-1@crmsync.local>",
    dateTimeCreated: new Date(), from: me, to: [], cc: [], attachments: [], text: "Notes." };
  // ?mailbox=7 makes an Outlook with Mailbox 1.7 at most (default 1.13).
  var params = new URLSearchParams(location.search);
  var mailboxMinor = parseInt(params.get("mailbox") || "13", 10);
  var draft = { to: [{ emailAddress: "bob@acme.example", displayName: "Bob Brown" }], cc: [], subject: "Our offer",
    html: "<p>Hello Bob,</p><p>here is our offer.</p>", categories: [], headers: {}, saved: false };

  function readItem(d) {
    var it = {};
    it.getAllInternetHeadersAsync = function (opts, cb) {
      var h = d.headers || {}, text = "";
      for (var k in h) { text += k + ": " + h[k] + "\r\n"; }
      later(typeof opts === "function" ? opts : cb, text);
    };
    for (var k in d) { if (k !== "text") { it[k] = d[k]; } }
    d.categories = d.categories || [];
    it.categories = { addAsync: function (list, opts, cb) {
      list.forEach(function (c) { if (d.categories.indexOf(c) < 0) { d.categories.push(c); } });
      show(); later(typeof opts === "function" ? opts : cb); } };
    it.body = { getAsync: function (type, opts, cb) { later(typeof opts === "function" ? opts : cb, d.text); } };
    it.getAttachmentContentAsync = function (id, opts, cb) {
      cb = typeof opts === "function" ? opts : cb;
      later(cb, { format: "base64", content: btoa(attachmentText) });
    };
    return it;
  }
  // recipientHandlers are the pane's RecipientsChanged handlers (Mailbox
  // 1.7); HarnessAddRecipient adds a recipient to the draft as the user
  // would, and Outlook then tells those handlers.
  var recipientHandlers = [];
  window.HarnessAddRecipient = function (field, address, name) {
    draft[field].push({ emailAddress: address, displayName: name || address });
    show();
    var changed = { to: field === "to", cc: field === "cc", bcc: field === "bcc", requiredAttendees: false, optionalAttendees: false, resources: false };
    recipientHandlers.forEach(function (fn) { setTimeout(function () { fn({ type: "olkRecipientsChanged", changedRecipientFields: changed }); }, 0); });
    return true;
  };
  function composeItem() {
    function getter(k) { return { getAsync: function (opts, cb) { later(typeof opts === "function" ? opts : cb, draft[k]); } }; }
    recipientHandlers = [];
    var it = {
      itemType: "message", to: getter("to"), cc: getter("cc"), subject: getter("subject"),
      body: {
        getTypeAsync: function (opts, cb) { later(typeof opts === "function" ? opts : cb, "html"); },
        getAsync: function (type, opts, cb) { later(typeof opts === "function" ? opts : cb, draft.html); },
        prependAsync: function (html, opts, cb) { draft.html = html + draft.html; show(); later(typeof opts === "function" ? opts : cb); }
      },
      saveAsync: function (opts, cb) { draft.saved = true; later(typeof opts === "function" ? opts : cb, "AAMkAGharness/draft+1="); },
      categories: { addAsync: function (list, opts, cb) {
        list.forEach(function (c) { if (draft.categories.indexOf(c) < 0) { draft.categories.push(c); } });
        show(); later(typeof opts === "function" ? opts : cb); } },
      internetHeaders: { setAsync: function (h, opts, cb) { for (var k in h) { draft.headers[k] = h[k]; } show(); later(typeof opts === "function" ? opts : cb); } }
    };
    // Item.addHandlerAsync is Mailbox 1.7: an older Outlook has none.
    if (mailboxMinor >= 7) {
      it.addHandlerAsync = function (type, fn, opts, cb) {
        if (type === "olkRecipientsChanged") { recipientHandlers.push(fn); }
        later(typeof opts === "function" ? opts : cb);
      };
    }
    return it;
  }

  var current = "email";
  var dialog = null;
  // ?naa=on: an Outlook with nested app authentication (NestedAppAuth 1.1).
  // Its bridge answers MSAL's GetInitContext and GetToken with the token
  // and id token the page's HarnessNAA holds (set by the tests, which mint
  // them at the local identity provider), and fails as Outlook does when it
  // has none; HarnessNAA.requests keeps what was asked.
  var naaOn = new URLSearchParams(location.search).get("naa") === "on";
  window.HarnessNAA = { token: null, idToken: null, requests: [] };
  window.HarnessNAABridge = naaOn ? (function () {
    var listeners = [];
    function answer(req) {
      var a = window.HarnessNAA, out = { messageType: "NestedAppAuthResponse", requestId: req.requestId };
      a.requests.push({ method: req.method, forceRefresh: !!(req.tokenParams && req.tokenParams.forceRefresh) });
      if (req.method === "GetInitContext") {
        out.success = true;
        out.initContext = { sdkName: "harness", sdkVersion: "1.0", capabilities: {}, accountContext: null };
      } else if (a.token && a.idToken) {
        var claims = JSON.parse(atob(a.idToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
        out.success = true;
        out.token = { access_token: a.token, id_token: a.idToken, expires_in: 3600, scope: req.tokenParams && req.tokenParams.scope };
        out.account = { environment: "login.microsoftonline.com", homeAccountId: claims.oid + "." + claims.tid, tenantId: claims.tid,
          localAccountId: claims.oid, username: claims.preferred_username || "", name: claims.name || "" };
      } else {
        out.success = false;
        out.error = { status: "ACCOUNT_UNAVAILABLE", code: "ACCOUNT_UNAVAILABLE", description: "No account is signed in to Outlook." };
      }
      return out;
    }
    return {
      addEventListener: function (type, fn) { if (type === "message") { listeners.push(fn); } },
      removeEventListener: function (type, fn) { listeners = listeners.filter(function (l) { return l !== fn; }); },
      postMessage: function (msg) {
        var out = JSON.stringify(answer(JSON.parse(msg)));
        setTimeout(function () { listeners.forEach(function (l) { l(out); }); }, 0);
      }
    };
  })() : null;
  var Office = {
    CoercionType: { Html: "html", Text: "text" },
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    EventType: { DialogMessageReceived: "dialogMessageReceived", DialogEventReceived: "dialogEventReceived", ItemChanged: "olkItemSelectedChanged", RecipientsChanged: "olkRecipientsChanged" },
    MailboxEnums: { RestVersion: { v2_0: "v2.0" } },
    onReady: function (cb) { var p = Promise.resolve({ host: "Outlook", platform: "Harness" }); if (cb) { p.then(cb); } return p; },
    context: {
      requirements: { isSetSupported: function (name, v) {
        var have = { Mailbox: mailboxMinor, DialogApi: 1, NestedAppAuth: naaOn ? 1 : undefined }[name];
        return have !== undefined && parseInt(String(v || "1.1").split(".")[1] || "0", 10) <= have;
      } },
      mailbox: {
        userProfile: { emailAddress: me.emailAddress, displayName: me.displayName, accountType: "office365" },
        item: null,
        addHandlerAsync: function (type, fn, opts, cb) { later(typeof opts === "function" ? opts : cb); },
        convertToRestId: function (id) { return id.replace(/\//g, "-").replace(/\+/g, "_"); }
      },
      ui: {
        displayDialogAsync: function (url, opts, cb) {
          var handlers = {};
          dialog = {
            addEventHandler: function (type, fn) { handlers[type] = fn; },
            close: function () { document.getElementById("dialog").hidden = true; document.getElementById("dialog-frame").src = "about:blank"; dialog = null; },
            deliver: function (msg) { if (handlers.dialogMessageReceived) { handlers.dialogMessageReceived({ message: msg, origin: location.origin }); } },
            // The user closing the window: Office tells the pane with
            // DialogEventReceived, error 12006.
            closedByUser: function () {
              var h = handlers.dialogEventReceived;
              dialog.close();
              if (h) { h({ error: 12006 }); }
            }
          };
          document.getElementById("dialog-frame").src = url;
          document.getElementById("dialog").hidden = false;
          later(cb, dialog);
        },
        messageParent: function (msg) { if (dialog) { dialog.deliver(msg); } }
      }
    }
  };
  window.HarnessOffice = Office;

  function show() {
    var r = document.getElementById("reading");
    if (current === "compose") {
      r.textContent = "To: " + draft.to.map(function (p) { return p.displayName; }).join(", ") + "\nSubject: " + draft.subject +
        "\nCategories: " + (draft.categories.join(", ") || "none") + "\nHeaders: " + JSON.stringify(draft.headers) + "\n\n" + draft.html;
      r.setAttribute("data-body", draft.html);
      return;
    }
    var d = items[current];
    r.textContent = "Subject: " + d.subject + "\nCategories: " + ((d.categories || []).join(", ") || "none") + "\n\n" + d.text;
  }
  // sentCopy is the draft as it lands in Sent Items: what the recipients
  // got, with the internet headers the pane set.
  function sentCopy() {
    // DOMParser's document loads nothing (the pixel stays unfetched).
    var text = new DOMParser().parseFromString(draft.html, "text/html").body.textContent;
    return { itemType: "message", subject: draft.subject, itemId: "AAMkAGharness/sent+1=", internetMessageId: "<sent-1@crmsync.local>",
      dateTimeCreated: new Date(), from: me, to: draft.to, cc: draft.cc, attachments: [], headers: draft.headers, text: text };
  }
  function open(which) {
    if (which === "sent") { items.sent = sentCopy(); }
    // A new draft with nobody in To or Cc yet.
    if (which === "blank") { draft.to = []; draft.cc = []; draft.subject = "New offer"; which = "compose"; }
    current = which;
    Office.context.mailbox.item = which === "compose" ? composeItem() : readItem(items[which]);
    show();
    document.getElementById("pane").src = "/api/taskpane/pane.html?host=harness";
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-item]").forEach(function (b) {
      b.addEventListener("click", function () { open(b.getAttribute("data-item")); });
    });
    document.getElementById("dialog-close").addEventListener("click", function () { if (dialog) { dialog.closedByUser(); } });
    document.getElementById("width").addEventListener("change", function (e) {
      document.getElementById("pane").style.width = e.target.value + "px";
    });
    var start = new URLSearchParams(location.search).get("item");
    open(items[start] || start === "compose" || start === "sent" || start === "blank" ? start : "email");
  });
})();
