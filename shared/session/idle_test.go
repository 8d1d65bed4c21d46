package session_test

import (
	"testing"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

// An idle session reads no link and its cursors in one query; a change on one
// kind reads that kind's links (the planner needs them to match it), and the
// others' stay unread.
func TestIdleKindReadsNoLinks(t *testing.T) {
	f := newFixture(t)
	for i := range 30 {
		f.crm.Put(contact("Ada", string(rune('A'+i)), string(rune('a'+i))+"@acme.com"))
	}
	f.run(t)
	f.run(t) // reads back its own writes
	rc := storetest.CountReads(f.store)
	f.r.Store = rc
	idle := f.run(t)
	if len(idle.Counts) != 0 {
		t.Fatalf("idle session changed %v", idle.Counts)
	}
	if n := rc.Of(session.LinksTable); n != 0 {
		t.Errorf("idle session: %d link queries, want 0", n)
	}
	// The lease, open issues, pending intents and every cursor row in one
	// query: four, whatever the number of links and kinds.
	if n := rc.Of(""); n > 4 {
		t.Errorf("idle session: %d table reads, want at most 4", n)
	}
	rc.Reset()
	id := f.crm.Put(contact("Grace", "Hopper", "grace@navy.mil"))
	rep := f.run(t)
	if rep.Counts["contact|to-mailbox|create"] != 1 {
		t.Fatalf("change session: %v, want Grace created in the mailbox", rep.Counts)
	}
	if n := rc.Of(session.LinksTable); n != 2 {
		t.Errorf("one contact changed: %d link reads, want 2 (the contacts' counts, the new contact's link found absent)", n)
	}
	// The link written for the change is in place: an edit of it is an update,
	// not a second create.
	f.run(t)
	f.crm.Edit(item.Contact, id, map[string]string{item.Title: "Rear Admiral"})
	if rep := f.run(t); rep.Counts["contact|to-mailbox|update"] != 1 || rep.Counts["contact|to-mailbox|create"] != 0 {
		t.Errorf("edit after idle sessions: %v, want one update", rep.Counts)
	}
}
