package msgraph

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// scripted answers requests from a list of canned responses, in order.
type scripted struct {
	mu      sync.Mutex
	answers []*http.Response
	seen    []*http.Request
}

func (s *scripted) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, r)
	if len(s.answers) == 0 {
		return nil, errors.New("no more answers")
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a, nil
}

func answer(status int, body string, header ...string) *http.Response {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
}

func scriptedClient(t *testing.T, answers ...*http.Response) (*Client, *scripted) {
	t.Helper()
	s := &scripted{answers: answers}
	c, err := New(Options{BaseURL: "http://graph.local/v1.0", HTTPClient: &http.Client{Transport: s},
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})})
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		header []string
		want   fault.Class
		code   string
		after  time.Duration
	}{
		{"throttled with Retry-After", 429, `{"error":{"code":"ApplicationThrottled","message":"over limit"}}`, []string{"Retry-After", "7"}, fault.Throttled, "ApplicationThrottled", 7 * time.Second},
		{"service unavailable", 503, ``, nil, fault.Throttled, "Service Unavailable", 0},
		{"sync state gone", 410, `{"error":{"code":"SyncStateNotFound","message":"The sync state generation is not found"}}`, nil, fault.Expired, "SyncStateNotFound", 0},
		{"sync state as 400", 400, `{"error":{"code":"syncStateNotFound","message":"x"}}`, nil, fault.Expired, "syncStateNotFound", 0},
		{"token rejected", 401, `{"error":{"code":"InvalidAuthenticationToken","message":"expired"}}`, nil, fault.Reconnect, "InvalidAuthenticationToken", 0},
		{"item gone", 404, `{"error":{"code":"ErrorItemNotFound","message":"not found"}}`, nil, fault.Gone, "ErrorItemNotFound", 0},
		{"bad property", 400, `{"error":{"code":"RequestBodyRead","message":"no such property"}}`, nil, fault.Permanent, "RequestBodyRead", 0},
		{"access denied", 403, `{"error":{"code":"ErrorAccessDenied","message":"denied"}}`, nil, fault.Permanent, "ErrorAccessDenied", 0},
		{"failed dependency", 424, `{"error":{"code":"FailedDependency"}}`, nil, fault.Temporary, "FailedDependency", 0},
		{"server error, foreign body", 500, `<html>oops</html>`, nil, fault.Temporary, "Internal Server Error", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for i := 0; i+1 < len(tc.header); i += 2 {
				h.Set(tc.header[i], tc.header[i+1])
			}
			err := classify(tc.status, h, []byte(tc.body), nil)
			var fe *fault.Error
			if !errors.As(err, &fe) {
				t.Fatalf("got %T, want *fault.Error", err)
			}
			if fe.Class != tc.want || fe.Code != tc.code || fe.RetryAfter != tc.after {
				t.Errorf("got class %v code %q after %v, want %v %q %v", fe.Class, fe.Code, fe.RetryAfter, tc.want, tc.code, tc.after)
			}
		})
	}
}

func TestMalformedResponsesAreTypedErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"truncated", `{"value":[{"id":"AAMk1","givenName":"Ad`},
		{"not json", `<html>proxy error</html>`},
		{"page without links", `{"value":[]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := scriptedClient(t, answer(200, tc.body))
			_, _, err := c.delta(t.Context(), "me/contacts/delta", 0)
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Code != "MalformedResponse" || fe.Class != fault.Temporary {
				t.Errorf("got %v, want a Temporary MalformedResponse", err)
			}
		})
	}
}

func TestUnknownPropertiesInResponsesAreIgnored(t *testing.T) {
	c, _ := scriptedClient(t, answer(200, `{"value":[{"id":"AAMk1","givenName":"Ada","brandNewProperty":{"x":1}}],"@odata.deltaLink":"http://graph.local/v1.0/me/contacts/delta?$deltatoken=x"}`))
	got, link, err := c.delta(t.Context(), "me/contacts/delta", 0)
	if err != nil || len(got) != 1 || link == "" {
		t.Fatalf("delta = %d entries, %q, %v", len(got), link, err)
	}
}

func TestThrottledRequestHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := scriptedClient(t,
			answer(429, `{"error":{"code":"ApplicationThrottled"}}`, "Retry-After", "7"),
			answer(503, ``, "Retry-After", "3"),
			answer(200, `{"id":"me"}`))
		start := time.Now()
		var u wireUser
		if err := c.getJSON(t.Context(), "me", &u); err != nil {
			t.Fatal(err)
		}
		if got, want := time.Since(start), 10*time.Second; got != want {
			t.Errorf("waited %v, want %v (7 s + 3 s as asked)", got, want)
		}
		if len(s.seen) != 3 || c.Requests() != 3 {
			t.Errorf("requests = %d (counter %d), want 3", len(s.seen), c.Requests())
		}
	})
}

func TestThrottledWithoutRetryAfterBacksOffExponentially(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := scriptedClient(t, answer(429, ``), answer(429, ``), answer(429, ``), answer(200, `{"id":"me"}`))
		start := time.Now()
		var u wireUser
		if err := c.getJSON(t.Context(), "me", &u); err != nil {
			t.Fatal(err)
		}
		if got, want := time.Since(start), 7*time.Second; got != want {
			t.Errorf("waited %v, want %v (1 s + 2 s + 4 s)", got, want)
		}
	})
}

func TestThrottlingGivesUpAfterBoundedRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var answers []*http.Response
		for range 10 {
			answers = append(answers, answer(429, ``, "Retry-After", "1"))
		}
		c, s := scriptedClient(t, answers...)
		var u wireUser
		err := c.getJSON(t.Context(), "me", &u)
		if !fault.Is(err, fault.Throttled) {
			t.Fatalf("got %v, want Throttled", err)
		}
		if len(s.seen) != 7 {
			t.Errorf("attempts = %d, want 7 (1 + 6 retries)", len(s.seen))
		}
	})
}

func TestLongRetryAfterIsReturnedNotSlept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := scriptedClient(t, answer(429, ``, "Retry-After", "3600"))
		var u wireUser
		err := c.getJSON(t.Context(), "me", &u)
		if fault.RetryAfterOf(err) != time.Hour || len(s.seen) != 1 {
			t.Errorf("got %v after %d attempts, want Throttled(1h) after 1", err, len(s.seen))
		}
	})
}

func TestEveryRequestAsksForImmutableIDs(t *testing.T) {
	c, rec := recordedGraph(t)
	side := NewSide(c, SideOptions{})
	ctx := t.Context()
	ch, err := side.Changes(ctx, item.Scope{Kind: item.Contact}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := side.Create(ctx, item.Contact, []item.Record{{Fields: map[string]string{item.LastName: "X"}}}, []string{"m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := side.Changes(ctx, item.Scope{Kind: item.Contact}, ch.Cursor); err != nil {
		t.Fatal(err)
	}
	if len(rec.prefers) == 0 {
		t.Fatal("no requests recorded")
	}
	for i, p := range rec.prefers {
		if !strings.Contains(p, `IdType="ImmutableId"`) {
			t.Errorf("request %d Prefer = %q, want IdType=\"ImmutableId\"", i, p)
		}
	}
}

// recorder passes requests on, noting each one's Prefer header and its
// method and path.
type recorder struct {
	mu      sync.Mutex
	next    http.RoundTripper
	prefers []string
	calls   []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.prefers = append(r.prefers, strings.Join(req.Header.Values("Prefer"), ", "))
	r.calls = append(r.calls, req.Method+" "+req.URL.Path)
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// writes returns the calls recorded so far that were not GETs.
func (r *recorder) writes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		if !strings.HasPrefix(c, http.MethodGet+" ") {
			out = append(out, c)
		}
	}
	return out
}

func TestMovedMessageKeepsItsID(t *testing.T) {
	fg, side, _ := localGraph(t, fakegraph.Options{})
	ctx := t.Context()
	h := &graphHarness{side: side}
	id, err := h.Email(ctx, "Moving", true, nil, "a.txt", []byte("abc"))
	if err != nil {
		t.Fatal(err)
	}
	var moved struct {
		ID string `json:"id"`
	}
	if err := side.c.sendJSON(ctx, http.MethodPost, "me/messages/"+id+"/move", map[string]string{"destinationId": "archive"}, &moved); err != nil {
		t.Fatal(err)
	}
	if moved.ID != id {
		t.Errorf("id after move = %q, want the immutable id %q", moved.ID, id)
	}
	if _, err := side.Attachments(ctx, id); err != nil {
		t.Errorf("reading the moved message by its id: %v", err)
	}
	_ = fg
}

func TestBatchMatchesOutOfOrderResponsesAndRetriesThrottledParts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fg, side, upn := localGraph(t, fakegraph.Options{})
		ctx := t.Context()
		if _, err := side.Changes(ctx, item.Scope{Kind: item.Contact}, ""); err != nil {
			t.Fatal(err)
		}
		fg.Throttle(upn, 0, 7, 5*time.Second)
		var recs []item.Record
		for i := range 45 {
			recs = append(recs, item.Record{Fields: map[string]string{item.LastName: fmt.Sprintf("Contact %02d", i)}})
		}
		res, err := side.Create(ctx, item.Contact, recs, make([]string, len(recs)))
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Err != nil {
				t.Fatalf("record %d: %v", i, r.Err)
			}
			var w wireContact
			if err := side.c.getJSON(ctx, "me/contacts/"+r.ID, &w); err != nil {
				t.Fatal(err)
			}
			if w.Surname != recs[i].Fields[item.LastName] {
				t.Errorf("result %d points at %q, want %q", i, w.Surname, recs[i].Fields[item.LastName])
			}
		}
	})
}

func TestBatchFailedDependencyIs424(t *testing.T) {
	_, side, _ := localGraph(t, fakegraph.Options{})
	res, err := side.c.batch(t.Context(), []part{
		{method: http.MethodPatch, path: "me/contacts/AAMkmissing", body: map[string]any{"surname": "x"}},
		{method: http.MethodGet, path: "me", dependsOn: []int{0}},
		{method: http.MethodGet, path: "me"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !fault.Is(res[0].err, fault.Gone) || res[1].status != http.StatusFailedDependency || res[2].err != nil {
		t.Errorf("results = %+v, want Gone, 424, ok", res)
	}
}

// TestWriteAndIdleEfficiency asserts call counts: N contacts cost ⌈N/20⌉
// batches plus a small constant; an idle incremental check costs one delta
// request per synced resource (a fresh Side, as a new session has).
func TestWriteAndIdleEfficiency(t *testing.T) {
	fg, side, _ := localGraph(t, fakegraph.Options{})
	ctx := t.Context()
	const n = 1000
	recs := make([]item.Record, n)
	for i := range recs {
		recs[i] = item.Record{Fields: map[string]string{item.FirstName: "F", item.LastName: fmt.Sprint("L", i), item.Email: fmt.Sprintf("p%d@example.com", i)}}
	}
	before := side.c.Requests()
	res, err := side.Create(ctx, item.Contact, recs, make([]string, n))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("record %d: %v", i, r.Err)
		}
	}
	got := side.c.Requests() - before
	batches := int64((n + BatchSize - 1) / BatchSize)
	if got < batches || got > batches+3 {
		t.Errorf("writing %d contacts took %d requests, want %d batches + at most 3", n, got, batches)
	}
	t.Logf("writing %d contacts: %d requests (%d batches)", n, got, batches)

	scopes := []item.Scope{{Kind: item.Contact}, {Kind: item.Task}, eventWindow()}
	cursors := make([]string, len(scopes))
	for i, sc := range scopes {
		ch, err := side.Changes(ctx, sc, "")
		if err != nil {
			t.Fatal(err)
		}
		cursors[i] = ch.Cursor
	}
	shared, err := side.SharedEmails(ctx, item.Scope{Kind: item.SharedEmail}, "")
	if err != nil {
		t.Fatal(err)
	}
	fresh := NewSide(side.c, SideOptions{})
	before = side.c.Requests()
	for i, sc := range scopes {
		ch, err := fresh.Changes(ctx, sc, cursors[i])
		if err != nil || len(ch.Records)+len(ch.Removed) != 0 || ch.Full {
			t.Fatalf("idle %s: %d records, %d removals, full %v, %v", sc.Kind, len(ch.Records), len(ch.Removed), ch.Full, err)
		}
	}
	// One delta request each, and one $batch asking the other contact
	// folders (here the default one) for contacts shared by category; the
	// mailbox has no other To Do list, so tasks need none.
	if got := side.c.Requests() - before; got != int64(len(scopes))+1 {
		t.Errorf("idle check of %d resources took %d requests, want one each and one category $batch", len(scopes), got)
	}
	before = side.c.Requests()
	if _, err := fresh.SharedEmails(ctx, item.Scope{Kind: item.SharedEmail}, shared.Cursor); err != nil {
		t.Fatal(err)
	}
	if got := side.c.Requests() - before; got != 2 {
		t.Errorf("idle shared-e-mail check took %d requests, want 2 (folder delta + category query)", got)
	}
	_ = fg
}

// TestThrottledSyncWritesEverythingWithinConcurrency injects throttling and
// slow answers; every record is written and the local Graph never sees more
// than four requests in flight for the mailbox.
func TestThrottledSyncWritesEverythingWithinConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fg, side, upn := localGraph(t, fakegraph.Options{Latency: 50 * time.Millisecond})
		ctx := t.Context()
		if _, err := side.Changes(ctx, item.Scope{Kind: item.Contact}, ""); err != nil {
			t.Fatal(err)
		}
		fg.Throttle(upn, 3, 25, 2*time.Second)
		const n = 400
		recs := make([]item.Record, n)
		for i := range recs {
			recs[i] = item.Record{Fields: map[string]string{item.LastName: fmt.Sprint("T", i)}}
		}
		res, err := side.Create(ctx, item.Contact, recs, make([]string, n))
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Err != nil || r.ID == "" {
				t.Fatalf("record %d not written: %+v", i, r)
			}
		}
		ch, err := side.Changes(ctx, item.Scope{Kind: item.Contact}, "")
		if err != nil || len(ch.Records) != n {
			t.Fatalf("mailbox holds %d contacts (%v), want %d", len(ch.Records), err, n)
		}
		st := fg.Stats(upn)
		if st.MaxInFlight > fakegraph.MailboxConcurrency {
			t.Errorf("max in flight = %d, want ≤ %d", st.MaxInFlight, fakegraph.MailboxConcurrency)
		}
		if st.MaxInFlight < 2 {
			t.Errorf("max in flight = %d: the mailbox allowance was never used", st.MaxInFlight)
		}
	})
}

func TestExpiredDeltaRestartsWithoutDuplicates(t *testing.T) {
	fg, side, upn := localGraph(t, fakegraph.Options{})
	ctx := t.Context()
	side.opts.PageSize = 2
	if _, err := side.Create(ctx, item.Contact, []item.Record{{Fields: map[string]string{item.LastName: "A"}}, {Fields: map[string]string{item.LastName: "B"}}, {Fields: map[string]string{item.LastName: "C"}}}, []string{"", "", ""}); err != nil {
		t.Fatal(err)
	}
	first, err := side.Changes(ctx, item.Scope{Kind: item.Contact}, "")
	if err != nil || len(first.Records) != 3 {
		t.Fatalf("first read: %d records, %v", len(first.Records), err)
	}
	fg.ExpireDeltaTokens(upn)
	again, err := side.Changes(ctx, item.Scope{Kind: item.Contact}, first.Cursor)
	if err != nil || !again.Full || len(again.Records) != 3 {
		t.Fatalf("after expiry: full=%v records=%d err=%v, want a full read of 3", again.Full, len(again.Records), err)
	}
}

func TestDeletedContainerIsRecreated(t *testing.T) {
	_, side, _ := localGraph(t, fakegraph.Options{})
	ctx := t.Context()
	first, err := side.Changes(ctx, item.Scope{Kind: item.Contact}, "")
	if err != nil {
		t.Fatal(err)
	}
	fid, _ := side.contactFolder(ctx, emptyScope)
	if err := side.c.sendJSON(ctx, http.MethodDelete, "me/contactFolders/"+fid, nil, nil); err != nil {
		t.Fatal(err)
	}
	fresh := NewSide(side.c, SideOptions{})
	ch, err := fresh.Changes(ctx, item.Scope{Kind: item.Contact}, first.Cursor)
	if err != nil || !ch.Full {
		t.Fatalf("after the folder was deleted: full=%v err=%v, want a full read of a new folder", ch.Full, err)
	}
	nfid, _ := fresh.contactFolder(ctx, emptyScope)
	if nfid == fid {
		t.Errorf("folder id unchanged after deletion")
	}
}

func eventWindow() item.Scope {
	now := time.Now().UTC().Truncate(time.Hour)
	return item.Scope{Kind: item.Event, From: now.AddDate(0, 0, -14), To: now.AddDate(0, 0, 28)}
}

type refusedTokens struct{}

func (refusedTokens) Token() (*oauth2.Token, error) {
	return nil, &oauth2.RetrieveError{ErrorCode: "invalid_grant", ErrorDescription: "AADSTS70000: revoked"}
}

func TestRevokedGrantNeedsReconnect(t *testing.T) {
	c, err := New(Options{BaseURL: "http://graph.local/v1.0", HTTPClient: &http.Client{Transport: &scripted{}}, TokenSource: refusedTokens{}})
	if err != nil {
		t.Fatal(err)
	}
	var u wireUser
	if err := c.getJSON(t.Context(), "me", &u); !fault.Is(err, fault.Reconnect) {
		t.Errorf("got %v, want Reconnect", err)
	}
	if _, err := New(Options{}); err == nil {
		t.Errorf("New without a token source succeeded")
	}
}

func TestEnsureFolderSurvivesACreateRace(t *testing.T) {
	c, s := scriptedClient(t,
		answer(200, `{"value":[]}`),
		answer(409, `{"error":{"code":"ErrorFolderExists","message":"A folder with the specified name already exists."}}`),
		answer(200, `{"value":[{"id":"F1","displayName":"Business Contacts"}]}`))
	id, err := c.ensureFolder(t.Context(), "contactFolders", "Business Contacts", true)
	if err != nil || id != "F1" || len(s.seen) != 3 {
		t.Errorf("got %q, %v after %d requests; want F1 after 3", id, err, len(s.seen))
	}
	if got := s.seen[0].URL.RawQuery; got != "$filter=displayName%20eq%20%27Business%20Contacts%27" {
		t.Errorf("filter query = %q", got)
	}
}
