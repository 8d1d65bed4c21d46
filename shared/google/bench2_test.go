package google

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/item"
)

// BenchmarkInitialWrite is the other half of an initial sync into an empty
// Google account: the CRM's 10,000 contacts and 2,000 events created, with
// each API's requests against its batch bound (BatchCreate contacts to a
// batchCreateContacts call, WriteBatch events to a batch request).
func BenchmarkInitialWrite(b *testing.B) {
	win := item.Scope{Kind: item.Event, From: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)}
	contacts := make([]item.Record, benchContacts)
	for i := range contacts {
		contacts[i] = item.Record{Fields: map[string]string{item.FirstName: "Ada", item.LastName: fmt.Sprintf("Lovelace %05d", i)}}
	}
	events := make([]item.Record, benchEvents)
	for i := range events {
		at := win.From.Add(time.Duration(i) * 30 * time.Minute)
		events[i] = item.Record{Fields: map[string]string{item.Subject: fmt.Sprintf("Meeting %d", i), item.Start: at.Format(time.RFC3339), item.End: at.Add(25 * time.Minute).Format(time.RFC3339)}}
	}
	var people, batches, n int
	for b.Loop() {
		b.StopTimer()
		fg, s := localGoogle(b) // an empty account each time
		ctx := b.Context()
		for _, sc := range []item.Scope{{Kind: item.Contact}, win} {
			if _, err := s.Changes(ctx, sc, ""); err != nil {
				b.Fatal(err)
			}
		}
		fg.ResetRequests()
		b.StartTimer()
		for _, w := range []struct {
			kind item.Kind
			recs []item.Record
		}{{item.Contact, contacts}, {item.Event, events}} {
			res, err := s.Create(ctx, w.kind, w.recs, nil)
			if err != nil || len(res) != len(w.recs) || res[len(res)-1].Err != nil {
				b.Fatalf("%s: %d results, %v", w.kind, len(res), err)
			}
		}
		got := fg.Requests()
		people, batches = people+got["people"], batches+got["batch"]
		n++
	}
	b.ReportMetric(float64(people)/float64(n), "people-requests/op")
	b.ReportMetric(float64(ceilDiv(benchContacts, BatchCreate)), "bound-people-requests/op")
	b.ReportMetric(float64(batches)/float64(n), "calendar-batches/op")
	b.ReportMetric(float64(ceilDiv(benchEvents, WriteBatch)), "bound-calendar-batches/op")
}

// BenchmarkPushLatencyToRead: an event edited in Google reaches crmsync through
// its watch channel — the local Google calls the notifications endpoint
// over loopback HTTP, the push handler checks the channel token and
// enqueues the user, and the session's incremental read (one Calendar
// request from the stored sync token) returns the edit. ns/op is the whole
// path from the edit to the read; notify-µs is the edit to the enqueue.
func BenchmarkPushLatencyToRead(b *testing.B) {
	key := []byte("push-key")
	enqueued := make(chan time.Time, 16)
	push := httptest.NewServer(Push{Key: key}.PushHandler(func(context.Context, string) error {
		enqueued <- time.Now()
		return nil
	}))
	b.Cleanup(push.Close)
	fg := fakegoogle.New(fakegoogle.Options{})
	access, _ := fg.AddUser(testUser)
	gs := httptest.NewServer(fg)
	b.Cleanup(gs.Close)
	c, err := New(Options{BaseURL: gs.URL, TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access})})
	if err != nil {
		b.Fatal(err)
	}
	s := NewSide(c).WithWatch(WatchOptions{Address: push.URL, Key: key, User: "u1"})
	ctx := b.Context()
	scope := window()
	at := scope.From.Add(72 * time.Hour)
	id, err := s.createEvent(ctx, map[string]string{item.Subject: "Pushed", item.Start: at.Format(time.RFC3339), item.End: at.Add(time.Hour).Format(time.RFC3339)}, "")
	if err != nil {
		b.Fatal(err)
	}
	first, err := s.Changes(ctx, scope, "") // opens the channel
	if err != nil {
		b.Fatal(err)
	}
	for len(enqueued) > 0 {
		<-enqueued
	}
	cursor := first.Cursor
	var notify time.Duration
	var reads, n int
	for b.Loop() {
		subject := fmt.Sprintf("Pushed %d", n)
		start := time.Now()
		// The user's edit, made in Google (not through this side).
		req, _ := http.NewRequest("PATCH", gs.URL+"/calendar/v3/calendars/primary/events/"+id, jsonBody(map[string]string{"summary": subject}))
		req.Header.Set("Authorization", "Bearer "+access)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("the edit: %v %v", resp, err)
		}
		resp.Body.Close()
		notified := <-enqueued
		notify += notified.Sub(start)
		fg.ResetRequests()
		ch, err := s.Changes(ctx, scope, cursor)
		if err != nil || len(ch.Records) != 1 || ch.Records[0].Fields[item.Subject] != subject {
			b.Fatalf("the pushed read: %+v %v", ch.Records, err)
		}
		reads += fg.Requests()["calendar"]
		cursor = ch.Cursor
		n++
	}
	b.ReportMetric(float64(notify.Microseconds())/float64(n), "notify-µs/op")
	b.ReportMetric(float64(reads)/float64(n), "read-requests/op")
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}
