package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/orgwatch"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/schedule"
)

// movedClock is the wall clock moved forward by what the test advanced: the
// app and the local Salesforce see minutes pass without the test waiting
// (the queue, on the wall clock, sees delays of zero).
type movedClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *movedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *movedClock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// mailboxHasContact asks the local Graph whether the world's mailbox holds a
// contact with that surname, in its contacts or any contact folder.
func (w *testWorld) mailboxHasContact(t *testing.T, surname string) bool {
	t.Helper()
	base := w.app.settings.Microsoft.BaseURL + "/users/" + url.PathEscape(fakegraph.DemoUser)
	type entry struct {
		ID      string `json:"id"`
		Surname string `json:"surname"`
	}
	list := func(next string) []entry {
		var out []entry
		for next != "" {
			req, _ := http.NewRequest("GET", next, nil)
			req.Header.Set("Authorization", "Bearer "+w.graph.Token(fakegraph.DemoUser))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var page struct {
				Value []entry `json:"value"`
				Next  string  `json:"@odata.nextLink"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("listing %s: %d %v", next, resp.StatusCode, err)
			}
			out = append(out, page.Value...)
			next = page.Next
		}
		return out
	}
	all := list(base + "/contacts")
	for _, f := range list(base + "/contactFolders") {
		all = append(all, list(base+"/contactFolders/"+url.PathEscape(f.ID)+"/contacts")...)
	}
	for _, c := range all {
		if c.Surname == surname {
			return true
		}
	}
	return false
}

// TestSalesforceChangeReachesMailboxThroughDetectorTimer drives the wired
// service: an org admin connects, sets up the organisation's integration
// connection (JWT bearer, the deployment's certificate key) on the connect
// admin route; the user's Salesforce user id is in the directory from the
// connect on. A contact added in the local Salesforce is found by the
// detector's timer function, which requests the owner's session (reason
// crm-change) — the only message in the sessions queue, no scheduled
// session runs — and that session, run by the syncworker, puts the contact
// in the local Graph mailbox. Then Salesforce refuses the integration
// connection (the app's certificate no longer matches): the tick reports
// the organisation down, the connection needs reconnecting, the user's
// scheduled sessions are back on the plan's interval; once the admin sets
// it up again, the next tick finds the change made meanwhile.
func TestSalesforceChangeReachesMailboxThroughDetectorTimer(t *testing.T) {
	ctx := context.Background()
	clock := &movedClock{}
	w := integrationWorld(t, clock.now)
	org := w.sf.OrgID()
	b := w.newBrowser()
	user, token := w.connectUser(t, b)
	idx := orgwatch.Index{Store: w.app.store}
	if owner, ok, err := idx.Owner(ctx, org, user); err != nil || !ok || owner != w.sfUser {
		t.Fatalf("the directory after connecting: %q %v %v, want the user's Salesforce user id %s", owner, ok, err, w.sfUser)
	}
	if first := w.runSession(t, user); first.Outcome != "ok" {
		t.Fatalf("first session: %q (%s)", first.Outcome, first.Detail)
	}

	integrate := func(username string) (int, string) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"username": username})
		status, _, resp := b.fetch(t, "POST", w.srv.URL+"/api/dashboard/connect/admin/salesforce/integration", strings.NewReader(string(body)),
			map[string]string{"Content-Type": "application/json", "X-CSRF-Token": token})
		return status, resp
	}
	if status, body := integrate("not a username"); status != http.StatusBadRequest || !strings.Contains(body, "username") {
		t.Fatalf("a bad username: %d %s", status, body)
	}
	if status, body := integrate("nobody@world.example"); status != http.StatusBadGateway || !strings.Contains(body, "invalid_grant") {
		t.Fatalf("an unknown integration user: %d %s", status, body)
	}
	if status, body := integrate("integration@world.example"); status != http.StatusOK || !strings.Contains(body, org) {
		t.Fatalf("setting up the integration connection: %d %s", status, body)
	}
	if c, err := w.app.conns.Get(ctx, orgwatch.IntegrationUser(org), connection.Salesforce); err != nil || c.Flow != connection.FlowJWTBearer || c.Status != connection.Connected {
		t.Fatalf("the stored integration connection: %+v %v", c, err)
	}

	var timer funchost.Function
	for _, f := range w.fns {
		if f.Name == "detector" {
			timer = f
		}
	}
	if timer.Timer == nil || timer.Trigger.Kind != funchost.KindTimer {
		t.Fatal("no detector timer function in the route table")
	}
	tick := func() {
		t.Helper()
		if _, err := timer.Timer(ctx, funchost.TimerTrigger{InvocationID: "tick"}); err != nil {
			t.Fatalf("detector tick: %v", err)
		}
	}
	// sessions takes the queued session requests other than the mailbox's
	// pushes (the local Graph notifies the app of what a session wrote).
	sessions := func() []schedule.Request {
		t.Helper()
		return w.takeRequests(t, func(req schedule.Request) bool { return req.Reason != schedule.Push })
	}
	sessions() // what connecting requested; the first session stood for it
	// The timer fires as each minute turns (orgwatch.TickOffset).
	now := clock.now()
	clock.advance(now.Truncate(time.Minute).Add(time.Minute + orgwatch.TickOffset).Sub(now))
	tick() // sets the watermarks
	if got := sessions(); len(got) != 0 {
		t.Fatalf("the first tick requested %v", got)
	}
	if e, err := w.app.sched.Get(ctx, user); err != nil || !e.Watched {
		t.Fatalf("the user's schedule with the detector up: %+v %v, want the safety net", e, err)
	}

	// The change is made 10 s after the first tick; the next tick is a
	// minute after the first.
	clock.advance(10 * time.Second)
	changed := clock.now()
	if _, err := w.sf.Insert(w.sfUser, "Contact", map[string]any{"FirstName": "Dora", "LastName": "Detected", "Email": "dora@example.org"}); err != nil {
		t.Fatal(err)
	}
	clock.advance(50 * time.Second)
	tick()
	got := sessions()
	if len(got) != 1 || got[0].User != user || got[0].Reason != schedule.CRMChange {
		t.Fatalf("sessions after the change: %+v, want the owner's alone, for a CRM change", got)
	}
	var worker funchost.Function
	for _, f := range w.fns {
		if f.Name == "syncworker" {
			worker = f
		}
	}
	if _, err := worker.Queue(ctx, funchost.QueueTrigger{Body: got[0].Encode(), ID: "m-detector", DequeueCount: 1, InvocationID: "detector"}); err != nil {
		t.Fatalf("the requested session: %v", err)
	}
	if !w.mailboxHasContact(t, "Detected") {
		t.Fatal("the contact added in Salesforce is not in the mailbox after the detector's session")
	}
	if after := clock.now().Sub(changed); after > time.Minute {
		t.Fatalf("the contact reached the mailbox %v after the change, want within a minute", after)
	}
	logs := w.logs.String()
	if !strings.Contains(logs, `"msg":"change detector tick"`) || !strings.Contains(logs, `"requested":1`) {
		t.Errorf("no tick line reporting the request in the logs")
	}
	for _, s := range []string{"integration@world.example", "Detected", "dora@example.org"} {
		if strings.Contains(logs, s) {
			t.Errorf("the logs carry %q", s)
		}
	}

	// The app's certificate no longer matches the one Salesforce holds.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwt := w.app.crm.JWT
	sf := &salesforce.App{ClientID: w.sfClient, LoginURL: w.app.settings.Salesforce.LoginURL}
	w.app.crm.JWT = func(ctx context.Context, username string) salesforce.TokenSource {
		return salesforce.JWTBearerSource(ctx, sf, username, other).WithClock(clock.now)
	}
	clock.advance(time.Minute)
	if _, err := w.sf.Insert(w.sfUser, "Contact", map[string]any{"FirstName": "Meg", "LastName": "Meanwhile"}); err != nil {
		t.Fatal(err)
	}
	tick()
	if got := sessions(); len(got) != 0 {
		t.Fatalf("a tick with the connection refused requested %v", got)
	}
	if c, err := w.app.conns.Get(ctx, orgwatch.IntegrationUser(org), connection.Salesforce); err != nil || c.Status != connection.NeedsReconnect {
		t.Fatalf("the refused integration connection: %+v %v, want needs_reconnect", c, err)
	}
	if e, err := w.app.sched.Get(ctx, user); err != nil || e.Watched || e.Next.After(clock.now().Add(5*time.Minute)) {
		t.Fatalf("the user's schedule with the detector down: %+v %v, want the paid plan's 5 minutes", e, err)
	}
	if !strings.Contains(w.logs.String(), `"down":1`) {
		t.Error("no tick line reporting the organisation down")
	}
	w.app.crm.JWT = jwt
	clock.advance(time.Minute)
	tick() // still down: only an admin brings it back
	if got := sessions(); len(got) != 0 {
		t.Fatalf("a tick with the connection needing reconnect requested %v", got)
	}
	if status, body := integrate("integration@world.example"); status != http.StatusOK {
		t.Fatalf("setting the integration connection up again: %d %s", status, body)
	}
	clock.advance(5 * time.Minute) // down for longer than the query's overlap
	tick()
	if got := sessions(); len(got) != 1 || got[0].User != user {
		t.Fatalf("after the admin reconnected: %+v, want the change made meanwhile found", got)
	}

	// Scoped by a list view, the user is requested on any change: the
	// directory says so once the settings are saved.
	st, err := w.app.accounts.Settings(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	st.ContactListView = "00B000000000001AAA"
	if err := w.app.accounts.SaveSettings(ctx, user, st); err != nil {
		t.Fatal(err)
	}
	if byOwner, anyUsers, err := idx.Users(ctx, org); err != nil || len(byOwner) != 0 || len(anyUsers) != 1 || anyUsers[0] != user {
		t.Fatalf("the directory with a list view: %v any %v (%v), want the user in any", byOwner, anyUsers, err)
	}
}
