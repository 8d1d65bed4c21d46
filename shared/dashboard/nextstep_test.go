package dashboard_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
)

// TestBrowserEmptyAccountShowsTheNextStep: a user who has connected
// nothing yet (enrolled and held paused, as sign-up leaves them) signs in
// by clicking and sees that syncing waits for both accounts and, as the
// next step, links to connect each; no Resume, Pause or Sync now, which
// mean nothing until both are connected. The links start the connect flows.
// Their admin, on the user's page, sees the same step in words (only the
// user connects their accounts) and no Resume either.
func TestBrowserEmptyAccountShowsTheNextStep(t *testing.T) {
	for _, width := range widths {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			if err := f.sched.Enroll(ctx, f.peer.User, "free", f.now); err != nil {
				t.Fatal(err)
			}
			if err := f.sched.SetPaused(ctx, f.peer.User, true); err != nil {
				t.Fatal(err)
			}
			P := dashboard.Prefix
			noActions := func(b *browsertest.Browser) {
				t.Helper()
				for _, sel := range []string{"#resume", "#pause", "#sync-now"} {
					if b.Has(sel) {
						t.Errorf("at %s the page offers %s on an account with nothing connected", b.Location(), sel)
					}
				}
			}

			b := browsertest.New(t, f.srv.URL, width)
			b.Open(P + "/overview")
			b.Click(`a[href^="` + P + `/auth/microsoft/login"]`)
			b.Click(`button[value="s-peer"]`)
			b.Open(P + "/overview")
			b.Expect("Overview", []string{"Waiting until both accounts are connected",
				"Next: connect Salesforce and connect Microsoft 365. Syncing starts once both accounts are connected."}, "Resume")
			noActions(b)
			b.Screenshot("empty-account.png")
			links := browsertest.Eval[string](b, `[...document.querySelectorAll("#next-step a")].map(a => a.getAttribute("href")).join(" ")`)
			if want := P + "/connect/salesforce " + P + "/connect/microsoft"; links != want {
				t.Errorf("the next step links %q, want the connect flows %q", links, want)
			}

			a := browsertest.New(t, f.srv.URL, width)
			a.Open(P + "/overview")
			a.Click(`a[href^="` + P + `/auth/microsoft/login"]`)
			a.Click(`button[value="s-admin"]`)
			a.Open(P + "/users/" + f.peer.User)
			a.Expect("peer@a.example", []string{"Waiting until both accounts are connected",
				"Next: this user connects Salesforce and Microsoft 365."}, "Resume")
			noActions(a)
		})
	}
}
