package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/google"
)

// requestLog notes the method and path of every request a handler serves.
type requestLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.calls = append(l.calls, r.Method+" "+r.URL.Path)
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// since returns the calls after the first n.
func (l *requestLog) since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls[n:])
}

func (l *requestLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.calls)
}

const (
	callStopChannel = "POST /calendar/v3/channels/stop"
	callStopGmail   = "POST /gmail/v1/users/me/stop"
	callRevoke      = "POST /revoke"
)

// TestAccountDeletionStopsGooglePush: deleting the account of a user whose
// sessions opened a Calendar watch channel and a Gmail watch makes the
// local Google see channels.stop and users.stop for the user, then the
// token's revocation; the local Google then holds neither. When the stop
// fails (Calendar answers 503), the deletion still completes and revokes
// the token: the channel is left to lapse, and its notifications are
// acknowledged and ignored (TestCalendarPushReachesSalesforce).
func TestAccountDeletionStopsGooglePush(t *testing.T) {
	for _, c := range []struct {
		name    string
		failing bool
	}{{"stops succeed", false}, {"channels.stop fails", true}} {
		t.Run(c.name, func(t *testing.T) {
			ps := &fakegoogle.PubSub{Topic: testTopic, ServiceAccount: testPushActor}
			g := newGoogleWorld(t, map[string]string{google.NamePubSubTopic: testTopic, google.NamePubSubServiceAccount: testPushActor},
				fakegoogle.Options{PubSub: ps})
			ps.Endpoint = g.srv.URL + "/api/notifications"
			if first := g.runSession(t, g.user); first.Outcome != "ok" {
				t.Fatalf("first session: %q %s", first.Outcome, first.Detail)
			}
			if chs := g.fg.Channels(googleWorldUser); len(chs) != 1 {
				t.Fatalf("after the first session the local Google holds channels %+v; want one", chs)
			}
			if _, _, ok := g.fg.GmailWatch(googleWorldUser); !ok {
				t.Fatal("after the first session Gmail is not watched")
			}
			g.queued(t)
			if c.failing {
				g.fg.FailNext("calendar", http.StatusServiceUnavailable, "backendError", "")
			}
			n := g.calls.len()
			if status, _, body := g.b.fetch(t, "DELETE", g.srv.URL+"/api/dashboard/v1/me", nil, map[string]string{"X-CSRF-Token": g.csrf(t, g.b)}); status/100 != 2 {
				t.Fatalf("account deletion answered %d: %s", status, body)
			}
			calls := g.calls.since(n)
			stop, gmail, revoke := slices.Index(calls, callStopChannel), slices.Index(calls, callStopGmail), slices.Index(calls, callRevoke)
			if stop < 0 || gmail < 0 || revoke < 0 || revoke < stop || revoke < gmail {
				t.Fatalf("the local Google saw %q during the deletion; want channels.stop and users.stop, then the revocation", calls)
			}
			if _, _, ok := g.fg.GmailWatch(googleWorldUser); ok {
				t.Error("Gmail is still watched after the deletion")
			}
			chs := g.fg.Channels(googleWorldUser)
			if c.failing && len(chs) != 1 {
				t.Errorf("channels after a failed stop: %+v; want the channel left to lapse", chs)
			}
			if !c.failing && len(chs) != 0 {
				t.Errorf("channels after the deletion: %+v; want none", chs)
			}
			if _, err := g.app.conns.Get(t.Context(), g.user, "google"); err == nil {
				t.Error("the Google connection survived the deletion")
			}
		})
	}
}

// TestAccountDeletionDeletesGraphSubscriptions: the same ordering for a
// Microsoft 365 mailbox. The first session creates the user's Graph
// subscriptions; deleting the account deletes them at Graph with the
// user's token (not only the records here), so Graph stops calling before
// they would have expired.
func TestAccountDeletionDeletesGraphSubscriptions(t *testing.T) {
	w := newTestWorld(t, worldOptions{})
	b := w.newBrowser()
	w.signIn(t, b)
	user := w.signedInUser(t, b)
	form := url.Values{"username": {fakesalesforce.DemoUsername}, "password": {fakesalesforce.DemoPassword}}
	if status, _, body := b.fetch(t, "POST", w.srv.URL+"/api/dashboard/connect/salesforce/password", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": w.csrf(t, b)}); status != http.StatusOK {
		t.Fatalf("Salesforce connect answered %d: %s", status, body)
	}
	w.connectMicrosoft(t, b)
	if first := w.runSession(t, user); first.Outcome != "ok" {
		t.Fatalf("first session: %q %s", first.Outcome, first.Detail)
	}
	if subs := w.graph.Subscriptions(fakegraph.DemoUser); len(subs) == 0 {
		t.Fatal("the first session created no Graph subscription: the test would prove nothing")
	}
	if status, _, body := b.fetch(t, "DELETE", w.srv.URL+"/api/dashboard/v1/me", nil, map[string]string{"X-CSRF-Token": w.csrf(t, b)}); status/100 != 2 {
		t.Fatalf("account deletion answered %d: %s", status, body)
	}
	if subs := w.graph.Subscriptions(fakegraph.DemoUser); len(subs) != 0 {
		t.Errorf("after the deletion Graph still holds the subscriptions %v", subs)
	}
}
