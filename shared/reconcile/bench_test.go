package reconcile

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/crmsync/crmsync/shared/item"
)

// BenchmarkPlan100kLinks1pctChanged plans an incremental session over
// 100,000 linked contacts where 1% changed on each side (a tenth of those on
// both), and reports the heap the plan needs on top of its input.
func BenchmarkPlan100kLinks1pctChanged(b *testing.B) {
	const n = 100_000
	key := testKey
	fields := item.DefaultFields[item.Contact]
	value := func(i int, f string, gen int) string { return fmt.Sprintf("%s-%d-%d", f, i, gen) }
	record := func(side string, i, gen int) item.Record {
		r := item.Record{Kind: item.Contact, ID: fmt.Sprintf("%s%06d", side, i), Version: fmt.Sprintf("v%d", gen), Fields: make(map[string]string, len(fields))}
		for _, f := range fields {
			r.Fields[f] = value(i, f, 0)
		}
		r.Fields[item.Email] = fmt.Sprintf("p%d@example.com", i)
		return r
	}
	links := make([]Link, n)
	for i := range n {
		base := record("c", i, 1)
		links[i] = Link{Kind: item.Contact, CRMID: base.ID, MailboxID: fmt.Sprintf("m%06d", i),
			Fingerprints: item.Fingerprints(key, base, fields), CRMVersion: "v1", MailboxVersion: "v1"}
	}
	var crm, mbx []item.Record
	for i := 0; i < n; i += 100 {
		r := record("c", i, 2)
		r.Fields[item.Phone] = value(i, item.Phone, 2)
		crm = append(crm, r)
	}
	for i := 10; i < n; i += 100 {
		// Every tenth change lands on a record the CRM changed too.
		j := i
		if (i/100)%10 == 0 {
			j = i - 10
		}
		r := record("m", j, 2)
		r.Fields[item.Title] = value(j, item.Title, 3)
		mbx = append(mbx, r)
	}
	in := Input{Kind: item.Contact, Now: t0, Key: key, Links: links,
		CRM: item.Changes{Kind: item.Contact, Records: crm}, Mailbox: item.Changes{Kind: item.Contact, Records: mbx}}

	var peak, allocated uint64
	var actions int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		out, err := Plan(in)
		b.StopTimer()
		runtime.ReadMemStats(&after)
		if err != nil {
			b.Fatal(err)
		}
		actions = len(out.Actions)
		// HeapAlloc after the plan, before any collection, bounds from
		// above what the plan held at its peak (live data plus garbage).
		if d := after.HeapAlloc - before.HeapAlloc; after.HeapAlloc > before.HeapAlloc && d > peak {
			peak = d
		}
		allocated = after.TotalAlloc - before.TotalAlloc
		b.StartTimer()
	}
	b.ReportMetric(float64(peak), "peak-heap-B")
	b.ReportMetric(float64(allocated), "alloc-B/plan")
	b.ReportMetric(float64(actions), "actions/op")
}

// BenchmarkPlanFirstSync10k plans a first sync over full listings of 10,000
// contacts on each side, half of them on both sides (matched by e-mail).
func BenchmarkPlanFirstSync10k(b *testing.B) {
	const n = 10_000
	fields := item.DefaultFields[item.Contact]
	record := func(side string, i int) item.Record {
		r := item.Record{Kind: item.Contact, ID: fmt.Sprintf("%s%05d", side, i), Version: "v1", Fields: make(map[string]string, len(fields))}
		for _, f := range fields {
			r.Fields[f] = fmt.Sprintf("%s-%d", f, i)
		}
		r.Fields[item.Email] = fmt.Sprintf("p%d@example.com", i)
		return r
	}
	var crm, mbx []item.Record
	for i := range n {
		crm = append(crm, record("c", i))
		mbx = append(mbx, record("m", i+n/2))
	}
	in := Input{Kind: item.Contact, Now: t0, Key: testKey,
		CRM:     item.Changes{Kind: item.Contact, Records: crm, Full: true},
		Mailbox: item.Changes{Kind: item.Contact, Records: mbx, Full: true}}
	var actions int
	b.ReportAllocs()
	for b.Loop() {
		out, err := Plan(in)
		if err != nil {
			b.Fatal(err)
		}
		actions = len(out.Actions)
	}
	b.ReportMetric(float64(actions), "actions/op")
}
