package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/insight"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

// BenchmarkHistoryPage renders 90 days of history for one user (a session
// rolled up on each day) and for an organisation of 1,000 users (each
// syncing on 9 of the 90 days, so every day's shard rows exist). Bound: the
// history itself is one query page either way — at most 90 rows for a
// user, 90×8 for an organisation, whatever its size — so history-reads/op
// must stay 1; table-reads/op adds the sign-in and access checks.
func BenchmarkHistoryPage(b *testing.B) {
	var reads *storetest.Reads
	f := newFixtureOver(b, func(s tablestore.Store) tablestore.Store { reads = storetest.CountReads(s); return reads })
	ctx := context.Background()
	orgOf := func(context.Context, string) (string, error) { return orgA, nil }
	seed := insight.New(f.tables, orgOf, nil, func() time.Time { return f.now })
	for back := range insight.Days {
		seed.Ended(ctx, session.Ended{User: f.user.User, CRMCallsToday: 50, CRMLimit: 15000, Report: session.Report{
			Started: f.now.AddDate(0, 0, -back), Outcome: "ok", Counts: map[string]int{"contact|to-mailbox|create": 3, "task|to-crm|update": 1}}})
	}
	for u := range 1000 {
		for k := range 9 {
			back := (u + k*10) % insight.Days
			seed.Ended(ctx, session.Ended{User: fmt.Sprintf("member-%04d", u), CRMCallsToday: 20, CRMLimit: 15000, Report: session.Report{
				Started: f.now.AddDate(0, 0, -back), Outcome: "partial", Issues: 1, Counts: map[string]int{"event|to-crm|create": 1}}})
		}
	}
	for _, page := range []struct{ name, path string }{
		{"user", dashboard.Prefix + "/history?days=90"}, {"org-1000-users", dashboard.Prefix + "/orgs/{org}/history?days=90"},
	} {
		b.Run(page.name, func(b *testing.B) {
			who := f.user
			if page.name != "user" {
				who = f.admin
			}
			reads.Reset()
			for b.Loop() {
				if code, body, _ := f.call(b, who, http.MethodGet, page.path, "", false); code != http.StatusOK {
					b.Fatalf("status %d: %s", code, body)
				}
			}
			table := insight.HistoryTable
			if page.name != "user" {
				table = insight.OrgHistoryTable
			}
			hist := float64(reads.Of(table)) / float64(b.N)
			if hist != 1 {
				b.Errorf("%.1f history reads per page, want 1 (one query page)", hist)
			}
			b.ReportMetric(hist, "history-reads/op")
			b.ReportMetric(float64(reads.Of(""))/float64(b.N), "table-reads/op")
		})
	}
}
