package demo_test

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/demo"
	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/settings"
	"github.com/crmsync/crmsync/shared/tablestore"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestDemoSeedsAUserAndAnAdmin: the demo world signs up Dana (connected,
// scheduled) and Avery, an organisation admin of the same organisation,
// names Avery in CRMSYNC_ADMIN_EMAILS, and puts Dana on one plan that the
// settings and the schedule both name.
func TestDemoSeedsAUserAndAnAdmin(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tables, err := tablestore.OpenEmbedded(filepath.Join(dir, "tables.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer tables.Close()
	q, err := queue.OpenEmbedded(filepath.Join(dir, "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ring, err := keyring.OpenFileRing(filepath.Join(dir, "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := demo.Start(ctx, demo.Options{Store: tables, Queue: q, KeyRing: ring, PublicURL: "http://127.0.0.1:7071",
		Salesforce: listen(t), Graph: listen(t), IdP: listen(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	if !slices.Contains(w.Env, settings.NameAdminEmails+"="+demo.AdminEmail) || !slices.Contains(w.Env, settings.NameDefaultPlan+"="+demo.Plan) {
		t.Errorf("the demo's settings do not name the admin and the plan: %v", w.Env)
	}
	grants := access.NewStore(tables, nil)
	checker := access.NewChecker(grants)
	admin := access.Principal{User: w.Admin, Org: "11111111-1111-4111-8111-111111111111"}
	if err := checker.Check(ctx, admin, access.GrantsWrite, access.Org(admin.Org)); err != nil {
		t.Errorf("the demo admin cannot manage the organisation: %v", err)
	}
	user := access.Principal{User: w.User, Org: admin.Org}
	if err := checker.Check(ctx, user, access.StatusRead, access.Org(admin.Org)); err == nil {
		t.Error("the demo user is an admin too")
	}
	accounts, err := account.New(account.Deps{Tables: tables, Sealer: account.KeysSealer{Keys: ring}, Scheduler: schedule.New(tables, q), Grants: grants})
	if err != nil {
		t.Fatal(err)
	}
	s, err := accounts.Settings(ctx, w.User)
	if err != nil {
		t.Fatal(err)
	}
	e, err := schedule.New(tables, q).Get(ctx, w.User)
	if err != nil {
		t.Fatal(err)
	}
	if s.Plan != demo.Plan || e.Plan != demo.Plan {
		t.Errorf("the demo user's settings say plan %q and the schedule %q, want both %q", s.Plan, e.Plan, demo.Plan)
	}
	members, err := accounts.Members(ctx, admin.Org)
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, m := range members {
		emails = append(emails, m.Email)
	}
	slices.Sort(emails)
	if got := strings.Join(emails, ","); got != "admin@crmsync.local,demo@crmsync.local" {
		t.Errorf("the demo organisation's members are %s", got)
	}
}
