package main

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
)

// paneOverflows says whether the pane's page is wider than the pane.
func paneOverflows(b *browsertest.Browser) bool {
	return paneJS[bool](b, `return document.documentElement.scrollWidth > window.innerWidth`)
}

// TestTaskPaneKeyboardAndNarrowInHarness uses the pane at 320 px, the
// narrowest Outlook gives it, the way a keyboard user does: no view is wider
// than the pane; opening a record puts the focus on its heading and Back
// returns it to the link that opened it; Enter in a lookup's search box
// searches instead of saving the half-filled form (before, the browser's
// implicit submission created the Contact without its account); choosing a
// hit returns the focus to the search box; a save refused for a missing
// field puts the focus on that field, marked invalid.
func TestTaskPaneKeyboardAndNarrowInHarness(t *testing.T) {
	w := taskPaneWorld(t)
	b := newPaneBrowser(t, w)
	b.Open("/api/taskpane/harness")
	browsertest.Eval[bool](b, `(function(){ var s = document.getElementById("width"); s.value = "320"; s.dispatchEvent(new Event("change")); return true; })()`)
	if got := browsertest.Eval[int](b, `document.getElementById("pane").getBoundingClientRect().width`); got != 320 {
		t.Fatalf("the pane is %d px wide, want 320", got)
	}
	signInThroughDialog(t, b, w)
	waitPane(t, b, "the e-mail's people", `document.querySelector("#people .person") && document.querySelector("#share-now")`)
	if paneOverflows(b) {
		t.Error("the people overflow 320 px")
	}

	// Drill down by keyboard: the focus lands on the record's heading, and
	// Back brings it to the link that opened the record.
	link := `#people .person div button[data-record]`
	account := paneJS[string](b, `var e = document.querySelector(`+"`"+link+"`"+`); e.focus(); e.click(); return e.getAttribute("data-record")`)
	waitPane(t, b, "the account", `document.querySelector("#record")`)
	if got := paneJS[string](b, `var a = document.activeElement; return a ? a.tagName + ":" + a.textContent : ""`); got != "H2:Account: Acme Corporation" {
		t.Errorf("after opening the account the focus is on %q", got)
	}
	if paneOverflows(b) {
		t.Error("the record overflows 320 px")
	}
	paneJS[bool](b, `var e = document.getElementById("back"); e.focus(); e.click(); return true`)
	waitPane(t, b, "the people again", `document.querySelector("#people .person")`)
	if !paneJS[bool](b, `return document.activeElement === document.querySelector('[data-record="`+account+`"]')`) {
		t.Errorf("after Back the focus is on %q, not on the account's link", paneJS[string](b, `var a = document.activeElement; return a ? a.tagName + "#" + a.id + ":" + a.textContent : ""`))
	}

	// A Contact's form, its account looked up by keyboard.
	openCreateForm(t, b, "Contact", `document.querySelector("#find-AccountId")`)
	if got := paneJS[string](b, `var a = document.activeElement; return a ? a.tagName + ":" + a.textContent : ""`); got != "H2:New Contact" {
		t.Errorf("the new form's focus is on %q", got)
	}
	if paneOverflows(b) {
		t.Error("the Contact form overflows 320 px")
	}
	// Saving without the last name puts the keyboard on it.
	setPane(b, "#f-LastName", "")
	clickPane(b, "#save-record")
	waitPane(t, b, "the missing last name", `document.getElementById("problem").textContent.indexOf("Last Name") >= 0`)
	if got := paneJS[string](b, `var a = document.activeElement; return a ? a.id + "|" + a.getAttribute("aria-invalid") + "|" + a.getAttribute("aria-describedby") : ""`); got != "f-LastName|true|err-LastName" {
		t.Errorf("after saving without a last name the focus is on %q", got)
	}
	setPane(b, "#f-LastName", "Keyboard")
	paneJS[bool](b, `var q = document.getElementById("find-AccountId"); q.value = "Acme"; q.focus(); return true`)
	b.Do("pressing Enter in the account search", chromedp.KeyEvent("\r"))
	waitPane(t, b, "the accounts found", `document.querySelector("#found-AccountId button[data-pick]")`)
	if n := countWhere(t, w, "Contact", "LastName = 'Keyboard'"); n != 0 {
		t.Fatalf("Enter in the account search saved %d Contacts", n)
	}
	if !paneJS[bool](b, `return !!document.getElementById("record-form")`) {
		t.Fatal("Enter in the account search left the form")
	}
	clickPane(b, "#found-AccountId button[data-pick]")
	if got := paneJS[string](b, `return document.activeElement ? document.activeElement.id : ""`); got != "find-AccountId" {
		t.Errorf("after choosing the account the focus is on %q", got)
	}
	clickPane(b, "#save-record")
	waitPane(t, b, "the created Contact", `document.getElementById("status").textContent.indexOf("Contact created") >= 0 && document.querySelector("#record")`)
	if n := countWhere(t, w, "Contact", "LastName = 'Keyboard' AND Account.Name = 'Acme Corporation'"); n != 1 {
		t.Errorf("%d Contacts Keyboard at Acme, want 1", n)
	}
	if got := paneJS[string](b, `var a = document.activeElement; return a ? a.tagName : ""`); got != "H2" {
		t.Errorf("after the save the focus is on %q, not the record's heading", got)
	}

	// The layout, the widest view, fits too.
	clickPane(b, "#layout-open")
	waitPane(t, b, "the layout", `document.getElementById("layout-search-Lead")`)
	if paneOverflows(b) {
		t.Errorf("the layout overflows 320 px: %d px", paneJS[int](b, `return document.documentElement.scrollWidth`))
	}
}
