package account_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/c4c"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/side"
)

// TestShareCategoryFromTheCRM: a session shares items by the category of
// the deployment's CRM connector when the user chose none — "SAP C4C" for
// a C4C deployment, "Salesforce" as before for Salesforce — for e-mails
// and every kind's policy (a meeting is shared by it); a category the user
// chose is kept.
func TestShareCategoryFromTheCRM(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.signUp(t, "org-1", "s1", "ann@acme.example")
	q := f.signUp(t, "org-1", "s2", "bob@acme.example")
	s := account.DefaultSettings()
	s.Email.ShareCategory = "To CRM"
	s.Policies = map[item.Kind]reconcile.Policy{item.Event: {ShareCategory: "Meetings to CRM"}, item.Contact: {Direction: reconcile.CRMToMailbox}}
	if err := f.acc.SaveSettings(ctx, q.User, s); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		crm  side.Connector
		want string
	}{{salesforce.Connector, "Salesforce"}, {c4c.Connector, "SAP C4C"}, {side.Connector{}, ""}} {
		acc, err := account.New(account.Deps{Tables: f.tables, Sealer: account.KeysSealer{Keys: f.ring}, Scheduler: f.sched, Grants: f.grants,
			Directory: f.users, CRM: tc.crm, Now: func() time.Time { return f.now }})
		if err != nil {
			t.Fatal(err)
		}
		us, err := acc.UserSettings(ctx, p.User)
		if err != nil {
			t.Fatal(err)
		}
		want := tc.want
		if want == "" {
			want = reconcile.DefaultShareCategory // no connector: the session's own default
		}
		if got := us.Email.ShareCategory; got != tc.want {
			t.Errorf("%q: e-mail share category %q, want %q", tc.crm.Name, got, tc.want)
		}
		for _, k := range item.Kinds {
			if got := us.Policies[k].WithDefaults(k).ShareCategory; got != want {
				t.Errorf("%q: %s share category %q, want %q", tc.crm.Name, k, got, want)
			}
		}
		// The user's own choices stay, and so do their other settings.
		us, err = acc.UserSettings(ctx, q.User)
		if err != nil {
			t.Fatal(err)
		}
		if got := us.Email.ShareCategory; got != "To CRM" {
			t.Errorf("%q: the user's e-mail category became %q", tc.crm.Name, got)
		}
		if got := us.Policies[item.Event].WithDefaults(item.Event).ShareCategory; got != "Meetings to CRM" {
			t.Errorf("%q: the user's meeting category became %q", tc.crm.Name, got)
		}
		if got := us.Policies[item.Contact].WithDefaults(item.Contact); got.Direction != reconcile.CRMToMailbox || got.ShareCategory != want {
			t.Errorf("%q: contact policy %+v, want crm-to-mailbox shared by %q", tc.crm.Name, got, want)
		}
	}
}

// TestConnectorShareCategory: a connector's default share category is its
// own ShareCategory, else its name (Salesforce's stays "Salesforce").
func TestConnectorShareCategory(t *testing.T) {
	for _, tc := range []struct {
		c    side.Connector
		want string
	}{{salesforce.Connector, "Salesforce"}, {c4c.Connector, "SAP C4C"}, {side.Connector{Name: "Acme CRM"}, "Acme CRM"}} {
		if got := tc.c.DefaultShareCategory(); got != tc.want {
			t.Errorf("%q: DefaultShareCategory() = %q, want %q", tc.c.Name, got, tc.want)
		}
	}
}
