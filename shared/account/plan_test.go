package account_test

import (
	"context"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/account"
)

// TestPlanStoredOnce: a user's plan lives in one row, the schedule's; the
// settings row never carries it, and settings read it from the schedule —
// after provisioning, after SetPlan, after the user saves settings, and
// when an older settings row still holds a stale plan. It fails against the
// previous code, which wrote the plan into both rows.
func TestPlanStoredOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.signUp(t, "org-1", "admin", "boss@example.com")
	res, err := f.acc.Provision(ctx, admin, "org-1", []string{"ann@example.com"}, "paid")
	if err != nil || len(res) != 1 || res[0].User == "" {
		t.Fatalf("provision: %v %+v", err, res)
	}
	user := res[0].User
	check := func(step, want string) {
		t.Helper()
		e, err := f.tables.Get(ctx, account.SettingsTable, user, "sync")
		if err != nil {
			t.Fatalf("%s: settings row: %v", step, err)
		}
		if doc, _ := e.Properties["Doc"].(string); strings.Contains(doc, `"plan"`) {
			t.Errorf("%s: the settings row stores a plan: %s", step, doc)
		}
		s, err := f.acc.Settings(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		en, err := f.sched.Get(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if s.Plan != want || en.Plan != want {
			t.Errorf("%s: settings say plan %q, the schedule %q; want %q in both", step, s.Plan, en.Plan, want)
		}
	}
	check("provisioned on paid", "paid")
	if err := f.acc.SetPlan(ctx, user, "free"); err != nil {
		t.Fatal(err)
	}
	check("SetPlan free", "free")
	s := account.DefaultSettings()
	s.Plan = "paid" // the user's own form cannot change it
	s.PastDays = 7
	if err := f.acc.SaveSettings(ctx, user, s); err != nil {
		t.Fatal(err)
	}
	check("settings saved", "free")
	// A settings row written before the plan had one home.
	e, _ := f.tables.Get(ctx, account.SettingsTable, user, "sync")
	e.Properties["Doc"] = `{"email":{"enabled":true},"plan":"paid"}`
	if _, err := f.tables.Upsert(ctx, account.SettingsTable, e); err != nil {
		t.Fatal(err)
	}
	if s, _ := f.acc.Settings(ctx, user); s.Plan != "free" {
		t.Errorf("an old settings row's plan %q won over the schedule's free", s.Plan)
	}
	// A user never enrolled is on the default plan.
	other := f.signUp(t, "org-1", "s9", "")
	if s, err := f.acc.Settings(ctx, other.User); err != nil || s.Plan != account.DefaultPlan {
		t.Errorf("a user never enrolled: plan %q (%v), want %s", s.Plan, err, account.DefaultPlan)
	}
}
