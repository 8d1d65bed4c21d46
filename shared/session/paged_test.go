package session_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/session/memside"
	"github.com/crmsync/crmsync/shared/side"
)

// pagedCRM is a memside CRM that lists a first sync in pages of size
// (side.PageLister), counting the pages it handed over.
type pagedCRM struct {
	*memside.Side
	size  int
	pages int
}

func (p *pagedCRM) ListPages(ctx context.Context, scope item.Scope, page func([]item.Record) error) (item.Changes, error) {
	ch, err := p.Changes(ctx, scope, "")
	if err != nil {
		return item.Changes{}, err
	}
	for start := 0; start < len(ch.Records); start += p.size {
		p.pages++
		batch := slices.Clone(ch.Records[start:min(start+p.size, len(ch.Records))])
		if err := page(batch); err != nil {
			return item.Changes{}, err
		}
		clear(batch) // a page is the runner's only while it is handed over
	}
	ch.Records = nil
	return ch, nil
}

// pagedFixture is newFixture with the CRM listing first syncs in pages of 4.
func pagedFixture(t *testing.T) (*fixture, *pagedCRM) {
	f := newFixture(t)
	p := &pagedCRM{Side: f.crm, size: 4}
	f.r.Opener = staticOpener{side.Sides{CRM: p, Mailbox: f.mbx}}
	return f, p
}

// seedFirstSync puts 13 contacts and 6 tasks (due today) in the CRM of f.
func seedFirstSync(f *fixture) {
	for i := range 13 {
		f.crm.Put(contact("Person", fmt.Sprint(i), fmt.Sprintf("p%d@acme.com", i)))
	}
	for i := range 6 {
		f.crm.Put(item.Record{Kind: item.Task, Fields: map[string]string{item.Subject: fmt.Sprint("Task ", i),
			item.DueDate: f.now.Format("2006-01-02"), item.Status: "NotStarted"}})
	}
}

// mailboxFields lists the mailbox's records of kind by their fields, sorted.
func mailboxFields(f *fixture, kind item.Kind) []string {
	var out []string
	for _, r := range f.mbx.Records(kind) {
		keys := slices.Sorted(maps.Keys(r.Fields))
		s := ""
		for _, k := range keys {
			s += k + "=" + r.Fields[k] + ";"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// TestFirstSyncInPagesIsTheWholePlan: a first sync into an empty mailbox,
// listed in pages, plans and applies page by page and ends where the whole
// listing's session ends: the same records in the mailbox, the same counts,
// and a second session with nothing to do.
func TestFirstSyncInPagesIsTheWholePlan(t *testing.T) {
	whole := newFixture(t)
	seedFirstSync(whole)
	wantRep := whole.run(t)
	paged, lister := pagedFixture(t)
	seedFirstSync(paged)
	rep := paged.run(t)
	if lister.pages < 4 {
		t.Fatalf("the CRM handed over %d pages, want the contacts and tasks in pages of 4", lister.pages)
	}
	if rep.Outcome != "ok" || !maps.Equal(rep.Counts, wantRep.Counts) {
		t.Errorf("paged first sync: %s %v, want %s %v", rep.Outcome, rep.Counts, wantRep.Outcome, wantRep.Counts)
	}
	for _, kind := range []item.Kind{item.Contact, item.Task} {
		if got, want := mailboxFields(paged, kind), mailboxFields(whole, kind); !slices.Equal(got, want) {
			t.Errorf("%s in the mailbox after a paged first sync:\n%v\nwant\n%v", kind, got, want)
		}
	}
	if second := paged.run(t); len(second.Counts) != 0 || second.Outcome != "ok" {
		t.Errorf("the session after a paged first sync: %s %v, want nothing to do", second.Outcome, second.Counts)
	}
	paged.crm.Edit(item.Contact, paged.crm.Records(item.Contact)[0].ID, map[string]string{item.Title: "CTO"})
	if rep := paged.run(t); rep.Counts["contact|to-mailbox|update"] != 1 {
		t.Errorf("an edit after the paged first sync: %v, want one update", rep.Counts)
	}
}

// TestFirstSyncInPagesMatchesTheMailbox: a mailbox that already holds
// contacts is matched page by page — a contact of the CRM's on a later page
// pairs with its mailbox copy, not duplicated — and the mailbox's own
// contacts are created in the CRM once every page is done, as the whole
// listing's session does.
func TestFirstSyncInPagesMatchesTheMailbox(t *testing.T) {
	seed := func(f *fixture) {
		seedFirstSync(f)
		f.mbx.Put(contact("Person", "11", "p11@acme.com"))
		f.mbx.Put(contact("Person", "2", "P2@Acme.com"))
		grace := contact("Grace", "Hopper", "grace@navy.mil")
		f.mbx.Put(grace)
	}
	whole := newFixture(t)
	seed(whole)
	wantRep := whole.run(t)
	paged, lister := pagedFixture(t)
	seed(paged)
	rep := paged.run(t)
	if lister.pages < 4 {
		t.Errorf("the CRM handed over %d pages, want the contacts in pages of 4 beside the mailbox's", lister.pages)
	}
	if got := rep.Counts["contact|to-mailbox|create"]; got != 11 {
		t.Errorf("created %d contacts in the mailbox, want 11 (two matched): %v", got, rep.Counts)
	}
	if rep.Outcome != "ok" || !maps.Equal(rep.Counts, wantRep.Counts) {
		t.Errorf("paged first sync: %s %v, want %s %v", rep.Outcome, rep.Counts, wantRep.Outcome, wantRep.Counts)
	}
	for _, kind := range []item.Kind{item.Contact, item.Task} {
		if got, want := mailboxFields(paged, kind), mailboxFields(whole, kind); !slices.Equal(got, want) {
			t.Errorf("%s in the mailbox after a paged first sync:\n%v\nwant\n%v", kind, got, want)
		}
	}
	if n := len(paged.crm.Records(item.Contact)); n != 14 {
		t.Errorf("the CRM holds %d contacts, want 14 (Grace created once)", n)
	}
	if second := paged.run(t); len(second.Counts) != 0 {
		t.Errorf("the session after: %v, want nothing to do", second.Counts)
	}
}

// TestFirstSyncWholeUnderCapWithMailboxItems: under a plan's record cap, a
// whole plan creates the mailbox's items in the CRM before the CRM's in the
// mailbox; paging would do the reverse, so the contacts are read whole.
func TestFirstSyncWholeUnderCapWithMailboxItems(t *testing.T) {
	f, lister := pagedFixture(t)
	f.setMaxRecords(100)
	seedFirstSync(f)
	f.mbx.Put(contact("Grace", "Hopper", "grace@navy.mil"))
	rep := f.run(t)
	if rep.Counts["contact|to-mailbox|create"] != 13 || rep.Counts["contact|to-crm|create"] != 1 {
		t.Errorf("counts %v, want 13 contacts to the mailbox and Grace to the CRM", rep.Counts)
	}
	if lister.pages != 2 {
		t.Errorf("the CRM handed over %d pages, want 2 (the 6 tasks; contacts read whole)", lister.pages)
	}
}

// TestFirstSyncInPagesKeepsThePlanCap: the plan's record cap counts the
// creates of earlier pages, so a paged first sync leaves out what the whole
// plan would, each left-out record with its issue.
func TestFirstSyncInPagesKeepsThePlanCap(t *testing.T) {
	f, _ := pagedFixture(t)
	f.setMaxRecords(6)
	seedFirstSync(f)
	f.run(t)
	if n := len(f.mbx.Records(item.Contact)); n != 6 {
		t.Errorf("the mailbox holds %d contacts under a cap of 6, want 6", n)
	}
	if is := issuesWith(t, f, "plan-limit"); len(is) != 7 {
		t.Errorf("%d plan-limit issues, want the 7 contacts left out", len(is))
	}
}

// TestReleasedLinkRowsAreReadBeforeWritten: link rows a State let go of
// (ReleaseLinkRows, after each page of a streamed first sync) are point-read
// again before a later write in the same State, so the write is made under
// the row's real state: the mailbox index moves with the link and the
// counts stay true.
func TestReleasedLinkRowsAreReadBeforeWritten(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	st := session.NewState(f.store, "u1")
	if _, _, err := st.LinksFor(ctx, item.Contact, item.Changes{Kind: item.Contact, Full: true}, item.Changes{}); err != nil {
		t.Fatal(err) // counts the kind (no links yet), as a first sync does
	}
	l := reconcile.Link{Kind: item.Contact, CRMID: "c1", MailboxID: "m1", Fingerprints: map[string]string{}}
	if err := st.CommitLinks(ctx, item.Contact, []session.LinkChange{{Link: l}}); err != nil {
		t.Fatal(err)
	}
	st.ReleaseLinkRows(item.Contact)
	l.MailboxID = "m2"
	before := st.Writes()
	if err := st.CommitLinks(ctx, item.Contact, []session.LinkChange{{Link: l}}); err != nil {
		t.Fatalf("updating a released link row: %v", err)
	}
	if n := st.Writes() - before; n != 1 {
		t.Errorf("updating a released link row took %d transactions, want 1 (read first, not refused and retried)", n)
	}
	st.ReleaseLinkRows(item.Contact)
	if err := st.CommitLinks(ctx, item.Contact, []session.LinkChange{{Link: reconcile.Link{Kind: item.Contact, CRMID: "c2", MailboxID: "m3"}}}); err != nil {
		t.Fatalf("inserting beside released rows: %v", err)
	}
	checkLinkIndex(t, f.store, item.Contact)
	if c, _, _ := session.NewState(f.store, "u1").LinkCounts(ctx, item.Contact); c != (reconcile.LinkCounts{All: 2, Live: 2}) {
		t.Errorf("counts %+v, want 2 links, both live", c)
	}
}
