package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/orgwatch"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

// TestDirectoryKeptWhereInputsChange: the detector's directory costs a
// session nothing — a whole session through the syncworker reads no
// directory row, and the after-session step reads exactly what the mailbox's
// subscriptions read, none of the connection, settings or directory reads it
// made before — and a settings change reaches the directory when saved: the
// user who moves to a list view is requested on another owner's change,
// which did not concern them before; moving back, it no longer does.
func TestDirectoryKeptWhereInputsChange(t *testing.T) {
	ctx := context.Background()
	var reads *storetest.Reads
	storeWrap = func(s tablestore.Store) tablestore.Store { reads = storetest.CountReads(s); return reads }
	t.Cleanup(func() { storeWrap = nil })
	clock := &movedClock{}
	w := integrationWorld(t, clock.now)
	storeWrap = nil
	otherOwner, err := w.sf.AddUser(fakesalesforce.User{Username: "oscar@world.example", Email: "oscar@world.example", LastName: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	org := w.sf.OrgID()
	b := w.newBrowser()
	user, token := w.connectUser(t, b)
	body, _ := json.Marshal(map[string]string{"username": "integration@world.example"})
	if status, _, resp := b.fetch(t, "POST", w.srv.URL+"/api/dashboard/connect/admin/salesforce/integration", strings.NewReader(string(body)),
		map[string]string{"Content-Type": "application/json", "X-CSRF-Token": token}); status != http.StatusOK {
		t.Fatalf("setting up the integration connection: %d %s", status, resp)
	}
	if first := w.runSession(t, user); first.Outcome != "ok" {
		t.Fatalf("first session: %q (%s)", first.Outcome, first.Detail)
	}

	// A session, then the after-session step alone, then what the mailbox's
	// subscriptions read alone.
	before := reads.Of(orgwatch.UsersTable)
	if rep, err := w.trySession(t, user); err != nil || (rep.Outcome != "ok" && rep.Outcome != "") {
		t.Fatalf("second session: %q (%s) %v", rep.Outcome, rep.Detail, err) // "": idle, no report stored
	}
	if n := reads.Of(orgwatch.UsersTable) - before; n != 0 {
		t.Errorf("a session read the detector's directory %d times, want 0", n)
	}
	count := func(fn func() error) map[string]int {
		t.Helper()
		tables := []string{orgwatch.UsersTable, connection.Table, account.SettingsTable, ""}
		was := map[string]int{}
		for _, tb := range tables {
			was[tb] = reads.Of(tb)
		}
		if err := fn(); err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, tb := range tables {
			out[tb] = reads.Of(tb) - was[tb]
		}
		return out
	}
	after := count(func() error { return w.app.afterSession(ctx, user) })
	subs := count(func() error { return w.app.ensureSubscriptions(ctx, user) })
	t.Logf("table reads after a session: %v; the subscriptions' alone: %v", after, subs)
	if after[""] != subs[""] || after[orgwatch.UsersTable] != 0 || after[account.SettingsTable] != 0 {
		t.Errorf("after a session: %v table reads, want the subscriptions' %v and nothing more", after, subs)
	}

	// The detector's timer, as each minute turns (orgwatch.TickOffset).
	var timer funchost.Function
	for _, f := range w.fns {
		if f.Name == "detector" {
			timer = f
		}
	}
	requested := func() []schedule.Request {
		t.Helper()
		if _, err := timer.Timer(ctx, funchost.TimerTrigger{InvocationID: "tick"}); err != nil {
			t.Fatalf("detector tick: %v", err)
		}
		return w.takeRequests(t, func(req schedule.Request) bool { return req.Reason == schedule.CRMChange })
	}
	// Past the query's overlap from the sessions' own writes in Salesforce
	// (Wendy's records, which would request her anyway).
	now := clock.now().Add(3 * time.Minute)
	clock.advance(now.Truncate(time.Minute).Add(time.Minute + orgwatch.TickOffset).Sub(clock.now()))
	requested() // the first poll sets the watermarks
	otherChange := func(name string) []schedule.Request {
		t.Helper()
		clock.advance(10 * time.Second)
		if _, err := w.sf.Insert(otherOwner, "Contact", map[string]any{"LastName": name}); err != nil {
			t.Fatal(err)
		}
		clock.advance(50 * time.Second)
		return requested()
	}
	if got := otherChange("Before"); len(got) != 0 {
		t.Fatalf("another owner's change with Wendy scoped to her own records requested %+v", got)
	}
	setView := func(view string) {
		t.Helper()
		st, err := w.app.accounts.Settings(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		st.ContactListView = view
		if err := w.app.accounts.SaveSettings(ctx, user, st); err != nil {
			t.Fatal(err)
		}
	}
	setView("00B000000000001AAA")
	if got := otherChange("During"); len(got) != 1 || got[0].User != user {
		t.Fatalf("another owner's change with Wendy scoped by a list view: %+v, want her session", got)
	}
	setView("")
	if got := otherChange("After"); len(got) != 0 {
		t.Fatalf("another owner's change with Wendy back on her own records requested %+v", got)
	}
	if owner, anyScope, ok, err := (orgwatch.Index{Store: w.app.store}).Entry(ctx, org, user); err != nil || !ok || anyScope || owner != w.sfUser {
		t.Fatalf("Wendy's entry: %q any=%v %v %v", owner, anyScope, ok, err)
	}
}
