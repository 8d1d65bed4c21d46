package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
)

// leadForm reads the Lead form's last name, company and title in the pane.
func leadForm(b *browsertest.Browser) string {
	return paneJS[string](b, `return ["f-LastName", "f-Company", "f-Title"].map(function(id){ var e = document.getElementById(id); return e ? e.value : "(gone)"; }).join("|")`)
}

// TestTaskPaneSignInExpiresMidFormInHarness: the user fills a new Lead's
// form, and their crmsync sign-in expires before they press Create (the
// world's clock moves past the token's expiry, so the add-in API answers
// 401). The pane asks them to sign in again and keeps the form; when the
// sign-in fails (they close the window) it says so in words and still keeps
// the form, which they go on editing; once signed in, the save runs again
// by itself with what the form holds, and one Lead reaches the local
// Salesforce.
func TestTaskPaneSignInExpiresMidFormInHarness(t *testing.T) {
	clock := &movedClock{}
	w := taskPaneWorldAt(t, clock.now)
	b := browsertest.New(t, w.srv.URL, 900, chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("disable-web-security", true), chromedp.Flag("disable-site-isolation-trials", true))
	b.Open("/api/taskpane/harness")
	signInThroughDialog(t, b, w)
	waitPane(t, b, "the create button", `document.querySelector("#create")`)
	clickPane(b, "#create")
	waitPane(t, b, "the objects", `document.querySelector("#create-object option[value=Lead]")`)
	setPane(b, "#create-object", "Lead")
	clickPane(b, "#create-go")
	waitPane(t, b, "the Lead form", `document.querySelector("#f-LastName")`)
	setPane(b, "#f-LastName", "Expiry")
	setPane(b, "#f-Company", "Latebound")
	setPane(b, "#f-Title", "Buyer")

	// The token's hour (and the accepted skew) passes while the form is open.
	clock.advance(2 * time.Hour)
	clickPane(b, "#save-record")
	waitPane(t, b, "the sign-in prompt", `document.getElementById("problem").textContent.indexOf("Your crmsync sign-in has expired") >= 0 && document.getElementById("sign-in")`)
	if got := leadForm(b); got != "Expiry|Latebound|Buyer" {
		t.Errorf("after the 401 the form holds %q", got)
	}
	if got := paneJS[string](b, `return document.getElementById("problem").textContent`); !strings.Contains(got, "what you typed is kept") {
		t.Errorf("the prompt does not say the form is kept: %q", got)
	}
	if n := countWhere(t, w, "Lead", "Company = 'Latebound'"); n != 0 {
		t.Fatalf("%d Leads saved with an expired sign-in", n)
	}

	// Signing in fails: the user closes the sign-in window.
	clickPane(b, "#sign-in")
	deadline := time.Now().Add(20 * time.Second)
	for !browsertest.Eval[bool](b, `(function(){ try { var d = document.getElementById("dialog-frame").contentDocument; return !document.getElementById("dialog").hidden && !!(d && d.querySelector("button[value]")); } catch (e) { return false; } })()`) {
		if time.Now().After(deadline) {
			t.Fatal("the sign-in window never showed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	browsertest.Eval[bool](b, `(function(){ document.getElementById("dialog-close").click(); return true; })()`)
	waitPane(t, b, "the failed sign-in in words", `document.getElementById("problem").textContent.indexOf("The sign-in window was closed before you signed in.") >= 0`)
	if got := paneJS[string](b, `return document.getElementById("problem").textContent`); !strings.Contains(got, "what you typed is kept") {
		t.Errorf("after the failed sign-in: %q", got)
	}
	if got := leadForm(b); got != "Expiry|Latebound|Buyer" {
		t.Errorf("after the failed sign-in the form holds %q", got)
	}
	if paneJS[bool](b, `return document.getElementById("sign-in").disabled`) {
		t.Error("Sign in cannot be pressed again after the failure")
	}
	// The user goes on typing, then signs in: the save runs by itself with
	// what the form holds now.
	setPane(b, "#f-Title", "Head buyer")
	signInAs(t, b, w.oid)
	waitPane(t, b, "the Lead created after signing in again", `document.getElementById("status").textContent.indexOf("Lead created") >= 0 && document.querySelector("#record")`)
	if n := countWhere(t, w, "Lead", "LastName = 'Expiry' AND Company = 'Latebound' AND Title = 'Head buyer'"); n != 1 {
		t.Fatalf("%d Leads as typed after signing in again, want 1", n)
	}
	if n := countWhere(t, w, "Lead", "Company = 'Latebound'"); n != 1 {
		t.Fatalf("%d Leads for Latebound, want 1", n)
	}
}
