package sides_test

import (
	"flag"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/sides"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

var idleContacts = flag.Int("sides.idle.contacts", 500, "contacts in BenchmarkIdleSession's world (the issue's figure is at 10000)")

// graphResources are the Graph resources a request is counted under: the
// last of them its path names (so folder look-ups and delta reads of items
// count apart).
var graphResources = []string{"contactFolders", "contacts", "lists", "tasks", "calendarView", "events", "mailFolders", "messages", "$batch"}

// resourceCounter counts Graph API requests by resource on their way out.
type resourceCounter struct {
	base  http.RoundTripper
	graph string // the Graph base URL's host
	mu    sync.Mutex
	n     map[string]int
}

func (c *resourceCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == c.graph && strings.Contains(r.URL.Path, "/v1.0/") {
		res := "other"
		for _, seg := range strings.Split(r.URL.Path, "/") {
			if slices.Contains(graphResources, seg) {
				res = seg
			}
		}
		c.mu.Lock()
		c.n[res]++
		c.mu.Unlock()
	}
	return c.base.RoundTrip(r)
}

func (c *resourceCounter) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// BenchmarkIdleSession measures the session that runs most often: a user
// whose data is synced and did not change. A seeded world (Salesforce
// contacts, tasks and events, a shared e-mail) is synced once and settled
// (the session after it reads back crmsync's own writes); then a session with
// no change is measured: CRM calls, Graph requests per resource, table reads
// (links apart) and table writes beyond the lease, which should be none. Run
// with -benchtime 1x; -sides.idle.contacts sets the size.
func BenchmarkIdleSession(b *testing.B) {
	contacts, tasks, events := *idleContacts, 100, 100
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w := newWorld(b)
		opener := w.runner.Opener.(*sides.Opener)
		counter := &resourceCounter{base: http.DefaultTransport, graph: strings.TrimPrefix(w.gURL, "http://"), n: map[string]int{}}
		opener.CRM.(*salesforce.Opener).HTTPClient = &http.Client{Transport: counter}
		opener.Mailbox.(*msgraph.Opener).HTTPClient = &http.Client{Transport: counter}
		w.seedSalesforce(contacts, tasks, events)
		w.putSharedMessage(b)
		if rep := w.session(); rep.Counts["contact|to-mailbox|create"] != contacts || rep.Counts["email|to-crm|share"] != 1 {
			b.Fatalf("first session: %v, want %d contacts and the e-mail synced", rep.Counts, contacts)
		}
		w.session()
		counter.reset()
		reads := storetest.CountReads(w.tables)
		w.runner.Store = reads
		b.StartTimer()
		rep := w.session()
		b.StopTimer()
		w.runner.Store = w.tables
		b.ReportMetric(float64(reads.Of("")), "table-reads/op")
		b.ReportMetric(float64(reads.Of(session.LinksTable)), "table-reads-links/op")
		if len(rep.Counts) != 0 {
			b.Fatalf("the idle session changed %v", rep.Counts)
		}
		b.ReportMetric(float64(rep.Calls["crm"]), "crm-calls")
		b.ReportMetric(float64(rep.Calls["mailbox"]), "graph-requests")
		for res, n := range counter.reset() {
			b.ReportMetric(float64(n), "graph-"+strings.TrimPrefix(res, "$")+"-requests")
		}
		b.ReportMetric(float64(rep.TableWrites-2), "table-writes-beyond-lease")
		b.StartTimer()
	}
}
