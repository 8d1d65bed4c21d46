package google

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/item"
)

// Sizes of the initial-read benchmarks.
const (
	benchContacts = 10000
	benchEvents   = 2000
	benchTasks    = 250
)

// seeded is a local Google holding benchContacts contacts in the synced
// group, benchEvents events in the window and benchTasks tasks. Its clock
// moves a second per write, so the seeding spans hours as a user's data
// does, not the instant a loop takes (which would put every task in the
// tasks poll's skew).
func seeded(tb testing.TB) (*fakegoogle.Server, *Side, item.Scope) {
	tb.Helper()
	var mu sync.Mutex
	clock := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	fg, s := localGoogleWith(tb, fakegoogle.Options{Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}})
	ctx := context.Background()
	for i := range benchContacts {
		if _, err := s.createPerson(ctx, map[string]string{item.FirstName: "Ada", item.LastName: fmt.Sprintf("Lovelace %05d", i), item.Email: fmt.Sprintf("ada%05d@example.com", i)}, "", DefaultGroup, nil); err != nil {
			tb.Fatal(err)
		}
	}
	win := item.Scope{Kind: item.Event, From: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)}
	for i := range benchEvents {
		at := win.From.Add(time.Duration(i) * 30 * time.Minute)
		if _, err := s.createEvent(ctx, map[string]string{item.Subject: fmt.Sprintf("Meeting %d", i), item.Start: at.Format(time.RFC3339), item.End: at.Add(25 * time.Minute).Format(time.RFC3339)}, ""); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range benchTasks {
		if _, err := s.createTask(ctx, map[string]string{item.Subject: fmt.Sprintf("Task %d", i)}, ""); err != nil {
			tb.Fatal(err)
		}
	}
	return fg, s, win
}

// ceilDiv is the number of pages n items take at size per page.
func ceilDiv(n, size int) int { return (n + size - 1) / size }

// TestRequestBounds checks the request counts of an initial read against
// each API's page bound, and that an idle session (a new side, as each
// session opens one, from stored cursors) costs one request per resource.
func TestRequestBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 10,000 contacts")
	}
	fg, s, win := seeded(t)
	ctx := t.Context()
	fg.ResetRequests()
	contacts, err := s.Changes(ctx, item.Scope{Kind: item.Contact}, "")
	if err != nil || len(contacts.Records) != benchContacts {
		t.Fatalf("contacts: %d records, %v", len(contacts.Records), err)
	}
	events, err := s.Changes(ctx, win, "")
	if err != nil || len(events.Records) != benchEvents {
		t.Fatalf("events: %d records, %v", len(events.Records), err)
	}
	tasks, err := s.Changes(ctx, item.Scope{Kind: item.Task}, "")
	if err != nil || len(tasks.Records) != benchTasks {
		t.Fatalf("tasks: %d records, %v", len(tasks.Records), err)
	}
	mailScope := item.Scope{Kind: item.SharedEmail, ShareCategory: "Salesforce"}
	mail, err := s.SharedEmails(ctx, mailScope, "")
	if err != nil {
		t.Fatal(err)
	}
	got := fg.Requests()
	// People: the pages, plus one read of the group names for categories
	// (the synced group is known to this side since the seeding).
	if want := ceilDiv(benchContacts, PeoplePage) + 1; got["people"] != want {
		t.Errorf("initial contacts read: %d People requests, want %d", got["people"], want)
	}
	if want := ceilDiv(benchEvents, EventsPage); got["calendar"] != want {
		t.Errorf("initial events read: %d Calendar requests, want %d", got["calendar"], want)
	}
	if want := ceilDiv(benchTasks, TasksPage); got["tasks"] != want {
		t.Errorf("initial tasks read: %d Tasks requests, want %d", got["tasks"], want)
	}
	idle := NewSide(s.c)
	fg.ResetRequests()
	for _, r := range []struct {
		scope  item.Scope
		cursor string
	}{{item.Scope{Kind: item.Contact}, contacts.Cursor}, {win, events.Cursor}, {item.Scope{Kind: item.Task}, tasks.Cursor}} {
		ch, err := idle.Changes(ctx, r.scope, r.cursor)
		if err != nil || ch.Full || len(ch.Records)+len(ch.Removed) != 0 {
			t.Fatalf("idle %s: %+v, %v", r.scope.Kind, ch, err)
		}
	}
	ch, err := idle.SharedEmails(ctx, mailScope, mail.Cursor)
	if err != nil || ch.Full || len(ch.Records) != 0 {
		t.Fatalf("idle e-mails: %+v, %v", ch, err)
	}
	if got := fg.Requests(); got["people"] != 1 || got["calendar"] != 1 || got["tasks"] != 1 || got["gmail"] != 1 {
		t.Errorf("idle session: %v, want one request per resource", got)
	}
}

func BenchmarkInitialReadContacts(b *testing.B) {
	fg, s, _ := seeded(b)
	ctx := b.Context()
	fg.ResetRequests()
	n := 0
	for b.Loop() {
		ch, err := s.Changes(ctx, item.Scope{Kind: item.Contact}, "")
		if err != nil || len(ch.Records) != benchContacts {
			b.Fatal(len(ch.Records), err)
		}
		n++
	}
	b.ReportMetric(float64(fg.Requests()["people"])/float64(n), "requests/op")
	// The bound: PeoplePage to a page, and the group names once.
	b.ReportMetric(float64(ceilDiv(benchContacts, PeoplePage)+1), "bound-requests/op")
}

func BenchmarkInitialReadEvents(b *testing.B) {
	fg, s, win := seeded(b)
	ctx := b.Context()
	fg.ResetRequests()
	n := 0
	for b.Loop() {
		ch, err := s.Changes(ctx, win, "")
		if err != nil || len(ch.Records) != benchEvents {
			b.Fatal(len(ch.Records), err)
		}
		n++
	}
	b.ReportMetric(float64(fg.Requests()["calendar"])/float64(n), "requests/op")
	b.ReportMetric(float64(ceilDiv(benchEvents, EventsPage)), "bound-requests/op")
}

func BenchmarkIdleSession(b *testing.B) {
	fg, s, win := seeded(b)
	ctx := b.Context()
	scopes := []item.Scope{{Kind: item.Contact}, win, {Kind: item.Task}}
	cursors := make([]string, len(scopes))
	for i, sc := range scopes {
		ch, err := s.Changes(ctx, sc, "")
		if err != nil {
			b.Fatal(err)
		}
		cursors[i] = ch.Cursor
	}
	mailScope := item.Scope{Kind: item.SharedEmail, ShareCategory: "Salesforce"}
	mail, err := s.SharedEmails(ctx, mailScope, "")
	if err != nil {
		b.Fatal(err)
	}
	fg.ResetRequests()
	n := 0
	for b.Loop() {
		idle := NewSide(s.c) // each session opens its side afresh
		for i, sc := range scopes {
			ch, err := idle.Changes(ctx, sc, cursors[i])
			if err != nil {
				b.Fatal(err)
			}
			cursors[i] = ch.Cursor
		}
		if mail, err = idle.SharedEmails(ctx, mailScope, mail.Cursor); err != nil {
			b.Fatal(err)
		}
		n++
	}
	total := 0
	for _, v := range fg.Requests() {
		total += v
	}
	b.ReportMetric(float64(total)/float64(n), "requests/op")
	// One request per resource: contacts, events, tasks, Gmail history.
	b.ReportMetric(4, "bound-requests/op")
}

// TestInitialWriteBounds: an initial sync that writes the CRM's records into
// an empty Google account stays within the batch bounds: 10,000 contacts in
// batches of BatchCreate, 2,000 events and 250 tasks in batches of WriteBatch.
func TestInitialWriteBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10,000 contacts")
	}
	fg, s := localGoogle(t)
	ctx := t.Context()
	win := item.Scope{Kind: item.Event, From: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)}
	for _, sc := range []item.Scope{{Kind: item.Contact}, win, {Kind: item.Task}} {
		if _, err := s.Changes(ctx, sc, ""); err != nil {
			t.Fatal(err)
		}
	}
	contacts := make([]item.Record, benchContacts)
	for i := range contacts {
		contacts[i] = item.Record{Fields: map[string]string{item.FirstName: "Ada", item.LastName: fmt.Sprintf("Lovelace %05d", i)}}
	}
	events := make([]item.Record, benchEvents)
	for i := range events {
		at := win.From.Add(time.Duration(i) * 30 * time.Minute)
		events[i] = item.Record{Fields: map[string]string{item.Subject: fmt.Sprintf("Meeting %d", i), item.Start: at.Format(time.RFC3339), item.End: at.Add(25 * time.Minute).Format(time.RFC3339)}}
	}
	tasks := make([]item.Record, benchTasks)
	for i := range tasks {
		tasks[i] = item.Record{Fields: map[string]string{item.Subject: fmt.Sprintf("Task %d", i)}}
	}
	for _, w := range []struct {
		kind item.Kind
		recs []item.Record
		api  string
		want int
	}{
		{item.Contact, contacts, "people", ceilDiv(benchContacts, BatchCreate)},
		{item.Event, events, "batch", ceilDiv(benchEvents, WriteBatch)},
		{item.Task, tasks, "batch", ceilDiv(benchTasks, WriteBatch)},
	} {
		fg.ResetRequests()
		res, err := s.Create(ctx, w.kind, w.recs, nil)
		if err != nil || len(res) != len(w.recs) || res[len(res)-1].Err != nil {
			t.Fatalf("%s: %d results, %v", w.kind, len(res), err)
		}
		if got := fg.Requests()[w.api]; got != w.want {
			t.Errorf("%d %s creates: %d requests, want %d", len(w.recs), w.kind, got, w.want)
		}
	}
}
