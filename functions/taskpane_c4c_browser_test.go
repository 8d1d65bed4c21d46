package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/c4c"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
	"github.com/crmsync/crmsync/shared/identity"
	"github.com/crmsync/crmsync/shared/settings"
)

// c4cTaskPaneWorld is taskPaneWorld with SAP Cloud for Customer as the
// CRM: the demo C4C tenant (SeedDemo) serves, and the pane's user is
// connected to it with the demo communication user. The pane's user is the
// demo employee (DemoEmployeeEmail), who owns the seeded records.
func c4cTaskPaneWorld(t *testing.T) (*testWorld, *fakec4c.Server, *httptest.Server) {
	t.Helper()
	srv := fakec4c.New(fakec4c.Options{})
	if err := fakec4c.SeedDemo(srv, time.Now()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	w := newTestWorld(t, worldOptions{email: fakec4c.DemoEmployeeEmail, env: map[string]string{
		settings.NameDemo: "true", settings.NameEntraClientID: "crmsync-addin", settings.NameCRM: settings.CRMC4C}})
	ctx := t.Context()
	tenant, err := c4c.Check(ctx, c4c.Options{Host: hs.URL, User: fakec4c.DemoUser, Password: fakec4c.DemoPassword})
	if err != nil {
		t.Fatal(err)
	}
	id := identity.Identity{Kind: identity.Entra, Org: w.tenant, Subject: w.oid, Email: fakec4c.DemoEmployeeEmail}
	p, created, err := w.app.users.SignIn(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if created {
		if err := w.app.onSignIn(ctx, p, id, created); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.app.conns.Save(ctx, connection.Connection{User: p.User, Provider: c4c.Provider, Tenant: tenant, InstanceURL: hs.URL, Flow: connection.FlowPassword},
		connection.Credentials{Username: fakec4c.DemoUser, Password: fakec4c.DemoPassword}); err != nil {
		t.Fatal(err)
	}
	w.paneUser = p.User
	return w, srv, hs
}

// c4cRead reads the local C4C's records of a collection matching a
// $filter, as the demo communication user would.
func c4cRead(t *testing.T, hs *httptest.Server, coll, filter string) []map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/sap/c4c/odata/v1/c4codataapi/"+coll+"?$filter="+url.QueryEscape(filter), nil)
	req.SetBasicAuth(fakec4c.DemoUser, fakec4c.DemoPassword)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		D struct {
			Results []map[string]any `json:"results"`
		} `json:"d"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || resp.StatusCode != 200 {
		t.Fatalf("reading C4C %s: %v (%s)", coll, err, resp.Status)
	}
	return ans.D.Results
}

// TestTaskPaneC4CInHarness uses the task pane at 350 px in the simulated
// Outlook with SAP Cloud for Customer as the CRM, by clicking: sign in
// through the dialog; the e-mail's people with their account, its open
// opportunity (not the won one) and its open ticket (not the completed
// one); the account opened (the attachment filed on it) and back; the
// e-mail shared once (no "Related to" C4C cannot keep); search; a Contact created from C4C's
// $metadata (the required last name refused empty, the status offered from
// its code list) and edited (the ETag round trip); no Chatter offered, and
// no word of Salesforce anywhere.
func TestTaskPaneC4CInHarness(t *testing.T) {
	w, srv, hs := c4cTaskPaneWorld(t)
	b := newPaneBrowser(t, w)
	// The way in: the add-in's page names C4C and promises no Chatter.
	b.Open("/api/taskpane/")
	b.Expect("crmsync for Outlook", []string{"against the local SAP Cloud for Customer"})
	if body := browsertest.Eval[string](b, `document.body.innerText`); strings.Contains(body, "Chatter") || strings.Contains(body, "Salesforce") {
		t.Errorf("the add-in's page for a C4C deployment: %s", body)
	}
	b.Click("#try-harness")
	if got := browsertest.Eval[int](b, `document.getElementById("pane").getBoundingClientRect().width`); got != 350 {
		t.Fatalf("the pane is %d px wide, want 350", got)
	}
	noSalesforce := func(where string) {
		t.Helper()
		if text := paneJS[string](b, `return document.body.innerText`); strings.Contains(text, "Salesforce") || strings.Contains(text, "Chatter") {
			t.Errorf("%s: the pane speaks of Salesforce with C4C as the CRM:\n%s", where, text)
		}
	}
	signInThroughDialog(t, b, w)
	waitPane(t, b, "the e-mail's people", `document.querySelector("#people .person")`)
	text := paneJS[string](b, `return document.body.innerText`)
	for _, want := range []string{"Alice Anders", "Bob Brown", "Acme Corporation", "Acme renewal", "In Process, 25000.00", "Open tickets", "Sensor readings drift", "Share this e-mail"} {
		if !strings.Contains(text, want) {
			t.Errorf("the pane lacks %q:\n%s", want, text)
		}
	}
	for _, closed := range []string{"Acme service contract", "Invoice address wrong"} {
		if strings.Contains(text, closed) {
			t.Errorf("the pane lists the closed %q:\n%s", closed, text)
		}
	}
	noSalesforce("the people")
	if paneJS[bool](b, `return document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the pane overflows 350 px")
	}

	// The account, then back; no Chatter box, since C4C has no feed; the
	// e-mail's attachment filed on it.
	clickPane(b, `#people .person div button[data-record]`)
	waitPane(t, b, "the account", `document.querySelector("#record") && document.querySelector("h2").textContent.indexOf("Acme Corporation") >= 0`)
	if paneJS[bool](b, `return !!document.getElementById("chatter-text") || !!document.getElementById("chatter-post")`) {
		t.Error("the account offers a Chatter post with C4C as the CRM")
	}
	noSalesforce("the account")
	clickPane(b, "#file-attach")
	waitPane(t, b, "the filed attachment", `document.getElementById("status").textContent.indexOf("proposal.txt filed in SAP Cloud for Customer") >= 0`)
	if got := srv.Count("AccountAttachmentCollection"); got != 1 {
		t.Errorf("filing on the account made %d account attachments, want 1", got)
	}
	clickPane(b, "#back")
	waitPane(t, b, "the people again", `document.querySelector("#people .person")`)

	// The ticket opens too.
	paneJS[bool](b, `var t = Array.from(document.querySelectorAll("#people button[data-record]")).filter(function(x){ return x.textContent.indexOf("Sensor readings drift") >= 0; })[0]; t.click(); return true`)
	waitPane(t, b, "the ticket", `document.querySelector("#record") && document.querySelector("h2").textContent.indexOf("Ticket: ") === 0`)
	if paneJS[bool](b, `return !!document.getElementById("file-attach")`) {
		t.Error("the ticket offers to file the attachment, which C4C keeps on contacts and accounts only")
	}
	clickPane(b, "#back")
	waitPane(t, b, "the people again", `document.querySelector("#people .person")`)

	// Search.
	paneJS[bool](b, `document.getElementById("search").value = "Globex"; return true`)
	clickPane(b, "#search-go")
	waitPane(t, b, "search hits", `document.querySelector("#hits li")`)
	if got := paneJS[string](b, `return document.getElementById("hits").innerText`); !strings.Contains(got, "Globex") {
		t.Errorf("searching Globex finds: %s", got)
	}
	clickPane(b, "#back")
	waitPane(t, b, "the people again", `document.querySelector("#create")`)

	// Share: pressing twice makes one C4C e-mail activity, related to the
	// people's account. C4C's e-mail has no place for an opportunity, so
	// the pane offers no "Related to" that could only fail.
	if paneJS[bool](b, `return !!document.getElementById("share-related")`) {
		t.Error("the share offers Related to with C4C as the CRM")
	}
	before := srv.Count("EMailCollection")
	paneJS[bool](b, `var s = document.getElementById("share-now"); s.click(); s.click(); return true`)
	waitPane(t, b, "the share", `document.getElementById("status").textContent.indexOf("Shared with 2 SAP Cloud for Customer people") >= 0`)
	if got := srv.Count("EMailCollection") - before; got != 1 {
		t.Errorf("pressing Share twice made %d C4C e-mails, want 1", got)
	}
	if got := srv.Count("ContactAttachmentFolder"); got != 1 {
		t.Errorf("the shared e-mail's attachment made %d C4C attachments, want 1", got)
	}
	if got := c4cRead(t, hs, "EMailCollection", "Subject eq 'Renewal questions'"); len(got) != 1 || got[0]["MainAccountPartyID"] == "" || got[0]["MainAccountPartyID"] == nil {
		t.Errorf("the shared e-mail in C4C: %v", got)
	}

	// A Contact from C4C's $metadata.
	openCreateForm(t, b, "Contact", `document.querySelector("#f-LastName")`)
	// The codes go to C4C; the person reads their descriptions.
	if got := paneJS[string](b, `return Array.from(document.querySelectorAll("#f-StatusCode option")).map(function(o){return o.value + "=" + o.textContent}).join(",")`); got != "=—,1=In Preparation,2=Active,3=Blocked" {
		t.Errorf("the status picklist offers %q, want the code list in words", got)
	}
	setPane(b, "#f-LastName", "")
	clickPane(b, "#save-record")
	waitPane(t, b, "the required field", `document.getElementById("problem").textContent.indexOf("Fill in") >= 0 && document.getElementById("problem").textContent.indexOf("Last") >= 0`)
	setPane(b, "#f-FirstName", "Zoe")
	setPane(b, "#f-LastName", "Zed")
	setPane(b, "#f-Email", "zoe@zenith.example")
	setPane(b, "#f-StatusCode", "2")
	clickPane(b, "#save-record")
	waitPane(t, b, "the created Contact", `document.getElementById("status").textContent.indexOf("Contact created") >= 0 && document.querySelector("#record")`)
	if got := paneJS[string](b, `return document.querySelector("h2").textContent`); got != "Contact: Zoe Zed" {
		t.Errorf("the created Contact is titled %q", got)
	}
	if got := paneJS[string](b, `return document.getElementById("record").innerText`); !strings.Contains(got, "Active") {
		t.Errorf("the created Contact shows its status as: %s", got)
	}
	got := c4cRead(t, hs, "ContactCollection", "LastName eq 'Zed'")
	if len(got) != 1 || got[0]["StatusCode"] != "2" || got[0]["Email"] != "zoe@zenith.example" {
		t.Fatalf("the C4C contacts named Zed: %v", got)
	}
	etag := got[0]["ETag"]

	clickPane(b, "#edit")
	waitPane(t, b, "the edit form", `document.querySelector("#f-JobTitle")`)
	setPane(b, "#f-JobTitle", "CEO")
	clickPane(b, "#save-record")
	waitPane(t, b, "the saved Contact", `document.getElementById("status").textContent.indexOf("Saved") >= 0 && document.querySelector("#record") && document.body.innerText.indexOf("CEO") >= 0`)
	got = c4cRead(t, hs, "ContactCollection", "LastName eq 'Zed'")
	if len(got) != 1 || got[0]["JobTitle"] != "CEO" || got[0]["ETag"] == etag {
		t.Errorf("after the edit: %v (ETag before %v)", got, etag)
	}
	if paneJS[bool](b, `return !!document.getElementById("chatter-text")`) {
		t.Error("the created Contact offers a Chatter post")
	}
	noSalesforce("the created Contact")

	// The meeting's people: a contact of Globex with its open opportunity
	// and ticket, and a lead.
	b.Open("/api/taskpane/harness?item=meeting")
	waitPane(t, b, "the meeting's people", `document.body.innerText.indexOf("Frank Fischer") >= 0 && document.body.innerText.indexOf("Globex expansion") >= 0`)
	text = paneJS[string](b, `return document.body.innerText`)
	for _, want := range []string{"Chloé Dubois", "Lead", "Portal login fails", "Open, 80000.00"} {
		if !strings.Contains(text, want) {
			t.Errorf("the meeting's pane lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Globex pilot") {
		t.Errorf("the meeting's pane lists the lost Globex pilot:\n%s", text)
	}
	clickPane(b, "#share-now")
	waitPane(t, b, "the shared meeting", `document.getElementById("status").textContent.indexOf("in SAP Cloud for Customer after the next sync") >= 0`)
	noSalesforce("the meeting")
	// The meeting carries the category a C4C deployment's sync looks for,
	// the connector's, not Salesforce's.
	if got := browsertest.Eval[string](b, `document.getElementById("reading").textContent`); !strings.Contains(got, "Categories: SAP C4C") {
		t.Errorf("the meeting after Share: %s", got)
	}
	if p := b.Problems(); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
}
