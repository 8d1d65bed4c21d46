package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/local/idp"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
	"github.com/crmsync/crmsync/shared/identity"
	"github.com/crmsync/crmsync/shared/settings"
)

// taskPaneWorld is a demo-mode test world whose user is signed up and
// connected to the local Salesforce, with the add-in's public client
// (crmsync-addin, PKCE) as the Entra app the pane's sign-in dialog uses.
func taskPaneWorld(t testing.TB, colleagues ...idp.User) *testWorld {
	t.Helper()
	return taskPaneWorldAt(t, nil, colleagues...)
}

// taskPaneWorldAt is taskPaneWorld on the clock now (the wall clock when
// nil), which the app, the local Salesforce and the identity provider share.
func taskPaneWorldAt(t testing.TB, now func() time.Time, colleagues ...idp.User) *testWorld {
	t.Helper()
	w := newTestWorld(t, worldOptions{email: "wendy@world.example", extraUsers: colleagues, now: now, env: map[string]string{
		settings.NameDemo: "true", settings.NameEntraClientID: "crmsync-addin"}})
	w.paneUser = connectTaskPaneUser(t, w, w.oid, "wendy@world.example")
	for _, c := range colleagues {
		connectTaskPaneUser(t, w, c.ID, c.Email)
	}
	return w
}

// connectTaskPaneUser signs the identity provider's user oid up and
// connects them to the local Salesforce; it returns their user id.
func connectTaskPaneUser(t testing.TB, w *testWorld, oid, email string) string {
	t.Helper()
	ctx := context.Background()
	id := identity.Identity{Kind: identity.Entra, Org: w.tenant, Subject: oid, Email: email}
	p, created, err := w.app.users.SignIn(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if created {
		if err := w.app.onSignIn(ctx, p, id, created); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.app.conns.Save(ctx, connection.Connection{User: p.User, Provider: connection.Salesforce, Tenant: w.sf.OrgID(),
		InstanceURL: w.app.settings.Salesforce.LoginURL, Flow: connection.FlowPassword},
		connection.Credentials{Username: fakesalesforce.DemoUsername, Password: fakesalesforce.DemoPassword}); err != nil {
		t.Fatal(err)
	}
	return p.User
}

// paneJS runs js inside the task pane's frame of the harness.
func paneJS[T any](b *browsertest.Browser, js string) T {
	return browsertest.Eval[T](b, `(function(){ var d = document.getElementById("pane").contentDocument; var w = document.getElementById("pane").contentWindow; return (function(document, window){ `+js+` })(d, w); })()`)
}

// waitPane waits until cond (a JS expression in the pane) holds; what says
// what is awaited. It fails with the pane's text when the page never gets
// there (a deadline, not a timed assertion: nothing here measures speed).
func waitPane(t testing.TB, b *browsertest.Browser, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if paneJS[bool](b, `try { return !!(`+cond+`); } catch (e) { return false; }`) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waiting for %s; the pane shows: %s", what, paneJS[string](b, `return document.body ? document.body.innerText : ""`))
}

func clickPane(b *browsertest.Browser, sel string) {
	paneJS[bool](b, fmt.Sprintf(`var e = document.querySelector(%q); if (!e) { throw new Error("no %s"); } e.click(); return true;`, sel, sel))
}

// signInThroughDialog presses Sign in in the pane and picks the world's
// user on the local identity provider's page in the dialog.
func signInThroughDialog(t testing.TB, b *browsertest.Browser, w *testWorld) {
	t.Helper()
	signInAs(t, b, w.oid)
}

// signInAs presses Sign in in the pane and picks the identity provider's
// user oid in the dialog.
func signInAs(t testing.TB, b *browsertest.Browser, oid string) {
	t.Helper()
	waitPane(t, b, "the sign-in button", `document.getElementById("sign-in")`)
	clickPane(b, "#sign-in")
	sel := fmt.Sprintf(`button[value="%s"]`, oid)
	deadline := time.Now().Add(20 * time.Second)
	for !browsertest.Eval[bool](b, fmt.Sprintf(`(function(){ try { var d = document.getElementById("dialog-frame").contentDocument; return !!(d && d.querySelector(%q)); } catch (e) { return false; } })()`, sel)) {
		if time.Now().After(deadline) {
			t.Fatal("the identity provider's page never showed in the sign-in dialog")
		}
		time.Sleep(50 * time.Millisecond)
	}
	browsertest.Eval[bool](b, fmt.Sprintf(`(function(){ document.getElementById("dialog-frame").contentDocument.querySelector(%q).click(); return true; })()`, sel))
}

// tasksWithSubject counts the local Salesforce's Tasks with a subject.
func tasksWithSubject(t *testing.T, w *testWorld, subject string) int {
	t.Helper()
	return countWhere(t, w, "Task", "Subject = '"+subject+"'")
}

// TestTaskPaneReadModeInHarness reaches the simulated Outlook from the
// dashboard and uses the task pane at 350 px inside the
// simulated Outlook against the local Salesforce, by clicking: sign in
// through the dialog, see the e-mail's people with account, open
// opportunities; drill into a record and back; search; post to Chatter;
// file the attachment; share the e-mail pressing twice (one Task); then the
// meeting's people.
func TestTaskPaneReadModeInHarness(t *testing.T) {
	w := taskPaneWorld(t)
	b := newPaneBrowser(t, w)
	// The way in: the dashboard links the add-in's page, which (demo) links
	// the simulated Outlook.
	b.Open("/api/dashboard/")
	b.Click("#addin-link")
	b.Expect("crmsync for Outlook", []string{"Install", "Try it in the simulated Outlook"})
	b.Click("#try-harness")
	if got := browsertest.Eval[int](b, `document.getElementById("pane").getBoundingClientRect().width`); got != 350 {
		t.Fatalf("the pane is %d px wide, want 350", got)
	}
	signInThroughDialog(t, b, w)
	waitPane(t, b, "the e-mail's people", `document.querySelector("#people .person")`)
	text := paneJS[string](b, `return document.body.innerText`)
	for _, want := range []string{"Alice Anders", "Bob Brown", "Acme Corporation", "Acme renewal", "Share this e-mail"} {
		if !strings.Contains(text, want) {
			t.Errorf("the pane lacks %q:\n%s", want, text)
		}
	}
	if paneJS[bool](b, `return document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the pane overflows 350 px")
	}

	// Drill down into the account and back.
	clickPane(b, `#people .person div button[data-record]`)
	waitPane(t, b, "the account", `document.querySelector("#record") && document.body.innerText.indexOf("Acme Corporation") >= 0`)
	clickPane(b, "#chatter-text")
	paneJS[bool](b, `document.getElementById("chatter-text").value = "Renewal call booked"; return true`)
	clickPane(b, "#chatter-post")
	waitPane(t, b, "the Chatter post", `document.getElementById("status").textContent.indexOf("Posted to Chatter") >= 0`)
	clickPane(b, "#file-attach")
	waitPane(t, b, "the filed attachment", `document.getElementById("status").textContent.indexOf("proposal.txt filed") >= 0`)
	clickPane(b, "#back")
	waitPane(t, b, "the people again", `document.querySelector("#people .person")`)

	// Search.
	paneJS[bool](b, `document.getElementById("search").value = "Globex"; return true`)
	clickPane(b, "#search-go")
	waitPane(t, b, "search hits", `document.querySelector("#hits li")`)
	clickPane(b, "#back")
	waitPane(t, b, "the people again", `document.querySelector("#share-now")`)

	// Share: pressing twice shares once.
	before := tasksWithSubject(t, w, "Renewal questions")
	// Related to the Acme renewal opportunity.
	opp := paneJS[string](b, `var o = Array.from(document.querySelectorAll("#share-related option")).filter(function(o){ return o.textContent === "Opportunity: Acme renewal"; })[0]; return o ? o.value : ""`)
	if opp == "" {
		t.Fatal("the share offers no Acme renewal to relate to")
	}
	setPane(b, "#share-related", opp)
	paneJS[bool](b, `var s = document.getElementById("share-now"); s.click(); s.click(); return true`)
	waitPane(t, b, "the share", `document.getElementById("status").textContent.indexOf("Shared with") >= 0`)
	if got := tasksWithSubject(t, w, "Renewal questions") - before; got != 1 {
		t.Fatalf("pressing Share twice made %d Tasks, want 1", got)
	}
	if n := countWhere(t, w, "Task", "Subject = 'Renewal questions' AND WhatId = '"+opp+"'"); n != 1 {
		t.Errorf("%d shared Tasks related to the opportunity, want 1", n)
	}
	// Opened again, the same e-mail is found shared, not shared twice.
	// (The pane keeps its token for the next item: no second sign-in.)
	b.Open("/api/taskpane/harness")
	waitPane(t, b, "the share button", `document.querySelector("#share-now")`)
	clickPane(b, "#share-now")
	waitPane(t, b, "the second share", `document.getElementById("status").textContent.indexOf("Already shared") >= 0`)
	if got := tasksWithSubject(t, w, "Renewal questions") - before; got != 1 {
		t.Fatalf("sharing again made %d Tasks in all, want 1", got)
	}

	// The meeting's people.
	b.Open("/api/taskpane/harness?item=meeting")
	waitPane(t, b, "the meeting's people", `document.body.innerText.indexOf("Frank Fischer") >= 0 && document.body.innerText.indexOf("Globex") >= 0`)
	clickPane(b, "#share-now")
	waitPane(t, b, "the shared meeting", `document.getElementById("status").textContent.indexOf("next sync") >= 0`)
	if got := browsertest.Eval[string](b, `document.getElementById("reading").textContent`); !strings.Contains(got, "Categories: Salesforce") {
		t.Errorf("the meeting after Share: %s", got)
	}
	if p := b.Problems(); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
}

// TestTaskPaneComposeInHarness: in a draft, Track opens inserts the pixel
// that crmsync minted for the draft at the top of the body; the sent copy
// then shows its opens (none, then one after the pixel is fetched); Share
// when sent marks the draft with the Salesforce category.
func TestTaskPaneComposeInHarness(t *testing.T) {
	w := taskPaneWorld(t)
	b := signedInHarness(t, w, "/api/taskpane/harness?item=compose")
	waitPane(t, b, "the compose tools", `document.querySelector("#track-opens")`)
	// Open tracking is off until the user turns it on (the dashboard's
	// Tracked e-mails page, clicked in TestBrowserTrackedOpens): the pane
	// says so and where, and inserts nothing.
	clickPane(b, "#track-opens")
	waitPane(t, b, "tracking refused while off", `document.body.innerText.indexOf("Tracked e-mails page") >= 0`)
	if body := browsertest.Eval[string](b, `document.getElementById("reading").getAttribute("data-body")`); strings.Contains(body, "/api/pixel/") {
		t.Fatalf("the draft got a pixel while tracking is off: %s", body)
	}
	if err := w.app.tracker.SetEnabled(context.Background(), w.paneUser, true); err != nil {
		t.Fatal(err)
	}
	clickPane(b, "#track-opens")
	waitPane(t, b, "tracking", `document.getElementById("status").textContent.indexOf("Opens will be tracked") >= 0`)
	body := browsertest.Eval[string](b, `document.getElementById("reading").getAttribute("data-body")`)
	if !strings.HasPrefix(body, `<img src="`+w.srv.URL+`/api/pixel/`) || !strings.Contains(body, "here is our offer") {
		t.Errorf("the draft's body after Track opens: %s", body)
	}
	// The sent copy shows its opens: none, then one after a recipient's
	// mail client fetched the pixel.
	pixel := body[len(`<img src="`):strings.Index(body, `" width`)]
	browsertest.Eval[bool](b, `(function(){ document.querySelector("[data-item=sent]").click(); return true; })()`)
	waitPane(t, b, "the sent e-mail's opens", `document.getElementById("opens-words")`)
	if got := paneJS[string](b, `return document.getElementById("opens-words").textContent`); got != "Not opened yet." {
		t.Errorf("before any open: %q", got)
	}
	req, _ := http.NewRequest(http.MethodGet, pixel, nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
	resp, err := w.srv.Client().Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("fetching the pixel: %v %v", err, resp)
	}
	resp.Body.Close()
	browsertest.Eval[bool](b, `(function(){ document.querySelector("[data-item=sent]").click(); return true; })()`)
	waitPane(t, b, "the open", `document.getElementById("opens-words") && document.getElementById("opens-words").textContent.indexOf("Opened 1 time") === 0`)

	browsertest.Eval[bool](b, `(function(){ document.querySelector("[data-item=compose]").click(); return true; })()`)
	waitPane(t, b, "the compose tools again", `document.querySelector("#share-when-sent")`)
	clickPane(b, "#share-when-sent")
	waitPane(t, b, "the mark", `document.getElementById("status").textContent.indexOf("once it is sent") >= 0`)
	if got := browsertest.Eval[string](b, `document.getElementById("reading").textContent`); !strings.Contains(got, "Categories: Salesforce") {
		t.Errorf("the draft after Share when sent: %s", got)
	}
}

// countWhere counts the local Salesforce's records of object matching a
// SOQL condition.
func countWhere(t *testing.T, w *testWorld, object, where string) int {
	t.Helper()
	q := url.QueryEscape("SELECT Id FROM " + object + " WHERE " + where)
	req, _ := http.NewRequest(http.MethodGet, w.app.settings.Salesforce.LoginURL+"/services/data/v64.0/query?q="+q, nil)
	req.Header.Set("Authorization", "Bearer "+w.sf.IssueToken(w.sfUser))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		TotalSize int `json:"totalSize"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || resp.StatusCode != 200 {
		t.Fatalf("querying %s: %v (%s)", object, err, resp.Status)
	}
	return ans.TotalSize
}

func setPane(b *browsertest.Browser, sel, value string) {
	paneJS[bool](b, fmt.Sprintf(`var e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event("change")); return true;`, sel, value))
}

// TestTaskPaneCreateEditInHarness creates and edits records from the
// describe at 350 px: required fields refused empty, picklists as lists,
// create-only fields shown read-only when editing; a Salesforce limit is
// explained in words.
func TestTaskPaneCreateEditInHarness(t *testing.T) {
	w := taskPaneWorld(t)
	b := signedInHarness(t, w, "/api/taskpane/harness")
	openCreateForm(t, b, "Lead", `document.querySelector("#f-LastName")`)
	// Prefilled from the e-mail's sender and signature.
	if got := paneJS[string](b, `return document.getElementById("f-LastName").value + "|" + document.getElementById("f-Email").value`); got != "Anders|alice@acme.example" {
		t.Errorf("the Lead form is prefilled with %q", got)
	}
	setPane(b, "#f-LastName", "")
	setPane(b, "#f-Company", "")
	if got := paneJS[string](b, `return Array.from(document.querySelectorAll("#f-Status option")).map(function(o){return o.value}).join(",")`); !strings.Contains(got, "Open - Not Contacted") {
		t.Errorf("the Status picklist offers %q", got)
	}
	clickPane(b, "#save-record")
	waitPane(t, b, "the required fields", `document.getElementById("problem").textContent.indexOf("Fill in") >= 0 && document.getElementById("problem").textContent.indexOf("Last Name") >= 0 && document.getElementById("problem").textContent.indexOf("Company") >= 0`)

	setPane(b, "#f-LastName", "Zed")
	setPane(b, "#f-Company", "Zenith")
	clickPane(b, "#save-record")
	waitPane(t, b, "the created Lead", `document.getElementById("status").textContent.indexOf("Lead created") >= 0 && document.querySelector("#record")`)
	if n := countWhere(t, w, "Lead", "Company = 'Zenith'"); n != 1 {
		t.Fatalf("%d Leads for Zenith, want 1", n)
	}

	clickPane(b, "#edit")
	waitPane(t, b, "the edit form", `document.querySelector("#f-Title")`)
	setPane(b, "#f-Title", "CEO")
	clickPane(b, "#save-record")
	waitPane(t, b, "the saved Lead", `document.getElementById("status").textContent.indexOf("Saved") >= 0 && document.querySelector("#record") && document.body.innerText.indexOf("CEO") >= 0`)
	if n := countWhere(t, w, "Lead", "Company = 'Zenith' AND Title = 'CEO'"); n != 1 {
		t.Fatalf("the edit reached %d Leads", n)
	}

	// A Contact whose account is found by searching.
	clickPane(b, "#back")
	openCreateForm(t, b, "Contact", `document.querySelector("#find-AccountId")`)
	setPane(b, "#f-LastName", "Lookup")
	setPane(b, "#find-AccountId", "Acme")
	clickPane(b, "#find-go-AccountId")
	waitPane(t, b, "the accounts found", `document.querySelector("#found-AccountId button[data-pick]")`)
	clickPane(b, "#found-AccountId button[data-pick]")
	if got := paneJS[string](b, `return document.getElementById("chosen-AccountId").textContent`); got != "Acme Corporation" {
		t.Errorf("the lookup chose %q", got)
	}
	clickPane(b, "#save-record")
	waitPane(t, b, "the created Contact", `document.getElementById("status").textContent.indexOf("Contact created") >= 0`)
	if n := countWhere(t, w, "Contact", "LastName = 'Lookup' AND Account.Name = 'Acme Corporation'"); n != 1 {
		t.Errorf("%d Contacts Lookup at Acme, want 1", n)
	}

	// A Task: its subtype can be chosen on create only, so editing shows it read-only.
	clickPane(b, "#back")
	openCreateForm(t, b, "Task", `document.querySelector("#f-Subject")`)
	setPane(b, "#f-Subject", "Call Zed")
	setPane(b, "#f-TaskSubtype", "Call")
	clickPane(b, "#save-record")
	waitPane(t, b, "the created Task", `document.getElementById("status").textContent.indexOf("created") >= 0 && document.querySelector("#edit")`)
	clickPane(b, "#edit")
	waitPane(t, b, "the Task edit form", `document.querySelector("#f-Subject")`)
	if !paneJS[bool](b, `var e = document.getElementById("f-TaskSubtype"); return !!e && e.disabled && document.querySelector("label[for=f-TaskSubtype]").textContent.indexOf("read-only") >= 0`) {
		t.Error("the Task's create-only subtype is not shown read-only when editing")
	}

	// A record the user may not see, in words.
	clickPane(b, "#back") // the form, then the Task
	waitPane(t, b, "the Task", `document.querySelector("#record")`)
	clickPane(b, "#back")
	waitPane(t, b, "the people", `document.querySelector("#people .person button[data-record]")`)
	w.sf.Inject(fakesalesforce.Fault{Resource: "sobject", Status: 404, ErrorCode: "NOT_FOUND", Message: "The requested resource does not exist"})
	clickPane(b, "#people .person button[data-record]")
	waitPane(t, b, "the refusal in words", `document.getElementById("no-access") && document.getElementById("no-access").textContent.indexOf("does not exist, or it is not shared with you") >= 0`)

	// A Salesforce limit, in words.
	w.sf.Inject(fakesalesforce.Fault{Resource: "search", Status: 403, ErrorCode: "REQUEST_LIMIT_EXCEEDED", Message: "TotalRequests Limit exceeded."})
	w.sf.Inject(fakesalesforce.Fault{Resource: "parameterizedSearch", Status: 403, ErrorCode: "REQUEST_LIMIT_EXCEEDED", Message: "TotalRequests Limit exceeded."})
	setPane(b, "#search", "Zenith")
	clickPane(b, "#search-go")
	waitPane(t, b, "the limit in words", `document.getElementById("problem").textContent.indexOf("allowance") >= 0`)
}

// TestTaskPaneLayoutsInHarness: a user makes the pane search Leads only
// (a Contact is no longer found, a Lead is), cannot set the organisation's
// layout, shares theirs under a code, and a colleague in another browser
// takes it and searches the same way.
func TestTaskPaneLayoutsInHarness(t *testing.T) {
	colleague := idp.User{ID: "0d000000-0000-4000-8000-0000000000c2", Name: "Colin Colleague", Tenant: worldTenant, Email: "colin@world.example"}
	w := taskPaneWorld(t, colleague)
	flags := []chromedp.ExecAllocatorOption{chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("disable-web-security", true), chromedp.Flag("disable-site-isolation-trials", true)}
	b := browsertest.New(t, w.srv.URL, 900, flags...)
	b.Open("/api/taskpane/harness")
	signInThroughDialog(t, b, w)
	waitPane(t, b, "the people", `document.querySelector("#people .person")`)
	search := func(b *browsertest.Browser, q string) string {
		t.Helper()
		setPane(b, "#search", q)
		clickPane(b, "#search-go")
		waitPane(t, b, "the results for "+q, `document.querySelector("#hits li") || document.body.innerText.indexOf("Nothing found") >= 0`)
		return paneJS[string](b, `return document.getElementById("view").innerText`)
	}
	if got := search(b, "Anders"); !strings.Contains(got, "Alice Anders") {
		t.Fatalf("before the layout, searching Anders finds: %s", got)
	}

	clickPane(b, "#layout-open")
	waitPane(t, b, "the layout", `document.getElementById("layout-search-Lead")`)
	if got := paneJS[string](b, `return document.getElementById("layout-source").textContent`); !strings.Contains(got, "crmsync's layout") {
		t.Errorf("a new user's layout: %s", got)
	}
	clickPane(b, "#layout-search-Lead")
	clickPane(b, "#layout-save")
	waitPane(t, b, "the saved layout", `document.getElementById("status").textContent.indexOf("Your layout is saved") >= 0`)
	clickPane(b, "#layout-org")
	waitPane(t, b, "the refusal", `document.getElementById("problem").textContent.indexOf("Only an organisation admin") >= 0`)
	clickPane(b, "#layout-share")
	waitPane(t, b, "the code", `document.getElementById("layout-code").textContent.length === 10`)
	code := paneJS[string](b, `return document.getElementById("layout-code").textContent`)

	if got := search(b, "Anders"); strings.Contains(got, "Alice Anders") {
		t.Errorf("with Leads only, searching Anders finds: %s", got)
	}
	if got := search(b, "Fischer"); !strings.Contains(got, "Frank Fischer") {
		t.Errorf("with Leads only, searching Fischer finds: %s", got)
	}

	c := browsertest.New(t, w.srv.URL, 900, flags...)
	c.Open("/api/taskpane/harness")
	signInAs(t, c, colleague.ID)
	waitPane(t, c, "the colleague's people", `document.querySelector("#people .person")`)
	clickPane(c, "#layout-open")
	waitPane(t, c, "the colleague's layout", `document.getElementById("layout-take-code")`)
	setPane(c, "#layout-take-code", strings.ToLower(code))
	clickPane(c, "#layout-take")
	waitPane(t, c, "the taken layout", `document.getElementById("status").textContent.indexOf("colleague's layout") >= 0`)
	if got := search(c, "Anders"); strings.Contains(got, "Alice Anders") {
		t.Errorf("the colleague with the taken layout finds: %s", got)
	}
}
