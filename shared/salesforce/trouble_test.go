package salesforce

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/testenv"
)

func wantFault(t *testing.T, err error, class fault.Class, code string) *fault.Error {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Class != class || (code != "" && fe.Code != code) {
		t.Fatalf("err = %v, want %v %s", err, class, code)
	}
	return fe
}

func TestSessionExpiryRefreshesOnce(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{Clients: []fakesalesforce.Client{{ID: "app", Secret: "secret"}}}, Options{})
	refresh := signIn(t, l)
	cfg := &oauth2.Config{ClientID: "app", ClientSecret: "secret", Endpoint: oauth2.Endpoint{TokenURL: l.http.URL + "/services/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
	refreshes := 0
	tok := l.tokenFor(l.user)
	tok.RefreshToken = refresh
	src := Refreshing(t.Context(), cfg, tok, func(*oauth2.Token) { refreshes++ })
	c, err := New(Options{Tokens: src, RetryBase: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Count(t.Context(), "SELECT COUNT() FROM Contact"); err != nil {
		t.Fatal(err)
	}
	l.srv.ExpireSessions()
	if _, err := c.Count(t.Context(), "SELECT COUNT() FROM Contact"); err != nil {
		t.Fatalf("after session expiry: %v", err)
	}
	if refreshes != 1 {
		t.Errorf("refreshed %d times, want 1", refreshes)
	}
	// With the refresh token revoked, expiry means reconnect, after one try.
	if resp, err := http.PostForm(l.http.URL+"/services/oauth2/revoke", url.Values{"token": {refresh}}); err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoke: %v %v", resp, err)
	}
	l.srv.ExpireSessions()
	before := c.Calls()
	_, err = c.Count(t.Context(), "SELECT COUNT() FROM Contact")
	wantFault(t, err, fault.Reconnect, "invalid_grant")
	if got := c.Calls() - before; got != 1 {
		t.Errorf("calls after revocation = %d, want 1", got)
	}
}

func TestRequestLimitExceededStops(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{DailyLimit: 1000}, Options{MaxShare: 1})
	l.srv.SetAPIUsage(1000)
	_, err := l.client.Count(t.Context(), "SELECT COUNT() FROM Contact")
	fe := wantFault(t, err, fault.Quota, "REQUEST_LIMIT_EXCEEDED")
	if !strings.Contains(fe.Message, "CRM API limit reached") {
		t.Errorf("message %q does not say the CRM API limit is reached", fe.Message)
	}
	if got := l.client.Calls(); got != 1 {
		t.Errorf("calls = %d, want 1 (no retry loop)", got)
	}
}

func TestShareOfDailyLimit(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{DailyLimit: 100}, Options{MaxShare: 0.5})
	l.srv.SetAPIUsage(48)
	for i := 0; i < 2; i++ {
		if _, err := l.client.Count(t.Context(), "SELECT COUNT() FROM Contact"); err != nil {
			t.Fatalf("call %d under the share: %v", i, err)
		}
	}
	_, err := l.client.Count(t.Context(), "SELECT COUNT() FROM Contact")
	wantFault(t, err, fault.Quota, "CRMSYNC_SHARE_USED")
	if used, _ := l.srv.APIUsage(); used != 50 {
		t.Errorf("org usage = %d, want 50: the refused call must not reach Salesforce", used)
	}
	if used, limit := l.client.Usage(); used != 50 || limit != 100 {
		t.Errorf("Usage() = %d/%d, want 50/100 from Sforce-Limit-Info", used, limit)
	}
}

func contacts(n int, prefix string) []item.Record {
	out := make([]item.Record, n)
	for i := range out {
		out[i] = item.Record{Kind: item.Contact, Fields: map[string]string{item.LastName: prefix + string(rune('A'+i%26)), item.Title: "ok"}}
	}
	return out
}

func TestLockedRowsAreRetriedAlone(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	l.srv.LockRows(2)
	res, err := l.side.Create(t.Context(), item.Contact, contacts(5, "Lock"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || r.ID == "" {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	if got := l.srv.Calls()["collections"]; got != 2 {
		t.Errorf("collections calls = %d, want 2 (the batch, then the 2 locked records)", got)
	}
	n, _ := l.client.Count(t.Context(), "SELECT COUNT() FROM Contact")
	if n != 5 {
		t.Errorf("contacts = %d, want 5 (no duplicates)", n)
	}
}

func TestLockedRowsGiveUp(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{MaxAttempts: 3})
	l.srv.LockRows(1000)
	res, err := l.side.Create(t.Context(), item.Contact, contacts(2, "Stuck"), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantFault(t, res[0].Err, fault.Temporary, "UNABLE_TO_LOCK_ROW")
	if got := l.srv.Calls()["collections"]; got != 3 {
		t.Errorf("collections calls = %d, want 3 (bounded)", got)
	}
}

func TestValidationMidBatch(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	l.srv.AddValidationRule(fakesalesforce.ValidationRule{Object: "Contact", Field: "Title", Message: "Title must not be 'bad'",
		Reject: func(f map[string]any) bool { return f["Title"] == "bad" }})
	l.srv.AddDuplicateRule(fakesalesforce.DuplicateRule{Object: "Contact", Field: "Email", Name: "Standard_Contact_Duplicate_Rule"})
	recs := contacts(4, "Valid")
	recs[1].Fields[item.Title] = "bad"
	recs[2].Fields[item.Email] = "dup@example.com"
	recs[3].Fields[item.Email] = "DUP@example.com"
	res, err := l.side.Create(t.Context(), item.Contact, recs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[2].Err != nil {
		t.Errorf("valid records refused: %+v", res)
	}
	fe := wantFault(t, res[1].Err, fault.Permanent, "FIELD_CUSTOM_VALIDATION_EXCEPTION")
	if len(fe.Fields) != 1 || fe.Fields[0] != item.Title {
		t.Errorf("validation fields = %v, want [Title]", fe.Fields)
	}
	fe = wantFault(t, res[3].Err, fault.Permanent, "DUPLICATES_DETECTED")
	if !strings.Contains(fe.Message, "Standard_Contact_Duplicate_Rule") {
		t.Errorf("duplicate message %q does not name the rule", fe.Message)
	}
}

func TestTaskSubtypeIsCreateOnly(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	id, err := l.client.CreateOne(t.Context(), "Task", Record{"Subject": "Email: x", "TaskSubtype": "Email", "Status": "Completed"})
	if err != nil {
		t.Fatal(err)
	}
	err = l.client.UpdateOne(t.Context(), "Task", id, Record{"TaskSubtype": "Task"})
	fe := wantFault(t, err, fault.Permanent, "INVALID_FIELD_FOR_INSERT_UPDATE")
	if len(fe.Fields) != 1 || fe.Fields[0] != "TaskSubtype" {
		t.Errorf("fields = %v", fe.Fields)
	}
}

func TestServerErrorsAreRetried(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	l.srv.Inject(fakesalesforce.Fault{Resource: "query", Status: 503, ErrorCode: "SERVER_UNAVAILABLE", Times: 2})
	if _, err := l.client.Count(t.Context(), "SELECT COUNT() FROM Contact"); err != nil {
		t.Fatalf("after two 503s: %v", err)
	}
	if got := l.client.Calls(); got != 3 {
		t.Errorf("calls = %d, want 3", got)
	}
}

func TestBadResponses(t *testing.T) {
	tests := []struct {
		name  string
		fault fakesalesforce.Fault
		class fault.Class
		code  string
	}{
		{"HTML page from a proxy", fakesalesforce.Fault{Status: 502, Body: "<html><body>Bad Gateway</body></html>", Times: 10}, fault.Temporary, "HTTP_502"},
		{"truncated JSON", fakesalesforce.Fault{Status: 200, Body: `{"totalSize":3,"done":true,"records":[{"attr`, ContentType: "application/json", Times: 10}, fault.Temporary, "MALFORMED_RESPONSE"},
		{"HTML with 200", fakesalesforce.Fault{Status: 200, Body: "<html>maintenance</html>", Times: 10}, fault.Temporary, "MALFORMED_RESPONSE"},
		{"forbidden", fakesalesforce.Fault{Status: 403, ErrorCode: "INSUFFICIENT_ACCESS", Message: "no"}, fault.Permanent, "INSUFFICIENT_ACCESS"},
		{"API disabled", fakesalesforce.Fault{Status: 403, ErrorCode: "API_DISABLED_FOR_ORG"}, fault.Reconnect, "API_DISABLED_FOR_ORG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLocal(t, fakesalesforce.Options{}, Options{MaxAttempts: 2})
			tt.fault.Resource = "query"
			l.srv.Inject(tt.fault)
			_, err := l.client.Collect(t.Context(), "SELECT Id FROM Contact")
			wantFault(t, err, tt.class, tt.code)
		})
	}
}

// handlerTransport serves requests from an http.Handler in memory, so tests
// can run a client inside a synctest bubble.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func TestBackoffIsBoundedAndJittered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := testenv.NewClock(time.Date(2026, 5, 11, 12, 0, 0, 0, time.UTC))
		srv, err := fakesalesforce.New(fakesalesforce.Options{Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		user, _ := srv.AddUser(fakesalesforce.User{Username: "u@example.com", Email: "u@example.com", LastName: "U"})
		tok := (&oauth2.Token{AccessToken: srv.IssueToken(user)}).WithExtra(map[string]any{"instance_url": "https://org.example"})
		c, err := New(Options{Tokens: Static(tok), HTTPClient: &http.Client{Transport: handlerTransport{srv}}, MaxAttempts: 4})
		if err != nil {
			t.Fatal(err)
		}
		srv.Inject(fakesalesforce.Fault{Resource: "query", Status: 500, ErrorCode: "UNKNOWN_EXCEPTION", Times: 10})
		start := time.Now()
		_, err = c.Count(t.Context(), "SELECT COUNT() FROM Contact")
		elapsed := time.Since(start)
		wantFault(t, err, fault.Temporary, "UNKNOWN_EXCEPTION")
		if c.Calls() != 4 {
			t.Errorf("attempts = %d, want 4", c.Calls())
		}
		// Three waits of at most 0.5s, 1s and 2s.
		if elapsed <= 0 || elapsed > 3500*time.Millisecond {
			t.Errorf("backoff took %v, want within (0, 3.5s]", elapsed)
		}
	})
}

func TestChangesFallBackToFullRead(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	sc := item.Scope{Kind: item.Contact}
	id, _ := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Old"})
	ch, err := l.side.Changes(t.Context(), sc, "")
	if err != nil || !ch.Full {
		t.Fatalf("first: %v %v", ch.Full, err)
	}
	cursor := ch.Cursor
	l.clock.Add(16 * 24 * time.Hour)
	ch, err = l.side.Changes(t.Context(), sc, cursor)
	if err != nil || !ch.Full {
		t.Errorf("cursor older than the delete window: Full = %v, %v; want a full read", ch.Full, err)
	}
	l.clock.Add(5 * time.Minute)
	ch, err = l.side.Changes(t.Context(), sc, ch.Cursor)
	if err != nil || ch.Full {
		t.Fatalf("incremental: Full %v %v", ch.Full, err)
	}
	l.clock.Add(5 * time.Minute)
	_ = l.srv.Delete(l.user, id)
	l.srv.EmptyRecycleBin()
	l.clock.Add(5 * time.Minute)
	ch, err = l.side.Changes(t.Context(), sc, ch.Cursor)
	if err != nil || !ch.Full {
		t.Errorf("purged delete log: Full = %v, %v; want a full read", ch.Full, err)
	}
	if _, ok := findRec(ch, id); ok {
		t.Error("purged contact still reported")
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

func TestListViewScope(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	lv, err := l.srv.AddListView("Contact", "Ctos", "CTOs", "Title = 'CTO'", true)
	if err != nil {
		t.Fatal(err)
	}
	cto, _ := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Boss", "Title": "CTO"})
	dev, _ := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Dev", "Title": "Developer"})
	sc := item.Scope{Kind: item.Contact, ListView: lv}
	ch, err := l.side.Changes(t.Context(), sc, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := findRec(ch, cto); !ok || len(ch.Records) != 1 {
		t.Errorf("list view scope read %d records (cto found %v), want only the CTO", len(ch.Records), ok)
	}
	l.clock.Add(3 * time.Minute)
	_ = l.srv.Update(l.user, cto, map[string]any{"Title": "Advisor"})
	_ = l.srv.Update(l.user, dev, map[string]any{"Title": "CTO"})
	l.clock.Add(3 * time.Minute)
	ch, err = l.side.Changes(t.Context(), sc, ch.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := findRec(ch, dev); !ok {
		t.Error("contact that entered the list view not reported")
	}
	left := false
	for _, r := range ch.Removed {
		left = left || r.ID == cto && r.Reason == item.LeftScope
	}
	if !left {
		t.Errorf("contact that left the list view not reported as LeftScope: %+v", ch.Removed)
	}
}

func TestDescribeIsCached(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	for i := 0; i < 3; i++ {
		if _, err := l.client.Build(t.Context(), Select{Object: "Contact", Fields: []string{"Id", "Account.Name"}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.srv.Calls()["describe"]; got != 2 {
		t.Errorf("describe calls = %d, want 2 (Contact and Account, once each)", got)
	}
	shared := NewDescribeCache(time.Hour)
	for i := 0; i < 2; i++ {
		c, err := New(Options{Tokens: Static(l.tokenFor(l.user)), Describe: shared})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Build(t.Context(), Select{Object: "Task", Fields: []string{"Id"}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.srv.Calls()["describe"]; got != 3 {
		t.Errorf("describe calls with a shared cache = %d, want 3 (Task once for two clients)", got)
	}
	if v, _ := l.client.Version(t.Context()); v != fakesalesforce.APIVersion {
		t.Errorf("discovered version %q, want %q", v, fakesalesforce.APIVersion)
	}
}

func TestLogEmailIsOneCall(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	var who []string
	for i := 0; i < 3; i++ {
		id, _ := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "P"})
		who = append(who, id)
	}
	lead, _ := l.srv.Insert(l.user, "Lead", map[string]any{"LastName": "L", "Company": "C"})
	_, _ = l.client.Version(t.Context())
	l.srv.ResetCalls()
	email := item.Record{Kind: item.SharedEmail, Fields: map[string]string{item.Subject: "Email: hi", item.Description: "body", item.Sent: "2026-05-11T10:00:00Z"}}
	id, err := l.side.LogEmail(t.Context(), email, append(who, lead), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if calls := l.srv.Calls(); calls["composite"] != 1 || len(calls) != 1 {
		t.Errorf("calls = %v, want one composite call", calls)
	}
	rels, _ := l.client.Collect(t.Context(), "SELECT RelationId FROM TaskRelation WHERE TaskId = '"+id+"'")
	if len(rels) != 3 {
		t.Errorf("TaskRelation rows = %d, want 3 (contacts only: a task relates to contacts or one lead)", len(rels))
	}
	task := l.srv.Record(id)
	if task["TaskSubtype"] != "Email" || task["Status"] != "Completed" || task["ActivityDate"] != "2026-05-11" {
		t.Errorf("task fields = %v", task)
	}
}

func TestLargeFileIsMultipart(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	parent, _ := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "F"})
	data := bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, (JSONUploadLimit/4)+10)
	id, err := l.side.AttachFile(t.Context(), parent, "big.bin", int64(len(data)), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	sent, _ := l.client.Bytes()
	if sent > int64(len(data))+4096 {
		t.Errorf("sent %d bytes for a %d-byte file: want multipart, not base64", sent, len(data))
	}
	rec := l.srv.Record(id)
	if rec["ContentSize"] != float64(len(data)) {
		t.Errorf("ContentSize = %v, want %d", rec["ContentSize"], len(data))
	}
	links, _ := l.client.Collect(t.Context(), "SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '"+parent+"'")
	if len(links) != 1 {
		t.Errorf("links to the parent = %d, want 1", len(links))
	}
}

func TestChatterAndSearch(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	acct, _ := l.srv.Insert(l.user, "Account", map[string]any{"Name": "Searchable Widgets"})
	if id, err := l.client.PostFeedItem(t.Context(), acct, "Logged from Outlook", []string{l.user}); err != nil || id == "" {
		t.Errorf("PostFeedItem = %q, %v", id, err)
	}
	recs, err := l.client.FindText(t.Context(), "Widgets", []SearchObject{{Name: "Account", Fields: []string{"Id", "Name"}}}, 10)
	if err != nil || len(recs) != 1 || recs[0].ID() != acct {
		t.Errorf("FindText = %v, %v", recs, err)
	}
	recs, err = l.client.Search(t.Context(), "FIND {"+SOSLTerm("Widgets")+"} IN NAME FIELDS RETURNING Account(Id, Name)")
	if err != nil || len(recs) != 1 {
		t.Errorf("Search = %v, %v", recs, err)
	}
}

func TestAttendedEventsAreInScope(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	other, _ := l.srv.AddUser(fakesalesforce.User{Username: "host@example.com", Email: "host@example.com", LastName: "Host"})
	now := l.clock.Now()
	at := func(h int) string { return now.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	invited, _ := l.srv.Insert(other, "Event", map[string]any{"Subject": "Invited", "StartDateTime": at(24), "EndDateTime": at(25)})
	_, _ = l.srv.Insert(other, "EventRelation", map[string]any{"EventId": invited, "RelationId": l.user})
	late, _ := l.srv.Insert(other, "Event", map[string]any{"Subject": "Too late", "StartDateTime": at(24 * 40), "EndDateTime": at(24*40 + 1)})
	_, _ = l.srv.Insert(other, "EventRelation", map[string]any{"EventId": late, "RelationId": l.user})
	_, _ = l.srv.Insert(other, "Event", map[string]any{"Subject": "Not invited", "StartDateTime": at(24), "EndDateTime": at(25)})
	sc := item.Scope{Kind: item.Event, From: now.Add(-14 * 24 * time.Hour), To: now.Add(28 * 24 * time.Hour)}
	ch, err := l.side.Changes(t.Context(), sc, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Records) != 1 || ch.Records[0].ID != invited {
		t.Errorf("events in scope = %+v, want only the one the user attends within the window", ch.Records)
	}
	l.clock.Add(3 * time.Minute)
	_ = l.srv.Update(other, invited, map[string]any{"Location": "Room 2"})
	l.clock.Add(3 * time.Minute)
	ch, err = l.side.Changes(t.Context(), sc, ch.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := findRec(ch, invited); !ok || r.Fields[item.Location] != "Room 2" {
		t.Errorf("change to an attended event not reported: %+v", ch)
	}
}

func TestPrefetchReadsFeedsInOneCall(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	now := l.clock.Now()
	scopes := []item.Scope{{Kind: item.Contact}, {Kind: item.Task, From: now.Add(-14 * 24 * time.Hour)},
		{Kind: item.Event, From: now.Add(-14 * 24 * time.Hour), To: now.Add(28 * 24 * time.Hour)}}
	contact, _ := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Pre"})
	cursors := make([]string, len(scopes))
	for i, sc := range scopes {
		ch, err := l.side.Changes(t.Context(), sc, "")
		if err != nil {
			t.Fatal(err)
		}
		cursors[i] = ch.Cursor
	}
	l.clock.Add(3 * time.Minute)
	_ = l.srv.Update(l.user, contact, map[string]any{"Title": "Prefetched"})
	task, _ := l.srv.Insert(l.user, "Task", map[string]any{"Subject": "Gone soon"})
	_ = l.srv.Delete(l.user, task)
	l.clock.Add(3 * time.Minute)
	l.srv.ResetCalls()
	var reqs []FeedRequest
	for i, sc := range scopes {
		reqs = append(reqs, FeedRequest{Scope: sc, Cursor: cursors[i]})
	}
	if err := l.side.Prefetch(t.Context(), reqs); err != nil {
		t.Fatal(err)
	}
	var got []item.Changes
	for i, sc := range scopes {
		ch, err := l.side.Changes(t.Context(), sc, cursors[i])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ch)
	}
	calls := l.srv.Calls()
	if calls["batch"] != 1 || calls["updated"] != 0 || calls["deleted"] != 0 {
		t.Errorf("calls = %v, want the six feeds in one batch call", calls)
	}
	if r, ok := findRec(got[0], contact); !ok || r.Fields[item.Title] != "Prefetched" {
		t.Errorf("contact change lost with prefetch: %+v", got[0])
	}
	if len(got[1].Removed) != 1 || got[1].Removed[0].ID != task || got[1].Removed[0].Reason != item.Deleted {
		t.Errorf("task delete lost with prefetch: %+v", got[1].Removed)
	}
}

func TestUserFromUserinfo(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	tok := (&oauth2.Token{AccessToken: l.srv.IssueToken(l.user)}).WithExtra(map[string]any{"instance_url": l.http.URL})
	c, err := New(Options{Tokens: Static(tok)})
	if err != nil {
		t.Fatal(err)
	}
	side, err := NewSide(c, SideOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Mine"})
	ch, err := side.Changes(t.Context(), item.Scope{Kind: item.Contact}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := findRec(ch, id); !ok || c.Calls() != 2 {
		t.Errorf("found %v with %d calls; want the user's contact, userinfo costing no API call", ok, c.Calls())
	}
}

func TestLogEmailKeepsDirectionAndPeopleInDescription(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	who, _ := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "P"})
	for _, tc := range []struct {
		name      string
		body      string
		direction string
		wantRunes int // 0: exactly header + body
	}{
		{"outbound", "see you tomorrow", "Outbound", 0},
		{"inbound", "thanks", "Inbound", 0},
		{"body longer than the field", strings.Repeat("ü", 40000), "Inbound", taskDescriptionMax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			email := item.Record{Kind: item.SharedEmail, Fields: map[string]string{
				item.Subject: "Email: hi", item.Description: tc.body, item.Sent: "2026-05-11T10:00:00Z",
				item.Direction: tc.direction, item.From: "dana@example.com", item.To: "pat@client.example,lee@client.example", item.Cc: "",
			}}
			since := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
			id, err := l.side.LogEmail(t.Context(), email, []string{who}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			// A session killed after LogEmail finds the Task by the same text.
			found, err := l.side.FindCreated(t.Context(), item.SharedEmail, []item.Intent{{Marker: "m-" + tc.name, Since: since, Record: email}})
			if err != nil || found["m-"+tc.name] != id {
				t.Errorf("FindCreated = %v, %v; want the logged Task %s adopted", found, err, id)
			}
			got, _ := l.srv.Record(id)["Description"].(string)
			header := "Direction: " + tc.direction + "\nFrom: dana@example.com\nTo: pat@client.example, lee@client.example\n\n"
			if !strings.HasPrefix(got, header) {
				t.Errorf("Description starts %q, want header %q", got[:min(len(got), 120)], header)
			}
			if strings.Contains(got, "CC:") {
				t.Error("Description has a CC line for an e-mail without copies")
			}
			if tc.wantRunes == 0 {
				if want := header + tc.body; got != want {
					t.Errorf("Description = %q, want %q", got, want)
				}
				return
			}
			if n := utf8.RuneCountInString(got); n != tc.wantRunes || !strings.HasSuffix(got, truncatedNote) {
				t.Errorf("Description has %d characters (ends %q), want %d ending with the truncation note", n, got[len(got)-30:], tc.wantRunes)
			}
		})
	}
}
