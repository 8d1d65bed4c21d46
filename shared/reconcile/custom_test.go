package reconcile

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/item"
)

// TestAddedFieldFillsWithoutConflict: a field added to a kind's policy after
// its pairs synced has no fingerprint. The first full read (versions
// unchanged) fills it where only one side has a value, records it where both
// agree or both are empty, and settles two different values per policy.
func TestAddedFieldFillsWithoutConflict(t *testing.T) {
	const region = "custom:Region__c"
	cases := []struct {
		name     string
		conflict ConflictRule
		crm, mbx string
		want     []string
	}{
		{"crm has a value", "", "West", "", []string{
			"update-mailbox M1 {custom:Region__c=West} => link C1|M1 {LastName=Anders custom:Region__c=West} v=c1|m1"}},
		{"mailbox has a value", CRMWins, "", "East", []string{
			"update-crm C1 {custom:Region__c=East} => link C1|M1 {LastName=Anders custom:Region__c=East} v=c1|m1"}},
		{"both empty", "", "", "", []string{
			"save-link => link C1|M1 {LastName=Anders custom:Region__c=} v=c1|m1"}},
		{"both agree", "", "West", "West", []string{
			"save-link => link C1|M1 {LastName=Anders custom:Region__c=West} v=c1|m1"}},
		{"they differ: mailbox wins", MailboxWins, "West", "East", []string{
			"update-crm C1 {custom:Region__c=East} => link C1|M1 {LastName=Anders custom:Region__c=East} v=c1|m1",
			"conflict C1|M1 custom:Region__c winner=mailbox rule=mailbox-wins"}},
		{"they differ: crm wins", CRMWins, "West", "East", []string{
			"update-mailbox M1 {custom:Region__c=West} => link C1|M1 {LastName=Anders custom:Region__c=West} v=c1|m1",
			"conflict C1|M1 custom:Region__c winner=crm rule=crm-wins"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(item.Contact)
			l := f.link("C1", "M1", "LastName=Anders")
			l.CRMVersion, l.MailboxVersion = "c1", "m1"
			in := f.input([]Link{l},
				[]item.Record{f.rec("C1", "c1", 5, "LastName=Anders", region+"="+tc.crm)},
				[]item.Record{f.rec("M1", "m1", 1, "LastName=Anders", region+"="+tc.mbx)})
			in.CRM.Full, in.Mailbox.Full = true, true
			in.Policy = Policy{Conflict: tc.conflict, Fields: append(slices.Clone(item.DefaultFields[item.Contact]), region)}
			out, err := Plan(in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, f.render(out)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			// The next session with the same versions plans nothing.
			next := out.Actions[0].Link
			in.Links = []Link{next}
			again, err := Plan(in)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.render(again); len(got) != 0 {
				t.Errorf("second plan = %v, want nothing", got)
			}
		})
	}
}
