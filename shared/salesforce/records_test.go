package salesforce_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/addin"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/google/go-cmp/cmp"
)

// localSalesforce runs the add-in API over the Salesforce adapter and the
// local Salesforce, end to end.
type localSalesforce struct {
	srv  *fakesalesforce.Server
	user string
	fx   *fixture
}

// fixture calls the add-in API as a signed-in user ("Bearer tok-<user>").
type fixture struct{ api *addin.API }

// tokenAuth accepts "Bearer tok-<user>" for users of org "org1".
var tokenAuth = addin.AuthenticatorFunc(func(r *http.Request) (string, string, error) {
	user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer tok-")
	if !ok || user == "" {
		return "", "", errors.New("no valid bearer")
	}
	return user, "org1", nil
})

func (f *fixture) do(user, method, path, contentType string, body io.Reader) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, body)
	req.Header.Set("Authorization", "Bearer tok-"+user)
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	f.api.ServeHTTP(rec, req)
	return rec
}

func (f *fixture) json(user, method, path, body string) *httptest.ResponseRecorder {
	return f.do(user, method, path, "application/json", strings.NewReader(body))
}

// multipartBody is a form with one file.
func multipartBody(t *testing.T, field, name string, content []byte) (*bytes.Buffer, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	w, err := mw.CreateFormFile(field, name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(content)
	mw.Close()
	return &b, mw.FormDataContentType()
}

func newLocalSalesforce(t testing.TB) *localSalesforce {
	t.Helper()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	srv, err := fakesalesforce.New(fakesalesforce.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	user, err := srv.AddUser(fakesalesforce.User{Username: "rep@example.com", Password: "pw", Email: "rep@example.com", FirstName: "Rep", LastName: "User"})
	if err != nil {
		t.Fatal(err)
	}
	tok := (&oauth2.Token{AccessToken: srv.IssueToken(user), TokenType: "Bearer"}).WithExtra(map[string]any{
		"instance_url": hs.URL, "id": hs.URL + "/id/" + srv.OrgID() + "/" + user,
	})
	// Like the service, every request gets a new client and all share one
	// describe cache.
	describe := salesforce.NewDescribeCache(time.Hour)
	open := addin.SideOpener(func(ctx context.Context, _ string) (side.CRM, error) {
		c, err := salesforce.New(salesforce.Options{Tokens: salesforce.Static(tok), RetryBase: time.Millisecond, Describe: describe})
		if err != nil {
			return nil, err
		}
		return salesforce.NewSide(c, salesforce.SideOptions{})
	})
	store, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	api, err := addin.New(addin.Config{Auth: tokenAuth, CRM: open, Store: store, ShareKey: bytes.Repeat([]byte("k"), 32), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return &localSalesforce{srv: srv, user: user, fx: &fixture{api: api}}
}

func (l *localSalesforce) insert(t testing.TB, object string, fields map[string]any) string {
	t.Helper()
	id, err := l.srv.Insert(l.user, object, fields)
	if err != nil {
		t.Fatalf("insert %s: %v", object, err)
	}
	return id
}

func TestSalesforceAdapter(t *testing.T) {
	l := newLocalSalesforce(t)
	acct := l.insert(t, "Account", map[string]any{"Name": "Acme"})
	contact := l.insert(t, "Contact", map[string]any{"FirstName": "Ann", "LastName": "O'Neil", "Email": "ann@acme.com", "AccountId": acct})
	lead := l.insert(t, "Lead", map[string]any{"LastName": "Lee", "Company": "Leads Ltd", "Email": "lee@leads.com"})
	l.insert(t, "Opportunity", map[string]any{"Name": "Big deal", "StageName": "Prospecting", "CloseDate": "2026-12-31", "AccountId": acct})

	t.Run("people", func(t *testing.T) {
		l.srv.ResetCalls()
		rec := l.fx.json("u1", "GET", addin.Prefix+"/people?email=ann@acme.com&email=lee@leads.com&email="+url.QueryEscape("o'neil@x.com"), "")
		if rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var got addin.PeopleAnswer
		json.Unmarshal(rec.Body.Bytes(), &got)
		if ps := got.People["ann@acme.com"]; len(ps) != 1 || ps[0].ID != contact || ps[0].AccountID != acct {
			t.Errorf("ann: %+v", ps)
		}
		if ps := got.People["lee@leads.com"]; len(ps) != 1 || ps[0].ID != lead || ps[0].Object != "Lead" {
			t.Errorf("lee: %+v", ps)
		}
		if a := got.Accounts[acct]; a.Name != "Acme" || len(a.Opportunities) != 1 {
			t.Errorf("account: %+v", a)
		}
		// Warm: one batch for the people, one for their accounts.
		l.srv.ResetCalls()
		l.fx.json("u1", "GET", addin.Prefix+"/people?email=ann@acme.com&email=lee@leads.com", "")
		if diff := cmp.Diff(map[string]int{"batch": 2}, l.srv.Calls()); diff != "" {
			t.Errorf("API calls of a warm lookup (-want +got):\n%s", diff)
		}
	})
	t.Run("describe and create", func(t *testing.T) {
		rec := l.fx.json("u1", "GET", addin.Prefix+"/objects/Contact", "")
		if rec.Code != 200 {
			t.Fatalf("describe: status %d: %s", rec.Code, rec.Body)
		}
		// Salesforce fills OwnerId on create (defaultedOnCreate); LastName
		// must be given, so a form asks for the one and not the other.
		var desc addin.Object
		if err := json.Unmarshal(rec.Body.Bytes(), &desc); err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]bool{"OwnerId": true, "LastName": false} {
			if f, ok := desc.Field(name); !ok || f.DefaultedOnCreate != want {
				t.Errorf("describe field %s: %+v (found %v), want defaultedOnCreate %v", name, f, ok, want)
			}
		}
		rec = l.fx.json("u1", "POST", addin.Prefix+"/records/Contact", `{"LastName":"New","Email":"new@acme.com","AccountId":"`+acct+`"}`)
		if rec.Code != 201 {
			t.Fatalf("create: status %d: %s", rec.Code, rec.Body)
		}
		rec = l.fx.json("u1", "POST", addin.Prefix+"/records/Contact", `{"LastName":"New","Bogus__c":"x"}`)
		if rec.Code != 400 {
			t.Errorf("unknown field: status %d", rec.Code)
		}
	})
	t.Run("describe defaults", func(t *testing.T) {
		// The defaults of a new org reach the add-in's describe, so a create
		// form starts at them: Case Status New and Priority Medium, Task
		// Status Not Started; a field without one (Origin, OwnerId, filled
		// by Salesforce but not with a fixed value) has none.
		for object, want := range map[string]map[string]string{
			"Case": {"Status": "New", "Priority": "Medium", "Origin": "", "OwnerId": "", "IsEscalated": "false"},
			"Task": {"Status": "Not Started", "Priority": "Normal"},
			"Lead": {"Status": "Open - Not Contacted", "LastName": ""},
		} {
			rec := l.fx.json("u1", "GET", addin.Prefix+"/objects/"+object, "")
			if rec.Code != 200 {
				t.Fatalf("describe %s: status %d: %s", object, rec.Code, rec.Body)
			}
			var desc addin.Object
			if err := json.Unmarshal(rec.Body.Bytes(), &desc); err != nil {
				t.Fatal(err)
			}
			for name, def := range want {
				if f, ok := desc.Field(name); !ok || f.Default != def {
					t.Errorf("%s.%s: default %q (found %v), want %q", object, name, f.Default, ok, def)
				}
			}
		}
	})
	t.Run("objects", func(t *testing.T) {
		rec := l.fx.json("u1", "GET", addin.Prefix+"/objects", "")
		if rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var got addin.ObjectsAnswer
		json.Unmarshal(rec.Body.Bytes(), &got)
		found := false
		for _, o := range got.Objects {
			found = found || (o.Name == "Contact" && o.Label != "" && o.Createable)
		}
		if !found {
			t.Errorf("objects %+v lack a createable Contact", got.Objects)
		}
	})
	t.Run("search", func(t *testing.T) {
		rec := l.fx.json("u1", "GET", addin.Prefix+"/search?q="+url.QueryEscape("O'Neil} RETURNING User")+"&objects=Contact", "")
		if rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		// The local Salesforce does not undo SOSL escapes, so the escaped
		// apostrophe of "O'Neil" finds nothing there; search a plain word.
		rec = l.fx.json("u1", "GET", addin.Prefix+"/search?q=Ann&objects=Contact,Lead", "")
		var got addin.SearchAnswer
		json.Unmarshal(rec.Body.Bytes(), &got)
		if len(got.Hits) != 1 || got.Hits[0].ID != contact || got.Hits[0].Object != "Contact" {
			t.Errorf("search Ann: %d %+v", rec.Code, got.Hits)
		}
	})
	t.Run("search cases by number", func(t *testing.T) {
		// A real Case has no Name: it is named by CaseNumber, an auto-number
		// field the add-in selects. The local Salesforce lacked it, so this
		// search failed with INVALID_FIELD before its describes were real.
		l.insert(t, "Case", map[string]any{"Subject": "Printer jammed", "AccountId": acct})
		rec := l.fx.json("u1", "GET", addin.Prefix+"/search?q=Printer&objects=Case", "")
		var got addin.SearchAnswer
		json.Unmarshal(rec.Body.Bytes(), &got)
		if rec.Code != 200 || len(got.Hits) != 1 || got.Hits[0].Object != "Case" || got.Hits[0].Name != "00001000 Printer jammed" {
			t.Errorf("search Printer in Case: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("share", func(t *testing.T) {
		rec := l.fx.json("u1", "POST", addin.Prefix+"/share", `{"messageId":"m1","subject":"Hi","from":"ann@acme.com","to":["rep@example.com"],"direction":"Inbound","userAddress":"rep@example.com","body":"Hello","sent":"2026-11-24T08:00:00Z"}`)
		if rec.Code != 201 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var a addin.ShareAnswer
		json.Unmarshal(rec.Body.Bytes(), &a)
		task := l.srv.Record(a.TaskID)
		if task["TaskSubtype"] != "Email" || task["WhoId"] != contact || task["WhatId"] != acct {
			t.Errorf("task %v", task)
		}
		rec = l.fx.json("u1", "POST", addin.Prefix+"/records/"+a.TaskID+"/chatter", `{"text":"logged"}`)
		if rec.Code != 201 {
			t.Errorf("chatter: status %d: %s", rec.Code, rec.Body)
		}
		body, ct := multipartBody(t, "file", "a.txt", []byte("hello"))
		rec = l.fx.do("u1", "POST", addin.Prefix+"/records/"+a.TaskID+"/files", ct, body)
		if rec.Code != 201 {
			t.Errorf("upload: status %d: %s", rec.Code, rec.Body)
		}
	})
}

// BenchmarkPeopleLookupSalesforce measures a warm reading-pane lookup of N
// addresses against the local Salesforce and reports its API calls: one
// composite/batch call per PeopleChunk addresses plus one per PeopleChunk
// accounts.
func BenchmarkPeopleLookupSalesforce(b *testing.B) {
	for _, n := range []int{1, 100, 250} {
		b.Run(fmt.Sprintf("addresses=%d", n), func(b *testing.B) {
			l := newLocalSalesforce(b)
			acct := l.insert(b, "Account", map[string]any{"Name": "Acme"})
			q := url.Values{}
			for i := range n {
				addr := fmt.Sprintf("p%d@acme.com", i)
				q.Add("email", addr)
				if i%2 == 0 {
					l.insert(b, "Contact", map[string]any{"LastName": fmt.Sprint("P", i), "Email": addr, "AccountId": acct})
				}
			}
			path := addin.Prefix + "/people?" + q.Encode()
			l.fx.json("u1", "GET", path, "") // warm the describe cache
			l.srv.ResetCalls()
			b.ReportAllocs()
			for b.Loop() {
				if rec := l.fx.json("u1", "GET", path, ""); rec.Code != 200 {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
			total := 0
			for _, c := range l.srv.Calls() {
				total += c
			}
			b.ReportMetric(float64(total)/float64(b.N), "apicalls/op")
		})
	}
}
