package orgwatch

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/tablestore"
)

func openStore(t *testing.T) *tablestore.Embedded {
	t.Helper()
	store, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "s.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// TestIndexDirectory: the directory is one partition per organisation;
// Note writes only what changed; list-view users are in any; ForgetUser
// removes a user from every organisation.
func TestIndexDirectory(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	x := Index{Store: store}
	for _, n := range []struct {
		org, user, owner string
		any              bool
	}{{"00DA", "ann", "005A", false}, {"00DA", "bob", "005B", false}, {"00DA", "cy", "005C", true}, {"00DB", "dee", "005A", false}, {"00DA", "bo", "005B", false}} {
		if err := x.Note(ctx, n.org, n.user, n.owner, n.any); err != nil {
			t.Fatal(err)
		}
	}
	byOwner, anyUsers, err := x.Users(ctx, "00DA")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(byOwner["005A"], []string{"ann"}) || !slices.Equal(byOwner["005B"], []string{"bo", "bob"}) || len(byOwner) != 2 || !slices.Equal(anyUsers, []string{"cy"}) {
		t.Fatalf("org 00DA: %v any %v", byOwner, anyUsers)
	}
	// Unchanged: no write (the ETag stays).
	before, _ := store.Get(ctx, UsersTable, "00DA", "ann")
	if err := x.Note(ctx, "00DA", "ann", "005A", false); err != nil {
		t.Fatal(err)
	}
	if after, _ := store.Get(ctx, UsersTable, "00DA", "ann"); after.ETag != before.ETag {
		t.Error("an unchanged entry was written again")
	}
	if err := x.Note(ctx, "00DA", "ann", "", false); err == nil {
		t.Error("an entry without an owner was accepted")
	}
	if err := x.ForgetUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if byOwner, _, _ := x.Users(ctx, "00DA"); !slices.Equal(byOwner["005B"], []string{"bo"}) {
		t.Fatalf("after forgetting bob: %v", byOwner)
	}
	if o, ok, err := x.Owner(ctx, "00DB", "dee"); o != "005A" || !ok || err != nil {
		t.Fatalf("Owner: %q %v %v", o, ok, err)
	}
}

// orgs is a set of organisations' histories behind an Opener: each poll
// sees its own organisation's rows only. gate, when set, holds every query
// until closed.
type orgs struct {
	mu       sync.Mutex
	hist     map[string]*org
	revoked  map[string]bool
	gate     chan struct{}
	inFlight int
	peak     int
}

type gated struct {
	o   *orgs
	org *org
}

func (g gated) QueryAll(ctx context.Context, soql string, fn func(map[string]any) error) error {
	g.o.mu.Lock()
	g.o.inFlight++
	g.o.peak = max(g.o.peak, g.o.inFlight)
	gate := g.o.gate
	g.o.mu.Unlock()
	if gate != nil {
		<-gate
	}
	g.o.mu.Lock()
	g.o.inFlight--
	err := g.org.QueryAll(ctx, soql, fn)
	g.o.mu.Unlock()
	return err
}

func (o *orgs) Integration(ctx context.Context, id string) (Querier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.revoked[id] {
		return nil, fault.New(fault.Reconnect, "integration_needs_reconnect", "the organisation's integration connection is needs_reconnect")
	}
	return gated{o, o.hist[id]}, nil
}

type lockedReqs struct {
	mu    sync.Mutex
	users []string
}

func (r *lockedReqs) RequestNow(ctx context.Context, user string, reason schedule.Reason, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if user == "gone" {
		return tablestore.ErrNotFound
	}
	r.users = append(r.users, user)
	return nil
}

func (r *lockedReqs) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	u := r.users
	r.users = nil
	slices.Sort(u)
	return u
}

// TestRunnerPollsEveryOrg: the timer polls each listed organisation with
// its own integration connection and directory, at most Concurrency at a
// time; a run that finds an organisation's poll still running skips it
// (the lease) and polls it again once that one ended; a revoked
// connection is ErrDown for its organisation alone, bringing its users'
// schedules back; a user deleted since the directory named them does not
// hold the organisation's watermarks back.
func TestRunnerPollsEveryOrg(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	x := Index{Store: store}
	t0 := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	src := &orgs{hist: map[string]*org{}, revoked: map[string]bool{}}
	var ids []string
	for i := range 5 {
		id := "00D" + string(rune('A'+i))
		ids = append(ids, id)
		src.hist[id] = &org{}
		if err := x.AddOrg(ctx, Org{ID: id, Tenant: "t-" + id}); err != nil {
			t.Fatal(err)
		}
		if err := x.Note(ctx, id, "u-"+id, "005"+id, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Note(ctx, "00DA", "gone", "005gone", false); err != nil {
		t.Fatal(err)
	}
	r := &lockedReqs{}
	wa := &watch{state: map[string]bool{}}
	run := &Runner{Detector: &Detector{Store: store, Directory: x, Requester: r, Watcher: &lockedWatch{w: wa}}, Index: x, Opener: src, Concurrency: 2}
	if rep, err := run.Run(ctx, t0); err != nil || rep.Orgs != 5 || rep.Polled != 5 || rep.Queries != 0 {
		t.Fatalf("first run: %+v %v", rep, err)
	}
	for _, id := range ids {
		src.hist[id].rows = append(src.hist[id].rows, row{"Contact", "003" + id, "005" + id, t0.Add(20 * time.Second)})
	}
	src.hist["00DA"].rows = append(src.hist["00DA"].rows, row{"Event", "00Ugone", "005gone", t0.Add(20 * time.Second)})

	// Another instance's poll of 00DA is running (it holds the lease): this
	// run skips 00DA and polls the others, two at a time.
	held, err := x.lease(ctx, "00DA", t0.Add(50*time.Second), 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var rep RunReport
	synctest.Test(t, func(t *testing.T) {
		// Made in the bubble, so a query waiting on it is durably blocked.
		src.gate = make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			rep, err = run.Run(ctx, t0.Add(time.Minute))
		}()
		synctest.Wait()
		src.mu.Lock()
		n := src.inFlight
		src.mu.Unlock()
		if n != 2 {
			t.Errorf("%d polls running at once with their queries held, want Concurrency = 2", n)
		}
		close(src.gate)
		<-done
	})
	src.gate = nil
	if err != nil || rep.Busy != 1 || rep.Polled != 4 || rep.Queries != 4*len(Objects) || src.peak != 2 {
		t.Fatalf("run with 00DA leased elsewhere: %+v %v (peak %d at once)", rep, err, src.peak)
	}
	if got := r.take(); !slices.Equal(got, []string{"u-00DB", "u-00DC", "u-00DD", "u-00DE"}) {
		t.Fatalf("requested %v", got)
	}
	// The other poll ends; 00DA's change is found by the next run (its
	// watermark did not move), and the deleted user does not stop it.
	held()
	rep, err = run.Run(ctx, t0.Add(2*time.Minute))
	if err != nil || rep.Polled != 5 || rep.Busy != 0 {
		t.Fatalf("run after the lease was released: %+v %v", rep, err)
	}
	if got := r.take(); !slices.Equal(got, []string{"u-00DA"}) {
		t.Fatalf("requested %v, want 00DA's user alone", got)
	}
	if rep, _ := run.Run(ctx, t0.Add(3*time.Minute)); rep.Requested != 0 {
		t.Fatalf("quiet run: %+v (the watermark of 00DA did not move past the deleted user's change)", rep)
	}
	// A lease whose holder died expires: the run after it polls.
	if _, err := x.lease(ctx, "00DB", t0.Add(3*time.Minute), 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if rep, err := run.Run(ctx, t0.Add(4*time.Minute)); err != nil || rep.Busy != 1 {
		t.Fatalf("run under a live lease: %+v %v", rep, err)
	}
	if rep, err := run.Run(ctx, t0.Add(6*time.Minute)); err != nil || rep.Busy != 0 || rep.Polled != 5 {
		t.Fatalf("run after the lease expired: %+v %v", rep, err)
	}

	// 00DC's integration connection is revoked: its poll is down, its
	// user's schedule back on the plan's interval; the others go on.
	src.revoked["00DC"] = true
	src.hist["00DB"].rows = append(src.hist["00DB"].rows, row{"Task", "00TB", "00500DB", t0.Add(6*time.Minute + 30*time.Second)})
	src.hist["00DB"].rows[len(src.hist["00DB"].rows)-1].owner = "00500DB"
	rep, err = run.Run(ctx, t0.Add(7*time.Minute))
	if err != nil || rep.Down != 1 || rep.Polled != 4 {
		t.Fatalf("run with 00DC revoked: %+v %v", rep, err)
	}
	if wa.state["u-00DC"] || !wa.state["u-00DB"] {
		t.Fatalf("schedules: %v, want u-00DC back on its plan, the others watched", wa.state)
	}
	if _, err := x.lease(ctx, "00DC", t0.Add(7*time.Minute), time.Minute); err != nil {
		t.Fatalf("the down poll kept its lease: %v", err)
	}

	// An organisation whose connection is refused from the start is down
	// at its first poll (which makes no query): its user stays on the plan.
	src.hist["00DF"], src.revoked["00DF"] = &org{}, true
	if err := x.AddOrg(ctx, Org{ID: "00DF"}); err != nil {
		t.Fatal(err)
	}
	if err := x.Note(ctx, "00DF", "u-00DF", "00500DF", false); err != nil {
		t.Fatal(err)
	}
	wa.state["u-00DF"] = true // as if watched before
	rep, err = run.Run(ctx, t0.Add(8*time.Minute))
	if err != nil || rep.Down != 2 || rep.Polled != 4 {
		t.Fatalf("run with 00DF refused from the start: %+v %v", rep, err)
	}
	if wa.state["u-00DF"] {
		t.Fatal("the user of an organisation down from its first poll is still on the safety net")
	}
}

type lockedWatch struct {
	mu sync.Mutex
	w  *watch
}

func (l *lockedWatch) SetWatched(ctx context.Context, user string, watched bool, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.SetWatched(ctx, user, watched, now)
}

// TestChangeOfTheCurrentMinuteWaits: a change made in the minute a poll
// runs in is left to the next poll — the session it requests reads
// getUpdated, whose window ends at the last whole minute, and would not see
// it — and is requested by that poll, not lost.
func TestChangeOfTheCurrentMinuteWaits(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	t0 := time.Date(2026, 12, 4, 9, 0, 30, 0, time.UTC)
	o := &org{}
	r := &reqs{}
	d := &Detector{Store: store, Directory: dir{byOwner: map[string][]string{"005A": {"ann"}}}, Requester: r}
	if _, err := d.Poll(ctx, "org", o, t0); err != nil {
		t.Fatal(err)
	}
	o.rows = append(o.rows, row{"Contact", "003a", "005A", t0.Add(50 * time.Second)}) // 09:01:20
	if rep, err := d.Poll(ctx, "org", o, t0.Add(time.Minute)); err != nil || len(rep.Requested) != 0 {
		t.Fatalf("poll at 09:01:30: %+v %v, want the change of 09:01:20 left for the next poll", rep, err)
	}
	if rep, err := d.Poll(ctx, "org", o, t0.Add(2*time.Minute)); err != nil || !slices.Equal(rep.Requested, []string{"ann"}) {
		t.Fatalf("poll at 09:02:30: %+v %v, want Ann's session", rep, err)
	}
	if rep, err := d.Poll(ctx, "org", o, t0.Add(3*time.Minute)); err != nil || len(rep.Requested) != 0 {
		t.Fatalf("poll at 09:03:30: %+v %v, want nothing again", rep, err)
	}
}
