package orgwatch

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/tablestore"
)

type row struct {
	obj, id, owner string
	at             time.Time
}

// org is a Salesforce organisation's change history as queryAll answers it:
// rows of the queried object with SystemModstamp after the query's bound.
type org struct {
	rows    []row
	queries []string
	down    bool
}

func (o *org) QueryAll(ctx context.Context, soql string, fn func(map[string]any) error) error {
	o.queries = append(o.queries, soql)
	if o.down {
		return fault.New(fault.Reconnect, "invalid_grant", "expired access/refresh token")
	}
	obj := strings.Fields(soql)[5]
	_, after, _ := strings.Cut(soql, "SystemModstamp > ")
	bound, err := time.Parse("2006-01-02T15:04:05Z", strings.Fields(after)[0])
	if err != nil {
		return err
	}
	_, before, _ := strings.Cut(soql, "SystemModstamp < ")
	upper, err := time.Parse("2006-01-02T15:04:05Z", strings.Fields(before)[0])
	if err != nil {
		return err
	}
	for _, r := range o.rows {
		if r.obj == obj && r.at.After(bound) && r.at.Before(upper) {
			if err := fn(map[string]any{"Id": r.id, "OwnerId": r.owner, "SystemModstamp": r.at.Format("2006-01-02T15:04:05.000+0000")}); err != nil {
				return err
			}
		}
	}
	return nil
}

type dir struct {
	byOwner map[string][]string
	any     []string
}

func (d dir) Users(ctx context.Context, org string) (map[string][]string, []string, error) {
	return d.byOwner, d.any, nil
}

type reqs struct {
	users []string
	fail  bool
}

func (r *reqs) RequestNow(ctx context.Context, user string, reason schedule.Reason, now time.Time) error {
	if r.fail {
		return errors.New("queue unavailable")
	}
	r.users = append(r.users, user)
	return nil
}

type watch struct {
	state map[string]bool
	calls int
}

func (w *watch) SetWatched(ctx context.Context, user string, watched bool, now time.Time) error {
	w.calls++
	w.state[user] = watched
	return nil
}

func (w *watch) all(watched bool) bool {
	for _, u := range []string{"ann", "bob", "viewer"} {
		if got, ok := w.state[u]; !ok || got != watched {
			return false
		}
	}
	return true
}

func TestPoll(t *testing.T) {
	ctx := context.Background()
	store, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "s.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	t0 := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	o := &org{}
	r := &reqs{}
	wa := &watch{state: map[string]bool{}}
	d := &Detector{Store: store, Directory: dir{byOwner: map[string][]string{"005A": {"ann"}, "005B": {"bob"}}, any: []string{"viewer"}}, Requester: r, Watcher: wa}
	poll := func(at time.Time) Report {
		t.Helper()
		rep, err := d.Poll(ctx, "org", o, at)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	got := func() []string {
		u := r.users
		r.users = nil
		slices.Sort(u)
		return u
	}
	if rep := poll(t0); rep.Queries != 0 {
		t.Fatalf("first poll made %d queries, want none (it sets the watermarks)", rep.Queries)
	}
	if !wa.all(true) || wa.calls != 3 {
		t.Fatalf("after the first poll: watched %v (%d calls), want every user on the safety net", wa.state, wa.calls)
	}
	o.rows = append(o.rows, row{"Contact", "003a", "005A", t0.Add(20 * time.Second)})
	if rep := poll(t0.Add(time.Minute)); rep.Queries != 3 || !slices.Equal(got(), []string{"ann", "viewer"}) {
		t.Fatalf("poll after Ann's change: %+v", rep)
	}
	// A transaction that began before the last poll committed after it: its
	// SystemModstamp is behind the watermark, inside the overlap.
	o.rows = append(o.rows, row{"Task", "00Tb", "005B", t0.Add(50 * time.Second)})
	if poll(t0.Add(2 * time.Minute)); !slices.Equal(got(), []string{"bob", "viewer"}) {
		t.Fatal("a late commit inside the overlap was not seen")
	}
	// Read again in the overlap, both are skipped.
	if poll(t0.Add(3 * time.Minute)); len(got()) != 0 {
		t.Fatal("changes already reported were requested again")
	}
	// A session not requested (the queue failed) keeps the watermark: the
	// next poll requests it.
	o.rows = append(o.rows, row{"Event", "00Uc", "005A", t0.Add(200 * time.Second)})
	r.fail = true
	if _, err := d.Poll(ctx, "org", o, t0.Add(4*time.Minute)); err == nil {
		t.Fatal("poll with a failing queue: no error")
	}
	r.fail = false
	if poll(t0.Add(5 * time.Minute)); !slices.Equal(got(), []string{"ann", "viewer"}) {
		t.Fatal("a change whose session was not requested was lost")
	}
	// Down: an error naming it; nothing requested, nothing moved.
	o.down = true
	o.rows = append(o.rows, row{"Contact", "003d", "005B", t0.Add(6 * time.Minute)})
	if _, err := d.Poll(ctx, "org", o, t0.Add(7*time.Minute)); !errors.Is(err, ErrDown) || !fault.Is(err, fault.Reconnect) {
		t.Fatalf("poll while revoked: %v, want ErrDown (reconnect)", err)
	}
	if !wa.all(false) {
		t.Fatalf("detector down: watched %v, want every user back on the plan's interval", wa.state)
	}
	calls := wa.calls
	if _, err := d.Poll(ctx, "org", o, t0.Add(8*time.Minute)); !errors.Is(err, ErrDown) || wa.calls != calls {
		t.Fatalf("second poll while down: %v, %d schedule changes, want ErrDown and none", err, wa.calls-calls)
	}
	o.down = false
	if poll(t0.Add(30 * time.Minute)); !slices.Equal(got(), []string{"bob", "viewer"}) {
		t.Fatal("a change made while the connection was down was lost")
	}
	if !wa.all(true) {
		t.Fatalf("detector up again: watched %v", wa.state)
	}
}
