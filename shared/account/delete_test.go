package account_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/addin"
	"github.com/crmsync/crmsync/shared/c4c"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/insight"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/orgwatch"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/tracking"
)

// seedUser writes rows for p in every table, through the owning packages'
// writers where they exist.
func (f *fixture) seedUser(t testing.TB, p access.Principal, secret string) (ids []string) {
	t.Helper()
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seeding %s for %s: %v", what, p.User, err)
		}
	}
	st := session.NewState(f.tables, p.User)
	for _, k := range item.Kinds {
		must("links", st.CommitLinks(ctx, k, []session.LinkChange{{Link: reconcile.Link{Kind: k, CRMID: "003" + string(k), MailboxID: "AAM" + string(k), LastSynced: f.now}}}))
		must("cursors", st.SaveCursors(ctx, k, session.Cursors{}, map[reconcile.Side]string{reconcile.CRM: "c1", reconcile.Mailbox: "m1"}, false, f.now))
	}
	must("intents", st.RecordIntents(ctx, []session.Intent{{Marker: "mk-" + p.User, Kind: item.Contact, Target: reconcile.CRM, Since: f.now,
		Link: reconcile.Link{Kind: item.Contact, MailboxID: "AAMx"}}}))
	must("issues", st.RaiseIssues(ctx, []session.Issue{{Kind: item.Contact, Side: reconcile.CRM, RecordID: "003x", Name: "Jane Roe", Code: "invalid", Reason: "a required field is empty"}}, f.now))
	must("sessions", st.SaveReport(ctx, session.Report{SessionID: "s-" + p.User, Started: f.now, Outcome: "ok", Counts: map[string]int{"contact|to-crm|create": 1}}))
	lease, err := session.AcquireLease(ctx, f.tables, p.User, "worker-1", time.Minute, f.now)
	must("lease", err)
	must("lease release", lease.Release(ctx, session.Report{Started: f.now, Outcome: "ok"}))
	must("schedule", f.sched.Enroll(ctx, p.User, "free", f.now))
	must("settings", f.acc.SaveSettings(ctx, p.User, account.DefaultSettings()))
	_, err = f.acc.FingerprintKey(ctx, p.User)
	must("fingerprint key", err)
	_, err = f.conns.Save(ctx, connection.Connection{User: p.User, Provider: connection.Salesforce, Tenant: "00D" + p.Org, Flow: connection.FlowAuthCode}, connection.Credentials{RefreshToken: secret})
	must("connection", err)
	_, err = f.debounce.Allow(ctx, p.User, f.now)
	must("debounce", err)
	// Subscription rows in msgraph's documented layout (creating them for
	// real needs Graph); Forget is the real one.
	subID := "sub-" + p.User
	_, err = f.tables.Upsert(ctx, msgraph.SubscriptionTable, tablestore.Entity{PartitionKey: subID, RowKey: "sub", Properties: map[string]any{"User": p.User, "Resource": "me/contacts"}})
	must("subscription", err)
	_, err = f.tables.Upsert(ctx, msgraph.SubscriptionTable, tablestore.Entity{PartitionKey: "user:" + p.User, RowKey: subID, Properties: map[string]any{}})
	must("subscription index", err)
	// Open tracking through the real tracker: a token, and an open event
	// from a pixel fetch.
	tr, err := tracking.New(tracking.Config{Store: f.tables, Key: make([]byte, 32), BaseURL: "https://crmsync.example",
		Auth: tracking.AuthenticatorFunc(func(*http.Request) (string, string, error) { return "", "", errors.New("not used") }),
		Now:  func() time.Time { return f.now }})
	must("tracker", err)
	token, _, err := tr.Mint(ctx, p.User, "<msg-"+p.User+"@example.com>", 2)
	must("tracking token", err)
	// Open events are keyed by the token alone: they are the user's too.
	ids = append(ids, token)
	pixel := httptest.NewRequest(http.MethodGet, tracking.Prefix+"/"+token+".gif", nil)
	pixel.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Microsoft Outlook 16.0")
	tr.ServeHTTP(httptest.NewRecorder(), pixel)
	if page, _ := f.tables.Query(ctx, tracking.OpensTable, tablestore.Query{PartitionKey: token}); len(page.Entities) == 0 {
		// The tracker may classify the fetch away; an open row in its
		// documented layout stands in.
		_, err = f.tables.Upsert(ctx, tracking.OpensTable, tablestore.Entity{PartitionKey: token, RowKey: "o1", Properties: map[string]any{"Kind": "human"}})
		must("tracking open", err)
	}
	// History, progress and a conflict through the real insight store.
	is := insight.New(f.tables, nil, nil, func() time.Time { return f.now })
	is.Ended(ctx, session.Ended{User: p.User, Report: session.Report{Started: f.now, Outcome: "partial", Issues: 1}})
	is.Progress(ctx, session.Progress{User: p.User, SessionID: "s1", Started: f.now, At: f.now})
	is.Conflict(ctx, session.ConflictNote{User: p.User, SessionID: "s1", Kind: item.Contact, Field: item.Title, At: f.now})
	// A notice row in notice's documented layout (sending needs a mailer).
	_, err = f.tables.Upsert(ctx, "notices", tablestore.Entity{PartitionKey: p.User, RowKey: "reconnect", Properties: map[string]any{"Day": "2026-12-01"}})
	must("notice", err)
	// Shared e-mail ledger rows in session's documented layout: an org row
	// the user made (it stays, without naming them), the user's own, and
	// people left for the user to relate.
	for _, e := range []tablestore.Entity{
		{PartitionKey: "org|00D" + p.Org, RowKey: "fp-" + secret, Properties: map[string]any{"TaskID": "00T000000000001", "Owner": p.User}},
		{PartitionKey: "user|" + p.User, RowKey: "fp1", Properties: map[string]any{"TaskID": "00T000000000002", "Owner": p.User}},
		{PartitionKey: "relate|" + p.User, RowKey: "fp1|colleague", Properties: map[string]any{"TaskID": "00T000000000002", "Who": "003000000000001"}},
	} {
		_, err = f.tables.Upsert(ctx, session.SharedTasksTable, e)
		must("shared e-mail ledger", err)
	}
	// A share from the add-in, in addin.SharesTable's documented layout.
	_, err = f.tables.Upsert(ctx, addin.SharesTable, tablestore.Entity{PartitionKey: p.User, RowKey: "k1", Properties: map[string]any{"State": "done"}})
	must("add-in share", err)
	// The user's own task-pane layout, in addin.LayoutsTable's documented layout.
	_, err = f.tables.Upsert(ctx, addin.LayoutsTable, tablestore.Entity{PartitionKey: p.User, RowKey: "layout", Properties: map[string]any{"Layout": `{"search":["Lead"]}`}})
	must("add-in layout", err)
	// The change detector's directory entry of the user.
	must("detector directory", orgwatch.Index{Store: f.tables}.Note(ctx, "00Dorg", p.User, "005owner"+p.User, false))
	// A support grant given by the user to nobody else: grants and the index.
	_, err = f.grants.Add(ctx, p, access.Grant{Principal: p, Role: access.RoleSupport, Resource: access.User(p.Org, p.User)})
	must("grant", err)
	return append(ids, p.User)
}

// owns reports whether a row belongs to a user: one of the user's ids (the
// user id, their tracking tokens) in its keys or in any property value.
func owns(e tablestore.Entity, ids []string) bool {
	for _, id := range ids {
		if strings.Contains(e.PartitionKey, id) || strings.Contains(e.RowKey, id) {
			return true
		}
		for _, v := range e.Properties {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			if strings.Contains(fmt.Sprint(v), id) {
				return true
			}
		}
	}
	return false
}

func TestAccountDeletion(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	gone := f.signUp(t, "org-1", "subject-gone", "gone@example.com")
	kept := f.signUp(t, "org-1", "subject-kept", "kept@example.com")
	goneIDs := f.seedUser(t, gone, "rt-secret-gone")
	keptIDs := f.seedUser(t, kept, "rt-secret-kept")
	// The deleted user acted as an org admin on others: provisioned a user and
	// gave the other user a role. Those rows are the others' and stay, without
	// naming the deleted user.
	res, err := f.acc.Provision(ctx, gone, "org-1", []string{"new@example.com"}, "")
	if err != nil || len(res) != 1 || res[0].User == "" {
		t.Fatalf("Provision by the user = %+v, %v; want one user", res, err)
	}
	keptIDs = append(keptIDs, res[0].User)
	if _, err := f.grants.Add(ctx, gone, access.Grant{Principal: kept, Role: access.RoleSupport, Resource: access.User("org-1", res[0].User)}); err != nil {
		t.Fatal(err)
	}

	// Every table the service wrote to, and every table it declares.
	var names []string
	for _, tb := range account.Tables(salesforce.Connector, msgraph.Connector) {
		names = append(names, tb.Name)
	}
	for _, name := range f.tables.tablesWritten() {
		if !slices.Contains(names, name) {
			t.Errorf("the service wrote to table %s, which account.Tables does not list", name)
			names = append(names, name)
		}
	}
	before := map[string][]tablestore.Entity{}
	for _, tb := range account.Tables(salesforce.Connector, msgraph.Connector) {
		rows := scan(t, f.tables, tb.Name)
		before[tb.Name] = rows
		if tb.Sweep != account.NoUserData && !slices.ContainsFunc(rows, func(e tablestore.Entity) bool { return owns(e, goneIDs) }) {
			t.Errorf("seed wrote no row of the user to table %s: the test would prove nothing there", tb.Name)
		}
	}

	if err := f.acc.Delete(ctx, gone, gone.User); err != nil {
		t.Fatalf("Delete: %v", err)
	}

	for _, name := range names {
		after := scan(t, f.tables, name)
		for _, e := range after {
			if owns(e, goneIDs) {
				t.Errorf("table %s still holds a row naming the deleted user: %s/%s", name, e.PartitionKey, e.RowKey)
			}
			for _, v := range e.Properties {
				if s, ok := v.(string); ok && strings.Contains(s, "gone@example.com") {
					t.Errorf("table %s holds the deleted user's address", name)
				}
			}
		}
		for _, e := range before[name] {
			if !owns(e, keptIDs) || strings.Contains(e.PartitionKey+e.RowKey, gone.User) {
				continue // not the others', or keyed by the deleted user
			}
			if !slices.ContainsFunc(after, func(a tablestore.Entity) bool { return a.PartitionKey == e.PartitionKey && a.RowKey == e.RowKey }) {
				t.Errorf("table %s lost a row of another user: %s/%s", name, e.PartitionKey, e.RowKey)
			}
		}
	}
	if got, want := f.revoker.revoked, []string{"rt-secret-gone"}; !slices.Equal(got, want) {
		t.Errorf("revoked tokens = %q, want %q (revoked at the provider before deletion)", got, want)
	}
	if _, err := f.sched.Get(ctx, gone.User); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("schedule of the deleted user: err = %v, want not found", err)
	}
	// The other users still work end to end, and the org's trail of what the
	// deleted user did survives under the tombstone.
	if _, err := f.acc.UserSettings(ctx, kept.User); err != nil {
		t.Errorf("UserSettings of the other user after deletion: %v", err)
	}
	if p, err := f.acc.Profile(ctx, res[0].User); err != nil || !slices.Contains(p.Roles, access.RoleSelf) {
		t.Errorf("Profile of the user the deleted user provisioned = %+v, %v; want it with its self role", p, err)
	}
	entries, err := f.grants.Audit(ctx, "org-1", 100)
	if err != nil {
		t.Fatal(err)
	}
	var byTombstone int
	for _, e := range entries {
		if e.Actor.User == access.DeletedUser {
			byTombstone++
		}
	}
	if got, want := byTombstone, 3; got != want {
		t.Errorf("audit entries by %s = %d, want %d (the provisioning, the support grant and the deletion)", access.DeletedUser, got, want)
	}
	// Deleting again is harmless (an interrupted deletion is finished by a rerun).
	if err := f.acc.Delete(ctx, gone, gone.User); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}

func TestDeleteWaitsForRunningSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.signUp(t, "org-1", "s", "a@example.com")
	if _, err := session.AcquireLease(ctx, f.tables, p.User, "worker-1", time.Hour, f.now); err != nil {
		t.Fatal(err)
	}
	err := f.acc.Delete(ctx, p, p.User)
	if !errors.Is(err, account.ErrBusy) {
		t.Fatalf("Delete while a session runs: err = %v, want ErrBusy", err)
	}
	if _, err := f.acc.Profile(ctx, p.User); err != nil {
		t.Errorf("profile after a refused deletion: %v, want it kept", err)
	}
}

// TestTablesCoverCodeBase parses every non-test Go file of the module for
// string constants named Table or …Table and fails when one is not in
// account.Tables: a new table cannot be forgotten by account deletion.
func TestTablesCoverCodeBase(t *testing.T) {
	// c4c joins salesforce and msgraph here: its table is swept like any
	// connector's PerUser table when it is the deployment's CRM; google's
	// mailbox index goes through its Forget deleter.
	root := filepath.Join("..", "..")
	known := map[string]bool{}
	for _, tb := range account.Tables(salesforce.Connector, msgraph.Connector, c4c.Connector, google.Connector) {
		if known[tb.Name] {
			t.Errorf("table %q listed twice in account.Tables", tb.Name)
		}
		known[tb.Name] = true
		if tb.Sweep != account.UserPartition && tb.Sweep != account.UserKindPartitions && tb.Why == "" {
			t.Errorf("table %q (%s) needs a Why", tb.Name, tb.Sweep)
		}
	}
	found := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", "testdata", ".git", "vendor":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, src, parser.SkipObjectResolution)
		if err != nil {
			return nil // another helper's file mid-edit; the compiler will say
		}
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasSuffix(name.Name, "Table") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					v, _ := strconv.Unquote(lit.Value)
					found[v] = fmt.Sprintf("%s (%s)", path, name.Name)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < 10 {
		t.Fatalf("found only %d table constants under %s; the scan is broken", len(found), root)
	}
	for name, where := range found {
		if !known[name] {
			t.Errorf("table %q declared at %s is not in account.Tables: say how account deletion removes a user's rows from it", name, where)
		}
	}
	for name := range known {
		if _, ok := found[name]; !ok {
			t.Errorf("account.Tables lists %q but no …Table constant declares it: remove it or name it with a constant", name)
		}
	}
	_ = schedule.Table
}
