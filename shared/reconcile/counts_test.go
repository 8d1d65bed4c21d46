package reconcile

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/crmsync/crmsync/shared/item"
)

// partialInput is in as a caller that keeps link counts gives it: the links
// of the records either side reported (and of the series their exceptions
// name), every detached link when the mailbox reports a record no link
// knows, and the counts. ok is false when a side listed in full (every link
// is needed then).
func partialInput(in Input) (Input, bool) {
	if in.CRM.Full || in.Mailbox.Full {
		return in, false
	}
	ids := func(ch item.Changes) map[string]bool {
		out := map[string]bool{}
		for _, r := range ch.Records {
			out[r.ID] = true
			if s := r.Fields[item.SeriesID]; s != "" {
				out[s] = true
			}
		}
		for _, r := range ch.Removed {
			out[r.ID] = true
		}
		return out
	}
	crm, mbx := ids(in.CRM), ids(in.Mailbox)
	linkedMbx := map[string]bool{}
	counts := LinkCounts{All: len(in.Links)}
	for _, l := range in.Links {
		if !l.Detached() {
			counts.Live++
			linkedMbx[l.MailboxID] = true
		}
	}
	unknown := false
	for _, r := range in.Mailbox.Records {
		if !linkedMbx[r.ID] {
			unknown = true
		}
	}
	out := in
	out.Links = nil
	for _, l := range in.Links {
		if crm[l.CRMID] || (!l.Detached() && mbx[l.MailboxID]) || (l.Detached() && unknown) {
			out.Links = append(out.Links, l)
		}
	}
	out.Counts = &counts
	return out, true
}

// samePlanFromCounts checks that the plan from the partial input equals the
// plan from every link: the guards judge from the counts what they judged
// from the whole list.
func samePlanFromCounts(in Input, want Output) error {
	part, ok := partialInput(in)
	if !ok {
		return nil
	}
	got, err := Plan(part)
	if err != nil {
		return fmt.Errorf("plan from %d of %d links and counts: %v", len(part.Links), len(in.Links), err)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("plan from %d of %d links and counts differs:\n got %+v\nwant %+v", len(part.Links), len(in.Links), got, want)
	}
	return nil
}

// TestGuardsFromCounts: with only the reported links at hand, the guards trip
// (or not) as with every link, from the counts.
func TestGuardsFromCounts(t *testing.T) {
	f := newFixture(item.Contact)
	var links []Link
	var crmGone []item.Removal
	for i := range 12 {
		id := fmt.Sprint(i)
		links = append(links, Link{Kind: item.Contact, CRMID: "c" + id, MailboxID: "m" + id, CRMVersion: "1", MailboxVersion: "1", LastSynced: t0})
		if i < 7 {
			crmGone = append(crmGone, item.Removal{ID: "c" + id, Reason: item.Deleted})
		}
	}
	links = append(links, Link{Kind: item.Contact, CRMID: "cd", LastSynced: t0}) // detached
	base := Input{Kind: item.Contact, Now: t0, Key: testKey, Links: links}
	cases := []struct {
		name    string
		crm     item.Changes
		mbx     item.Changes
		tripped GuardName
	}{
		{"seven of twelve deleted in the CRM: mass removal", item.Changes{Removed: crmGone}, item.Changes{}, MassRemove},
		{"one deleted in the CRM: within the limit", item.Changes{Removed: crmGone[:1]}, item.Changes{}, ""},
		{"one changed in the mailbox, a new one beside it", item.Changes{},
			item.Changes{Records: []item.Record{f.rec("m3", "2", 5, "FirstName=Ada", "LastName=L", "Email=ada@x.com"), f.rec("mnew", "1", 5, "FirstName=New", "LastName=N", "Email=new@x.com")}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := base
			in.CRM, in.Mailbox = c.crm, c.mbx
			want, err := Plan(in)
			if err != nil {
				t.Fatal(err)
			}
			if want.Guard.Tripped != c.tripped {
				t.Fatalf("guard %q with every link, want %q", want.Guard.Tripped, c.tripped)
			}
			part, _ := partialInput(in)
			if len(part.Links) >= len(in.Links) {
				t.Fatalf("partial input holds %d of %d links", len(part.Links), len(in.Links))
			}
			if err := samePlanFromCounts(in, want); err != nil {
				t.Fatal(err)
			}
			// Without the counts, the subset alone looks like a kind that
			// lost everything it has: the reason the counts are kept.
			part.Counts = nil
			if got, _ := Plan(part); c.name != "one changed in the mailbox, a new one beside it" && got.Guard.Tripped == c.tripped {
				t.Errorf("subset without counts: guard %q, want it to differ (the test would prove nothing)", got.Guard.Tripped)
			}
		})
	}
}

func TestCountsRejected(t *testing.T) {
	base := Input{Kind: item.Contact, Now: t0, Key: testKey, Links: []Link{{CRMID: "c1", MailboxID: "m1"}}}
	for name, in := range map[string]Input{
		"live above all":    {Counts: &LinkCounts{All: 1, Live: 2}},
		"fewer than given":  {Counts: &LinkCounts{}},
		"with full listing": {Counts: &LinkCounts{All: 1, Live: 1}, CRM: item.Changes{Full: true}},
	} {
		in.Kind, in.Now, in.Key, in.Links = base.Kind, base.Now, base.Key, base.Links
		if _, err := Plan(in); err == nil {
			t.Errorf("%s: planned, want an error", name)
		}
	}
}
