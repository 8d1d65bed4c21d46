package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
)

// newPaneBrowser opens Chromium on the world (the harness shows the pane
// at 350 px). The identity provider's page in the sign-in dialog's frame is
// another origin; the tests reach into it to click its button.
func newPaneBrowser(t testing.TB, w *testWorld) *browsertest.Browser {
	return browsertest.New(t, w.srv.URL, 900, chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("disable-web-security", true), chromedp.Flag("disable-site-isolation-trials", true))
}

// addRecipient adds an address to the simulated Outlook's draft as the
// user would.
func addRecipient(b *browsertest.Browser, address, name string) {
	browsertest.Eval[bool](b, fmt.Sprintf(`window.HarnessAddRecipient("to", %q, %q)`, address, name))
}

// TestTaskPaneNoRecipientsInHarness: an e-mail whose only address is the
// user's (the sender) says there is nobody to look up; a new draft with
// nobody in To or Cc says so in words; neither asks Salesforce anything.
// When the user adds a recipient, Outlook's RecipientsChanged (Mailbox 1.7)
// makes the pane show them; in an Outlook below 1.7, which has no such
// event, the pane says to press "Look up recipients", which does.
func TestTaskPaneNoRecipientsInHarness(t *testing.T) {
	w := taskPaneWorld(t)
	b := newPaneBrowser(t, w)
	b.Open("/api/taskpane/harness?item=alone")
	signInThroughDialog(t, b, w)
	w.sf.ResetCalls()
	waitPane(t, b, "the empty answer", `document.getElementById("no-people")`)
	if got := paneJS[string](b, `return document.getElementById("no-people").textContent`); got != "Nobody but you is on this item, so there is nobody to look up." {
		t.Errorf("an e-mail from the user to nobody: %q", got)
	}
	if n, calls := sfCalls(w); n != 0 {
		t.Errorf("an e-mail to nobody called Salesforce: %v", calls)
	}

	// A new draft, nobody in To or Cc yet (Mailbox 1.13).
	w.sf.ResetCalls()
	b.Open("/api/taskpane/harness?item=blank")
	waitPane(t, b, "the empty draft", `document.getElementById("no-people") && document.getElementById("track-opens")`)
	if got := paneJS[string](b, `return document.getElementById("no-people").textContent`); got != "No recipients yet. Add people to To or Cc and their Salesforce records show here." {
		t.Errorf("a draft to nobody: %q", got)
	}
	if paneJS[bool](b, `return !!document.getElementById("recheck")`) {
		t.Error("with RecipientsChanged the pane still asks the user to look up recipients")
	}
	if n, calls := sfCalls(w); n != 0 {
		t.Errorf("a draft to nobody called Salesforce: %v", calls)
	}
	addRecipient(b, "alice@acme.example", "Alice Anders")
	waitPane(t, b, "Alice, added to the draft", `document.querySelector("#people li.person") && document.body.innerText.indexOf("Alice Anders") >= 0`)
	if paneJS[bool](b, `return document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the draft's people overflow the pane")
	}
	// A recipient added while the user is in a record leaves them there;
	// Back shows the people as they are now.
	clickPane(b, "#people li.person button[data-record]")
	waitPane(t, b, "Alice's record", `document.querySelector("#record")`)
	addRecipient(b, "bob@acme.example", "Bob Brown")
	waitPane(t, b, "Bob read", `document.body.getAttribute("data-recipients") === "2"`)
	if !paneJS[bool](b, `return !!document.querySelector("#record")`) {
		t.Error("a new recipient took the user out of the record they opened")
	}
	clickPane(b, "#back")
	waitPane(t, b, "Bob, added meanwhile", `document.querySelectorAll("#people li.person").length == 2`)

	// An Outlook with Mailbox 1.6: no RecipientsChanged.
	b.Open("/api/taskpane/harness?item=blank&mailbox=6")
	waitPane(t, b, "the empty draft below 1.7", `document.getElementById("no-people") && document.getElementById("recheck")`)
	if got := paneJS[string](b, `return document.getElementById("no-people").textContent`); got != "No recipients yet. Add people to To or Cc, then press Look up recipients." {
		t.Errorf("a draft to nobody below 1.7: %q", got)
	}
	addRecipient(b, "alice@acme.example", "Alice Anders")
	if paneJS[bool](b, `return !!document.querySelector("#people")`) {
		t.Error("below 1.7 the pane heard of the new recipient")
	}
	clickPane(b, "#recheck")
	waitPane(t, b, "Alice, looked up on request", `document.querySelector("#people li.person") && document.body.innerText.indexOf("Alice Anders") >= 0`)
	if !paneJS[bool](b, `return !!document.getElementById("recheck")`) {
		t.Error("below 1.7 the pane offers no second look-up")
	}
}

// TestTaskPaneRecordNotSharedInHarness: drilling into a record that was
// reassigned to a colleague meanwhile (the local Salesforce answers 404
// NOT_FOUND, as Salesforce does for a record not shared) says so in plain
// words with the way forward, and Back returns to the people. Editing a
// record the user may only read (a Read share: 403
// INSUFFICIENT_ACCESS_OR_READONLY) says so, keeps what was typed and
// changes nothing; once the owner gives edit access, Save saves it.
func TestTaskPaneRecordNotSharedInHarness(t *testing.T) {
	w := taskPaneWorld(t)
	colleague, err := w.sf.AddUser(fakesalesforce.User{Username: "carla@world.example", Email: "carla@world.example", LastName: "Colleague"})
	if err != nil {
		t.Fatal(err)
	}
	b := newPaneBrowser(t, w)
	b.Open("/api/taskpane/harness")
	signInThroughDialog(t, b, w)
	waitPane(t, b, "the opportunity", `document.querySelector("#people button[data-record]") && document.body.innerText.indexOf("Acme renewal") >= 0`)
	opp := paneJS[string](b, `var bs = document.querySelectorAll("#people button[data-record]"); for (var i = 0; i < bs.length; i++) { if (bs[i].textContent === "Acme renewal") { return bs[i].getAttribute("data-record"); } } return ""`)
	if opp == "" {
		t.Fatal("no link to the Acme renewal")
	}
	if err := w.sf.Update(w.sfUser, opp, map[string]any{"OwnerId": colleague}); err != nil {
		t.Fatal(err)
	}
	clickPane(b, "#people button[data-record='"+opp+"']")
	waitPane(t, b, "the record not shared", `document.getElementById("no-access")`)
	if got := paneJS[string](b, `return document.getElementById("no-access").textContent`); !strings.Contains(got, "not shared with you in Salesforce") || !strings.Contains(got, "ask them or your Salesforce admin to share it with you") {
		t.Errorf("the record not shared: %q", got)
	}
	clickPane(b, "#back")
	waitPane(t, b, "the people again", `document.querySelector("#people li.person")`)

	// Acme: opened, then shared with the user read-only before they save.
	acc := paneJS[string](b, `var bs = document.querySelectorAll("#people button[data-record]"); for (var i = 0; i < bs.length; i++) { if (bs[i].textContent === "Acme Corporation") { return bs[i].getAttribute("data-record"); } } return ""`)
	clickPane(b, "#people button[data-record='"+acc+"']")
	waitPane(t, b, "the account", `document.getElementById("edit")`)
	clickPane(b, "#edit")
	waitPane(t, b, "the account's form", `document.getElementById("f-Phone")`)
	setPane(b, "#f-Phone", "+1 415 555 0199")
	setPane(b, "#f-Website", "https://acme.example/new")
	// Reassigned to the colleague: not shared with the user at all.
	if err := w.sf.Update(w.sfUser, acc, map[string]any{"OwnerId": colleague}); err != nil {
		t.Fatal(err)
	}
	clickPane(b, "#save-record")
	waitPane(t, b, "the refusal of a record not shared", `document.getElementById("problem").textContent.indexOf("no longer shared") >= 0`)
	if got := paneJS[string](b, `return document.getElementById("problem").textContent`); got != "Salesforce did not save your changes: this Account no longer exists or is no longer shared with you. Ask its owner or your Salesforce admin to share it with you. What you typed is kept." {
		t.Errorf("the refusal of a record not shared: %q", got)
	}
	// The colleague shares it read-only.
	if err := w.sf.ShareRecord(acc, w.sfUser, fakesalesforce.AccessRead); err != nil {
		t.Fatal(err)
	}
	clickPane(b, "#save-record")
	waitPane(t, b, "the refusal", `document.getElementById("problem").textContent.indexOf("read-only") >= 0`)
	if got := paneJS[string](b, `return document.getElementById("problem").textContent`); got != "Salesforce did not save your changes: this Account is shared with you read-only. Ask its owner or your Salesforce admin for edit access, then press Save again. What you typed is kept." {
		t.Errorf("the refusal: %q", got)
	}
	if got := paneJS[string](b, `return document.getElementById("problem").textContent`); strings.Contains(got, "no longer shared") {
		t.Errorf("the earlier refusal is still shown: %q", got)
	}
	typed := func() string {
		return paneJS[string](b, `return document.getElementById("f-Phone").value + "|" + document.getElementById("f-Website").value`)
	}
	if got := typed(); got != "+1 415 555 0199|https://acme.example/new" {
		t.Errorf("after the refusal the form holds %q", got)
	}
	if rec := w.sf.Record(acc); rec["Phone"] != "+1 415 555 0100" || rec["Website"] != "https://acme.example" {
		t.Errorf("the refused save wrote %v, %v", rec["Phone"], rec["Website"])
	}
	if paneJS[bool](b, `return document.getElementById("save-record").disabled`) {
		t.Error("Save cannot be pressed again")
	}

	// The owner gives edit access: Save again saves what the form holds.
	if err := w.sf.ShareRecord(acc, w.sfUser, fakesalesforce.AccessEdit); err != nil {
		t.Fatal(err)
	}
	clickPane(b, "#save-record")
	waitPane(t, b, "the saved account", `document.getElementById("status").textContent.indexOf("Saved.") >= 0 && document.querySelector("#record")`)
	if rec := w.sf.Record(acc); rec["Phone"] != "+1 415 555 0199" || rec["Website"] != "https://acme.example/new" {
		t.Errorf("after edit access was given the account holds %v, %v", rec["Phone"], rec["Website"])
	}
}
