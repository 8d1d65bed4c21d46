package reconcile

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/item"
)

// planCase is one rule of the planner, shown by one input and its plan.
type planCase struct {
	name string
	kind item.Kind
	in   func(f *fixture) Input
	want []string
}

func TestPlan(t *testing.T) {
	ann := []string{"FirstName=Ann", "LastName=Lee", "Email=ann@example.com", "Phone=1"}
	annWith := func(extra ...string) []string {
		m := fields(ann...)
		for k, v := range fields(extra...) {
			m[k] = v
		}
		var out []string
		for k, v := range m {
			out = append(out, k+"="+v)
		}
		return out
	}
	cases := []planCase{
		{
			name: "field changed in the CRM is copied to the mailbox",
			in: func(f *fixture) Input {
				return f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")}, []item.Record{f.rec("c1", "c2", 1, annWith("Phone=2")...)}, nil)
			},
			want: []string{"update-mailbox m1 {Phone=2} => link c1|m1 {Email=ann@example.com FirstName=Ann LastName=Lee Phone=2} v=c2|"},
		},
		{
			name: "field changed in the mailbox is copied to the CRM",
			in: func(f *fixture) Input {
				return f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")}, nil, []item.Record{f.rec("m1", "m2", 1, annWith("FirstName=Anne")...)})
			},
			want: []string{"update-crm c1 {FirstName=Anne} => link c1|m1 {Email=ann@example.com FirstName=Anne LastName=Lee Phone=1} v=|m2"},
		},
		{
			name: "changes to different fields both win",
			in: func(f *fixture) Input {
				return f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")},
					[]item.Record{f.rec("c1", "c2", 1, annWith("Phone=2")...)},
					[]item.Record{f.rec("m1", "m2", 2, annWith("FirstName=Anne")...)})
			},
			want: []string{
				// The CRM update's link keeps Phone at its old value until the
				// mailbox update succeeds too.
				"update-crm c1 {FirstName=Anne} => link c1|m1 {Email=ann@example.com FirstName=Anne LastName=Lee Phone=1} v=c2|m2",
				"update-mailbox m1 {Phone=2} => link c1|m1 {Email=ann@example.com FirstName=Anne LastName=Lee Phone=2} v=c2|m2",
			},
		},
		{
			name: "same field changed on both sides: the newer change wins",
			in: func(f *fixture) Input {
				return f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")},
					[]item.Record{f.rec("c1", "c2", 1, annWith("Phone=2")...)},
					[]item.Record{f.rec("m1", "m2", 5, annWith("Phone=3")...)})
			},
			want: []string{
				"update-crm c1 {Phone=3} => link c1|m1 {Email=ann@example.com FirstName=Ann LastName=Lee Phone=3} v=c2|m2",
				"conflict c1|m1 Phone winner=mailbox rule=newer-wins",
			},
		},
		{
			name: "same field changed on both sides at the same time: the CRM wins the tie",
			in: func(f *fixture) Input {
				return f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")},
					[]item.Record{f.rec("c1", "c2", 5, annWith("Phone=2")...)},
					[]item.Record{f.rec("m1", "m2", 5, annWith("Phone=3")...)})
			},
			want: []string{
				"update-mailbox m1 {Phone=2} => link c1|m1 {Email=ann@example.com FirstName=Ann LastName=Lee Phone=2} v=c2|m2",
				"conflict c1|m1 Phone winner=crm rule=newer-wins",
			},
		},
		{
			name: "same field changed on both sides: crm-wins policy",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")},
					[]item.Record{f.rec("c1", "c2", 1, annWith("Phone=2")...)},
					[]item.Record{f.rec("m1", "m2", 5, annWith("Phone=3", "Email=ann@other.example")...)})
				in.Policy.Conflict = CRMWins
				return in
			},
			want: []string{
				"update-crm c1 {Email=ann@other.example} => link c1|m1 {Email=ann@other.example FirstName=Ann LastName=Lee Phone=1} v=c2|m2",
				"update-mailbox m1 {Phone=2} => link c1|m1 {Email=ann@other.example FirstName=Ann LastName=Lee Phone=2} v=c2|m2",
				"conflict c1|m1 Phone winner=crm rule=crm-wins",
			},
		},
		{
			name: "same field changed on both sides: mailbox-wins policy",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")},
					[]item.Record{f.rec("c1", "c2", 9, annWith("Phone=2")...)},
					[]item.Record{f.rec("m1", "m2", 1, annWith("Phone=3")...)})
				in.Policy.Conflict = MailboxWins
				return in
			},
			want: []string{
				"update-crm c1 {Phone=3} => link c1|m1 {Email=ann@example.com FirstName=Ann LastName=Lee Phone=3} v=c2|m2",
				"conflict c1|m1 Phone winner=mailbox rule=mailbox-wins",
			},
		},
		{
			name: "same field changed on both sides to one value only moves the link on",
			in: func(f *fixture) Input {
				return f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")},
					[]item.Record{f.rec("c1", "c2", 1, annWith("Phone=2")...)},
					[]item.Record{f.rec("m1", "m2", 5, annWith("Phone= 2 ")...)})
			},
			want: []string{"save-link => link c1|m1 {Email=ann@example.com FirstName=Ann LastName=Lee Phone=2} v=c2|m2"},
		},
		{
			name: "echo: a new version with the synced values plans nothing",
			in: func(f *fixture) Input {
				return f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")},
					[]item.Record{f.rec("c1", "c9", 1, ann...)},
					[]item.Record{f.rec("m1", "m9", 1, annWith("Email=ANN@example.com")...)})
			},
			want: nil,
		},
		{
			name: "an unchanged version is not fingerprinted",
			in: func(f *fixture) Input {
				l := f.link("c1", "m1", ann...)
				l.CRMVersion = "c1"
				return f.input([]Link{l}, []item.Record{f.rec("c1", "c1", 1, annWith("Phone=7")...)}, nil)
			},
			want: nil,
		},
		{
			name: "a field not read on one side is not a change",
			in: func(f *fixture) Input {
				return f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")}, []item.Record{f.rec("c1", "c2", 1, "Phone=1")}, nil)
			},
			want: nil,
		},
		{
			name: "a field new to the field list is copied from the side that has it",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")}, []item.Record{f.rec("c1", "c2", 1, annWith("Shoe__c=42")...)}, nil)
				in.Policy.Fields = append(item.DefaultFields[item.Contact], "Shoe__c")
				return in
			},
			want: []string{"update-mailbox m1 {Shoe__c=42} => link c1|m1 {Email=ann@example.com FirstName=Ann LastName=Lee Phone=1 Shoe__c=42} v=c2|"},
		},
		{
			name: "first sync matches contacts by e-mail, ignoring case",
			in: func(f *fixture) Input {
				in := f.input(nil,
					[]item.Record{f.rec("c1", "c1", 1, ann...)},
					[]item.Record{f.rec("m1", "m1", 1, annWith("Email=Ann@Example.com")...)})
				in.CRM.Full, in.Mailbox.Full = true, true
				return in
			},
			want: []string{"save-link => link c1|m1 {Email=ann@example.com FirstName=Ann LastName=Lee Phone=1} v=c1|m1"},
		},
		{
			name: "first sync matches contacts without e-mail by name and merges their fields",
			in: func(f *fixture) Input {
				in := f.input(nil,
					[]item.Record{f.rec("c1", "c1", 1, "FirstName=Bo", "LastName=Ek", "Email=", "Phone=1")},
					[]item.Record{f.rec("m1", "m1", 3, "FirstName=Bo", "LastName=Ek", "Email=", "Phone=2", "Title=CEO")})
				in.CRM.Full, in.Mailbox.Full = true, true
				return in
			},
			want: []string{
				// No synced value to compare with: differing values are settled
				// by the policy (the mailbox record is newer).
				"update-crm c1 {Phone=2 Title=CEO} => link c1|m1 {Email= FirstName=Bo LastName=Ek Phone=2 Title=CEO} v=c1|m1",
				"conflict c1|m1 Phone winner=mailbox rule=newer-wins",
			},
		},
		{
			name: "first sync creates what only one side has, both ways",
			in: func(f *fixture) Input {
				in := f.input(nil,
					[]item.Record{f.rec("c1", "c1", 1, ann...)},
					[]item.Record{f.rec("m1", "m1", 1, "FirstName=Bo", "LastName=Ek", "Email=bo@example.com")})
				in.CRM.Full, in.Mailbox.Full = true, true
				return in
			},
			want: []string{
				"create-crm from m1 {Email=bo@example.com FirstName=Bo LastName=Ek} => link |m1 {Email=bo@example.com FirstName=Bo LastName=Ek} v=|m1",
				"create-mailbox from c1 {Email=ann@example.com FirstName=Ann LastName=Lee Phone=1} => link c1| {Email=ann@example.com FirstName=Ann LastName=Lee Phone=1} v=c1|",
			},
		},
		{
			name: "tasks match by subject and due date",
			kind: item.Task,
			in: func(f *fixture) Input {
				return f.input(nil,
					[]item.Record{f.rec("c1", "c1", 1, "Subject=Call", "DueDate=2026-11-03"), f.rec("c2", "c2", 1, "Subject=Call", "DueDate=2026-11-04")},
					[]item.Record{f.rec("m1", "m1", 1, "Subject=Call", "DueDate=2026-11-04")})
			},
			want: []string{
				"save-link => link c2|m1 {DueDate=2026-11-04 Subject=Call} v=c2|m1",
				"create-mailbox from c1 {DueDate=2026-11-03 Subject=Call} => link c1| {DueDate=2026-11-03 Subject=Call} v=c1|",
			},
		},
		{
			name: "events match by subject and start; unshared new mailbox events stay private",
			kind: item.Event,
			in: func(f *fixture) Input {
				shared := f.rec("m3", "m3", 1, "Subject=Demo", "Start=2026-11-05T10:00:00Z")
				shared.Categories = []string{"salesforce"}
				return f.input(nil,
					[]item.Record{f.rec("c1", "c1", 1, "Subject=Review", "Start=2026-11-03T09:00:00Z")},
					[]item.Record{
						f.rec("m1", "m1", 1, "Subject=Review", "Start=2026-11-03T10:00:00+01:00"),
						f.rec("m2", "m2", 1, "Subject=Dentist", "Start=2026-11-04T08:00:00Z"),
						shared,
					})
			},
			want: []string{
				"save-link => link c1|m1 {Start=2026-11-03T09:00:00Z Subject=Review} v=c1|m1",
				"create-crm from m3 {Start=2026-11-05T10:00:00Z Subject=Demo} => link |m3 {Start=2026-11-05T10:00:00Z Subject=Demo} v=|m3",
			},
		},
		{
			name: "a linked event that loses the share category stays linked",
			kind: item.Event,
			in: func(f *fixture) Input {
				return f.input([]Link{f.link("c1", "m1", "Subject=Demo")}, nil, []item.Record{f.rec("m1", "m2", 1, "Subject=Demo!")})
			},
			want: []string{"update-crm c1 {Subject=Demo!} => link c1|m1 {Subject=Demo!} v=|m2"},
		},
		{
			name: "a copy left by a killed session pairs by its marker",
			in: func(f *fixture) Input {
				copy := f.rec("m7", "m7", 1, "FirstName=Ann", "LastName=Lee", "Email=ann@example.com", "Phone=9")
				copy.Marker = MarkerFor(item.Contact, CRM, "c1")
				return f.input(nil,
					[]item.Record{f.rec("c1", "c1", 2, "FirstName=Ann", "LastName=Lee", "Email=ann.lee@example.com", "Phone=9")},
					[]item.Record{copy})
			},
			want: []string{
				"update-mailbox m7 {Email=ann.lee@example.com} => link c1|m7 {Email=ann.lee@example.com FirstName=Ann LastName=Lee Phone=9} v=c1|m7",
				"conflict c1|m7 Email winner=crm rule=newer-wins",
			},
		},
		{
			name: "a CRM delete deletes the mailbox copy",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")}, nil, nil)
				in.CRM.Removed = []item.Removal{{ID: "c1", Reason: item.Deleted}}
				return in
			},
			want: []string{"delete-mailbox m1 => drop c1|m1"},
		},
		{
			name: "a CRM delete deletes the mailbox copy even when it changed, and says so",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")}, nil, []item.Record{f.rec("m1", "m2", 1, annWith("Phone=5")...)})
				in.CRM.Removed = []item.Removal{{ID: "c1", Reason: item.Deleted}}
				return in
			},
			want: []string{"delete-mailbox m1 => drop c1|m1", "conflict c1|m1  winner=crm rule=delete"},
		},
		{
			name: "a CRM record leaving scope is removed from the mailbox, never deleted in the CRM",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")}, nil, nil)
				in.CRM.Removed = []item.Removal{{ID: "c1", Reason: item.LeftScope}}
				return in
			},
			want: []string{"delete-mailbox m1 => drop c1|m1"},
		},
		{
			name: "a CRM record leaving scope keeps its mailbox copy when the policy says keep",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")}, nil, nil)
				in.CRM.Removed = []item.Removal{{ID: "c1", Reason: item.LeftScope}}
				in.Policy.ScopeLoss = KeepInMailbox
				return in
			},
			want: []string{"unlink => drop c1|m1"},
		},
		{
			name: "an event leaving the CRM's scope keeps its calendar copy by default",
			kind: item.Event,
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", "Subject=Old"), f.link("c9", "m9", "Subject=Other")}, nil, nil)
				in.CRM.Removed = []item.Removal{{ID: "c1", Reason: item.LeftScope}}
				in.Mailbox.Removed = []item.Removal{{ID: "m1", Reason: item.LeftScope}}
				return in
			},
			want: []string{"unlink => drop c1|m1"},
		},
		{
			name: "a CRM record leaving scope is removed from the mailbox even from outside the mailbox's view",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")}, nil, nil)
				in.CRM.Removed = []item.Removal{{ID: "c1", Reason: item.LeftScope}}
				in.Mailbox.Removed = []item.Removal{{ID: "m1", Reason: item.LeftScope}}
				return in
			},
			want: []string{"delete-mailbox m1 => drop c1|m1"},
		},
		{
			name: "a record deleted on both sides only drops the link",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")}, nil, nil)
				in.CRM.Removed = []item.Removal{{ID: "c1", Reason: item.Deleted}}
				in.Mailbox.Removed = []item.Removal{{ID: "m1", Reason: item.Deleted}}
				return in
			},
			want: []string{"unlink => drop c1|m1"},
		},
		{
			name: "a mailbox delete detaches the link and keeps the CRM record",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c2", "m2", "Email=bo@example.com")}, nil, nil)
				in.Mailbox.Removed = []item.Removal{{ID: "m1", Reason: item.Deleted}}
				return in
			},
			want: []string{"detach => link c1| {Email=ann@example.com FirstName=Ann LastName=Lee Phone=1}"},
		},
		{
			name: "a mailbox delete deletes in the CRM when opted in",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")}, []item.Record{f.rec("c1", "c5", 1, ann...)}, nil)
				in.Mailbox.Removed = []item.Removal{{ID: "m1", Reason: item.Deleted}}
				in.Policy.MailboxDelete = DeleteInCRM
				return in
			},
			want: []string{"delete-crm c1 => drop c1|m1"},
		},
		{
			name: "a mailbox delete never deletes a CRM record changed meanwhile",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")}, []item.Record{f.rec("c1", "c5", 1, annWith("Phone=2")...)}, nil)
				in.Mailbox.Removed = []item.Removal{{ID: "m1", Reason: item.Deleted}}
				in.Policy.MailboxDelete = DeleteInCRM
				return in
			},
			want: []string{
				"detach => link c1| {Email=ann@example.com FirstName=Ann LastName=Lee Phone=1}",
				"conflict c1|m1  winner=crm rule=delete",
				`issue deleted-while-changed crm c1 "Ann Lee"`,
			},
		},
		{
			name: "a mailbox item leaving the mailbox's view stays linked",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")}, []item.Record{f.rec("c1", "c2", 1, annWith("Phone=2")...)}, nil)
				in.Mailbox.Removed = []item.Removal{{ID: "m1", Reason: item.LeftScope}}
				return in
			},
			want: []string{"update-mailbox m1 {Phone=2} => link c1|m1 {Email=ann@example.com FirstName=Ann LastName=Lee Phone=2} v=c2|"},
		},
		{
			name: "a full CRM listing's absent records left scope",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c2", "m2", "Email=bo@example.com")},
					[]item.Record{f.rec("c2", "c2", 1, "Email=bo@example.com")}, nil)
				in.CRM.Full = true
				return in
			},
			want: []string{"delete-mailbox m1 => drop c1|m1"},
		},
		{
			name: "a full mailbox listing's absent records are detached, never deleted in the CRM",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c2", "m2", "Email=bo@example.com")},
					nil, []item.Record{f.rec("m2", "m2", 1, "Email=bo@example.com")})
				in.Mailbox.Full = true
				in.Policy.MailboxDelete = DeleteInCRM
				return in
			},
			want: []string{"detach => link c1| {Email=ann@example.com FirstName=Ann LastName=Lee Phone=1}"},
		},
		{
			name: "a record the side could not read stays linked in a full listing",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c2", "m2", "Email=bo@example.com")},
					nil, []item.Record{f.rec("m2", "m2", 1, "Email=bo@example.com")})
				in.Mailbox.Full = true
				in.Mailbox.Problems = []item.Problem{{ID: "m1", Code: "unknown-time-zone"}}
				return in
			},
			want: nil,
		},
		{
			name: "a detached CRM record is not put back into the mailbox",
			in: func(f *fixture) Input {
				d := f.link("c1", "", ann...)
				in := f.input([]Link{d}, []item.Record{f.rec("c1", "c3", 1, annWith("Phone=4")...)}, nil)
				in.CRM.Full = true
				return in
			},
			want: nil,
		},
		{
			name: "a detached link goes when its CRM record does",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "", ann...), f.link("c9", "m9", "Email=zed@example.com")}, nil, nil)
				in.CRM.Removed = []item.Removal{{ID: "c1", Reason: item.Deleted}}
				return in
			},
			want: []string{"unlink => drop c1|"},
		},
		{
			name: "a mailbox item typed in again relinks to its detached CRM record",
			in: func(f *fixture) Input {
				return f.input([]Link{f.link("c1", "", ann...)}, nil, []item.Record{f.rec("m5", "m5", 1, annWith("Title=CTO")...)})
			},
			want: []string{"update-crm c1 {Title=CTO} => link c1|m5 {Email=ann@example.com FirstName=Ann LastName=Lee Phone=1 Title=CTO} v=|m5"},
		},
		{
			name: "crm-to-mailbox ignores mailbox edits and new mailbox items",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")},
					[]item.Record{f.rec("c1", "c2", 1, annWith("Phone=2")...)},
					[]item.Record{f.rec("m1", "m2", 5, annWith("Phone=3", "Title=Boss")...), f.rec("m9", "m9", 1, "Email=new@example.com")})
				in.Policy.Direction = CRMToMailbox
				return in
			},
			want: []string{
				"update-mailbox m1 {Phone=2} => link c1|m1 {Email=ann@example.com FirstName=Ann LastName=Lee Phone=2} v=c2|m2",
				"conflict c1|m1 Phone winner=crm rule=crm-to-mailbox",
			},
		},
		{
			name: "mailbox-to-crm ignores CRM edits, and a CRM delete only unlinks",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c2", "m2", "Email=bo@example.com")},
					[]item.Record{f.rec("c1", "c2", 1, annWith("Phone=2")...), f.rec("c9", "c9", 1, "Email=new@example.com")},
					[]item.Record{f.rec("m1", "m2", 5, annWith("Title=Boss")...)})
				in.CRM.Removed = []item.Removal{{ID: "c2", Reason: item.Deleted}}
				in.Policy.Direction = MailboxToCRM
				return in
			},
			want: []string{
				"unlink => drop c2|m2",
				"update-crm c1 {Title=Boss} => link c1|m1 {Email=ann@example.com FirstName=Ann LastName=Lee Phone=1 Title=Boss} v=c2|m2",
			},
		},
		{
			name: "direction off plans nothing",
			in: func(f *fixture) Input {
				in := f.input(nil, []item.Record{f.rec("c1", "c1", 1, ann...)}, nil)
				in.Policy.Direction = Off
				return in
			},
			want: nil,
		},
		{
			name: "guard: an empty full CRM listing deletes nothing and creates nothing in the CRM",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...)}, nil, []item.Record{f.rec("m9", "m9", 1, "Email=new@example.com")})
				in.CRM.Full = true
				return in
			},
			want: []string{
				`issue guard   ""`,
				"guard empty-crm live=1 removals=1 limit=0 overridden=false",
			},
		},
		{
			name: "guard: the mailbox losing every link at once unlinks nothing",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c2", "m2", "Email=bo@example.com")}, nil, nil)
				in.Mailbox.Removed = []item.Removal{{ID: "m1", Reason: item.Deleted}, {ID: "m2", Reason: item.Deleted}}
				return in
			},
			want: []string{`issue guard   ""`, "guard empty-mailbox live=2 removals=2 limit=1 overridden=false"},
		},
		{
			name: "guard: deleting one's only synced item asks for confirmation",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...)}, []item.Record{f.rec("c1", "c1", 1, ann...)}, nil)
				in.Mailbox.Removed = []item.Removal{{ID: "m1", Reason: item.Deleted}}
				in.Policy.MailboxDelete = DeleteInCRM
				return in
			},
			want: []string{`issue guard   ""`, "guard empty-mailbox live=1 removals=1 limit=0 overridden=false"},
		},
		{
			name: "guard: removing more than half of ten links holds every removal, not the rest",
			in: func(f *fixture) Input {
				var links []Link
				var removed []item.Removal
				for i := range 10 {
					id := string(rune('a' + i))
					links = append(links, f.link("c"+id, "m"+id, "Email="+id+"@example.com"))
					if i < 6 {
						removed = append(removed, item.Removal{ID: "c" + id, Reason: item.Deleted})
					}
				}
				in := f.input(links, []item.Record{f.rec("cj", "v2", 1, "Email=j2@example.com"), f.rec("cz", "v1", 1, "Email=z@example.com")}, nil)
				in.CRM.Removed = removed
				return in
			},
			want: []string{
				"update-mailbox mj {Email=j2@example.com} => link cj|mj {Email=j2@example.com} v=v2|",
				"create-mailbox from cz {Email=z@example.com} => link cz| {Email=z@example.com} v=v1|",
				`issue guard   ""`,
				"guard mass-remove live=10 removals=6 limit=5 overridden=false",
			},
		},
		{
			name: "guard: half of ten links may go",
			in: func(f *fixture) Input {
				var links []Link
				var removed []item.Removal
				for i := range 10 {
					id := string(rune('a' + i))
					links = append(links, f.link("c"+id, "m"+id, "Email="+id+"@example.com"))
					if i < 5 {
						removed = append(removed, item.Removal{ID: "c" + id, Reason: item.Deleted})
					}
				}
				in := f.input(links, nil, nil)
				in.CRM.Removed = removed
				return in
			},
			want: []string{"delete-mailbox ma => drop ca|ma", "delete-mailbox mb => drop cb|mb", "delete-mailbox mc => drop cc|mc", "delete-mailbox md => drop cd|md", "delete-mailbox me => drop ce|me"},
		},
		{
			name: "guard: a confirmed session lets the removals through",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...)}, nil, []item.Record{f.rec("m1", "m1", 1, ann...)})
				in.CRM.Full = true
				in.Confirmed = true
				return in
			},
			want: []string{"delete-mailbox m1 => drop c1|m1", "guard empty-crm live=1 removals=1 limit=0 overridden=true"},
		},
		{
			name: "recurring events: an exception is created after its series and names it",
			kind: item.Event,
			in: func(f *fixture) Input {
				return f.input([]Link{f.link("c5", "m5", "Subject=Weekly", "Recurrence=FREQ=WEEKLY")},
					[]item.Record{
						f.rec("c2", "c2", 1, "Subject=Standup moved", "Start=2026-11-04T10:00:00Z", "SeriesID=c1", "OriginalStart=2026-11-04T09:00:00Z"),
						f.rec("c1", "c1", 1, "Subject=Standup", "Start=2026-11-03T09:00:00Z", "Recurrence=FREQ=DAILY"),
						f.rec("c6", "c6", 1, "Subject=Weekly off", "Start=2026-11-06T09:00:00Z", "SeriesID=c5"),
						f.rec("c8", "c8", 1, "Subject=Orphan", "Start=2026-11-06T09:00:00Z", "SeriesID=c7"),
					}, nil)
			},
			want: []string{
				"create-mailbox from c1 {Recurrence=FREQ=DAILY Start=2026-11-03T09:00:00Z Subject=Standup} => link c1| {Recurrence=FREQ=DAILY Start=2026-11-03T09:00:00Z Subject=Standup} v=c1|",
				"create-mailbox from c2 {OriginalStart=2026-11-04T09:00:00Z Start=2026-11-04T10:00:00Z Subject=Standup moved} series=" + MarkerFor(item.Event, CRM, "c1") + " => link c2| {Start=2026-11-04T10:00:00Z Subject=Standup moved} v=c2|",
				"create-mailbox from c6 {SeriesID=m5 Start=2026-11-06T09:00:00Z Subject=Weekly off} => link c6| {Start=2026-11-06T09:00:00Z Subject=Weekly off} v=c6|",
				`issue series-not-synced crm c8 "Orphan"`,
			},
		},
		{
			name: "mailbox exceptions follow a synced series without the share category; others stay private",
			kind: item.Event,
			in: func(f *fixture) Input {
				series := f.rec("m10", "m10", 1, "Subject=Planning", "Start=2026-11-03T09:00:00Z", "Recurrence=FREQ=DAILY")
				series.Categories = []string{"Salesforce"}
				return f.input([]Link{f.link("c5", "m5", "Subject=Weekly", "Recurrence=FREQ=WEEKLY")}, nil,
					[]item.Record{
						f.rec("m6", "m6", 1, "Subject=Weekly off", "Start=2026-11-06T10:00:00Z", "SeriesID=m5", "OriginalStart=2026-11-06T09:00:00Z"),
						f.rec("m11", "m11", 1, "Subject=Planning late", "Start=2026-11-04T11:00:00Z", "SeriesID=m10", "OriginalStart=2026-11-04T09:00:00Z"),
						series,
						f.rec("m7", "m7", 1, "Subject=Gym", "Start=2026-11-05T18:00:00Z", "Recurrence=FREQ=WEEKLY"),
						f.rec("m8", "m8", 1, "Subject=Gym late", "Start=2026-11-05T19:00:00Z", "SeriesID=m7", "OriginalStart=2026-11-05T18:00:00Z"),
					})
			},
			want: []string{
				"create-crm from m10 {Recurrence=FREQ=DAILY Start=2026-11-03T09:00:00Z Subject=Planning} => link |m10 {Recurrence=FREQ=DAILY Start=2026-11-03T09:00:00Z Subject=Planning} v=|m10",
				"create-crm from m11 {OriginalStart=2026-11-04T09:00:00Z Start=2026-11-04T11:00:00Z Subject=Planning late} series=" + MarkerFor(item.Event, Mailbox, "m10") + " => link |m11 {Start=2026-11-04T11:00:00Z Subject=Planning late} v=|m11",
				"create-crm from m6 {OriginalStart=2026-11-06T09:00:00Z SeriesID=c5 Start=2026-11-06T10:00:00Z Subject=Weekly off} => link |m6 {Start=2026-11-06T10:00:00Z Subject=Weekly off} v=|m6",
			},
		},
		{
			name: "a record reported changed and removed counts as removed",
			in: func(f *fixture) Input {
				in := f.input([]Link{f.link("c1", "m1", ann...), f.link("c9", "m9", "Email=zed@example.com")}, []item.Record{f.rec("c1", "c2", 1, annWith("Phone=2")...)}, nil)
				in.CRM.Removed = []item.Removal{{ID: "c1", Reason: item.Deleted}}
				return in
			},
			want: []string{"delete-mailbox m1 => drop c1|m1"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kind := tc.kind
			if kind == "" {
				kind = item.Contact
			}
			f := newFixture(kind)
			out, err := Plan(tc.in(f))
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			got := f.render(out)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlanIsDeterministic shuffles every input list: the plan must not change.
func TestPlanIsDeterministic(t *testing.T) {
	f := newFixture(item.Contact)
	var links []Link
	var crm, mbx []item.Record
	for i := range 40 {
		id := string(rune('A'+i%26)) + string(rune('a'+i/26))
		links = append(links, f.link("c"+id, "m"+id, "Email="+id+"@example.com", "Phone=1"))
		crm = append(crm, f.rec("c"+id, "v2", i, "Email="+id+"@example.com", "Phone=2"))
		mbx = append(mbx, f.rec("m"+id, "v2", 40-i, "Email="+id+"@example.com", "Phone=3", "Title=T"))
		crm = append(crm, f.rec("n"+id, "v1", i, "Email=new"+id+"@example.com"))
	}
	in := f.input(links, crm, mbx)
	want, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		r.Shuffle(len(in.Links), func(i, j int) { in.Links[i], in.Links[j] = in.Links[j], in.Links[i] })
		r.Shuffle(len(in.CRM.Records), func(i, j int) { in.CRM.Records[i], in.CRM.Records[j] = in.CRM.Records[j], in.CRM.Records[i] })
		r.Shuffle(len(in.Mailbox.Records), func(i, j int) {
			in.Mailbox.Records[i], in.Mailbox.Records[j] = in.Mailbox.Records[j], in.Mailbox.Records[i]
		})
		got, err := Plan(in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("plan changed with input order (-first +shuffled):\n%s", diff)
		}
	}
}

func TestPlanRejectsBadInput(t *testing.T) {
	good := func() Input {
		f := newFixture(item.Contact)
		return f.input([]Link{f.link("c1", "m1", "Email=a@example.com")}, nil, nil)
	}
	cases := []struct {
		name string
		edit func(in *Input)
		want string
	}{
		{"unknown kind", func(in *Input) { in.Kind = item.SharedEmail }, `kind "email" is not a two-way kind`},
		{"short key", func(in *Input) { in.Key = []byte("short") }, "fingerprint key has 5 bytes"},
		{"no time", func(in *Input) { in.Now = time.Time{} }, "now is not set"},
		{"bad direction", func(in *Input) { in.Policy.Direction = "sideways" }, `direction "sideways" is not one of`},
		{"bad guard share", func(in *Input) { in.Policy.Guard.MaxRemoveShare = 2 }, "guard share 2 is not between 0 and 1"},
		{"duplicate field", func(in *Input) { in.Policy.Fields = []string{"Email", "Email"} }, "field Email is listed twice"},
		{"series field synced as a value", func(in *Input) { in.Policy.Fields = []string{item.SeriesID} }, "cannot be synced as a value"},
		{"changes of another kind", func(in *Input) { in.CRM.Kind = item.Task }, `crm changes are of kind "task"`},
		{"record without ID", func(in *Input) { in.Mailbox.Records = []item.Record{{Kind: item.Contact}} }, "mailbox reported a record without an ID"},
		{"removal without reason", func(in *Input) { in.CRM.Removed = []item.Removal{{ID: "c1"}} }, "crm reported a removal without an ID or with an unknown reason"},
		{"link without CRM ID", func(in *Input) { in.Links = append(in.Links, Link{MailboxID: "m2"}) }, "a link (mailbox ID m2) has no CRM ID"},
		{"links sharing a CRM ID", func(in *Input) { in.Links = append(in.Links, Link{CRMID: "c1", MailboxID: "m2"}) }, "two links share CRM ID c1"},
		{"links sharing a mailbox ID", func(in *Input) { in.Links = append(in.Links, Link{CRMID: "c2", MailboxID: "m1"}) }, "two links share mailbox ID m1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := good()
			tc.edit(&in)
			_, err := Plan(in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Plan error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := Plan(good()); err != nil {
		t.Errorf("Plan(good input) = %v, want no error", err)
	}
	t.Run("every problem is named at once", func(t *testing.T) {
		in := good()
		in.Key = nil
		in.Policy.Conflict = "loudest-wins"
		in.Links = append(in.Links, Link{CRMID: "c1"})
		_, err := Plan(in)
		for _, want := range []string{"fingerprint key has 0 bytes", `conflict rule "loudest-wins"`, "two links share CRM ID c1"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Plan error = %v, want it to contain %q", err, want)
			}
		}
	})
}
