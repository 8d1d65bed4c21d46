package orgwatch

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/keyring"
)

// TestStateAndRemove: the state an admin is shown (last poll, how far
// behind, users mapped) comes from what polls record; removing the
// integration connection, under the poll lease, stops polling, puts every
// user back on their plan's interval, deletes the watermarks and the sealed
// connection, and keeps the directory. Another crmsync organisation cannot
// remove it.
func TestStateAndRemove(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	ring, err := keyring.OpenFileRing(filepath.Join(t.TempDir(), "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	conns := connection.NewStore(store, ring, connection.Options{})
	x := Index{Store: store}
	in := Integrations{Index: x, Connections: conns}
	if _, err := in.Register(ctx, "tenant-1", connection.Connection{Provider: connection.Salesforce, Tenant: "00DA", Flow: connection.FlowJWTBearer,
		InstanceURL: "https://acme.my.salesforce.com", Status: connection.Connected}, connection.Credentials{Username: "int@acme.example"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ user, owner string }{{"ann", "005A"}, {"bob", "005B"}} {
		if err := x.Note(ctx, "00DA", u.user, u.owner, false); err != nil {
			t.Fatal(err)
		}
	}
	wa := &watch{state: map[string]bool{}}
	d := &Detector{Store: store, Directory: x, Requester: &reqs{}, Watcher: wa}
	if s, err := d.State(ctx, "00DA"); err != nil || s.Known {
		t.Fatalf("state before any poll: %+v %v", s, err)
	}
	t0 := time.Date(2026, 12, 4, 9, 0, 5, 0, time.UTC)
	if _, err := d.Poll(ctx, "00DA", &org{}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Poll(ctx, "00DA", &org{}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	s, err := d.State(ctx, "00DA")
	if err != nil || !s.Known || !s.Up || !s.LastPoll.Equal(t0.Add(time.Minute)) || !s.Covered.Equal(t0.Add(time.Minute).Truncate(time.Minute)) {
		t.Fatalf("state after two polls: %+v %v", s, err)
	}
	if b := s.Behind(t0.Add(90 * time.Second)); b != 35*time.Second {
		t.Fatalf("behind 25 s after the poll: %v, want 35 s (the poll covers up to the whole minute)", b)
	}
	if n, err := x.CountUsers(ctx, "00DA"); n != 2 || err != nil {
		t.Fatalf("users mapped: %d %v", n, err)
	}
	if orgs, err := x.OrgsOf(ctx, "tenant-1"); err != nil || len(orgs) != 1 || orgs[0].ID != "00DA" {
		t.Fatalf("OrgsOf: %+v %v", orgs, err)
	}
	if err := in.Remove(ctx, d, "tenant-2", "00DA", t0.Add(2*time.Minute)); !errors.Is(err, ErrNotWatched) {
		t.Fatalf("another organisation's admin removing it: %v, want ErrNotWatched", err)
	}
	// A poll holding the lease: the removal waits for it.
	release, err := x.lease(ctx, "00DA", t0.Add(2*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Remove(ctx, d, "tenant-1", "00DA", t0.Add(2*time.Minute)); !errors.Is(err, ErrBusy) {
		t.Fatalf("removing during a poll: %v, want ErrBusy", err)
	}
	release()
	if err := in.Remove(ctx, d, "tenant-1", "00DA", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if wa.state["ann"] || wa.state["bob"] {
		t.Fatalf("after removal: watched %v, want everyone back on their plan", wa.state)
	}
	if orgs, _ := x.Orgs(ctx); len(orgs) != 0 {
		t.Fatalf("still polled: %+v", orgs)
	}
	if s, err := d.State(ctx, "00DA"); err != nil || s.Known {
		t.Fatalf("state after removal: %+v %v, want none", s, err)
	}
	if _, err := conns.Get(ctx, IntegrationUser("00DA"), connection.Salesforce); !errors.Is(err, connection.ErrNotFound) {
		t.Fatalf("the sealed connection after removal: %v, want gone", err)
	}
	if n, _ := x.CountUsers(ctx, "00DA"); n != 2 {
		t.Fatalf("directory after removal: %d users, want it kept", n)
	}
}
