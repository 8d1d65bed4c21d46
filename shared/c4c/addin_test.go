package c4c

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/addin"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// TestAddinWithC4C runs the add-in API with C4C as the CRM, end to end
// against the local C4C: the reading pane's people and accounts, the
// describe a create form is built from, a create, and Chatter answered
// with a message the pane can show; GET /crm says there is no feed. Like the service, each request opens
// its own side.
func TestAddinWithC4C(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	api := addinOver(t, l)
	call := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok-u1")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		return rec
	}
	acctID, contact := paneData(t, l)

	before := l.srv.Calls("POST", "$batch")
	rec := call("GET", addin.Prefix+"/people?email=ann@acme.example&email=nobody@acme.example", "")
	if rec.Code != 200 {
		t.Fatalf("people: status %d: %s", rec.Code, rec.Body)
	}
	var people addin.PeopleAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &people); err != nil {
		t.Fatal(err)
	}
	if ps := people.People["ann@acme.example"]; len(ps) != 1 || ps[0].ID != contact || ps[0].AccountID != acctID || ps[0].Company != "Acme" {
		t.Errorf("ann: %+v", ps)
	}
	if a := people.Accounts[acctID]; a.Name != "Acme" || len(a.Opportunities) != 1 || a.Opportunities[0].Name != "Big deal" {
		t.Errorf("account: %+v", a)
	}
	// Bound: one $batch for the people, one for their account names, one
	// for the accounts and their opportunities.
	if n := l.srv.Calls("POST", "$batch") - before; n > 3 {
		t.Errorf("the pane's people took %d $batch calls, bound 3", n)
	}

	rec = call("GET", addin.Prefix+"/objects/Task", "")
	if rec.Code != 200 {
		t.Fatalf("describe: status %d: %s", rec.Code, rec.Body)
	}
	var desc addin.Object
	if err := json.Unmarshal(rec.Body.Bytes(), &desc); err != nil {
		t.Fatal(err)
	}
	if f, ok := desc.Field("Subject"); !ok || f.Nillable || !f.Createable {
		t.Errorf("describe Subject: %+v %v", f, ok)
	}
	rec = call("POST", addin.Prefix+"/records/Task", `{"Subject":"From the pane","Status":"1"}`)
	if rec.Code != 201 {
		t.Errorf("create: status %d: %s", rec.Code, rec.Body)
	}
	if n := l.srv.Count("TasksCollection"); n != 1 {
		t.Errorf("%d tasks after the pane's create", n)
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || len(created.ID) != 32 {
		t.Fatalf("create answered %s", rec.Body)
	}
	// The edit form: read the record by its ObjectID, change it, read again.
	if rec := call("PATCH", addin.Prefix+"/records/Task/"+created.ID, `{"Status":"2"}`); rec.Code/100 != 2 {
		t.Errorf("update: status %d: %s", rec.Code, rec.Body)
	}
	rec = call("GET", addin.Prefix+"/records/Task/"+created.ID+"?fields=Subject,Status", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"Status":"2"`) {
		t.Errorf("get: status %d: %s", rec.Code, rec.Body)
	}
	if rec := call("PATCH", addin.Prefix+"/records/Task/"+created.ID, `{"Status":"9"}`); rec.Code != 400 {
		t.Errorf("update with a status not in the code list: status %d: %s", rec.Code, rec.Body)
	}
	// The pane learns that C4C has no feed (it offers no post) and calls
	// Cases tickets; a ticket opens by that name.
	rec = call("GET", addin.Prefix+"/crm", "")
	var info addin.CRMInfo
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil || rec.Code != 200 || info.Feed || info.Relate || info.Labels["Case"] != "Ticket" || !slices.Equal(info.FileOn, []string{"Contact", "Account"}) {
		t.Errorf("crm: status %d: %s", rec.Code, rec.Body)
	}
	ticket, err := l.srv.Insert("ServiceRequestCollection", map[string]any{"Name": "Sensor drift", "BuyerPartyID": acctID, "ServiceRequestLifeCycleStatusCode": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if rec := call("GET", addin.Prefix+"/records/Case/"+ticket, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), "Sensor drift") {
		t.Errorf("the ticket as a Case: status %d: %s", rec.Code, rec.Body)
	}
	// The account pane names an account by its business ID: it opens, and
	// an edit reaches it (with its ETag).
	if rec := call("GET", addin.Prefix+"/records/Account/"+acctID, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"Name":"Acme"`) {
		t.Errorf("the account by its AccountID: status %d: %s", rec.Code, rec.Body)
	}
	if rec := call("PATCH", addin.Prefix+"/records/Account/"+acctID, `{"Name":"Acme Inc."}`); rec.Code/100 != 2 {
		t.Errorf("editing the account by its AccountID: status %d: %s", rec.Code, rec.Body)
	}
	if rec := call("GET", addin.Prefix+"/records/Account/9999999", ""); rec.Code != 404 {
		t.Errorf("an account that is not there: status %d: %s", rec.Code, rec.Body)
	}
	// Chatter: C4C has none; a post that comes anyway gets a message the
	// pane can show.
	rec = call("POST", addin.Prefix+"/records/"+created.ID+"/chatter", `{"text":"hello"}`)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "no Chatter") {
		t.Errorf("chatter: status %d: %s", rec.Code, rec.Body)
	}
}

// addinOver is the add-in API with C4C as the CRM: like the service, each
// request opens its own side (and fetches its own CSRF token).
func addinOver(t testing.TB, l *local) *addin.API {
	t.Helper()
	open := addin.SideOpener(func(ctx context.Context, _ string) (side.CRM, error) {
		c, err := New(Options{Host: l.http.URL, User: fakec4c.DemoUser, Password: fakec4c.DemoPassword})
		if err != nil {
			return nil, err
		}
		return NewSide(c, SideOptions{Now: l.clock.Now}), nil
	})
	store, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	auth := addin.AuthenticatorFunc(func(r *http.Request) (string, string, error) {
		if r.Header.Get("Authorization") != "Bearer tok-u1" {
			return "", "", errors.New("no valid bearer")
		}
		return "u1", "org1", nil
	})
	api, err := addin.New(addin.Config{Auth: auth, CRM: open, Store: store, ShareKey: bytes.Repeat([]byte("k"), 32), Now: l.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// paneData is an account with a contact and an open opportunity; it returns
// the account's business ID and the contact's ObjectID.
func paneData(t testing.TB, l *local) (string, string) {
	t.Helper()
	acct, err := l.srv.Insert("CorporateAccountCollection", map[string]any{"Name": "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.client.Batch(context.Background(), []Op{{Method: "GET", Path: "CorporateAccountCollection('" + acct + "')"}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	acctID := res[0].Entity.String("AccountID")
	contact, err := l.srv.Insert("ContactCollection", map[string]any{"FirstName": "Ann", "LastName": "O'Neil", "Email": "ann@acme.example", "AccountID": acctID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.srv.Insert("OpportunityCollection", map[string]any{"Name": "Big deal", "ProspectPartyID": acctID, "LifeCycleStatusCode": "1"}); err != nil {
		t.Fatal(err)
	}
	return acctID, contact
}

// BenchmarkAddinPeopleC4C is BenchmarkTaskPanePeople's lookup with C4C as
// the CRM, through the add-in API: the reading pane's people and accounts
// of one e-mail (three addresses, one account). It reports the HTTP calls
// to C4C per opened e-mail against the bound: one CSRF token fetch (each
// request opens its own side), one $batch for contacts and leads, one for
// their account names, one for the accounts with opportunities, tickets and
// the ticket status code list — 4.
func BenchmarkAddinPeopleC4C(b *testing.B) {
	l := newLocal(b, fakec4c.Options{})
	api := addinOver(b, l)
	paneData(b, l)
	if _, err := l.srv.Insert("ContactCollection", map[string]any{"LastName": "Bob", "Email": "bob@acme.example"}); err != nil {
		b.Fatal(err)
	}
	path := addin.Prefix + "/people?email=ann@acme.example&email=bob@acme.example&email=me@contoso.example"
	batches := l.srv.Calls("POST", "$batch")
	fetches := l.srv.CSRFFetches()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer tok-u1")
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("people: %d %s", rec.Code, rec.Body)
		}
	}
	b.StopTimer()
	perBatch := float64(l.srv.Calls("POST", "$batch")-batches) / float64(b.N)
	perFetch := float64(l.srv.CSRFFetches()-fetches) / float64(b.N)
	b.ReportMetric(perBatch, "c4c-batches/op")
	b.ReportMetric(perBatch+perFetch, "c4c-calls/op")
	if perBatch+perFetch > 4 {
		b.Errorf("%.1f C4C calls per opened e-mail, bound 4", perBatch+perFetch)
	}
}
