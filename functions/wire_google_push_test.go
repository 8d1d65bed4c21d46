package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/settings"
)

// lateTransport forwards to a transport set once the world exists: the
// local Google is started before the app it calls back.
type lateTransport struct {
	mu sync.Mutex
	rt http.RoundTripper
}

func (l *lateTransport) set(rt http.RoundTripper) { l.mu.Lock(); l.rt = rt; l.mu.Unlock() }

func (l *lateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	rt := l.rt
	l.mu.Unlock()
	return rt.RoundTrip(r)
}

// googleWorld is a CRMSYNC_MAILBOX=google world whose signed-in user has
// connected Salesforce and Google (through the dashboard's routes) and run
// a first session.
type googleWorld struct {
	*testWorld
	fg     *fakegoogle.Server
	gs     *httptest.Server
	user   string
	access string // the Google user's access token at the local Google
	b      *browser
	calls  *requestLog // every request the local Google served
}

const googleWorldUser = "dana@acme.example"

func newGoogleWorld(t *testing.T, env map[string]string, fo fakegoogle.Options) *googleWorld {
	t.Helper()
	late := &lateTransport{}
	if fo.Clients == nil {
		fo.Clients = map[string]string{"g-client": "g-secret-Kx9"}
	}
	fo.HTTPClient = &http.Client{Transport: late}
	fg := fakegoogle.New(fo)
	access, _ := fg.AddUser(googleWorldUser)
	fg.SignIn(googleWorldUser)
	calls := &requestLog{}
	gs := httptest.NewServer(calls.wrap(fg))
	t.Cleanup(gs.Close)
	all := map[string]string{settings.NameMailbox: settings.MailboxGoogle,
		google.NameClientID: "g-client", google.NameClientSecret: "g-secret-Kx9", google.NameBaseURL: gs.URL}
	for k, v := range env {
		all[k] = strings.ReplaceAll(v, "{google}", gs.URL)
	}
	w := newTestWorld(t, worldOptions{env: all, email: googleWorldUser})
	late.set(w.srv.Client().Transport)
	b := w.newBrowser()
	w.signIn(t, b)
	user := w.signedInUser(t, b)
	form := url.Values{"username": {fakesalesforce.DemoUsername}, "password": {fakesalesforce.DemoPassword}}
	if status, _, body := b.fetch(t, "POST", w.srv.URL+"/api/dashboard/connect/salesforce/password", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": w.csrf(t, b)}); status != http.StatusOK {
		t.Fatalf("Salesforce connect answered %d: %s", status, body)
	}
	stop := *b.Client
	stop.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host == b.appURL.Host && r.URL.Query().Get("connect") != "" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := stop.Get(w.srv.URL + "/api/dashboard/connect/google")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if at, _ := url.Parse(resp.Header.Get("Location")); at == nil || at.Query().Get("result") != "ok" {
		t.Fatalf("connecting Google ended at %q", resp.Header.Get("Location"))
	}
	return &googleWorld{testWorld: w, fg: fg, gs: gs, user: user, access: access, b: b, calls: calls}
}

// google calls the local Google's API as the user.
func (g *googleWorld) google(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, g.gs.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+g.access)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// queued takes every session request waiting in the queue.
func (w *testWorld) queued(t *testing.T) []schedule.Request {
	t.Helper()
	ctx := context.Background()
	var out []schedule.Request
	for {
		msgs, err := w.app.queue.Dequeue(ctx, schedule.SessionsQueue, 32, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			r, err := schedule.DecodeRequest(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
			_ = w.app.queue.Delete(ctx, schedule.SessionsQueue, m.ID, m.PopReceipt)
		}
	}
}

// deliver hands a queued request to the syncworker function, as the host
// would, and returns the session's report.
func (w *testWorld) deliver(t *testing.T, r schedule.Request) session.Report {
	t.Helper()
	ctx := context.Background()
	before, _ := session.NewState(w.app.store, r.User).Reports(ctx, 100)
	for _, f := range w.fns {
		if f.Trigger.Kind == funchost.KindQueue && f.Trigger.QueueName == schedule.SessionsQueue {
			if _, err := f.Queue(ctx, funchost.QueueTrigger{Body: r.Encode(), ID: "push-1", DequeueCount: 1, InvocationID: "push"}); err != nil {
				t.Fatalf("syncworker: %v", err)
			}
		}
	}
	after, _ := session.NewState(w.app.store, r.User).Reports(ctx, 100)
	seen := map[string]bool{}
	for _, x := range before {
		seen[x.SessionID] = true
	}
	for _, x := range after {
		if !seen[x.SessionID] {
			return x
		}
	}
	return session.Report{}
}

// settle runs the push sessions a session's own writes asked for: Google
// notifies crmsync's writes too; a burst coalesces into at most one more
// session, which finds nothing new, and the chain ends.
func (g *googleWorld) settle(t *testing.T) {
	t.Helper()
	for round := 0; ; round++ {
		q := g.queued(t)
		if len(q) == 0 {
			return
		}
		if round == 3 || len(q) != 1 || q[0].Reason != schedule.Push {
			t.Fatalf("round %d of echo sessions: queue holds %+v", round, q)
		}
		if rep := g.deliver(t, q[0]); len(rep.Counts) != 0 {
			t.Errorf("an echo of the session's own writes moved %v", rep.Counts)
		}
	}
}

// salesforceEvents counts the local Salesforce's Events with a subject.
func salesforceEvents(t *testing.T, w *testWorld, subject string) int {
	t.Helper()
	return countWhere(t, w, "Event", "Subject = '"+subject+"'")
}

// TestCalendarPushReachesSalesforce: the first session of a Google mailbox
// opens a watch channel on the calendar (events.watch) calling the
// notifications function; the local Google's "sync" handshake asks for no
// session; an event edited in Google is pushed, the notification enqueues a
// push session at once (no schedule involved) and that session carries the
// edit to Salesforce. A forged notification — a real channel id with a
// wrong token, or a made-up channel — is refused with 401 and enqueues
// nothing.
func TestCalendarPushReachesSalesforce(t *testing.T) {
	g := newGoogleWorld(t, nil, fakegoogle.Options{})
	first := g.runSession(t, g.user)
	if first.Outcome != "ok" || first.Counts["event|to-mailbox|create"] == 0 {
		t.Fatalf("first session: %q %v; want events created in Google", first.Outcome, first.Counts)
	}
	if chs := g.fg.Channels(googleWorldUser); len(chs) != 1 || chs[0].Address != g.srv.URL+"/api/notifications" {
		t.Fatalf("after the first session the local Google holds channels %+v; want one calling the notifications function", chs)
	}
	g.settle(t)

	var list struct {
		Items []struct {
			ID         string   `json:"id"`
			Summary    string   `json:"summary"`
			Recurrence []string `json:"recurrence"`
		} `json:"items"`
	}
	g.google(t, "GET", "/calendar/v3/calendars/primary/events", nil, &list)
	// A single event: editing a series would rename every occurrence.
	single := ""
	for _, e := range list.Items {
		if len(e.Recurrence) == 0 && single == "" {
			single = e.ID
		}
	}
	if single == "" {
		t.Fatal("no single event in Google after the first session")
	}
	const pushed = "Renewal call (moved in Google)"
	if salesforceEvents(t, g.testWorld, pushed) != 0 {
		t.Fatal("the edited subject is in Salesforce before the edit")
	}
	if st := g.google(t, "PATCH", "/calendar/v3/calendars/primary/events/"+single, map[string]string{"summary": pushed}, nil); st != http.StatusOK {
		t.Fatalf("editing the event in Google answered %d", st)
	}
	q := g.queued(t)
	if len(q) != 1 || q[0].User != g.user || q[0].Reason != schedule.Push {
		t.Fatalf("after the edit the queue holds %+v; want one push request for %s", q, g.user)
	}
	rep := g.deliver(t, q[0])
	if rep.Outcome != "ok" || rep.Counts["event|to-crm|update"] != 1 {
		t.Errorf("the push session: %q %v; want the one event updated in Salesforce", rep.Outcome, rep.Counts)
	}
	if n := salesforceEvents(t, g.testWorld, pushed); n != 1 {
		t.Errorf("Salesforce has %d events with the subject edited in Google, want 1", n)
	}

	// Forged notifications.
	notify := func(id, token, state string) int {
		req, _ := http.NewRequest("POST", g.srv.URL+"/api/notifications", nil)
		req.Header.Set("X-Goog-Channel-ID", id)
		req.Header.Set("X-Goog-Channel-Token", token)
		req.Header.Set("X-Goog-Resource-State", state)
		req.Header.Set("X-Goog-Resource-ID", "r-forged")
		resp, err := g.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	channel := g.fg.Channels(googleWorldUser)
	if len(channel) != 1 {
		t.Fatalf("the local Google holds channels %v; want one", channel)
	}
	for _, c := range []struct{ name, id, token string }{
		{"real channel, wrong token", channel[0].ID, "v1." + g.user + ".AAAA"},
		{"real channel, token of another user", channel[0].ID, strings.Replace(channel[0].Token, url.PathEscape(g.user), "someone-else", 1)},
		{"made-up channel, the real token", "crmsync-forged", channel[0].Token},
		{"no token", channel[0].ID, ""},
	} {
		if st := notify(c.id, c.token, "exists"); st != http.StatusUnauthorized {
			t.Errorf("%s: answered %d, want 401", c.name, st)
		}
	}
	if q := g.queued(t); len(q) != 0 {
		t.Errorf("forged notifications enqueued %v", q)
	}
	// The handshake, even with a genuine token, is no change.
	if st := notify(channel[0].ID, channel[0].Token, "sync"); st != http.StatusOK {
		t.Errorf("a genuine sync handshake answered %d", st)
	}
	if q := g.queued(t); len(q) != 0 {
		t.Errorf("a sync handshake enqueued %v", q)
	}
	if st := notify(channel[0].ID, channel[0].Token, "exists"); st != http.StatusOK {
		t.Errorf("the genuine notification replayed by hand answered %d", st)
	}
	if q := g.queued(t); len(q) != 1 {
		t.Errorf("a genuine notification enqueued %v, want one request", q)
	}

	// Deleting the account stops the channel before revoking the token
	// (TestAccountDeletionStopsGooglePush); a notification that still
	// comes (a stop that failed, one already in flight) is acknowledged
	// and starts nothing.
	g.queued(t)
	if status, _, body := g.b.fetch(t, "DELETE", g.srv.URL+"/api/dashboard/v1/me", nil, map[string]string{"X-CSRF-Token": g.csrf(t, g.b)}); status/100 != 2 {
		t.Fatalf("account deletion answered %d: %s", status, body)
	}
	if st := notify(channel[0].ID, channel[0].Token, "exists"); st != http.StatusOK {
		t.Errorf("a deleted user's channel notification answered %d, want 200 (acknowledged)", st)
	}
	if q := g.queued(t); len(q) != 0 {
		t.Errorf("a deleted user's channel enqueued %v", q)
	}
}
