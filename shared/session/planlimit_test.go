package session_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/session"
)

func (f *fixture) setMaxRecords(n int) {
	us := f.set["u1"]
	us.MaxRecords = n
	f.set["u1"] = us
}

// overCap puts five CRM contacts under a cap of three and syncs: three go to
// the mailbox, two are left out, each with an issue naming it.
func overCap(t *testing.T, f *fixture) (leftOut []session.Issue) {
	t.Helper()
	f.setMaxRecords(3)
	for i := 0; i < 5; i++ {
		f.crm.Put(contact("Person", fmt.Sprint(i), fmt.Sprintf("p%d@acme.com", i)))
	}
	f.run(t)
	f.run(t)
	if got := len(f.mbx.Records(item.Contact)); got != 3 {
		t.Fatalf("mailbox holds %d contacts under a cap of 3, want 3", got)
	}
	leftOut = issuesWith(t, f, "plan-limit")
	if len(leftOut) != 2 {
		t.Fatalf("plan-limit issues = %+v, want 2", leftOut)
	}
	for _, is := range leftOut {
		if is.Side != reconcile.CRM || !strings.HasPrefix(is.Name, "Person ") || !strings.Contains(is.Reason, "up to 3 records") {
			t.Errorf("issue %+v does not name the left-out CRM contact and the cap", is)
		}
	}
	return leftOut
}

func TestPlanLimitLeftOutItemsSyncAfterUpgrade(t *testing.T) {
	f := newFixture(t)
	overCap(t, f)
	f.setMaxRecords(0) // upgraded to a plan without a cap
	rep := f.run(t)
	if got := len(f.mbx.Records(item.Contact)); got != 5 {
		t.Errorf("after the upgrade the mailbox holds %d contacts, want all 5", got)
	}
	if got := rep.Counts["contact|to-mailbox|create"]; got != 2 {
		t.Errorf("the upgraded session created %d contacts, want the 2 left out", got)
	}
	if is := issuesWith(t, f, "plan-limit"); len(is) != 0 {
		t.Errorf("plan-limit issues still open after they synced: %+v", is)
	}
	if rep := f.run(t); len(rep.Counts) != 0 {
		t.Errorf("the session after catching up changed %v, want nothing", rep.Counts)
	}
}

// TestPlanLimitRoomFreedSyncsLeftOut: under the same cap, a synced record
// going away makes room for one left-out item; one left out that was deleted
// meanwhile loses its issue instead of keeping it open for ever.
func TestPlanLimitRoomFreedSyncsLeftOut(t *testing.T) {
	f := newFixture(t)
	leftOut := overCap(t, f)
	gone, waiting := leftOut[0], leftOut[1]
	f.crm.Remove(item.Contact, gone.RecordID)
	f.run(t)
	if is := issuesWith(t, f, "plan-limit"); len(is) != 2 {
		t.Errorf("at the cap: plan-limit issues %+v, want both still open", is)
	}
	var synced string
	for id := range f.crm.All(item.Contact) {
		if id != waiting.RecordID {
			synced = id
			break
		}
	}
	f.crm.Remove(item.Contact, synced) // its mailbox copy goes: room for one
	f.run(t)
	f.run(t)
	names := map[string]bool{}
	for _, r := range f.mbx.Records(item.Contact) {
		names[r.Name()] = true
	}
	if len(names) != 3 || !names[waiting.Name] {
		t.Errorf("mailbox contacts %v, want 3 with %q now synced", names, waiting.Name)
	}
	if is := issuesWith(t, f, "plan-limit"); len(is) != 0 {
		t.Errorf("plan-limit issues %+v, want none (one synced, one deleted)", is)
	}
}

// TestPlanLimitLeftOutRetriedAfterTemporaryFailure: a left-out item whose
// create fails for a temporary reason, during the full read that room made
// for it, is tried again by the next session although the change feed is
// long past it.
func TestPlanLimitLeftOutRetriedAfterTemporaryFailure(t *testing.T) {
	f := newFixture(t)
	leftOut := overCap(t, f)
	f.setMaxRecords(0)
	f.mbx.FailRecord = func(op string, r item.Record) error {
		if op == "create" && r.Name() == leftOut[0].Name {
			return fault.New(fault.Temporary, "busy", "try again")
		}
		return nil
	}
	f.run(t)
	if got := len(f.mbx.Records(item.Contact)); got != 4 {
		t.Fatalf("mailbox holds %d contacts, want 4 (one create failed)", got)
	}
	f.mbx.FailRecord = nil
	f.run(t)
	if got := len(f.mbx.Records(item.Contact)); got != 5 {
		t.Errorf("mailbox holds %d contacts after the retry, want all 5", got)
	}
	if open, _ := session.NewState(f.store, "u1").Issues(context.Background()); len(open) != 0 {
		t.Errorf("open issues after the retry: %+v, want none", open)
	}
}
