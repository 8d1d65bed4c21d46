package c4c

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// wrapped serves the local C4C through hook, which may act before a
// request reaches it (and answer instead when it returns true).
func wrapped(t *testing.T, hook func(w http.ResponseWriter, r *http.Request, body []byte) bool) *local {
	t.Helper()
	l := newLocal(t, fakec4c.Options{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if hook(w, r, body) {
			return
		}
		l.srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	c, err := New(Options{Host: hs.URL, User: fakec4c.DemoUser, Password: fakec4c.DemoPassword})
	if err != nil {
		t.Fatal(err)
	}
	l.client, l.side = c, NewSide(c, SideOptions{Now: l.clock.Now})
	return l
}

func TestExpiredCSRFTokenIsFetchedAgain(t *testing.T) {
	var fetches atomic.Int32
	l := wrapped(t, func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if r.Header.Get("x-csrf-token") == "fetch" {
			fetches.Add(1)
		}
		return false
	})
	create := func(last string) {
		t.Helper()
		res, err := l.side.Create(t.Context(), item.Contact, []item.Record{{Kind: item.Contact, Fields: map[string]string{item.LastName: last}}}, nil)
		if err != nil || res[0].Err != nil || res[0].ID == "" {
			t.Fatalf("Create: %v %+v", err, res)
		}
	}
	create("A")
	create("B")
	if n := fetches.Load(); n != 1 {
		t.Errorf("token fetched %d times for two writes, want 1 (token and cookies reused)", n)
	}
	l.srv.ExpireTokens()
	create("C")
	if n := fetches.Load(); n != 2 {
		t.Errorf("after the token expired: %d fetches, want 2 (one refetch on the CSRF 403)", n)
	}
	if n := l.srv.Count("ContactCollection"); n != 3 {
		t.Errorf("%d contacts, want 3 (no write lost or doubled)", n)
	}
}

func TestWriteWithoutCookieJarIsRefused(t *testing.T) {
	// The client's own jar is what makes writes pass: the same token sent
	// without the fetch's cookies is refused (KBA 3048103).
	l := newLocal(t, fakec4c.Options{})
	tok, err := l.client.csrf(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", l.http.URL+ServicePath+"ContactCollection", strings.NewReader(`{"LastName":"X"}`))
	req.SetBasicAuth(fakec4c.DemoUser, fakec4c.DemoPassword)
	req.Header.Set("x-csrf-token", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("token without cookies: %d, want 403", resp.StatusCode)
	}
}

func TestUpdateAfter412ReadsAgainAndKeepsTheOtherChange(t *testing.T) {
	var l *local
	var id string
	var raced atomic.Bool
	l = wrapped(t, func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if strings.HasSuffix(r.URL.Path, "$batch") && bytes.Contains(body, []byte("PATCH ")) && !raced.Swap(true) {
			// Someone edits another field between our read and our write.
			if err := l.srv.Update("ContactCollection", id, map[string]any{"Department": "Sales"}); err != nil {
				t.Error(err)
			}
		}
		return false
	})
	id = fakeHarness{l}.CreateDirect(t, item.Contact, map[string]string{item.LastName: "Race"})
	res, err := l.side.Update(t.Context(), item.Contact, []item.Record{{Kind: item.Contact, ID: id, Fields: map[string]string{item.Title: "CTO"}}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("Update after a 412: %v %+v", err, res)
	}
	ch, err := l.side.Changes(t.Context(), item.Scope{Kind: item.Contact}, "")
	if err != nil {
		t.Fatal(err)
	}
	r, _ := findRec(ch, id)
	if r.Fields[item.Title] != "CTO" || r.Fields[item.Department] != "Sales" {
		t.Errorf("after the retried update: %v, want both changes", r.Fields)
	}
	if !raced.Load() {
		t.Error("the race was never staged")
	}
}

func findRec(ch item.Changes, id string) (item.Record, bool) {
	for _, r := range ch.Records {
		if r.ID == id {
			return r, true
		}
	}
	return item.Record{}, false
}

func TestRecordDeletedBeforeWriteIsGone(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	h := fakeHarness{l}
	id := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: "Gone"})
	keep := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: "Kept"})
	h.DeleteDirect(t, item.Contact, id)
	res, err := l.side.Update(t.Context(), item.Contact, []item.Record{
		{Kind: item.Contact, ID: id, Fields: map[string]string{item.Title: "X"}},
		{Kind: item.Contact, ID: keep, Fields: map[string]string{item.Title: "Y"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !fault.Is(res[0].Err, fault.Gone) || res[1].Err != nil {
		t.Errorf("results = %+v, want Gone then success", res)
	}
}

func TestFailedReconciliationIsNoDeletion(t *testing.T) {
	var failRecon atomic.Bool
	l := wrapped(t, func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if failRecon.Load() && r.Method == "GET" && r.URL.Query().Get("$select") == "ObjectID" {
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}
		return false
	})
	h := fakeHarness{l}
	id := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: "Stays"})
	gone := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: "Goes"})
	sc := item.Scope{Kind: item.Contact}
	ch, err := l.side.Changes(t.Context(), sc, "")
	if err != nil {
		t.Fatal(err)
	}
	h.DeleteDirect(t, item.Contact, gone)
	l.clock.Add(10 * time.Minute)
	failRecon.Store(true)
	ch, err = l.side.Changes(t.Context(), sc, ch.Cursor)
	if err != nil {
		t.Fatalf("a failed reconciliation failed the change read: %v", err)
	}
	if len(ch.Removed) != 0 {
		t.Errorf("failed reconciliation reported removals %+v", ch.Removed)
	}
	failRecon.Store(false)
	ch, err = l.side.Changes(t.Context(), sc, ch.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Removed) != 1 || ch.Removed[0].ID != gone || ch.Removed[0].Reason != item.Deleted {
		t.Errorf("next reconciliation: removed %+v, want only %s deleted (not %s)", ch.Removed, gone, id)
	}
}

func TestUnknownTimeZoneIsAProblem(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	start := l.clock.Now().Add(24 * time.Hour)
	id, err := l.srv.Insert("AppointmentCollection", map[string]any{"Subject": "Mars", "StartDate": FormatDate(start), "EndDate": FormatDate(start.Add(time.Hour)),
		"StartDatetimeZoneCode": "MARS", "EnddatetimeZoneCode": "UTC", "OwnerPartyID": syncOwner})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := l.side.Changes(t.Context(), item.Scope{Kind: item.Event, From: start.Add(-48 * time.Hour), To: start.Add(48 * time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Problems) != 1 || ch.Problems[0].ID != id || ch.Problems[0].Code != "unknown-time-zone" {
		t.Errorf("problems = %+v, want one unknown-time-zone for %s", ch.Problems, id)
	}
	if _, ok := findRec(ch, id); ok {
		t.Error("record with an unknown time zone reported as a record")
	}
}

func TestTimeZoneCodes(t *testing.T) {
	for code, want := range map[string]string{"UTC": "UTC", "CET": "Europe/Berlin", "PST": "America/Los_Angeles", "INDIA": "Asia/Kolkata"} {
		loc, err := Location(code)
		if err != nil || loc.String() != want {
			t.Errorf("Location(%s) = %v, %v; want %s", code, loc, err, want)
		}
	}
	if _, err := Location("Europe/Berlin"); err == nil {
		t.Error("an IANA name taken as a C4C code")
	}
}

func TestDates(t *testing.T) {
	for in, want := range map[string]int64{"/Date(1422997623532)/": 1422997623532, "/Date(1422997623532+0060)/": 1422997623532} {
		got, ok := ParseDate(in)
		if !ok || got.UnixMilli() != want {
			t.Errorf("ParseDate(%s) = %v, %v", in, got, ok)
		}
	}
	if _, ok := ParseDate("2015-01-01"); ok {
		t.Error("ParseDate accepted an ISO date")
	}
	et := `W/"datetimeoffset'2016-04-27T23%3A07%3A31.6809330Z'"`
	if got, ok := etagTime(et); !ok || got.Nanosecond() != 680933000 {
		t.Errorf("etagTime = %v, %v", got, ok)
	}
}

func TestLogEmailRelatesContactsAndAccount(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	h := fakeHarness{l}
	a := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: "A"})
	b := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: "B"})
	acct := h.Account(t)
	lead, err := l.side.CreateLeads(t.Context(), []item.Record{{Fields: map[string]string{item.LastName: "L", item.Company: "C", item.Email: "l@x.example"}}})
	if err != nil || lead[0].Err != nil {
		t.Fatal(err, lead)
	}
	email := item.Record{Kind: item.SharedEmail, Fields: map[string]string{item.Subject: "Quote", item.Sent: "2026-05-11T10:00:00Z"}}
	id, err := l.side.LogEmail(t.Context(), email, []string{a, lead[0].ID, b}, acct, "m-1")
	if err != nil {
		t.Fatal(err)
	}
	businessID := func(coll, key, id string) string {
		var v string
		err := l.client.List(t.Context(), coll, map[string][]string{"$filter": {"ObjectID eq " + Quote(id)}}, func(e Entity) error { v = e.String(key); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var parties []string
	if err := l.client.List(t.Context(), "EMailCollection('"+id+"')/EMailToRecipients", nil, func(e Entity) error {
		parties = append(parties, e.String("PartyID"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{businessID("ContactCollection", "ContactID", a), businessID("ContactCollection", "ContactID", b)}
	if strings.Join(parties, ",") != strings.Join(want, ",") {
		t.Errorf("recipient parties = %v, want %v (the contacts, not the lead)", parties, want)
	}
	var main, account, marker string
	_ = l.client.List(t.Context(), "EMailCollection", map[string][]string{"$filter": {"ObjectID eq " + Quote(id)}}, func(e Entity) error {
		main, account, marker = e.String("MainContactPartyID"), e.String("MainAccountPartyID"), e.String("GroupwareItemID")
		return nil
	})
	if main != want[0] || account != businessID("CorporateAccountCollection", "AccountID", acct) || marker != "m-1" {
		t.Errorf("main contact %q, account %q, marker %q", main, account, marker)
	}
}

func TestOwnerScopesRecords(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	mine, err := l.srv.Insert("ContactCollection", owned(t, item.Contact, map[string]string{item.LastName: "Mine"}, syncOwner))
	if err != nil {
		t.Fatal(err)
	}
	theirs, _ := l.srv.Insert("ContactCollection", owned(t, item.Contact, map[string]string{item.LastName: "Theirs"}, otherOwner))
	sc := item.Scope{Kind: item.Contact}
	ch, err := l.side.Changes(t.Context(), sc, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := findRec(ch, mine); !ok {
		t.Error("own contact not read")
	}
	if _, ok := findRec(ch, theirs); ok {
		t.Error("a colleague's contact read")
	}
	res, err := l.side.Create(t.Context(), item.Contact, []item.Record{{Kind: item.Contact, Fields: map[string]string{item.LastName: "New"}}}, nil)
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	// The contact is handed to a colleague: it leaves scope, it is not deleted.
	l.clock.Add(10 * time.Minute)
	if err := l.srv.Update("ContactCollection", mine, map[string]any{"ContactOwnerID": otherOwner}); err != nil {
		t.Fatal(err)
	}
	ch, err = l.side.Changes(t.Context(), sc, ch.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Removed) != 1 || ch.Removed[0].ID != mine || ch.Removed[0].Reason != item.LeftScope {
		t.Errorf("removed %+v, want %s LeftScope", ch.Removed, mine)
	}
	if _, ok := findRec(ch, res[0].ID); !ok {
		t.Error("a contact the side created is not the user's (no owner set)")
	}
}

// A $batch answer shaped like the DEVGUIDE's example (LF line ends, a GET
// part, then a changeset with 204 and 201 parts) and a failed changeset.
func TestReadBatchAnswer(t *testing.T) {
	body := strings.Join([]string{
		"--ejjeeffe0",
		"Content-Type: application/http",
		"Content-Length: 60",
		"Content-Transfer-Encoding: binary",
		"",
		"HTTP/1.1 200 OK",
		"Content-Type: application/json",
		"dataserviceversion: 2.0",
		"",
		`{"d":{"ObjectID":"00163E03A0701ED28A8644CF8D83AE76","__metadata":{"etag":"W/\"datetimeoffset'2015-02-03T21%3A07%3A03.5328420Z'\""}}}`,
		"--ejjeeffe0",
		"Content-Type: multipart/mixed; boundary=ejjeeffe1",
		"",
		"--ejjeeffe1",
		"Content-Type: application/http",
		"Content-Transfer-Encoding: binary",
		"",
		"HTTP/1.1 204 No Content",
		"Content-Length: 0",
		"dataserviceversion: 2.0",
		"",
		"",
		"--ejjeeffe1",
		"Content-Type: application/http",
		"Content-Transfer-Encoding: binary",
		"",
		"HTTP/1.1 201 Created",
		"Content-Type: application/json",
		"location: https://myNNNNNN.crm.ondemand.com/sap/c4c/odata/v1/c4codataapi/ContactCollection('00163E0DBD9E1ED596EBDFDA564728AC')",
		"",
		`{"d":{"ObjectID":"00163E0DBD9E1ED596EBDFDA564728AC"}}`,
		"--ejjeeffe1--",
		"--ejjeeffe0",
		"Content-Type: application/http",
		"Content-Transfer-Encoding: binary",
		"",
		"HTTP/1.1 400 Bad Request",
		"Content-Type: application/json",
		"",
		`{"error":{"code":"","message":{"lang":"en","value":"Property 'LastName' is mandatory"}}}`,
		"--ejjeeffe0--",
		"",
	}, "\n")
	res, err := readBatch("multipart/mixed; boundary=ejjeeffe0", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 {
		t.Fatalf("%d results, want 4", len(res))
	}
	if res[0].Status != 200 || res[0].Entity.ETag() != `W/"datetimeoffset'2015-02-03T21%3A07%3A03.5328420Z'"` {
		t.Errorf("GET part: %d, etag %q (must stay byte for byte)", res[0].Status, res[0].Entity.ETag())
	}
	if res[1].Status != 204 || res[1].Err != nil {
		t.Errorf("PATCH part: %+v", res[1])
	}
	if res[2].Status != 201 || res[2].Entity.ID() != "00163E0DBD9E1ED596EBDFDA564728AC" {
		t.Errorf("POST part: %+v", res[2])
	}
	var fe *fault.Error
	if res[3].Status != 400 || !errors.As(withFields(item.Contact, res[3].Err), &fe) || fe.Class != fault.Permanent || len(fe.Fields) != 1 || fe.Fields[0] != item.LastName {
		t.Errorf("failed changeset part: %+v", res[3])
	}
}
