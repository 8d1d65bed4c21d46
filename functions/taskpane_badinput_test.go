package main

import (
	"strings"
	"testing"
)

// sfCalls sums the local Salesforce's counted API calls.
func sfCalls(w *testWorld) (int, map[string]int) {
	calls := w.sf.Calls()
	n := 0
	for _, c := range calls {
		n += c
	}
	return n, calls
}

// TestTaskPaneBadInputInHarness: an e-mail to nobody but the user says
// there is nobody to look up (and calls nothing); an e-mail to 200 people
// lists them all within the pane's 350 px, with Salesforce calls bounded by
// the chunks of 100 addresses and accounts, not by the recipients.
func TestTaskPaneBadInputInHarness(t *testing.T) {
	w := taskPaneWorld(t)
	b := signedInHarness(t, w, "/api/taskpane/harness?item=self")
	w.sf.ResetCalls()
	waitPane(t, b, "the empty answer", `document.getElementById("no-people")`)
	if n, calls := sfCalls(w); n != 0 {
		t.Errorf("an e-mail to oneself called Salesforce: %v", calls)
	}

	// The token is kept for the pane's next item: no second sign-in.
	w.sf.ResetCalls()
	b.Open("/api/taskpane/harness?item=crowd")
	waitPane(t, b, "the crowd", `document.querySelectorAll("#people li.card").length >= 202`)
	if got := paneJS[int](b, `return document.querySelectorAll("#people li.unknown").length`); got != 201 {
		t.Errorf("%d unknown people listed, want 201", got)
	}
	if !strings.Contains(paneJS[string](b, `return document.body.innerText`), "Alice Anders") {
		t.Error("Alice is not among the crowd")
	}
	if paneJS[bool](b, `return document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the crowd overflows the pane")
	}
	_, first := sfCalls(w)
	t.Logf("Salesforce calls for an e-mail to 202 people, first opened: %v", first)
	w.sf.ResetCalls()
	b.Open("/api/taskpane/harness?item=crowd")
	waitPane(t, b, "the crowd again", `document.querySelectorAll("#people li.card").length >= 202`)
	n, calls := sfCalls(w)
	t.Logf("opened again: %d %v", n, calls)
	// The bound per opened e-mail: ceil(addresses/100) people lookups +
	// ceil(accounts/100) account lookups, each one batch request; the
	// first opening in a process also reads the describes the Salesforce
	// client caches.
	if first["batch"] != 3+1 || n != 3+1 || calls["batch"] != 3+1 {
		t.Errorf("Salesforce calls per opened e-mail: first %v, again %v; bound 4 batch calls for 202 addresses and 1 account", first, calls)
	}
}
