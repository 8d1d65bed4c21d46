package dashboard_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/session"
)

// TestBrowserWelcomeWizard: a new user is led from the overview through
// connect Salesforce → Microsoft 365 → what syncs → the first sync with its
// progress, and each visit resumes at the step their state is at (the
// connections are made here as the connect flows would store them).
func TestBrowserWelcomeWizard(t *testing.T) {
	for _, width := range widths {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			peer := f.peer.User
			P := dashboard.Prefix
			b := browsertest.New(t, f.srv.URL, width)
			signInAs(t, b, "s-peer")
			b.Expect("Overview", []string{"Setting up is not finished: next, connect Salesforce"})
			b.Click(`#setup-left a`)
			b.Expect("Getting started", []string{"Connect Salesforce", "Connect Microsoft 365", "Choose what syncs", "Run the first sync"})
			if got := browsertest.Eval[string](b, `document.querySelector("#next").getAttribute("href")`); got != P+"/connect/salesforce" {
				t.Errorf("first step leads to %q", got)
			}
			// Salesforce connected: the wizard resumes at Microsoft 365.
			if _, err := f.conns.Save(ctx, connection.Connection{User: peer, Provider: connection.Salesforce, Tenant: f.sf.OrgID(), InstanceURL: f.sfURL,
				Flow: connection.FlowPassword}, connection.Credentials{Username: "peer@a.example", Password: "x"}); err != nil {
				t.Fatal(err)
			}
			b.Open(P + "/welcome")
			if got := browsertest.Eval[string](b, `document.querySelector("[aria-current=step]").id`); got != "step-microsoft" {
				t.Errorf("after connecting Salesforce the current step is %q", got)
			}
			if _, err := f.conns.Save(ctx, connection.Connection{User: peer, Provider: connection.Microsoft, Tenant: "tid", Flow: connection.FlowAuthCode},
				connection.Credentials{RefreshToken: "rt-peer"}); err != nil {
				t.Fatal(err)
			}
			b.Open(P + "/welcome")
			b.Expect("Getting started", []string{"Change what syncs"})
			b.Click("#next")
			b.Expect("Getting started", []string{"Start the first sync"})
			if err := f.sched.Enroll(ctx, peer, "free", f.now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			b.Click("#next")
			b.Expect("Overview", []string{"Sync requested"})
			if msgs, err := f.q.Dequeue(ctx, schedule.SessionsQueue, 10, time.Minute); err != nil || len(msgs) != 1 {
				t.Errorf("the first sync queued %d sessions (%v), want 1", len(msgs), err)
			}
			// Running: the wizard shows its progress.
			f.insight.Progress(ctx, session.Progress{User: peer, SessionID: "first", Started: f.now, At: f.now, Kind: item.Contact, Read: 500, Planned: 500, Written: 100})
			b.Open(P + "/welcome")
			b.Expect("Getting started", []string{"Sync in progress", "written 100"})
			// Finished: all set.
			lease, err := session.AcquireLease(ctx, f.tables, peer, "first", time.Minute, f.now)
			if err != nil {
				t.Fatal(err)
			}
			if err := lease.Release(ctx, session.Report{Started: f.now, Outcome: "ok", Counts: map[string]int{"contact|to-mailbox|create": 500}}); err != nil {
				t.Fatal(err)
			}
			b.Open(P + "/welcome")
			b.Expect("Getting started", []string{"All set"})
			b.Open(P + "/overview")
			b.Expect("Overview", nil, "Setting up is not finished")
		})
	}
}
