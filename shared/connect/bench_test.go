package connect_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
)

// countCalls counts requests reaching a provider.
func countCalls(h http.Handler, n *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	})
}

// BenchmarkSalesforceConnect runs the whole web-server flow (login page,
// code, token exchange, save) and reports the Salesforce requests per
// connect, of which the app's own are the token exchange only.
func BenchmarkSalesforceConnect(b *testing.B) {
	w := newWorld(b)
	var calls atomic.Int64
	w.sfSrv.Config.Handler = countCalls(http.HandlerFunc(w.salesforce), &calls)
	for b.Loop() {
		if _, res, msg := result(w.browser(testUser).connectSalesforce()); res != "ok" {
			b.Fatalf("connect: %q", msg)
		}
	}
	b.ReportMetric(float64(calls.Load())/float64(b.N), "sf_calls/op")
}

// BenchmarkAppOnlyOnboarding onboards 20 mailboxes per request and reports
// Graph and token-endpoint requests per mailbox.
func BenchmarkAppOnlyOnboarding(b *testing.B) {
	w := newWorld(b)
	var calls atomic.Int64
	w.graphSr.Config.Handler = countCalls(w.graph, &calls)
	lines := make([]string, 20)
	for i := range lines {
		lines[i] = fmt.Sprintf("m%02d@acme.example", i)
		w.graph.AddMailbox(lines[i], lines[i])
		w.users[lines[i]] = fmt.Sprintf("u-%02d", i)
	}
	admin := w.browser("u-admin")
	for b.Loop() {
		if status, body := admin.postJSON("/admin/microsoft/app-only", csrfGood, map[string]any{"lines": lines}); status != 200 || body["failed"].(float64) != 0 {
			b.Fatalf("onboarding: %d %v", status, body)
		}
	}
	b.ReportMetric(float64(calls.Load())/float64(b.N*len(lines)), "graph_calls/mailbox")
}
