package sides_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/orgwatch"
	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/schedule"
)

// sfQuerier runs the detector's queries with a Salesforce client.
type sfQuerier struct{ c *salesforce.Client }

func (q sfQuerier) QueryAll(ctx context.Context, soql string, fn func(map[string]any) error) error {
	return q.c.QueryAll(ctx, soql, func(r salesforce.Record) error { return fn(r) })
}

// integration connects as the organisation's integration user with the JWT
// bearer flow, signing with key.
func integration(t *testing.T, w *world, key *rsa.PrivateKey) orgwatch.Querier {
	t.Helper()
	ts := salesforce.JWTBearerSource(context.Background(), &salesforce.App{ClientID: "crmsync-detector", LoginURL: w.sfURL}, "integration@contoso.example", key).
		WithClock(func() time.Time { return w.now })
	c, err := salesforce.New(salesforce.Options{Tokens: ts, InstanceURL: w.sfURL})
	if err != nil {
		t.Fatal(err)
	}
	return sfQuerier{c}
}

type directory map[string][]string

func (d directory) Users(ctx context.Context, org string) (map[string][]string, []string, error) {
	return d, nil, nil
}

// sessionsQueue is the scheduler and sessions queue the detector requests
// through, and the syncworker's part: it runs the requested sessions.
type sessionsQueue struct {
	t     *testing.T
	w     *world
	sched *schedule.Scheduler
	q     *queue.Embedded
}

func newSessionsQueue(t *testing.T, w *world, users ...string) *sessionsQueue {
	t.Helper()
	q, err := queue.OpenEmbedded(filepath.Join(t.TempDir(), "queue.sqlite"), queue.WithClock(func() time.Time { return w.now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	sq := &sessionsQueue{t: t, w: w, sched: schedule.New(w.tables, q), q: q}
	for _, u := range users {
		// Next due in a day: no scheduled session comes due in the test.
		if err := sq.sched.Enroll(context.Background(), u, "paid", w.now.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	return sq
}

// run delivers the queued requests, running the sessions of the world's
// user, and returns the users requested.
func (sq *sessionsQueue) run() []string {
	sq.t.Helper()
	ctx := context.Background()
	msgs, err := sq.q.Dequeue(ctx, schedule.SessionsQueue, 32, time.Minute)
	if err != nil {
		sq.t.Fatal(err)
	}
	var users []string
	for _, m := range msgs {
		req, err := schedule.DecodeRequest(m.Body)
		if err != nil {
			sq.t.Fatal(err)
		}
		if req.Reason != orgwatch.CRMChange {
			sq.t.Fatalf("session requested for %s: %s", req.User, req.Reason)
		}
		users = append(users, req.User)
		if req.User == sq.w.user {
			if rep, err := sq.w.runner.Run(ctx, req.User, string(req.Reason)); err != nil || rep.Outcome != "ok" {
				sq.t.Fatalf("requested session: %v %+v", err, rep)
			}
		}
		if err := sq.q.Delete(ctx, schedule.SessionsQueue, m.ID, m.PopReceipt); err != nil {
			sq.t.Fatal(err)
		}
	}
	slices.Sort(users)
	return users
}

func contactTitle(w *world, last string) string {
	for _, r := range w.mailboxAll(item.Contact) {
		if r.Fields[item.LastName] == last {
			return r.Fields[item.Title]
		}
	}
	return "(none)"
}

// TestSalesforceChangeReachesMailboxThroughDetector: a contact edited in
// Salesforce reaches the local Graph within 60 s of simulated time: the
// detector, polling once a minute through the integration connection (JWT
// bearer), finds its owner and requests her session, which runs at once; no
// scheduled session runs in between. The colleague whose records did not
// change gets no session. Then the detector's connection is revoked: the
// poll fails naming it and moves nothing, and once reconnected it catches up
// with a change made meanwhile. Then it falls far behind (more changes than
// a query reads): every user of the organisation is requested.
func TestSalesforceChangeReachesMailboxThroughDetector(t *testing.T) {
	ctx := context.Background()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorldOptions(t, fakesalesforce.Options{Clients: []fakesalesforce.Client{{ID: "crmsync-local"}, {ID: "crmsync-detector", JWTKey: &key.PublicKey}}})
	if _, err := w.sf.AddUser(fakesalesforce.User{Username: "integration@contoso.example", Email: "integration@contoso.example", LastName: "Integration", Admin: true}); err != nil {
		t.Fatal(err)
	}
	colleague, err := w.sf.AddUser(fakesalesforce.User{Username: "fox@contoso.example", Email: "fox@contoso.example", LastName: "Mulder"})
	if err != nil {
		t.Fatal(err)
	}
	ada, err := w.sf.Insert(w.sfID, "Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Title": "Analyst"})
	if err != nil {
		t.Fatal(err)
	}
	w.session()
	w.session()
	if got := contactTitle(w, "Lovelace"); got != "Analyst" {
		t.Fatalf("mailbox title %q after the first sync", got)
	}
	sq := newSessionsQueue(t, w, w.user, "u-fox")
	det := &orgwatch.Detector{Store: w.tables, Directory: directory{w.sfID: {w.user}, colleague: {"u-fox"}}, Requester: sq.sched, Watcher: sq.sched, MaxRows: 5}
	q := integration(t, w, key)
	poll := func() orgwatch.Report {
		t.Helper()
		rep, err := det.Poll(ctx, "org-1", q, w.now)
		if err != nil {
			t.Fatalf("poll at %s: %v", w.now.Format(time.TimeOnly), err)
		}
		return rep
	}
	if rep := poll(); len(rep.Requested) != 0 || rep.Queries != 0 {
		t.Fatalf("first poll: %+v, want the watermarks set and nothing requested", rep)
	}
	if en, err := sq.sched.Get(ctx, w.user); err != nil || !en.Watched {
		t.Fatalf("Dana's schedule after the detector came up: %+v %v, want it on the safety net", en, err)
	}
	// The change, made 10 s after a poll; the next poll is 60 s after it.
	w.now = w.now.Add(10 * time.Second)
	changed := w.now
	if err := w.sf.Update(w.sfID, ada, map[string]any{"Title": "Chief Analyst"}); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(50 * time.Second)
	rep := poll()
	if rep.Queries != len(orgwatch.Objects) || !slices.Equal(rep.Requested, []string{w.user}) {
		t.Fatalf("poll after the change: %+v, want one query per object and Dana's session", rep)
	}
	if got := sq.run(); !slices.Equal(got, []string{w.user}) {
		t.Fatalf("sessions requested: %v, want Dana's alone", got)
	}
	if got, after := contactTitle(w, "Lovelace"), w.now.Sub(changed); got != "Chief Analyst" || after > 60*time.Second {
		t.Fatalf("mailbox title %q %v after the change, want %q within 60 s", got, after, "Chief Analyst")
	}
	w.now = w.now.Add(time.Minute)
	if rep := poll(); len(rep.Requested) != 0 {
		t.Fatalf("quiet poll (the change read again in the overlap): %+v, want nothing requested", rep)
	}

	// Revoked: the app's certificate no longer matches (invalid_grant).
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	w.sf.ExpireSessions()
	revoked := integration(t, w, other)
	w.now = w.now.Add(time.Minute)
	if err := w.sf.Update(w.sfID, ada, map[string]any{"Title": "Director"}); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(5 * time.Minute)
	if _, err := det.Poll(ctx, "org-1", revoked, w.now); !errors.Is(err, orgwatch.ErrDown) {
		t.Fatalf("poll through a revoked connection: %v, want ErrDown", err)
	}
	if got := sq.run(); len(got) != 0 {
		t.Fatalf("a failed poll requested %v", got)
	}
	if en, err := sq.sched.Get(ctx, w.user); err != nil || en.Watched || en.Next.After(w.now.Add(5*time.Minute)) {
		t.Fatalf("Dana's schedule with the detector down: %+v %v, want the plan's 5 minutes again", en, err)
	}
	w.now = w.now.Add(10 * time.Minute) // down for a while: more than the overlap
	q = integration(t, w, key)
	if rep := poll(); !slices.Equal(rep.Requested, []string{w.user}) {
		t.Fatalf("poll after reconnecting: %+v, want the change made while down found", rep)
	}
	sq.run()
	if got := contactTitle(w, "Lovelace"); got != "Director" {
		t.Fatalf("mailbox title %q after catching up", got)
	}

	// Far behind: more changes than one query reads.
	for i := range 6 {
		if _, err := w.sf.Insert(colleague, "Contact", map[string]any{"LastName": "Bulk", "Title": string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	w.now = w.now.Add(time.Minute)
	rep = poll()
	if !rep.Behind || !slices.Equal(rep.Requested, []string{"u-dana", "u-fox"}) {
		t.Fatalf("poll behind: %+v, want every user requested", rep)
	}
	if got := sq.run(); !slices.Equal(got, []string{"u-dana", "u-fox"}) {
		t.Fatalf("sessions queued when behind: %v", got)
	}
	w.now = w.now.Add(time.Minute)
	if rep := poll(); rep.Behind || len(rep.Requested) != 0 {
		t.Fatalf("poll after catching up: %+v, want nothing", rep)
	}
}
