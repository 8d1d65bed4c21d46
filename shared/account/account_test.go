package account_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/seal"
)

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*account.Settings)
		fields []string // invalid fields, in order; nil = valid
		text   string   // a substring the message must carry
	}{
		{name: "defaults", edit: func(*account.Settings) {}},
		{name: "valid policy", edit: func(s *account.Settings) {
			s.Policies = map[item.Kind]reconcile.Policy{item.Contact: {Direction: reconcile.CRMToMailbox, Conflict: reconcile.CRMWins}}
		}},
		{name: "unknown direction", edit: func(s *account.Settings) {
			s.Policies = map[item.Kind]reconcile.Policy{item.Task: {Direction: "sideways"}}
		}, fields: []string{"task"}, text: "sideways"},
		{name: "unknown kind", edit: func(s *account.Settings) {
			s.Policies = map[item.Kind]reconcile.Policy{"note": {}}
		}, fields: []string{"policies"}, text: `"note"`},
		{name: "list view id", edit: func(s *account.Settings) { s.ContactListView = "00B5e00000AbCdE" }},
		{name: "bad list view id", edit: func(s *account.Settings) { s.ContactListView = "all my contacts" }, fields: []string{"contactListView"}, text: "list view id"},
		{name: "window too wide", edit: func(s *account.Settings) { s.PastDays = 400; s.FutureDays = -1 }, fields: []string{"pastDays", "futureDays"}, text: "0..365"},
		{name: "bad domain", edit: func(s *account.Settings) { s.Email.OwnDomains = []string{"example.com", "not a domain"} }, fields: []string{"email.ownDomains"}, text: "not a domain"},
		{name: "control character in folder", edit: func(s *account.Settings) { s.Email.Folder = "a\x00b" }, fields: []string{"email.folder"}, text: "control"},
		{name: "unknown plan", edit: func(s *account.Settings) { s.Plan = "gold" }, fields: []string{"plan"}, text: "free, paid"},
		{name: "calendars", edit: func(s *account.Settings) { s.Calendars = []string{"AAMkADAwATM3ZmYAZS0=", "AQMkAGVjZmQ-_x"} }},
		{name: "bad calendar id", edit: func(s *account.Settings) { s.Calendars = []string{"../mailFolders"} }, fields: []string{"calendars"}, text: "not a calendar id"},
		{name: "calendar twice", edit: func(s *account.Settings) { s.Calendars = []string{"AAMk1", "AAMk1"} }, fields: []string{"calendars"}, text: "twice"},
		{name: "too many calendars", edit: func(s *account.Settings) {
			for i := range account.MaxCalendars + 1 {
				s.Calendars = append(s.Calendars, fmt.Sprintf("AAMk%d", i))
			}
		}, fields: []string{"calendars"}, text: "at most"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := account.DefaultSettings()
			tc.edit(&s)
			err := s.Validate(salesforce.Connector, msgraph.Connector)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *account.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, account.ErrInvalid) {
				t.Fatalf("Validate() = %v, want a *ValidationError wrapping ErrInvalid", err)
			}
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			if diff := cmp.Diff(tc.fields, got); diff != "" {
				t.Errorf("invalid fields (-want +got):\n%s", diff)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("message %q does not mention %q", err, tc.text)
			}
		})
	}
}

func TestSaveSettingsKeepsPlan(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.signUp(t, "org-1", "s1", "ann@example.com")
	if err := f.acc.SetPlan(ctx, p.User, "paid"); err != nil {
		t.Fatal(err)
	}
	s := account.DefaultSettings()
	s.Plan = "free" // a user trying to change their own plan
	s.ContactListView = "00B5e00000AbCdE"
	s.Email.OwnDomains = []string{" Example.COM ", ""}
	if err := f.acc.SaveSettings(ctx, p.User, s); err != nil {
		t.Fatal(err)
	}
	got, err := f.acc.Settings(ctx, p.User)
	if err != nil {
		t.Fatal(err)
	}
	want := account.DefaultSettings()
	want.Plan = "paid"
	want.ContactListView = "00B5e00000AbCdE"
	want.Email.OwnDomains = []string{"example.com"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored settings (-want +got):\n%s", diff)
	}
	bad := account.DefaultSettings()
	bad.Policies = map[item.Kind]reconcile.Policy{item.Event: {Conflict: "loudest-wins"}}
	if err := f.acc.SaveSettings(ctx, p.User, bad); !errors.Is(err, account.ErrInvalid) {
		t.Errorf("saving an unknown conflict rule: err = %v, want ErrInvalid", err)
	}
	if err := f.acc.SetPlan(ctx, p.User, "gold"); !errors.Is(err, account.ErrInvalid) {
		t.Errorf("SetPlan(gold): err = %v, want ErrInvalid", err)
	}
}

func TestUserSettings(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.signUp(t, "org-1", "s1", "Ann.Lee@Acme.example")
	s := account.DefaultSettings()
	s.Policies = map[item.Kind]reconcile.Policy{item.Contact: {Direction: reconcile.CRMToMailbox}}
	s.Email.CreateLeads = true
	s.PastDays = 7
	s.Calendars = []string{"AAMkSales="}
	if err := f.acc.SaveSettings(ctx, p.User, s); err != nil {
		t.Fatal(err)
	}
	us, err := f.acc.UserSettings(ctx, p.User)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(us.FingerprintKey), account.FingerprintKeyBytes; got != want {
		t.Errorf("fingerprint key has %d bytes, want %d", got, want)
	}
	if got, want := us.MaxRecords, schedule.Plans["free"].MaxRecords; got != want {
		t.Errorf("MaxRecords = %d, want the free plan's %d", got, want)
	}
	if got, want := us.Email.OwnAddress, "ann.lee@Acme.example"; got != want {
		t.Errorf("OwnAddress = %q, want %q", got, want)
	}
	if diff := cmp.Diff([]string{"Acme.example"}, us.Email.OwnDomains); diff != "" {
		t.Errorf("OwnDomains (-want +got):\n%s", diff)
	}
	if got := us.Policies[item.Contact].Direction; got != reconcile.CRMToMailbox {
		t.Errorf("contact direction = %q, want crm-to-mailbox", got)
	}
	if us.PastDays != 7 || us.FutureDays != 28 || !us.Email.CreateLeads {
		t.Errorf("PastDays, FutureDays, CreateLeads = %d, %d, %v; want 7, 28, true", us.PastDays, us.FutureDays, us.Email.CreateLeads)
	}
	if !slices.Equal(us.Calendars, []string{"AAMkSales="}) {
		t.Errorf("Calendars = %v, want the chosen one", us.Calendars)
	}
	again, err := f.acc.UserSettings(ctx, p.User)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.FingerprintKey, us.FingerprintKey) {
		t.Error("the fingerprint key changed between two reads")
	}
}

func TestFingerprintKeySealedAndStableAcrossRotation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.signUp(t, "org-1", "s1", "")
	key, err := f.acc.FingerprintKey(ctx, p.User)
	if err != nil {
		t.Fatal(err)
	}
	row := func() string {
		e, err := f.tables.Get(ctx, account.SettingsTable, p.User, "fpkey")
		if err != nil {
			t.Fatal(err)
		}
		s, _ := e.Properties["Key"].(string)
		return s
	}
	stored := row()
	if !seal.IsSealed(stored) || strings.Contains(stored, string(key)) {
		t.Fatalf("stored key %q is not a sealed value", stored)
	}
	v1, _ := seal.Version(stored)
	v2, err := f.ring.Add(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := f.acc.Reseal(ctx, v2)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Resealed != 1 || counts.Failed != 0 {
		t.Errorf("Reseal counts = %+v, want 1 resealed, 0 failed", counts)
	}
	if got, _ := seal.Version(row()); got != v2 || v1 == v2 {
		t.Errorf("key sealed with version %d after rotation, want %d (was %d)", got, v2, v1)
	}
	after, err := f.acc.FingerprintKey(ctx, p.User)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, key) {
		t.Error("rotation changed the fingerprint key itself: every fingerprint would look changed")
	}
	// A sealed key copied into another user's row does not open.
	other := f.signUp(t, "org-1", "s2", "")
	e, _ := f.tables.Get(ctx, account.SettingsTable, p.User, "fpkey")
	e.PartitionKey = other.User
	if _, err := f.tables.Upsert(ctx, account.SettingsTable, e); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acc.FingerprintKey(ctx, other.User); err == nil {
		t.Error("a key copied to another user's row opened")
	}
}

func TestProvision(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.signUp(t, "org-1", "admin", "boss@example.com")
	lines := []string{
		"ann@example.com",
		"",
		"not-an-address",
		"Bob Smith <bob@example.com>",
		"ann@example.com",
		"boss@example.com",
		"carl@localhost",
		"dora@example.org",
	}
	res, err := f.acc.Provision(ctx, admin, "org-1", lines, "")
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Line  int
		Email string
		OK    bool
		Error string
	}
	var got []row
	for _, r := range res {
		got = append(got, row{r.Line, r.Email, r.User != "", r.Error})
	}
	want := []row{
		{1, "ann@example.com", true, ""},
		{3, "not-an-address", false, "not an e-mail address"},
		{4, "Bob Smith <bob@example.com>", false, "not an e-mail address"},
		{5, "ann@example.com", false, "repeats line 1"},
		{6, "boss@example.com", false, "already a user of this org"},
		{7, "carl@localhost", false, "the domain must be a full domain name such as example.com"},
		{8, "dora@example.org", true, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	ann := res[0].User
	entry, err := f.sched.Get(ctx, ann)
	if err != nil {
		t.Fatal(err)
	}
	if !entry.Paused || entry.Plan != "free" {
		t.Errorf("schedule of a provisioned user: paused %v plan %q, want paused on free", entry.Paused, entry.Plan)
	}
	prof, err := f.acc.Profile(ctx, ann)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(account.Profile{User: ann, Org: "org-1", Email: "ann@example.com", Roles: []string{access.RoleSelf}, Created: f.now, Provisioned: true}, prof); diff != "" {
		t.Errorf("profile (-want +got):\n%s", diff)
	}
	if org, err := f.acc.OrgOf(ctx, ann); err != nil || org != "org-1" {
		t.Errorf("OrgOf(provisioned) = %q, %v; want org-1", org, err)
	}
	if user, ok, err := f.acc.ClaimInvite(ctx, "org-1", "ANN@example.com"); err != nil || !ok || user != ann {
		t.Errorf("ClaimInvite = %q, %v, %v; want %q", user, ok, err, ann)
	}
	if _, ok, _ := f.acc.ClaimInvite(ctx, "org-2", "ann@example.com"); ok {
		t.Error("an invite of org-1 was claimable from org-2")
	}
	members, err := f.acc.Members(ctx, "org-1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(members), 3; got != want {
		t.Errorf("org-1 has %d members, want %d (admin, ann, dora)", got, want)
	}
	if _, err := f.acc.Provision(ctx, admin, "org-1", []string{"", " "}, ""); !errors.Is(err, account.ErrInvalid) {
		t.Errorf("empty request: err = %v, want ErrInvalid", err)
	}
	if _, err := f.acc.Provision(ctx, admin, "org-1", []string{"x@example.com"}, "gold"); !errors.Is(err, account.ErrInvalid) {
		t.Errorf("unknown plan: err = %v, want ErrInvalid", err)
	}
	// Stored profiles hold no address in plaintext.
	for _, e := range scan(t, f.tables, account.ProfilesTable) {
		for k, v := range e.Properties {
			if s, ok := v.(string); ok && strings.Contains(s, "@") {
				t.Errorf("profile row %s/%s property %s holds an address in plaintext", e.PartitionKey, e.RowKey, k)
			}
		}
	}
}

func TestNewNamesMissingDeps(t *testing.T) {
	_, err := account.New(account.Deps{})
	if err == nil {
		t.Fatal("New without dependencies succeeded")
	}
	for _, name := range []string{"Tables", "Sealer", "Scheduler", "Grants"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestOrgKeyIsSharedByTheOrgAndNotAUserKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, err := f.acc.OrgKey(ctx, "00Dxx0000001gPL")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.acc.OrgKey(ctx, "00Dxx0000001gPL")
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.acc.OrgKey(ctx, "00Dxx0000002XYZ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || bytes.Equal(a, other) || len(a) != account.FingerprintKeyBytes {
		t.Errorf("org keys: same org equal %v, other org differs %v, %d bytes", bytes.Equal(a, b), !bytes.Equal(a, other), len(a))
	}
	if _, err := f.acc.OrgKey(ctx, ""); err == nil {
		t.Error("an org key without an org was made")
	}
}
