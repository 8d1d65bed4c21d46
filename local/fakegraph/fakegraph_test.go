package fakegraph

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

type rig struct {
	t   *testing.T
	s   *Server
	srv *httptest.Server
	tok string
	upn string
}

func newRig(t *testing.T, opts Options) *rig {
	t.Helper()
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	upn := "ada@contoso.test"
	s.AddMailbox(upn, "Ada")
	return &rig{t: t, s: s, srv: srv, tok: s.Token(upn), upn: upn}
}

// do sends a request; path is relative to /v1.0/ unless absolute.
func (r *rig) do(method, path string, body any, prefer ...string) (int, map[string]any, http.Header) {
	r.t.Helper()
	u := path
	if !strings.HasPrefix(path, "http") {
		u = r.srv.URL + "/v1.0/" + path
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Authorization", "Bearer "+r.tok)
	for _, p := range prefer {
		req.Header.Add("Prefer", p)
	}
	return r.send(req)
}

// send sends req and decodes the JSON answer, if any.
func (r *rig) send(req *http.Request) (int, map[string]any, http.Header) {
	r.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func (r *rig) create(path string, body any) string {
	r.t.Helper()
	st, out, _ := r.do(http.MethodPost, path, body, `IdType="ImmutableId"`)
	if st != http.StatusCreated {
		r.t.Fatalf("POST %s: %d %v", path, st, out)
	}
	return out["id"].(string)
}

func values(out map[string]any) []map[string]any {
	var v []map[string]any
	for _, x := range out["value"].([]any) {
		v = append(v, x.(map[string]any))
	}
	return v
}

func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func TestDeltaPagingTombstonesAndExpiry(t *testing.T) {
	r := newRig(t, Options{})
	fid := r.create("me/contactFolders", map[string]any{"displayName": "Business Contacts"})
	var ids []string
	for i := range 5 {
		ids = append(ids, r.create("me/contactFolders/"+fid+"/contacts", map[string]any{"surname": fmt.Sprint("S", i)}))
	}
	link := "me/contactFolders/" + fid + "/contacts/delta?$select=surname"
	var seen []string
	var deltaLink string
	pages := 0
	for link != "" {
		st, out, _ := r.do(http.MethodGet, link, nil, "odata.maxpagesize=2", `IdType="ImmutableId"`)
		if st != 200 {
			t.Fatalf("page %d: %d %v", pages, st, out)
		}
		pages++
		for _, v := range values(out) {
			seen = append(seen, v["id"].(string))
			if _, has := v["givenName"]; has {
				t.Errorf("$select was not kept by the token")
			}
		}
		link, _ = out["@odata.nextLink"].(string)
		if link != "" && !strings.HasPrefix(link, r.srv.URL+"/v1.0/") {
			t.Errorf("nextLink %q is not absolute on the server's base", link)
		}
		deltaLink, _ = out["@odata.deltaLink"].(string)
	}
	if pages != 3 || !slices.Equal(seen, ids) || deltaLink == "" {
		t.Fatalf("pages %d, seen %v, deltaLink %q", pages, seen, deltaLink)
	}
	if st, _, _ := r.do(http.MethodPatch, "me/contacts/"+ids[1], map[string]any{"givenName": "G"}); st != 200 {
		t.Fatalf("patch: %d", st)
	}
	if st, _, _ := r.do(http.MethodDelete, "me/contacts/"+ids[2], nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	st, out, _ := r.do(http.MethodGet, deltaLink, nil, `IdType="ImmutableId"`)
	if st != 200 {
		t.Fatalf("delta round: %d %v", st, out)
	}
	got := values(out)
	if len(got) != 2 || got[0]["id"] != ids[1] || got[1]["id"] != ids[2] || got[1]["@removed"] == nil {
		t.Errorf("second round = %v, want the update then a tombstone", got)
	}
	r.s.ExpireDeltaTokens(r.upn)
	st, out, _ = r.do(http.MethodGet, out["@odata.deltaLink"].(string), nil)
	if st != http.StatusGone || errCode(out) != "SyncStateNotFound" {
		t.Errorf("expired token: %d %v, want 410 SyncStateNotFound", st, out)
	}
}

func TestCalendarViewExpandsSeriesWithExceptions(t *testing.T) {
	r := newRig(t, Options{})
	first := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) // Monday
	master := r.create("me/events", map[string]any{
		"subject": "Weekly", "start": dtz(first), "end": dtz(first.Add(time.Hour)),
		"recurrence": map[string]any{
			"pattern": map[string]any{"type": "weekly", "interval": 1, "daysOfWeek": []string{"monday", "thursday"}, "firstDayOfWeek": "sunday"},
			"range":   map[string]any{"type": "numbered", "startDate": "2026-11-02", "numberOfOccurrences": 6},
		},
	})
	daily := time.Date(2026, 11, 10, 7, 0, 0, 0, time.UTC)
	r.create("me/events", map[string]any{
		"subject": "Daily", "start": dtz(daily), "end": dtz(daily.Add(15 * time.Minute)),
		"recurrence": map[string]any{"pattern": map[string]any{"type": "daily", "interval": 2},
			"range": map[string]any{"type": "endDate", "startDate": "2026-11-10", "endDate": "2026-11-14"}},
	})
	// Move the Thursday 5 Nov occurrence, cancel Monday 9 Nov.
	thu := occurrenceID(master, time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC))
	if st, out, _ := r.do(http.MethodPatch, "me/events/"+thu, map[string]any{"start": dtz(time.Date(2026, 11, 5, 15, 0, 0, 0, time.UTC)), "end": dtz(time.Date(2026, 11, 5, 16, 0, 0, 0, time.UTC))}); st != 200 || out["type"] != "exception" {
		t.Fatalf("patch occurrence: %d %v", st, out)
	}
	if st, _, _ := r.do(http.MethodDelete, "me/events/"+occurrenceID(master, time.Date(2026, 11, 9, 9, 0, 0, 0, time.UTC)), nil); st != 204 {
		t.Fatalf("cancel occurrence: %d", st)
	}
	q := url.Values{"startDateTime": {"2026-11-01T00:00:00Z"}, "endDateTime": {"2026-11-30T00:00:00Z"}}
	st, out, _ := r.do(http.MethodGet, "me/calendarView?"+q.Encode(), nil)
	if st != 200 {
		t.Fatalf("calendarView: %d %v", st, out)
	}
	var got []string
	for _, v := range values(out) {
		got = append(got, fmt.Sprintf("%s %s %s", v["subject"], v["type"], v["start"].(map[string]any)["dateTime"]))
	}
	want := []string{
		"Weekly occurrence 2026-11-02T09:00:00.0000000",
		"Weekly exception 2026-11-05T15:00:00.0000000",
		"Weekly occurrence 2026-11-12T09:00:00.0000000",
		"Weekly occurrence 2026-11-16T09:00:00.0000000",
		// A cancelled occurrence still counts towards numberOfOccurrences.
		"Weekly occurrence 2026-11-19T09:00:00.0000000",
		"Daily occurrence 2026-11-10T07:00:00.0000000",
		"Daily occurrence 2026-11-12T07:00:00.0000000",
		"Daily occurrence 2026-11-14T07:00:00.0000000",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("calendarView =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	st, out, _ = r.do(http.MethodGet, "me/calendarView/delta?$select=subject&"+q.Encode(), nil)
	if st != 400 {
		t.Errorf("calendarView delta with $select: %d %v, want 400", st, out)
	}
}

func TestIDsChangeOnMoveUnlessImmutable(t *testing.T) {
	r := newRig(t, Options{})
	st, out, _ := r.do(http.MethodPost, "me/mailFolders/inbox/messages", map[string]any{"subject": "Hi"})
	if st != 201 {
		t.Fatalf("create: %d %v", st, out)
	}
	restID := out["id"].(string)
	_, imm, _ := r.do(http.MethodGet, "me/messages/"+restID, nil, `IdType="ImmutableId"`)
	_, moved, _ := r.do(http.MethodPost, "me/messages/"+restID+"/move", map[string]any{"destinationId": "archive"})
	if moved["id"] == restID {
		t.Errorf("default id did not change on move")
	}
	if st, _, _ := r.do(http.MethodGet, "me/messages/"+restID, nil); st != 404 {
		t.Errorf("old default id still resolves: %d", st)
	}
	_, again, _ := r.do(http.MethodGet, "me/messages/"+imm["id"].(string), nil, `IdType="ImmutableId"`)
	if again["id"] != imm["id"] {
		t.Errorf("immutable id changed on move: %v → %v", imm["id"], again["id"])
	}
}

func TestBatchRules(t *testing.T) {
	r := newRig(t, Options{})
	part := func(id, method, u string, body any, deps ...string) map[string]any {
		p := map[string]any{"id": id, "method": method, "url": u}
		if body != nil {
			p["body"] = body
			p["headers"] = map[string]string{"Content-Type": "application/json"}
		}
		if deps != nil {
			p["dependsOn"] = deps
		}
		return p
	}
	var many []map[string]any
	for i := range 21 {
		many = append(many, part(fmt.Sprint(i+1), "GET", "/me", nil))
	}
	tests := []struct {
		name string
		reqs []map[string]any
		want int
	}{
		{"over 20", many, 400},
		{"duplicate ids", []map[string]any{part("1", "GET", "/me", nil), part("1", "GET", "/me", nil)}, 400},
		{"body without content type", []map[string]any{{"id": "1", "method": "POST", "url": "/me/contacts", "body": map[string]any{"surname": "x"}}}, 400},
		{"dependency on a later part", []map[string]any{part("1", "GET", "/me", nil, "2"), part("2", "GET", "/me", nil)}, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if st, out, _ := r.do(http.MethodPost, "$batch", map[string]any{"requests": tc.reqs}); st != tc.want {
				t.Errorf("status %d %v, want %d", st, out, tc.want)
			}
		})
	}
	st, out, _ := r.do(http.MethodPost, "$batch", map[string]any{"requests": []map[string]any{
		part("1", "PATCH", "/me/contacts/missing", map[string]any{"surname": "x"}),
		part("2", "GET", "/me", nil, "1"),
		part("3", "POST", "/me/contacts", map[string]any{"surname": "ok"}),
	}})
	if st != 200 {
		t.Fatalf("batch: %d %v", st, out)
	}
	var order []string
	status := map[string]float64{}
	for _, x := range out["responses"].([]any) {
		m := x.(map[string]any)
		order = append(order, m["id"].(string))
		status[m["id"].(string)] = m["status"].(float64)
	}
	if slices.Equal(order, []string{"1", "2", "3"}) {
		t.Errorf("responses came back in request order")
	}
	if status["1"] != 404 || status["2"] != 424 || status["3"] != 201 {
		t.Errorf("statuses %v, want 404, 424, 201", status)
	}
}

func TestMailboxConcurrencyLimit(t *testing.T) {
	r := newRig(t, Options{Latency: 100 * time.Millisecond})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 8 {
		wg.Go(func() {
			st, out, h := r.do(http.MethodGet, "me", nil)
			mu.Lock()
			defer mu.Unlock()
			codes[st]++
			if st == 429 && (!strings.Contains(fmt.Sprint(out), "MailboxConcurrency") || h.Get("Retry-After") == "") {
				t.Errorf("429 without MailboxConcurrency message or Retry-After: %v", out)
			}
		})
	}
	wg.Wait()
	if codes[429] == 0 || codes[200] == 0 || codes[200] > MailboxConcurrency {
		t.Errorf("answers %v, want at most %d OK and the rest 429", codes, MailboxConcurrency)
	}
	if st := r.s.Stats(r.upn); st.MaxInFlight <= MailboxConcurrency {
		t.Errorf("MaxInFlight = %d, want the excess recorded", st.MaxInFlight)
	}
}

func TestInjectedThrottling(t *testing.T) {
	r := newRig(t, Options{})
	r.s.Throttle(r.upn, 1, 0, 9*time.Second)
	st, out, h := r.do(http.MethodGet, "me", nil)
	if st != 429 || h.Get("Retry-After") != "9" || errCode(out) != "ApplicationThrottled" {
		t.Errorf("got %d %v Retry-After %q", st, out, h.Get("Retry-After"))
	}
	if st, _, _ := r.do(http.MethodGet, "me", nil); st != 200 {
		t.Errorf("after the injected 429: %d", st)
	}
}

func TestBadInputIsRejected(t *testing.T) {
	r := newRig(t, Options{})
	tests := []struct {
		name, method, path string
		body               any
		want               int
		code               string
	}{
		{"unknown property", "POST", "me/contacts", map[string]any{"surname": "x", "favouriteColour": "blue"}, 400, "RequestBodyRead"},
		{"duplicate list", "POST", "me/todo/lists", map[string]any{"displayName": "Tasks"}, 409, "ErrorFolderExists"},
		{"bad task status", "POST", "me/todo/lists/LIST/tasks", map[string]any{"title": "t", "status": "done"}, 400, "RequestBodyRead"},
		{"unsupported filter", "GET", "me/messages?$filter=" + url.QueryEscape("categories/any(c:startswith(c,'Sales'))"), nil, 400, "ErrorInvalidUrlQueryFilter"},
		{"unknown user", "GET", "users/someone@contoso.test/contacts", nil, 404, "ErrorInvalidUser"},
		{"another user's mailbox", "GET", "users/bob@contoso.test/contacts", nil, 403, "ErrorAccessDenied"},
		{"missing event times", "POST", "me/events", map[string]any{"subject": "x"}, 400, "ErrorInvalidRequest"},
		{"unsupported recurrence", "POST", "me/events", map[string]any{"subject": "x", "start": dtz(time.Now()), "end": dtz(time.Now()),
			"recurrence": map[string]any{"pattern": map[string]any{"type": "hourly"}, "range": map[string]any{"type": "noEnd", "startDate": "2026-01-01"}}}, 400, "RequestBodyRead"},
	}
	r.s.AddMailbox("bob@contoso.test", "Bob")
	list := r.create("me/todo/lists", map[string]any{"displayName": "Tasks"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, out, _ := r.do(tc.method, strings.Replace(tc.path, "LIST", list, 1), tc.body)
			if st != tc.want || tc.code != "" && errCode(out) != tc.code {
				t.Errorf("got %d %v, want %d %s", st, out, tc.want, tc.code)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL+"/v1.0/me/contacts", strings.NewReader(`{"surname":"tru`))
	req.Header.Set("Authorization", "Bearer "+r.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("truncated JSON: %d, want 400", resp.StatusCode)
	}
	r.tok = "forged"
	if st, out, _ := r.do(http.MethodGet, "me", nil); st != 401 || errCode(out) != "InvalidAuthenticationToken" {
		t.Errorf("forged token: %d %v", st, out)
	}
}

func TestOAuthFlows(t *testing.T) {
	r := newRig(t, Options{Clients: map[string]string{"app-1": "s3cret"}})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := "a-long-random-verifier-of-at-least-43-characters-xyz"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {"app-1"}, "response_type": {"code"}, "redirect_uri": {"http://localhost/cb"}, "state": {"st"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "login_hint": {r.upn}}
	resp, err := noRedirect.Get(r.srv.URL + "/common/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if resp.StatusCode != 302 || code == "" || loc.Query().Get("state") != "st" {
		t.Fatalf("authorize: %d %q", resp.StatusCode, loc)
	}
	token := func(form url.Values) (int, map[string]any) {
		resp, err := http.PostForm(r.srv.URL+"/common/oauth2/v2.0/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {"app-1"}, "code": {code}, "redirect_uri": {"http://localhost/cb"}, "code_verifier": {"wrong"}}
	if st, out := token(form); st != 400 || out["error"] != "invalid_grant" {
		t.Errorf("wrong verifier: %d %v", st, out)
	}
	// The code was spent by the failed attempt, as a real server would treat it.
	resp, _ = noRedirect.Get(r.srv.URL + "/common/oauth2/v2.0/authorize?" + q.Encode())
	resp.Body.Close()
	loc, _ = url.Parse(resp.Header.Get("Location"))
	form.Set("code", loc.Query().Get("code"))
	form.Set("code_verifier", verifier)
	st, out := token(form)
	if st != 200 || out["access_token"] == nil || out["refresh_token"] == nil {
		t.Fatalf("code exchange: %d %v", st, out)
	}
	r.tok = out["access_token"].(string)
	if st, me, _ := r.do(http.MethodGet, "me", nil); st != 200 || me["userPrincipalName"] != r.upn {
		t.Errorf("/me with the new token: %d %v", st, me)
	}
	rt := out["refresh_token"].(string)
	st, out = token(url.Values{"grant_type": {"refresh_token"}, "client_id": {"app-1"}, "refresh_token": {rt}})
	if st != 200 || out["refresh_token"] == rt {
		t.Errorf("refresh: %d %v, want a rotated refresh token", st, out)
	}
	if st, out := token(url.Values{"grant_type": {"refresh_token"}, "client_id": {"app-1"}, "refresh_token": {rt}}); st != 400 || out["error"] != "invalid_grant" {
		t.Errorf("reusing a rotated refresh token: %d %v", st, out)
	}
	if st, out := token(url.Values{"grant_type": {"client_credentials"}, "client_id": {"app-1"}, "client_secret": {"bad"}, "scope": {"https://graph.microsoft.com/.default"}}); st != 401 {
		t.Errorf("bad secret: %d %v", st, out)
	}
	st, out = token(url.Values{"grant_type": {"client_credentials"}, "client_id": {"app-1"}, "client_secret": {"s3cret"}, "scope": {"https://graph.microsoft.com/.default"}})
	if st != 200 {
		t.Fatalf("client credentials: %d %v", st, out)
	}
	r.tok = out["access_token"].(string)
	if st, _, _ := r.do(http.MethodGet, "users/"+r.upn+"/contactFolders", nil); st != 200 {
		t.Errorf("app token on /users/{upn}: %d", st)
	}
	if st, _, _ := r.do(http.MethodGet, "me", nil); st != 400 {
		t.Errorf("app token on /me: %d, want 400", st)
	}
}

func TestSubscriptionsValidateAndNotify(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	echo := true
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if tok := req.URL.Query().Get("validationToken"); tok != "" {
			w.Header().Set("Content-Type", "text/plain")
			if echo {
				_, _ = io.WriteString(w, tok)
			} else {
				_, _ = io.WriteString(w, url.QueryEscape(tok))
			}
			return
		}
		var body map[string]any
		_ = json.NewDecoder(req.Body).Decode(&body)
		mu.Lock()
		got = append(got, body)
		mu.Unlock()
		w.WriteHeader(202)
	}))
	defer hook.Close()
	r := newRig(t, Options{})
	sub := func(exp time.Duration) (int, map[string]any) {
		st, out, _ := r.do(http.MethodPost, "subscriptions", map[string]any{
			"changeType": "created,updated,deleted", "notificationUrl": hook.URL + "/hook", "resource": "me/events",
			"expirationDateTime": time.Now().Add(exp).UTC().Format(time.RFC3339), "clientState": "s",
		})
		return st, out
	}
	if st, out := sub(8 * 24 * time.Hour); st != 400 {
		t.Errorf("expiry over 10,080 minutes: %d %v", st, out)
	}
	echo = false
	if st, out := sub(time.Hour); st != 400 || errCode(out) != "ValidationError" {
		t.Errorf("encoded echo: %d %v, want 400 ValidationError", st, out)
	}
	echo = true
	st, out := sub(48 * time.Hour)
	if st != 201 {
		t.Fatalf("subscribe: %d %v", st, out)
	}
	start := time.Now().Add(time.Hour)
	r.create("me/events", map[string]any{"subject": "x", "start": dtz(start), "end": dtz(start.Add(time.Hour))})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("notifications = %d, want 1", len(got))
	}
	n := got[0]["value"].([]any)[0].(map[string]any)
	if n["subscriptionId"] != out["id"] || n["clientState"] != "s" || n["changeType"] != "created" {
		t.Errorf("notification %v", n)
	}
}

func TestSeedDemo(t *testing.T) {
	s := New(Options{})
	SeedDemo(s, time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(s)
	defer srv.Close()
	r := &rig{t: t, s: s, srv: srv, tok: s.Token(DemoUser), upn: DemoUser}
	_, out, _ := r.do(http.MethodGet, "me/contactFolders?$filter="+url.QueryEscape("displayName eq 'Business Contacts'"), nil)
	if len(values(out)) != 1 {
		t.Fatalf("Business Contacts: %v", out)
	}
	q := url.Values{"startDateTime": {"2026-11-10T00:00:00Z"}, "endDateTime": {"2026-12-22T00:00:00Z"}}
	_, out, _ = r.do(http.MethodGet, "me/calendarView?"+q.Encode(), nil)
	types := map[string]int{}
	for _, v := range values(out) {
		types[v["type"].(string)]++
	}
	if types["exception"] != 1 || types["occurrence"] < 4 || types["singleInstance"] != 2 {
		t.Errorf("demo calendar instance types %v", types)
	}
	_, out, _ = r.do(http.MethodGet, "me/messages?$select=subject,hasAttachments", nil)
	if v := values(out); len(v) != 1 || v[0]["hasAttachments"] != true {
		t.Errorf("demo messages %v", out)
	}
}

func TestMainRejectsBadFlags(t *testing.T) {
	var out strings.Builder
	if err := Main(t.Context(), []string{"-nope"}, &out); err == nil {
		t.Errorf("Main with an unknown flag returned nil")
	}
	if err := Main(t.Context(), []string{"-addr", "256.0.0.1:99999"}, &out); err == nil || !strings.Contains(err.Error(), "fake-graph") {
		t.Errorf("Main with a bad address: %v", err)
	}
}

// TestMainServesTheDemo runs the standalone server on a free port (it stops
// with the test's context) and reads the demo mailbox.
func TestMainServesTheDemo(t *testing.T) {
	pr, pw := io.Pipe()
	go func() { _ = Main(t.Context(), []string{"-addr", "127.0.0.1:0"}, pw) }()
	buf := make([]byte, 4096)
	var text string
	for !strings.Contains(text, "bearer token: ") || !strings.HasSuffix(text, "\n") || strings.Count(text, "\n") < 2 {
		n, err := pr.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		text += string(buf[:n])
	}
	base := strings.Fields(text)[3]
	tok := strings.TrimSpace(text[strings.Index(text, "bearer token: ")+len("bearer token: "):])
	req, _ := http.NewRequest(http.MethodGet, base+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var me map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&me)
	if resp.StatusCode != 200 || me["userPrincipalName"] != DemoUser {
		t.Errorf("GET %s/me: %d %v", base, resp.StatusCode, me)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
}

// put sends one range of an upload session, without a bearer token unless
// bearer is set.
func (r *rig) put(uploadURL string, chunk []byte, start, total int, bearer bool) (int, map[string]any, http.Header) {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodPut, uploadURL, strings.NewReader(string(chunk)))
	req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+len(chunk)-1, total))
	if bearer {
		req.Header.Set("Authorization", "Bearer "+r.tok)
	}
	return r.send(req)
}

// TestLargeAttachments: a POSTed attachment over 3 MB is refused as on
// Graph, an upload session takes one in ranges, and $value serves it back
// chunked, byte for byte.
func TestLargeAttachments(t *testing.T) {
	r := newRig(t, Options{})
	msg := r.create("me/mailFolders/inbox/messages", map[string]any{"subject": "Big files"})
	content := make([]byte, 5<<20+123)
	for i := range content {
		content[i] = byte(i*7 + i>>13)
	}
	st, out, _ := r.do(http.MethodPost, "me/messages/"+msg+"/attachments", map[string]any{
		"@odata.type": "#microsoft.graph.fileAttachment", "name": "big.bin",
		"contentBytes": base64.StdEncoding.EncodeToString(content[:3<<20+1])})
	if st != http.StatusRequestEntityTooLarge {
		t.Errorf("POST of a 3 MB+1 attachment: %d %v, want 413", st, out)
	}

	st, out, _ = r.do(http.MethodPost, "me/messages/"+msg+"/attachments/createUploadSession", map[string]any{
		"AttachmentItem": map[string]any{"attachmentType": "file", "name": "big.bin", "size": len(content), "contentType": "application/x-test"}})
	uploadURL, _ := out["uploadUrl"].(string)
	if st != http.StatusCreated || !strings.HasPrefix(uploadURL, r.srv.URL+"/") {
		t.Fatalf("createUploadSession: %d %v, want 201 with an uploadUrl on the server", st, out)
	}
	if st, out, _ := r.put(uploadURL, content[:1<<20], 0, len(content), true); st != http.StatusUnauthorized {
		t.Errorf("PUT with a bearer token: %d %v, want 401", st, out)
	}
	if st, out, _ := r.put(uploadURL, content[1<<20:2<<20], 1<<20, len(content), false); st != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("PUT of a range that skips the start: %d %v, want 416", st, out)
	}
	const chunk = 4 << 20
	st, out, _ = r.put(uploadURL, content[:chunk], 0, len(content), false)
	if next, _ := out["nextExpectedRanges"].([]any); st != http.StatusOK || len(next) != 1 || next[0] != fmt.Sprintf("%d-", chunk) {
		t.Fatalf("PUT of the first range: %d %v, want 200 expecting %d-", st, out, chunk)
	}
	st, out, hdr := r.put(uploadURL, content[chunk:], chunk, len(content), false)
	if st != http.StatusCreated || !strings.Contains(hdr.Get("Location"), "/messages/") {
		t.Fatalf("PUT of the last range: %d %v (Location %q), want 201 with the attachment's location", st, out, hdr.Get("Location"))
	}
	if st, _, _ := r.put(uploadURL, content[:1], 0, len(content), false); st != http.StatusNotFound {
		t.Errorf("PUT after the upload completed: %d, want 404 (the session is gone)", st)
	}

	_, out, _ = r.do(http.MethodGet, "me/messages/"+msg+"/attachments?$select=id,name,size", nil)
	atts := values(out)
	if len(atts) != 1 || atts[0]["name"] != "big.bin" || atts[0]["size"] != float64(len(content)) {
		t.Fatalf("attachments = %v, want big.bin of %d bytes", atts, len(content))
	}
	req, _ := http.NewRequest(http.MethodGet, r.srv.URL+"/v1.0/me/messages/"+msg+"/attachments/"+atts[0]["id"].(string)+"/$value", nil)
	req.Header.Set("Authorization", "Bearer "+r.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprintf("%x", h.Sum(nil)), fmt.Sprintf("%x", sha256.Sum256(content)); got != want {
		t.Errorf("$value sha256 = %s, want %s", got, want)
	}
	if got, want := resp.ContentLength, int64(-1); got != want || !slices.Contains(resp.TransferEncoding, "chunked") {
		t.Errorf("$value Content-Length %d, Transfer-Encoding %q; want %d, chunked", got, resp.TransferEncoding, want)
	}
	if got, want := resp.Header.Get("Content-Type"), "application/x-test"; got != want {
		t.Errorf("$value Content-Type = %q, want %q", got, want)
	}
}
