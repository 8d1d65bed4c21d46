package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"

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
	b := signedInHarness(t, w, "/api/taskpane/harness")
	openCreateForm(t, b, "Lead", `document.querySelector("#f-LastName")`)
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
	if got := paneJS[string](b, `return document.getElementById("problem").textContent`); !strings.HasPrefix(got, "The sign-in window was closed before you signed in. Press Sign in to try again. What you typed is kept.") {
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

// giveNAATokens makes the simulated Outlook's NAA bridge answer with a
// fresh access token and id token for the world's user, minted now on the
// world's clock by the local identity provider.
func giveNAATokens(t *testing.T, b *browsertest.Browser, w *testWorld, now time.Time) {
	t.Helper()
	access, err := w.provider.AccessToken(w.oid, "crmsync-addin", "access_as_user")
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.provider.Sign(jwt.MapClaims{"iss": w.provider.Issuer(w.tenant), "aud": "crmsync-addin", "sub": w.oid, "oid": w.oid, "tid": w.tenant,
		"preferred_username": "wendy@world.example", "name": "Wendy World", "ver": "2.0", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Eval[bool](b, fmt.Sprintf(`(function(){ window.HarnessNAA.token = %q; window.HarnessNAA.idToken = %q; return true; })()`, access, id))
}

// naaRequests lists the GetToken requests the bridge answered, as
// "GetToken" or "GetToken+fresh".
func naaRequests(b *browsertest.Browser) []string {
	return browsertest.Eval[[]string](b, `window.HarnessNAA.requests.filter(function(r){ return r.method !== "GetInitContext"; }).map(function(r){ return r.method + (r.forceRefresh ? "+fresh" : ""); })`)
}

// TestTaskPaneNAARenewsMidFormInHarness: in an Outlook with nested app
// authentication the pane signs in silently; when the token expires while
// a form is being filled (the API answers 401), it asks Outlook for a new
// token past MSAL's cache (forceRefresh: the cache would give the refused
// token back) and saves what was typed without asking the user. When
// Outlook keeps handing out a token the API refuses, the pane asks the user
// to sign in after one silent try instead of looping.
func TestTaskPaneNAARenewsMidFormInHarness(t *testing.T) {
	clock := &movedClock{}
	w := taskPaneWorldAt(t, clock.now)
	b := browsertest.New(t, w.srv.URL, 900, chromedp.Flag("ignore-certificate-errors", true))
	b.Open("/api/taskpane/harness?naa=on")
	// Outlook's user signs in (the pane opened before asked in vain); the
	// e-mail is opened again.
	giveNAATokens(t, b, w, clock.now())
	browsertest.Eval[bool](b, `(function(){ window.HarnessNAA.requests = []; document.querySelector("[data-item=email]").click(); return true; })()`)
	waitPane(t, b, "the people, signed in silently", `document.querySelector("#people .person") && document.querySelector("#create")`)
	if paneJS[bool](b, `return !!document.getElementById("sign-in")`) {
		t.Fatal("the pane asked to sign in although Outlook gave a token")
	}
	if got := naaRequests(b); len(got) != 1 || got[0] != "GetToken" {
		t.Errorf("signing in asked the bridge %v", got)
	}

	openCreateForm(t, b, "Lead", `document.querySelector("#f-LastName")`)
	setPane(b, "#f-LastName", "Nested")
	setPane(b, "#f-Company", "Bridgeworks")

	// The hour passes; Outlook has a new token for the asking.
	clock.advance(2 * time.Hour)
	giveNAATokens(t, b, w, clock.now())
	clickPane(b, "#save-record")
	waitPane(t, b, "the Lead saved after a silent renewal", `document.getElementById("status").textContent.indexOf("Lead created") >= 0 && document.querySelector("#record")`)
	if n := countWhere(t, w, "Lead", "LastName = 'Nested' AND Company = 'Bridgeworks'"); n != 1 {
		t.Fatalf("%d Leads as typed, want 1", n)
	}
	if got := naaRequests(b); len(got) != 2 || got[1] != "GetToken+fresh" {
		t.Errorf("the renewal asked the bridge %v, want a second GetToken past the cache", got)
	}

	// Outlook now keeps giving a token the API refuses: one silent try,
	// then the user is asked, with the form kept.
	clock.advance(2 * time.Hour)
	clickPane(b, "#edit")
	waitPane(t, b, "the edit form", `document.querySelector("#f-Title")`)
	setPane(b, "#f-Title", "Owner")
	clickPane(b, "#save-record")
	waitPane(t, b, "the sign-in prompt", `document.getElementById("sign-in") && document.getElementById("problem").textContent.indexOf("Your crmsync sign-in has expired") >= 0`)
	if got := naaRequests(b); len(got) != 3 || got[2] != "GetToken+fresh" {
		t.Errorf("with a refused token the bridge was asked %v, want one more fresh GetToken and no loop", got)
	}
	if got := paneJS[string](b, `return document.getElementById("f-Title").value`); got != "Owner" {
		t.Errorf("the form lost the title: %q", got)
	}
	// Outlook signs the user in again: the save goes through.
	giveNAATokens(t, b, w, clock.now())
	clickPane(b, "#sign-in")
	waitPane(t, b, "the saved Lead", `document.getElementById("status").textContent.indexOf("Saved") >= 0`)
	if n := countWhere(t, w, "Lead", "LastName = 'Nested' AND Title = 'Owner'"); n != 1 {
		t.Fatalf("the edit reached %d Leads, want 1", n)
	}
}
