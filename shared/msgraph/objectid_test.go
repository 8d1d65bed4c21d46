package msgraph

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/item"
)

// TestAppOnlyPathsNameTheObjectID: an app-only client resolves its user's
// address to the directory object id once, so delta links (cursors) and
// subscription resources never hold the address; a cursor and a
// subscription stored with the address are replaced. The previous client
// built users/{address}/… paths, and stored them.
func TestAppOnlyPathsNameTheObjectID(t *testing.T) {
	now := time.Now()
	fg := fakegraph.New(fakegraph.Options{Now: func() time.Time { return now }})
	upn := "dana@contoso.test"
	objectID := fg.AddMailbox(upn, "Dana")
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, tok)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(hook.Close)
	graph := httptest.NewServer(fg)
	t.Cleanup(graph.Close)
	app := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fg.AppToken()})
	ctx := t.Context()
	// What an earlier release stored: paths by address.
	old, err := New(Options{BaseURL: graph.URL + "/v1.0", User: upn, TokenSource: app})
	if err != nil {
		t.Fatal(err)
	}
	oldSide := NewSide(old, SideOptions{})
	scope := item.Scope{Kind: item.Contact}
	oldCh, err := oldSide.Changes(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	subs, err := NewSubscriptions(SubscriptionOptions{Store: newMemStore(), Key: testKey, NotificationURL: hook.URL + "/api/notifications",
		LifecycleURL: hook.URL + "/api/notifications?lifecycle=1", Clients: func(context.Context, string) (*Client, error) { return old, nil }})
	if err != nil {
		t.Fatal(err)
	}
	oldRes, err := oldSide.Resources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := subs.Ensure(ctx, old, "user-1", oldRes, now); err != nil {
		t.Fatal(err)
	}

	c, err := New(Options{BaseURL: graph.URL + "/v1.0", User: upn, TokenSource: app})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ResolveUser(ctx); err != nil {
		t.Fatal(err)
	}
	if c.UserID() != objectID {
		t.Fatalf("resolved %q, want the object id %q", c.UserID(), objectID)
	}
	side := NewSide(c, SideOptions{})
	ch, err := side.Changes(ctx, scope, oldCh.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Full || strings.Contains(ch.Cursor, upn) || !strings.Contains(ch.Cursor, objectID) {
		t.Errorf("after the switch: full %v, cursor %s; want a full read and a cursor naming the object id", ch.Full, ch.Cursor)
	}
	res, err := side.Resources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := subs.Ensure(ctx, c, "user-1", res, now); err != nil {
		t.Fatal(err)
	}
	recs, err := subs.ForUser(ctx, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(res) {
		t.Errorf("%d subscriptions, want %d", len(recs), len(res))
	}
	for _, r := range recs {
		if strings.Contains(r.Resource, upn) || !strings.Contains(r.Resource, objectID) {
			t.Errorf("subscription resource %q, want the object id and no address", r.Resource)
		}
	}
	if got := len(fg.Subscriptions(upn)); got != len(res) {
		t.Errorf("the local Graph holds %d subscriptions, want the %d current ones (the old ones ended)", got, len(res))
	}
}
