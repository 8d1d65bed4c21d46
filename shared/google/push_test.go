package google

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/item"
)

// handlerTransport serves requests with a handler in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// TestWatchPush: Changes opens a watch channel on the calendar; the "sync"
// handshake is no change, an event written afterwards enqueues the user
// once; a wrong token is refused; near its expiry the channel is replaced
// and the old one stopped, so a change still enqueues once.
func TestWatchPush(t *testing.T) {
	key := []byte("push-key")
	var mu sync.Mutex
	var enqueued []string
	codes := map[int]int{}
	handler := Push{Key: key}.PushHandler(func(ctx context.Context, user string) error {
		mu.Lock()
		defer mu.Unlock()
		enqueued = append(enqueued, user)
		return nil
	})
	counting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, r)
		mu.Lock()
		codes[rec.Code]++
		mu.Unlock()
		w.WriteHeader(rec.Code)
	})
	now := time.Now()
	clock := func() time.Time { return now }
	fg := fakegoogle.New(fakegoogle.Options{Now: clock, HTTPClient: &http.Client{Transport: handlerTransport{counting}}})
	access, _ := fg.AddUser(testUser)
	c, err := New(Options{BaseURL: "http://google.local", HTTPClient: &http.Client{Transport: fg.Transport()},
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access})})
	if err != nil {
		t.Fatal(err)
	}
	s := NewSide(c).WithWatch(WatchOptions{Address: "https://push.test/google", Key: key, User: "u1", Now: clock})
	ctx := t.Context()
	scope := window()
	first, err := s.Changes(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(enqueued) != 0 || codes[200] != 1 {
		t.Fatalf("after the handshake: enqueued %v, answers %v; want none and one 200", enqueued, codes)
	}
	at := scope.From.Add(72 * time.Hour)
	ev := map[string]string{item.Subject: "Pushed", item.Start: at.Format(time.RFC3339), item.End: at.Add(time.Hour).Format(time.RFC3339)}
	if _, err := s.createEvent(ctx, ev, ""); err != nil {
		t.Fatal(err)
	}
	if len(enqueued) != 1 || enqueued[0] != "u1" {
		t.Fatalf("after a change: enqueued %v, want [u1]", enqueued)
	}
	// A forged notification.
	req := httptest.NewRequest("POST", "/google", nil)
	req.Header.Set("X-Goog-Channel-ID", "crmsync-forged")
	req.Header.Set("X-Goog-Channel-Token", channelToken([]byte("other key"), "crmsync-forged", "u1"))
	req.Header.Set("X-Goog-Resource-State", "exists")
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || len(enqueued) != 1 {
		t.Errorf("forged notification: %d, enqueued %v", rec.Code, enqueued)
	}
	// Six days on, the week-long channel is replaced; the old one stops.
	now = now.Add(6 * 24 * time.Hour)
	next, err := s.Changes(ctx, scope, first.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	before := len(enqueued)
	if _, err := s.createEvent(ctx, ev, ""); err != nil {
		t.Fatal(err)
	}
	if got := len(enqueued) - before; got != 1 {
		t.Errorf("after renewal: a change enqueued %d times, want once (old channel stopped)", got)
	}
	// Within its life the channel is kept: no new watch.
	fg.ResetRequests()
	if _, err := s.Changes(ctx, scope, next.Cursor); err != nil {
		t.Fatal(err)
	}
	if n := fg.Requests()["calendar"]; n != 1 {
		t.Errorf("a read with a live channel made %d Calendar requests, want 1", n)
	}
	// Push turned off: the next read stops the channel it no longer keeps.
	if len(fg.Channels(testUser)) != 1 {
		t.Fatalf("channels before push is turned off: %+v", fg.Channels(testUser))
	}
	plain := NewSide(c)
	if _, err := plain.Changes(ctx, scope, next.Cursor); err != nil {
		t.Fatal(err)
	}
	if chs := fg.Channels(testUser); len(chs) != 0 {
		t.Errorf("after a read without push the channels are %+v, want none", chs)
	}
}

// BenchmarkPushLatency is the time from an event written in Google to the
// user's session enqueued by the notification (in process: the API call,
// the notification and the handler).
func BenchmarkPushLatency(b *testing.B) {
	key := []byte("k")
	n := 0
	handler := Push{Key: key}.PushHandler(func(ctx context.Context, user string) error { n++; return nil })
	fg := fakegoogle.New(fakegoogle.Options{HTTPClient: &http.Client{Transport: handlerTransport{handler}}})
	access, _ := fg.AddUser(testUser)
	c, err := New(Options{BaseURL: "http://google.local", HTTPClient: &http.Client{Transport: fg.Transport()},
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access})})
	if err != nil {
		b.Fatal(err)
	}
	s := NewSide(c).WithWatch(WatchOptions{Address: "https://push.test/google", Key: key, User: "u1"})
	scope := window()
	if _, err := s.Changes(b.Context(), scope, ""); err != nil {
		b.Fatal(err)
	}
	at := scope.From.Add(72 * time.Hour)
	ev := map[string]string{item.Subject: "Pushed", item.Start: at.Format(time.RFC3339), item.End: at.Add(time.Hour).Format(time.RFC3339)}
	for b.Loop() {
		before := n
		if _, err := s.createEvent(b.Context(), ev, ""); err != nil {
			b.Fatal(err)
		}
		if n != before+1 {
			b.Fatalf("notification not delivered")
		}
	}
}
