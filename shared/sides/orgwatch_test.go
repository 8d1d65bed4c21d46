package sides_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/orgwatch"
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
	ts := connect.JWTBearerSource(context.Background(), &connect.Salesforce{ClientID: "crmsync-detector", LoginURL: w.sfURL}, "integration@contoso.example", key).
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

// requests records the sessions the detector asks for.
type requests struct{ users []string }

func (r *requests) RequestNow(ctx context.Context, user string, reason schedule.Reason, now time.Time) error {
	if reason != orgwatch.CRMChange {
		return errors.New("unexpected reason " + string(reason))
	}
	r.users = append(r.users, user)
	return nil
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
	req := &requests{}
	det := &orgwatch.Detector{Store: w.tables, Directory: directory{w.sfID: {w.user}, colleague: {"u-fox"}}, Requester: req, MaxRows: 5}
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
	runRequested := func() {
		t.Helper()
		for _, u := range req.users {
			if u != w.user {
				t.Errorf("session requested for %s, whose records did not change", u)
				continue
			}
			if rep, err := w.runner.Run(ctx, u, string(orgwatch.CRMChange)); err != nil || rep.Outcome != "ok" {
				t.Fatalf("requested session: %v %+v", err, rep)
			}
		}
		req.users = nil
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
	runRequested()
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
	if len(req.users) != 0 {
		t.Fatalf("a failed poll requested %v", req.users)
	}
	w.now = w.now.Add(10 * time.Minute) // down for a while: more than the overlap
	q = integration(t, w, key)
	if rep := poll(); !slices.Equal(rep.Requested, []string{w.user}) {
		t.Fatalf("poll after reconnecting: %+v, want the change made while down found", rep)
	}
	runRequested()
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
	req.users = nil
	w.now = w.now.Add(time.Minute)
	if rep := poll(); rep.Behind || len(rep.Requested) != 0 {
		t.Fatalf("poll after catching up: %+v, want nothing", rep)
	}
}
