package reconcile

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/item"
)

// FuzzPlan plans inputs decoded from arbitrary bytes — links, detached
// links, records and removals on small ID pools, markers, series, full
// listings, every policy — and checks what must hold for any input: the plan
// is deterministic, writes each record at most once, never leaves two links
// on one record, and holds every removal when a guard trips.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	f.Add([]byte("a first sync with matching records on both sides"))
	f.Add([]byte{2, 0, 0, 1, 0, 0, 0, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 7, 7, 7, 3, 3, 3, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := decodeInput(data)
		out, err := Plan(in)
		if err != nil {
			t.Fatalf("Plan(valid input) = %v", err)
		}
		again, err := Plan(in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(out, again); diff != "" {
			t.Fatalf("Plan is not deterministic (-first +second):\n%s", diff)
		}
		checkPlan(t, in, out)
	})
}

func checkPlan(t *testing.T, in Input, out Output) {
	t.Helper()
	p := in.Policy.WithDefaults(in.Kind)
	written := map[string]bool{}
	links := map[string]Link{}
	for _, l := range in.Links {
		links[l.CRMID] = l
	}
	for n, a := range out.Actions {
		if tgt := a.Target(); tgt != "" && a.Record.ID != "" {
			k := string(tgt) + ":" + a.Record.ID
			if written[k] {
				t.Fatalf("action %d (%s) writes %s a second time", n, a.Op, k)
			}
			written[k] = true
		}
		switch a.Op {
		case UpdateCRM, UpdateMailbox:
			if len(a.Record.Fields) == 0 {
				t.Fatalf("action %d updates no field", n)
			}
			for f := range a.Record.Fields {
				if !slices.Contains(p.Fields, f) {
					t.Fatalf("action %d writes field %s outside the policy's fields", n, f)
				}
			}
		case CreateCRM, CreateMailbox:
			if a.Marker == "" {
				t.Fatalf("action %d creates without a marker", n)
			}
		}
		if out.Guard.Tripped != "" && !out.Guard.Overridden && (a.DropsLink() || a.Op == Detach) {
			t.Fatalf("guard %s tripped but action %d (%s) removes a link", out.Guard.Tripped, n, a.Op)
		}
		l := a.Link
		switch {
		case a.DropsLink():
			delete(links, l.CRMID)
		case a.Op == CreateCRM:
			l.CRMID = fmt.Sprintf("new-crm-%d", n)
			links[l.CRMID] = l
		case a.Op == CreateMailbox:
			l.MailboxID = fmt.Sprintf("new-mbx-%d", n)
			links[l.CRMID] = l
		default:
			if l.CRMID == "" {
				t.Fatalf("action %d (%s) saves a link without a CRM ID", n, a.Op)
			}
			links[l.CRMID] = l
		}
	}
	mbx := map[string]string{}
	for _, l := range links {
		if l.Detached() {
			continue
		}
		if other, dup := mbx[l.MailboxID]; dup {
			t.Fatalf("after the plan, links %s and %s share mailbox record %s", other, l.CRMID, l.MailboxID)
		}
		mbx[l.MailboxID] = l.CRMID
	}
}

// decodeInput turns bytes into a valid Input over small ID pools, so that
// links, records and removals collide often.
func decodeInput(data []byte) Input {
	pos := 0
	next := func(n int) int {
		if pos >= len(data) {
			return 0
		}
		b := int(data[pos])
		pos++
		return b % n
	}
	kind := item.Kinds[next(3)]
	in := Input{Kind: kind, Now: t0, Key: testKey}
	in.Policy = Policy{
		Direction:     []Direction{Both, Both, CRMToMailbox, MailboxToCRM, Off}[next(5)],
		Conflict:      []ConflictRule{NewerWins, CRMWins, MailboxWins}[next(3)],
		MailboxDelete: []MailboxDelete{Unlink, DeleteInCRM}[next(2)],
		NewItems:      []NewItems{"", NewAll, NewShared, NewNone}[next(4)],
		ScopeLoss:     []ScopeLoss{RemoveFromMailbox, KeepInMailbox}[next(2)],
		Guard:         Guard{MinLinks: 1 + next(4)},
	}
	in.Confirmed = next(4) == 0
	fields := item.DefaultFields[kind][:3]
	values := []string{"", "a", "b", "A "}
	recFields := func() map[string]string {
		m := map[string]string{}
		for _, f := range fields {
			if v := next(5); v < len(values) {
				m[f] = values[v]
			}
		}
		return m
	}
	usedM := map[int]bool{}
	for i := range next(8) {
		l := Link{Kind: kind, CRMID: fmt.Sprintf("c%d", i), Fingerprints: map[string]string{}}
		if m := next(8); next(5) > 0 && !usedM[m] {
			usedM[m] = true
			l.MailboxID = fmt.Sprintf("m%d", m)
		}
		for f, v := range recFields() {
			l.Fingerprints[f] = item.Fingerprint(testKey, kind, f, v)
		}
		l.CRMVersion = fmt.Sprintf("v%d", next(3))
		l.MailboxVersion = fmt.Sprintf("v%d", next(3))
		in.Links = append(in.Links, l)
	}
	side := func(prefix string, other Side) item.Changes {
		ch := item.Changes{Kind: kind, Full: next(4) == 0}
		for range next(8) {
			r := item.Record{Kind: kind, ID: fmt.Sprintf("%s%d", prefix, next(10)), Version: fmt.Sprintf("v%d", next(3)),
				Modified: t0.Add(time.Duration(next(4)) * time.Minute), Fields: recFields()}
			if next(4) == 0 {
				r.Marker = MarkerFor(kind, other, fmt.Sprintf("%s%d", map[Side]string{CRM: "c", Mailbox: "m"}[other], next(10)))
			}
			if next(3) == 0 {
				r.Categories = []string{"Salesforce"}
			}
			if kind == item.Event && next(4) == 0 {
				r.Fields[item.SeriesID] = fmt.Sprintf("%s%d", prefix, next(10))
			}
			ch.Records = append(ch.Records, r)
		}
		for range next(4) {
			ch.Removed = append(ch.Removed, item.Removal{ID: fmt.Sprintf("%s%d", prefix, next(10)), Reason: item.RemovalReason(1 + next(2))})
		}
		return ch
	}
	in.CRM = side("c", Mailbox)
	in.Mailbox = side("m", CRM)
	return in
}
