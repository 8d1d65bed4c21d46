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
	"github.com/crmsync/crmsync/shared/c4c"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/settings"
	"github.com/crmsync/crmsync/shared/sides"
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
	w, tables, q, ring := startDemo(t, nil)

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

// TestDemoC4C: with CRM c4c the demo serves the seeded local C4C on the CRM
// listener, sets CRMSYNC_CRM=c4c instead of the Salesforce settings, and
// connects the demo user to it with the communication user: the stored
// connection opens a C4C side that reads the demo contacts.
func TestDemoC4C(t *testing.T) {
	ctx := context.Background()
	w, tables, _, ring := startDemo(t, func(o *demo.Options) { o.CRM = settings.CRMC4C })
	if w.C4C == nil || w.Salesforce != nil {
		t.Fatalf("C4C demo: C4C %v, Salesforce %v", w.C4C != nil, w.Salesforce != nil)
	}
	if !slices.Contains(w.Env, settings.NameCRM+"="+settings.CRMC4C) {
		t.Errorf("the demo's settings do not choose C4C: %v", w.Env)
	}
	for _, e := range w.Env {
		if strings.HasPrefix(e, salesforce.NameClientID+"=") {
			t.Errorf("a C4C demo configures Salesforce: %s", e)
		}
	}
	conns := connection.NewStore(tables, ring, connection.Options{})
	opener := &sides.Opener{Connections: conns, CRM: &c4c.Opener{Tables: tables}}
	crm, err := opener.OpenCRM(ctx, w.User, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := crm.Changes(ctx, item.Scope{Kind: item.Contact}, "")
	if err != nil || len(ch.Records) != 5 {
		t.Fatalf("the demo user's C4C contacts: %d, %v; want the 5 seeded", len(ch.Records), err)
	}
}

// startDemo starts a demo world on fresh embedded storage, closed with the
// test; set adjusts the options first (the CRM or mailbox to run).
func startDemo(t *testing.T, set func(*demo.Options)) (*demo.World, *tablestore.Embedded, *queue.Embedded, *keyring.FileRing) {
	t.Helper()
	dir := t.TempDir()
	tables, err := tablestore.OpenEmbedded(filepath.Join(dir, "tables.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tables.Close() })
	q, err := queue.OpenEmbedded(filepath.Join(dir, "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	ring, err := keyring.OpenFileRing(filepath.Join(dir, "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	o := demo.Options{Store: tables, Queue: q, KeyRing: ring, PublicURL: "http://127.0.0.1:7071",
		Salesforce: listen(t), Graph: listen(t), IdP: listen(t)}
	if set != nil {
		set(&o)
	}
	w, err := demo.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w, tables, q, ring
}
