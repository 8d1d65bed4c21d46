package session_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/session/memside"
	"github.com/crmsync/crmsync/shared/side"
)

var (
	propertyN    = flag.Int("session.property.n", 1000, "randomized session scenarios to run")
	propertySeed = flag.Uint64("session.property.seed", 1, "first seed of the randomized session scenarios")
)

// world tracks what a user did to each person on each side, so the test knows
// what both sides must hold once sessions have run.
type world struct {
	t    *testing.T
	f    *fixture
	rng  *rand.Rand
	next int
	// person → expected presence and title on each side after sync.
	inCRM, inMbx map[string]bool
	title        map[string]string
	outOfScope   map[string]bool
	log          []string
}

func (w *world) idOn(side *memside.Side, email string) string {
	for _, r := range side.Records(item.Contact) {
		if r.Fields[item.Email] == email {
			return r.ID
		}
	}
	for id, r := range side.All(item.Contact) {
		if r.Fields[item.Email] == email {
			return id
		}
	}
	return ""
}

func (w *world) step() {
	f := w.f
	live := []string{}
	for p := range w.inCRM {
		if w.inCRM[p] && w.inMbx[p] && !w.outOfScope[p] {
			live = append(live, p)
		}
	}
	sortStrings(live)
	touched := map[string]bool{}
	ops := 1 + w.rng.IntN(4)
	for i := 0; i < ops; i++ {
		pick := ""
		if len(live) > 0 {
			pick = live[w.rng.IntN(len(live))]
		}
		if pick != "" && touched[pick] {
			continue
		}
		touched[pick] = true
		switch op := w.rng.IntN(10); {
		case op < 3 || pick == "": // create on a random side
			w.next++
			p := fmt.Sprintf("p%03d@acme.com", w.next)
			c := contact("P", fmt.Sprint(w.next), p)
			if w.rng.IntN(2) == 0 {
				f.crm.Put(c)
				w.log = append(w.log, "crm create "+p)
			} else {
				f.mbx.Put(c)
				w.log = append(w.log, "mailbox create "+p)
			}
			w.inCRM[p], w.inMbx[p] = true, true
		case op < 7: // edit the title on one side
			v := fmt.Sprintf("T%d", w.rng.IntN(1000))
			if w.rng.IntN(2) == 0 {
				f.crm.Edit(item.Contact, w.idOn(f.crm, pick), map[string]string{item.Title: v})
				w.log = append(w.log, "crm edit "+pick+" "+v)
			} else {
				f.mbx.Edit(item.Contact, w.idOn(f.mbx, pick), map[string]string{item.Title: v})
				w.log = append(w.log, "mailbox edit "+pick+" "+v)
			}
			w.title[pick] = v
		case op < 8 && len(live) > 12: // delete on one side (few, so no guard trips)
			if w.rng.IntN(2) == 0 {
				f.crm.Remove(item.Contact, w.idOn(f.crm, pick))
				w.inCRM[pick], w.inMbx[pick] = false, false
				w.log = append(w.log, "crm delete "+pick)
			} else {
				f.mbx.Remove(item.Contact, w.idOn(f.mbx, pick))
				w.inMbx[pick] = false // unlinked: the CRM keeps it
				w.log = append(w.log, "mailbox delete "+pick)
			}
		case op < 9 && len(live) > 12: // the CRM record leaves scope
			f.crm.SetInScope(item.Contact, w.idOn(f.crm, pick), false)
			w.outOfScope[pick] = true
			w.inMbx[pick] = false
			w.log = append(w.log, "crm leaves scope "+pick)
		default: // nothing
		}
	}
}

// sync runs sessions, killing some at random writes and failing random
// records for a temporary reason, until one completes cleanly.
func (w *world) sync() {
	f := w.f
	for attempt := 0; ; attempt++ {
		chaos := attempt < 3 && w.rng.IntN(3) == 0
		if chaos {
			victim := f.crm
			if w.rng.IntN(2) == 0 {
				victim = f.mbx
			}
			victim.ResetWrites()
			victim.CrashAtWrite, victim.CrashAfterApply = 1+w.rng.IntN(3), w.rng.IntN(2) == 0
		}
		if attempt < 3 && w.rng.IntN(4) == 0 {
			bad := fmt.Sprintf("p%03d@acme.com", 1+w.rng.IntN(w.next+1))
			f.crm.FailRecord = func(op string, r item.Record) error {
				if r.Fields[item.Email] == bad {
					return fault.New(fault.Temporary, "UNABLE_TO_LOCK_ROW", "row locked")
				}
				return nil
			}
		}
		f.now = f.now.Add(11 * time.Minute) // past any dead session's lease
		rep, err := f.r.Run(context.Background(), "u1", "test")
		f.crm.CrashAtWrite, f.mbx.CrashAtWrite, f.crm.FailRecord = 0, 0, nil
		if err != nil && !errors.Is(err, session.ErrRetryLater) {
			w.t.Fatalf("session failed: %v\nlog: %v", err, w.log)
		}
		if err == nil && rep.Outcome == "ok" && !chaos {
			return
		}
		if attempt > 20 {
			w.t.Fatalf("no clean session after %d attempts: %+v\nlog: %v", attempt, rep, w.log)
		}
	}
}

func (w *world) check(seed uint64) {
	f := w.f
	checkLinkIndex(w.t, f.store, item.Contact)
	for name, side := range map[string]*memside.Side{"crm": f.crm, "mailbox": f.mbx} {
		seen := map[string]int{}
		for _, r := range side.All(item.Contact) {
			seen[r.Fields[item.Email]]++
		}
		for p, n := range seen {
			if n > 1 {
				w.t.Fatalf("seed %d: %s holds %s %d times\nlog: %v", seed, name, p, n, w.log)
			}
		}
		want := w.inCRM
		if name == "mailbox" {
			want = w.inMbx
		}
		for p, in := range want {
			has := seen[p] > 0
			if name == "crm" && w.outOfScope[p] {
				has = w.idOn(f.crm, p) != ""
			}
			if has != in {
				w.t.Fatalf("seed %d: %s has %s = %v, want %v\nlog: %v", seed, name, p, has, in, w.log)
			}
		}
	}
	for p, v := range w.title {
		if !w.inCRM[p] || !w.inMbx[p] {
			continue
		}
		c := f.crm.All(item.Contact)[w.idOn(f.crm, p)]
		m := f.mbx.All(item.Contact)[w.idOn(f.mbx, p)]
		if c.Fields[item.Title] != v || m.Fields[item.Title] != v {
			w.t.Fatalf("seed %d: %s title crm %q mailbox %q, want %q (lost change)\nlog: %v", seed, p, c.Fields[item.Title], m.Fields[item.Title], v, w.log)
		}
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestPropertySessionsConvergeUnderCrashes runs seeded random scenarios:
// random creates, edits, deletes and scope changes on both sides, sessions
// killed at random writes and redelivered, temporary record failures. After
// every round both sides must agree, hold no duplicate, lose no change, and a
// further session must change nothing.
func TestPropertySessionsConvergeUnderCrashes(t *testing.T) {
	n := *propertyN
	if testing.Short() {
		n = 30
	}
	for i := 0; i < n; i++ {
		seed := *propertySeed + uint64(i)
		// A subtest per scenario closes its store when it ends, so -session.property.n
		// can run tens of thousands without running out of file descriptors.
		ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			w := &world{t: t, f: newFixture(t), rng: rand.New(rand.NewPCG(seed, seed^0x5eed)),
				inCRM: map[string]bool{}, inMbx: map[string]bool{}, title: map[string]string{}, outOfScope: map[string]bool{}}
			w.f.set["u1"] = session.UserSettings{FingerprintKey: w.f.set["u1"].FingerprintKey}
			if seed%2 == 1 {
				// Odd seeds list first syncs in pages of two (paged.go).
				w.f.r.Opener = staticOpener{side.Sides{CRM: &pagedCRM{Side: w.f.crm, size: 2}, Mailbox: w.f.mbx}}
			}
			rounds := 3 + w.rng.IntN(4)
			for r := 0; r < rounds; r++ {
				w.step()
				w.sync()
				w.check(seed)
			}
			// Quiet: sessions settle their own echoes, then change nothing.
			w.sync()
			rep := w.f.run(t)
			if len(rep.Counts) != 0 {
				t.Fatalf("seed %d: a session with no changes did %v\nlog: %v", seed, rep.Counts, w.log)
			}
		})
		if !ok {
			break
		}
	}
}

// TestPropertyEmptiedSideNeverDeletesTheOther empties one side at random and
// checks the other keeps everything.
func TestPropertyEmptiedSideNeverDeletesTheOther(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		f := newFixture(t)
		f.set["u1"] = session.UserSettings{FingerprintKey: f.set["u1"].FingerprintKey}
		n := 10 + rng.IntN(40)
		for i := 0; i < n; i++ {
			f.crm.Put(contact("P", fmt.Sprint(i), fmt.Sprintf("p%d@acme.com", i)))
		}
		f.run(t)
		emptied, other := f.crm, f.mbx
		if rng.IntN(2) == 0 {
			emptied, other = f.mbx, f.crm
		}
		for _, r := range emptied.Records(item.Contact) {
			emptied.Remove(item.Contact, r.ID)
		}
		f.run(t)
		f.run(t)
		if got := len(other.Records(item.Contact)); got != n {
			t.Fatalf("seed %d: after emptying one side the other holds %d of %d", seed, got, n)
		}
	}
}
