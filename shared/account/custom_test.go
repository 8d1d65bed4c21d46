package account_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/salesforce"
)

func TestCustomFieldsValidate(t *testing.T) {
	many := make([]item.CustomField, account.MaxCustomFields+1)
	for i := range many {
		many[i] = item.CustomField{CRM: fmt.Sprintf("F%d__c", i), Mailbox: fmt.Sprintf("extended:F%d", i)}
	}
	cases := []struct {
		name   string
		custom map[item.Kind][]item.CustomField
		want   []string // "field: message" fragments, in order
	}{
		{"valid", map[item.Kind][]item.CustomField{
			item.Contact: {{CRM: "Region__c", Mailbox: "extended:Region"}, {CRM: "AssistantName", Mailbox: "assistantName"}},
			item.Event:   {{CRM: "Region__c", Mailbox: "extended:Region"}},
		}, nil},
		{"standard field", map[item.Kind][]item.CustomField{item.Contact: {{CRM: "department", Mailbox: "nickName"}}},
			[]string{"contact.customFields[0]: field department is one Salesforce syncs by default already"}},
		{"not a name", map[item.Kind][]item.CustomField{item.Contact: {{CRM: "Region__c, Id", Mailbox: "nickName"}}},
			[]string{`contact.customFields[0]: "Region__c, Id" is not a Salesforce field API name`}},
		{"mailbox field not offered", map[item.Kind][]item.CustomField{item.Contact: {{CRM: "Region__c", Mailbox: "jobTitle"}}},
			[]string{`contact.customFields[0]: "jobTitle" is not a free contact property`}},
		{"tasks have no free field", map[item.Kind][]item.CustomField{item.Task: {{CRM: "Region__c", Mailbox: "extended:Region"}}},
			[]string{"task.customFields[0]: To Do tasks have no extended properties"}},
		{"duplicates", map[item.Kind][]item.CustomField{item.Contact: {
			{CRM: "Region__c", Mailbox: "extended:Region"}, {CRM: "region__c", Mailbox: "nickName"}, {CRM: "Zone__c", Mailbox: "extended:region"}}},
			[]string{"contact.customFields[1]: Salesforce field region__c is mapped twice", "contact.customFields[2]: mailbox field extended:region is mapped twice"}},
		{"missing halves", map[item.Kind][]item.CustomField{item.Event: {{CRM: "Region__c"}, {Mailbox: "extended:X"}}},
			[]string{"event.customFields[0]: the mailbox field is missing", "event.customFields[1]: the Salesforce field is missing"}},
		{"cap", map[item.Kind][]item.CustomField{item.Contact: many},
			[]string{fmt.Sprintf("contact.customFields: %d mappings; at most %d per kind", len(many), account.MaxCustomFields)}},
		{"unknown kind", map[item.Kind][]item.CustomField{"lead": {{CRM: "X__c", Mailbox: "nickName"}}},
			[]string{`customFields: unknown kind "lead"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := account.DefaultSettings()
			s.Custom = tc.custom
			err := s.Validate(salesforce.Connector, msgraph.Connector)
			var got []string
			var ve *account.ValidationError
			if errors.As(err, &ve) {
				for _, f := range ve.Fields {
					got = append(got, f.Field+": "+f.Message)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("errors = %q, want %d like %q", got, len(tc.want), tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("error %d = %q, want it to start %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestCustomFieldsReachTheSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.signUp(t, "org-1", "s1", "ann@example.com")
	s := account.DefaultSettings()
	s.Custom = map[item.Kind][]item.CustomField{item.Contact: {{CRM: " Region__c ", Mailbox: "extended:Region"}, {}}}
	if err := f.acc.SaveSettings(ctx, p.User, s); err != nil {
		t.Fatal(err)
	}
	got, err := f.acc.Settings(ctx, p.User)
	if err != nil {
		t.Fatal(err)
	}
	want := map[item.Kind][]item.CustomField{item.Contact: {{CRM: "Region__c", Mailbox: "extended:Region"}}}
	if diff := cmp.Diff(want, got.Custom); diff != "" {
		t.Errorf("stored mappings (-want +got):\n%s", diff)
	}
	us, err := f.acc.UserSettings(ctx, p.User)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, us.Custom); diff != "" {
		t.Errorf("session mappings (-want +got):\n%s", diff)
	}
	if fields := us.Policies[item.Contact].Fields; !slices.Contains(fields, "custom:Region__c") || !slices.Contains(fields, item.LastName) {
		t.Errorf("contact fields = %v, want the defaults and custom:Region__c", fields)
	}
	if fields := us.Policies[item.Task].Fields; slices.ContainsFunc(fields, item.IsCustom) {
		t.Errorf("task fields = %v, want no custom field", fields)
	}
}
