package session_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

// checkLinkIndex asserts that kind's stored counts and the rows derived from
// its links (the mailbox index, the detached copies) match the links.
func checkLinkIndex(t *testing.T, store tablestore.Store, kind item.Kind) {
	t.Helper()
	ctx := context.Background()
	st := session.NewState(store, "u1")
	links, err := st.Links(ctx, kind)
	if err != nil {
		t.Fatal(err)
	}
	want := reconcile.LinkCounts{All: len(links)}
	for _, l := range links {
		if !l.Detached() {
			want.Live++
		}
	}
	got, ok, err := st.LinkCounts(ctx, kind)
	if err != nil || !ok || got != want {
		t.Fatalf("%s counts %+v (stored %t, %v), want %+v from the links", kind, got, ok, err, want)
	}
	index, detached := map[string]string{}, map[string]bool{}
	q := tablestore.Query{PartitionKey: "u1|" + string(kind), RowKeyFrom: "~"}
	for {
		page, err := store.Query(ctx, session.LinksTable, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entities {
			switch {
			case strings.HasPrefix(e.RowKey, "~m|"):
				index[strings.TrimPrefix(e.RowKey, "~m|")], _ = e.Properties["CRMID"].(string)
			case strings.HasPrefix(e.RowKey, "~d|"):
				detached[strings.TrimPrefix(e.RowKey, "~d|")] = true
			}
		}
		if q.Continuation = page.Continuation; q.Continuation == "" {
			break
		}
	}
	for _, l := range links {
		if l.Detached() && !detached[l.CRMID] {
			t.Errorf("detached link %s has no copy in the detached range", l.CRMID)
		}
		if !l.Detached() && index[l.MailboxID] != l.CRMID {
			t.Errorf("mailbox index of %s names %q, want %s", l.MailboxID, index[l.MailboxID], l.CRMID)
		}
	}
	if len(index) != want.Live || len(detached) != want.All-want.Live {
		t.Errorf("%d index rows and %d detached copies for %+v", len(index), len(detached), want)
	}
}

func mailboxIDOf(t *testing.T, f *fixture, email string) string {
	t.Helper()
	for _, r := range f.mbx.Records(item.Contact) {
		if r.Fields[item.Email] == email {
			return r.ID
		}
	}
	t.Fatalf("no mailbox contact %s", email)
	return ""
}

// TestChangeReadsOnlyItsLinks: among 1,200 synced contacts, a session with one
// change reads that change's link (by CRM ID, or through the mailbox index)
// and the kind's counts — a few rows — instead of all 1,200 links (the code
// before read every link of a kind with a change: 1,200 rows each time).
func TestChangeReadsOnlyItsLinks(t *testing.T) {
	f := newFixture(t)
	ids := seedContacts(t, f, 1200)
	rc := storetest.CountReads(f.store)
	f.r.Store = rc
	steps := []struct {
		name   string
		change func()
		count  string
		rows   int
	}{
		{"edit in the CRM", func() { f.crm.Edit(item.Contact, ids[5], map[string]string{item.Title: "CTO"}) },
			"contact|to-mailbox|update", 2}, // counts, the link
		{"edit in the mailbox", func() {
			f.mbx.Edit(item.Contact, mailboxIDOf(t, f, "c7@acme.com"), map[string]string{item.Title: "CFO"})
		}, "contact|to-crm|update", 3}, // counts, index row, link
		{"new in the CRM", func() { f.crm.Put(contact("Grace", "Hopper", "grace@navy.mil")) },
			"contact|to-mailbox|create", 1}, // counts (the link is known absent)
		{"deleted in the mailbox", func() { f.mbx.Remove(item.Contact, mailboxIDOf(t, f, "c9@acme.com")) },
			"contact|link|unlink", 3},
		{"new in the mailbox beside a detached link", func() { f.mbx.Put(contact("Alan", "Turing", "alan@bletchley.uk")) },
			"contact|to-crm|create", 2}, // counts, the one detached copy
	}
	for _, s := range steps {
		s.change()
		rc.Reset()
		rep := f.run(t)
		if rep.Counts[s.count] != 1 {
			t.Fatalf("%s: %v, want one %s", s.name, rep.Counts, s.count)
		}
		if n := rc.Rows(session.LinksTable); n > s.rows {
			t.Errorf("%s: %d link rows read, want at most %d (of 1,200 links)", s.name, n, s.rows)
		}
		if n := rc.Of(session.LinksTable); n > 4 {
			t.Errorf("%s: %d link reads, want at most 4", s.name, n)
		}
		f.run(t) // the echo of the session's own write
	}
	checkLinkIndex(t, f.store, item.Contact)
}

// TestGuardsJudgeFromCounts: with only the changed links read, one deletion
// among many is no wipe (without the counts, the one link read would look
// like all there is, lost), and a mass deletion still trips its guard.
func TestGuardsJudgeFromCounts(t *testing.T) {
	f := newFixture(t)
	ids := seedContacts(t, f, 40)
	f.crm.Remove(item.Contact, ids[0])
	if rep := f.run(t); rep.Counts["contact|to-mailbox|delete"] != 1 || len(guardIssues(t, f, item.Contact)) != 0 {
		t.Fatalf("one CRM deletion of 40: %v, guard issues %v; want the copy deleted, no guard", rep.Counts, guardIssues(t, f, item.Contact))
	}
	for _, id := range ids[1:25] {
		f.crm.Remove(item.Contact, id)
	}
	f.run(t)
	if got := len(f.mbx.Records(item.Contact)); got != 39 || len(guardIssues(t, f, item.Contact)) != 1 {
		t.Fatalf("24 CRM deletions of 39: mailbox holds %d, guard issues %d; want 39 kept and one issue", got, len(guardIssues(t, f, item.Contact)))
	}
	checkLinkIndex(t, f.store, item.Contact)
}

// faultStore fails writes from the at-th on (a process killed there), or —
// lost — applies the at-th and answers it with an ETag mismatch, as a retried
// request whose first attempt went through does.
type faultStore struct {
	tablestore.Store
	writes, at int
	lost       bool
}

var errKilled = errors.New("injected: process killed")

func (s *faultStore) hit() (fail, lost bool) {
	s.writes++
	if s.at == 0 || s.writes < s.at {
		return false, false
	}
	if s.lost {
		return false, s.writes == s.at
	}
	return true, false
}

func (s *faultStore) Batch(ctx context.Context, table string, ops []tablestore.Op) ([]string, error) {
	fail, lost := s.hit()
	if fail {
		return nil, errKilled
	}
	etags, err := s.Store.Batch(ctx, table, ops)
	if lost && err == nil {
		return nil, &tablestore.BatchError{Index: 0, Err: tablestore.ErrPrecondition}
	}
	return etags, err
}

func (s *faultStore) Insert(ctx context.Context, table string, e tablestore.Entity) (string, error) {
	if fail, _ := s.hit(); fail {
		return "", errKilled
	}
	return s.Store.Insert(ctx, table, e)
}

func (s *faultStore) Upsert(ctx context.Context, table string, e tablestore.Entity) (string, error) {
	if fail, _ := s.hit(); fail {
		return "", errKilled
	}
	return s.Store.Upsert(ctx, table, e)
}

func (s *faultStore) Update(ctx context.Context, table string, e tablestore.Entity, ifMatch string) (string, error) {
	if fail, _ := s.hit(); fail {
		return "", errKilled
	}
	return s.Store.Update(ctx, table, e, ifMatch)
}

func (s *faultStore) Delete(ctx context.Context, table, pk, rk, ifMatch string) error {
	if fail, _ := s.hit(); fail {
		return errKilled
	}
	return s.Store.Delete(ctx, table, pk, rk, ifMatch)
}

// countsScenario seeds 30 contacts and then changes them every way a link
// can change: edits, deletions on either side (a deletion in the mailbox
// detaches), creations on either side.
func countsScenario(t *testing.T) (*fixture, func()) {
	f := newFixture(t)
	ids := seedContacts(t, f, 30)
	return f, func() {
		for _, id := range ids[:3] {
			f.crm.Edit(item.Contact, id, map[string]string{item.Title: "Edited"})
		}
		f.crm.Remove(item.Contact, ids[3])
		f.crm.Remove(item.Contact, ids[4])
		f.mbx.Remove(item.Contact, mailboxIDOf(t, f, "c5@acme.com"))
		f.mbx.Remove(item.Contact, mailboxIDOf(t, f, "c6@acme.com"))
		for i := range 3 {
			f.crm.Put(contact("New", fmt.Sprint(i), fmt.Sprintf("n%d@acme.com", i)))
		}
		for i := range 2 {
			f.mbx.Put(contact("Typed", fmt.Sprint(i), fmt.Sprintf("t%d@acme.com", i)))
		}
	}
}

// settle runs sessions (past any dead session's lease) until one is ok and
// changes nothing.
func settle(t *testing.T, f *fixture) {
	t.Helper()
	for i := 0; i < 6; i++ {
		f.now = f.now.Add(11 * time.Minute)
		rep, err := f.r.Run(context.Background(), "u1", "test")
		if err == nil && rep.Outcome == "ok" && len(rep.Counts) == 0 {
			return
		}
	}
	t.Fatal("no quiet session after 6")
}

// TestLinkCountsSurviveKillsAndLostAnswers kills the session at every table
// write in turn (nothing after it is written), and separately loses the
// answer of every write in turn (the write went through; the store answers
// as a retried request does, with an ETag mismatch). After the sessions that
// follow, the counts and derived rows match the links, and both sides hold
// what an undisturbed run gives them.
func TestLinkCountsSurviveKillsAndLostAnswers(t *testing.T) {
	f, change := countsScenario(t)
	change()
	fs := &faultStore{Store: f.store}
	f.r.Store = fs
	settle(t, f)
	writes := fs.writes
	wantCRM, wantMbx := len(f.crm.All(item.Contact)), len(f.mbx.All(item.Contact))
	checkLinkIndex(t, f.store, item.Contact)
	if writes < 5 {
		t.Fatalf("the undisturbed run wrote %d times", writes)
	}
	for _, lost := range []bool{false, true} {
		for at := 1; at <= writes; at++ {
			t.Run(fmt.Sprintf("lost=%t/at=%d", lost, at), func(t *testing.T) {
				f, change := countsScenario(t)
				change()
				f.r.Store = &faultStore{Store: f.store, at: at, lost: lost}
				f.now = f.now.Add(time.Minute)
				_, _ = f.r.Run(context.Background(), "u1", "test")
				f.r.Store = f.store
				settle(t, f)
				checkLinkIndex(t, f.store, item.Contact)
				if c, m := len(f.crm.All(item.Contact)), len(f.mbx.All(item.Contact)); c != wantCRM || m != wantMbx {
					t.Errorf("CRM holds %d, mailbox %d; want %d and %d as undisturbed", c, m, wantCRM, wantMbx)
				}
			})
		}
	}
}

// TestLinkCountsUnderASecondWriter: a State whose knowledge went stale (a
// session that lost its lease while another wrote) neither overwrites the
// other's links nor counts them twice: its conditional transactions fail,
// and it reads the rows again and recounts.
func TestLinkCountsUnderASecondWriter(t *testing.T) {
	ctx := context.Background()
	newLink := func(id string) session.LinkChange {
		return session.LinkChange{Link: reconcile.Link{Kind: item.Contact, CRMID: id, MailboxID: "m-" + id}}
	}
	cases := []struct {
		name string
		// other is what the second writer commits; stale what the stale
		// State commits after it.
		other, stale func(links []reconcile.Link) []session.LinkChange
		want         reconcile.LinkCounts
	}{
		{"the other changed links the stale one touches", func(links []reconcile.Link) []session.LinkChange {
			return []session.LinkChange{{Link: links[0], Drop: true}, newLink("cX")}
		}, func(links []reconcile.Link) []session.LinkChange {
			d := links[0]
			d.MailboxID = ""
			return []session.LinkChange{{Link: d}, newLink("cX"), {Link: links[1], Drop: true}}
		}, reconcile.LinkCounts{All: 5, Live: 4}},
		{"the other changed the counts alone", func(links []reconcile.Link) []session.LinkChange {
			return []session.LinkChange{newLink("cY")}
		}, func(links []reconcile.Link) []session.LinkChange {
			return []session.LinkChange{{Link: links[1], Drop: true}}
		}, reconcile.LinkCounts{All: 5, Live: 5}},
		{"a link believed absent, in a later transaction than the stale counts", func(links []reconcile.Link) []session.LinkChange {
			return []session.LinkChange{newLink("cX")}
		}, func(links []reconcile.Link) []session.LinkChange {
			var out []session.LinkChange
			for i := range 60 {
				out = append(out, newLink(fmt.Sprintf("c%03d", 100+i)))
			}
			return append(out, newLink("cX"))
		}, reconcile.LinkCounts{All: 66, Live: 66}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			seedContacts(t, f, 5)
			stale := session.NewState(f.store, "u1")
			// It reads what a session reads: every link, and cX found absent.
			links, err := stale.Links(ctx, item.Contact)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := stale.LinksFor(ctx, item.Contact, item.Changes{Records: []item.Record{{ID: "cX"}}}, item.Changes{}); err != nil {
				t.Fatal(err)
			}
			if err := session.NewState(f.store, "u1").CommitLinks(ctx, item.Contact, c.other(links)); err != nil {
				t.Fatal(err)
			}
			if err := stale.CommitLinks(ctx, item.Contact, c.stale(links)); err != nil {
				t.Fatal(err)
			}
			checkLinkIndex(t, f.store, item.Contact)
			if got, _, _ := session.NewState(f.store, "u1").LinkCounts(ctx, item.Contact); got != c.want {
				t.Errorf("counts %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestBrokenIndexIsRebuilt: should a derived row be missing (it cannot go
// missing but by hand), the commit that needs it gives the counts up, and the
// next session with a change rebuilds them from a full read.
func TestBrokenIndexIsRebuilt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	seedContacts(t, f, 5)
	mid := mailboxIDOf(t, f, "c2@acme.com")
	if err := f.store.Delete(ctx, session.LinksTable, "u1|contact", "~m|"+mid, "*"); err != nil {
		t.Fatal(err)
	}
	f.mbx.Remove(item.Contact, mid)
	if rep := f.run(t); rep.Outcome != "ok" || rep.Counts["contact|link|unlink"] != 1 {
		t.Fatalf("session over a broken index: %s %v, want ok and the link detached", rep.Outcome, rep.Counts)
	}
	f.crm.Put(contact("Grace", "Hopper", "grace@navy.mil"))
	f.run(t)
	checkLinkIndex(t, f.store, item.Contact)
}

// BenchmarkOneChangeSession measures a session with one contact edited in the
// CRM among N synced (memory sides, the embedded store): link rows and table
// reads per session. Before per-kind counts and point reads, it read all N
// links.
func BenchmarkOneChangeSession(b *testing.B) {
	sizes := []int{1_000, 10_000}
	if *sessionLarge {
		sizes = append(sizes, 50_000)
	}
	perOp := map[int]float64{}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("contacts=%d", n), func(b *testing.B) {
			f := newFixture(b)
			var ids []string
			for i := range n {
				ids = append(ids, f.crm.Put(contact("C", fmt.Sprint(i), fmt.Sprintf("c%d@acme.com", i))))
			}
			f.run(b)
			f.run(b)
			rc := storetest.CountReads(f.store)
			f.r.Store = rc
			var rows, reads int
			var elapsed time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				f.crm.Edit(item.Contact, ids[i%n], map[string]string{item.Title: fmt.Sprint("T", i)})
				rc.Reset()
				b.StartTimer()
				start := time.Now()
				rep := f.run(b)
				elapsed += time.Since(start)
				b.StopTimer()
				if rep.Counts["contact|to-mailbox|update"] != 1 {
					b.Fatalf("session: %v, want one update", rep.Counts)
				}
				rows += rc.Rows(session.LinksTable)
				reads += rc.Of("")
				f.run(b) // the echo
				b.StartTimer()
			}
			b.ReportMetric(float64(rows)/float64(b.N), "link-rows-read/op")
			b.ReportMetric(float64(reads)/float64(b.N), "table-reads/op")
			perOp[n] = elapsed.Seconds() / float64(b.N)
			if n != sizes[0] {
				b.ReportMetric(growth(perOp[sizes[0]], perOp[n], sizes[0], n), "growth-exponent")
			}
		})
	}
}

var sessionLarge = flag.Bool("session.large", false, "BenchmarkOneChangeSession also at 50,000 contacts")

// growth is the exponent k of y ∝ n^k through (n0, y0) and (n1, y1).
func growth(y0, y1 float64, n0, n1 int) float64 {
	return math.Log(y1/y0) / math.Log(float64(n1)/float64(n0))
}

// TestUnstorableCRMIDRefused: a CRM ID that would sort among the link index
// rows is refused with an error naming it, nothing written.
func TestUnstorableCRMIDRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	seedContacts(t, f, 2)
	st := session.NewState(f.store, "u1")
	err := st.CommitLinks(ctx, item.Contact, []session.LinkChange{
		{Link: reconcile.Link{Kind: item.Contact, CRMID: "003ok", MailboxID: "m-ok"}},
		{Link: reconcile.Link{Kind: item.Contact, CRMID: "~n", MailboxID: "m-bad"}},
	})
	if err == nil || !strings.Contains(err.Error(), `"~n"`) {
		t.Fatalf("commit of CRM ID ~n: %v, want an error naming it", err)
	}
	checkLinkIndex(t, f.store, item.Contact)
	if c, _, _ := session.NewState(f.store, "u1").LinkCounts(ctx, item.Contact); c.All != 2 {
		t.Errorf("counts %+v after a refused commit, want the 2 seeded", c)
	}
}

// TestFirstSyncReadsLinksOnce: the first session of 1,000 contacts reads the
// (empty) links partition once and the rest it knows: the new links are
// written without a point read each to learn they do not exist yet.
func TestFirstSyncReadsLinksOnce(t *testing.T) {
	f := newFixture(t)
	for i := range 1000 {
		f.crm.Put(contact("C", fmt.Sprint(i), fmt.Sprintf("c%d@acme.com", i)))
	}
	rc := storetest.CountReads(f.store)
	f.r.Store = rc
	if rep := f.run(t); rep.Counts["contact|to-mailbox|create"] != 1000 {
		t.Fatalf("first session: %v", rep.Counts)
	}
	if n := rc.Of(session.LinksTable); n > 6 {
		t.Errorf("first session of 1,000 contacts: %d link reads, want a few (one scan and a count row per kind)", n)
	}
	checkLinkIndex(t, f.store, item.Contact)
}
