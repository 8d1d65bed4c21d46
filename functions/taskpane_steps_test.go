package main

import (
	"testing"

	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
)

// signedInHarness opens the simulated Outlook at path (the harness, with
// its query) in a new browser on the world and signs in through the
// dialog: the start of most task pane browser tests.
func signedInHarness(t testing.TB, w *testWorld, path string) *browsertest.Browser {
	t.Helper()
	b := newPaneBrowser(t, w)
	b.Open(path)
	signInThroughDialog(t, b, w)
	return b
}

// openCreateForm opens the pane's create form of object (an API name) and
// waits until ready, a JS condition on the form, holds.
func openCreateForm(t testing.TB, b *browsertest.Browser, object, ready string) {
	t.Helper()
	waitPane(t, b, "the create button", `document.querySelector("#create")`)
	clickPane(b, "#create")
	waitPane(t, b, "the objects", `document.querySelector("#create-object option[value=`+object+`]")`)
	setPane(b, "#create-object", object)
	clickPane(b, "#create-go")
	waitPane(t, b, "the "+object+" form", ready)
}
