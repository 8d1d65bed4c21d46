package msgraph

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/item"
)

// enqueued records session requests.
type enqueued struct {
	mu    sync.Mutex
	users []string
}

func (e *enqueued) enqueue(_ context.Context, user string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.users = append(e.users, user)
	return nil
}

func (e *enqueued) got() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.users)
}

var testKey = bytes.Repeat([]byte{7}, 32)

// pushRig is a local Graph on a real socket, a webhook server running
// NotificationHandler, and a user with subscriptions, whose mailbox is in
// the local Graph's tenant.
type pushRig struct {
	fg    *fakegraph.Server
	side  *Side
	subs  *Subscriptions
	store *memStore
	queue *enqueued
	hook  *httptest.Server
	user  string
	ids   []string
	now   time.Time

	mu        sync.Mutex
	tenant    string   // what the owner's connection says (Tenants)
	delivered []string // notification bodies the webhook received
}

// rigTenant is the local Graph's tenant in a pushRig.
const rigTenant = "7a5e0000-0000-4000-8000-00000000aaaa"

func (r *pushRig) ownersTenant(context.Context, string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tenant, nil
}

// lastDelivery is the latest notification body the webhook received.
func (r *pushRig) lastDelivery(t *testing.T) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.delivered) == 0 {
		t.Fatal("the local Graph delivered no notification")
	}
	return r.delivered[len(r.delivered)-1]
}

func newPushRig(t *testing.T, debounce Debouncer) *pushRig {
	t.Helper()
	r := &pushRig{store: newMemStore(), queue: &enqueued{}, user: "user-1", now: time.Now(), tenant: rigTenant}
	var handler http.Handler
	r.hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Query().Has("validationToken") || req.Body == nil {
			handler.ServeHTTP(w, req)
			return
		}
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.delivered = append(r.delivered, string(body))
		r.mu.Unlock()
		req.Body = io.NopCloser(bytes.NewReader(body))
		handler.ServeHTTP(w, req)
	}))
	t.Cleanup(r.hook.Close)
	r.fg = fakegraph.New(fakegraph.Options{Now: func() time.Time { return r.now }, TenantID: rigTenant})
	graph := httptest.NewServer(r.fg)
	t.Cleanup(graph.Close)
	upn := "push@contoso.test"
	r.fg.AddMailbox(upn, "Push User")
	c, err := New(Options{BaseURL: graph.URL + "/v1.0", TokenSource: freshTokens{r.fg, upn}})
	if err != nil {
		t.Fatal(err)
	}
	r.side = NewSide(c, SideOptions{})
	r.subs, err = NewSubscriptions(SubscriptionOptions{Store: r.store, Key: testKey, NotificationURL: r.hook.URL + "/api/notifications",
		LifecycleURL: r.hook.URL + "/api/notifications?lifecycle=1", Clients: func(context.Context, string) (*Client, error) { return c, nil },
		Tenants: r.ownersTenant})
	if err != nil {
		t.Fatal(err)
	}
	handler = NotificationHandler(NotificationOptions{
		Subscriptions: r.subs, Enqueue: r.queue.enqueue, Debounce: debounce, Now: func() time.Time { return r.now },
		Logger: slog.New(slog.DiscardHandler),
	})
	res, err := r.side.Resources(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r.ids, err = r.subs.Ensure(t.Context(), c, r.user, res, r.now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *pushRig) post(t *testing.T, body string) int {
	t.Helper()
	resp, err := http.Post(r.hook.URL+"/api/notifications", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestPushEndToEnd(t *testing.T) {
	r := newPushRig(t, nil)
	if len(r.ids) != 3 {
		t.Fatalf("subscriptions = %v, want 3 (contacts, events, share folder)", r.ids)
	}
	if live := r.fg.Subscriptions("push@contoso.test"); len(live) != 3 {
		t.Fatalf("the local Graph holds %d subscriptions, want 3", len(live))
	}
	// A change in the mailbox reaches the queue through the webhook.
	h := &graphHarness{side: r.side}
	if _, err := h.Create(t.Context(), item.Contact, map[string]string{item.LastName: "Pushed"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := r.queue.got(); !slices.Equal(got, []string{r.user}) {
		t.Errorf("enqueued %v, want one session for %s", got, r.user)
	}
	// Ensure is idempotent.
	res, _ := r.side.Resources(t.Context())
	again, err := r.subs.Ensure(t.Context(), r.side.c, r.user, res, r.now)
	if err != nil || !slices.Equal(again, r.ids) {
		t.Errorf("second Ensure = %v, %v; want the same ids %v", again, err, r.ids)
	}
}

func TestSubscriptionRowsHoldNoSecret(t *testing.T) {
	r := newPushRig(t, nil)
	for k, e := range r.store.rows {
		for name, v := range e.Properties {
			switch name {
			case "User", "Tenant", "Resource", "Expires":
			case "StateMAC":
				if b, _ := v.([]byte); len(b) != 32 {
					t.Errorf("%s: StateMAC has %d bytes, want an HMAC-SHA256", k, len(b))
				}
			default:
				t.Errorf("%s: unexpected property %s", k, name)
			}
		}
	}
}

func TestNotificationHandlerRejectsBadInput(t *testing.T) {
	r := newPushRig(t, nil)
	valid := func(sub, state string) string {
		b, _ := json.Marshal(wireNotifications{Value: []wireNotification{{SubscriptionID: sub, ClientState: state, ChangeType: "updated"}}})
		return string(b)
	}
	tests := []struct {
		name string
		body string
		want int
	}{
		{"wrong clientState", valid(r.ids[0], "forged"), http.StatusForbidden},
		{"unknown subscription", valid("00000000-dead-beef-0000-000000000000", "x"), http.StatusForbidden},
		{"index row id", valid("user:"+r.user, "x"), http.StatusForbidden},
		{"malformed json", `{"value":[{"subscriptionId":`, http.StatusBadRequest},
		{"not a delivery", `[1,2,3]`, http.StatusBadRequest},
		{"oversize", `{"value":[],"pad":"` + strings.Repeat("x", MaxNotificationBody) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.post(t, tc.body); got != tc.want {
				t.Errorf("status = %d, want %d", got, tc.want)
			}
		})
	}
	if got := r.queue.got(); len(got) != 0 {
		t.Errorf("forged notifications enqueued %v", got)
	}
	resp, err := http.Get(r.hook.URL + "/api/notifications")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET = %d, want 405", resp.StatusCode)
	}
}

// TestNotificationFromAnotherTenantIsRefused: a notification with the
// subscription's id and clientState but naming another tenant than the
// subscription owner's starts no session.
func TestNotificationFromAnotherTenantIsRefused(t *testing.T) {
	r := newPushRig(t, nil)
	for _, id := range r.ids {
		rec, err := r.subs.Get(t.Context(), id)
		if err != nil || rec.Tenant != rigTenant {
			t.Fatalf("subscription %s: tenant %q, %v; want %q recorded at creation", id, rec.Tenant, err, rigTenant)
		}
	}
	h := &graphHarness{side: r.side}
	if _, err := h.Create(t.Context(), item.Contact, map[string]string{item.LastName: "Genuine"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := r.queue.got(); !slices.Equal(got, []string{r.user}) {
		t.Fatalf("the genuine notification enqueued %v, want one session for %s", got, r.user)
	}
	genuine := r.lastDelivery(t)
	if !strings.Contains(genuine, `"tenantId":"`+rigTenant+`"`) {
		t.Fatalf("the local Graph's notification names no tenant %s: %s", rigTenant, genuine)
	}
	// with is the genuine delivery naming tenant ("" = naming none).
	with := func(tenant string) string {
		var d map[string][]map[string]any
		if err := json.Unmarshal([]byte(genuine), &d); err != nil || len(d["value"]) != 1 {
			t.Fatalf("the delivery %s: %v, want one notification", genuine, err)
		}
		d["value"][0]["tenantId"] = tenant
		if tenant == "" {
			delete(d["value"][0], "tenantId")
		}
		b, _ := json.Marshal(d)
		return string(b)
	}
	tests := []struct{ name, body string }{
		{"another tenant", with("0badc0de-0000-4000-8000-000000000000")},
		{"no tenant", with("")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := r.post(t, tc.body), http.StatusForbidden; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
		})
	}
	if got, want := r.post(t, with(strings.ToUpper(rigTenant))), http.StatusAccepted; got != want {
		t.Errorf("the genuine notification with the tenant id in capitals: status = %d, want %d", got, want)
	}
	if got := r.queue.got(); len(got) != 2 {
		t.Errorf("enqueued %v, want the genuine notifications' two sessions only", got)
	}
}

// TestNotificationTenantOfAnUnstampedRecord: a record stored before tenants
// were recorded is checked against its owner's tenant now; an owner without
// a mailbox connection any more gets no session.
func TestNotificationTenantOfAnUnstampedRecord(t *testing.T) {
	r := newPushRig(t, nil)
	for k, e := range r.store.rows {
		delete(e.Properties, "Tenant")
		r.store.rows[k] = e
	}
	h := &graphHarness{side: r.side}
	if _, err := h.Create(t.Context(), item.Contact, map[string]string{item.LastName: "Unstamped"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := r.queue.got(); len(got) != 1 {
		t.Fatalf("enqueued %v, want one session: the owner's connection is in the notification's tenant", got)
	}
	genuine := r.lastDelivery(t)
	for _, tc := range []struct{ name, owners string }{
		{"owner moved to another tenant", "0badc0de-0000-4000-8000-000000000000"},
		{"owner has no mailbox connection", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.mu.Lock()
			r.tenant = tc.owners
			r.mu.Unlock()
			if got, want := r.post(t, genuine), http.StatusForbidden; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
		})
	}
	if got := r.queue.got(); len(got) != 1 {
		t.Errorf("enqueued %v, want the first session only", got)
	}
}

func TestValidationHandshakeEchoesDecodedToken(t *testing.T) {
	h := NotificationHandler(NotificationOptions{})
	token := "Validation: Testing client application reachability <&> é"
	req := httptest.NewRequest(http.MethodPost, "/api/notifications?validationToken="+url.QueryEscape(token), nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 || w.Body.String() != token || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Errorf("got %d %q %q, want 200 text/plain with the decoded token", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
}

func TestDebounceMakesOneSessionOfABurst(t *testing.T) {
	r := newPushRig(t, &MemoryDebouncer{Window: time.Minute})
	h := &graphHarness{side: r.side}
	for i := range 5 {
		if _, err := h.Create(t.Context(), item.Contact, map[string]string{item.LastName: "Burst " + string(rune('A'+i))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.queue.got(); len(got) != 1 {
		t.Errorf("a burst of 5 changes enqueued %d sessions, want 1", len(got))
	}
	r.now = r.now.Add(2 * time.Minute)
	if _, err := h.Create(t.Context(), item.Contact, map[string]string{item.LastName: "Later"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := r.queue.got(); len(got) != 2 {
		t.Errorf("after the window: %d sessions, want 2", len(got))
	}
}

func TestTableDebouncer(t *testing.T) {
	d := &TableDebouncer{Store: newMemStore(), Window: time.Minute}
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		at   time.Duration
		user string
		want bool
	}{{0, "a", true}, {10 * time.Second, "a", false}, {20 * time.Second, "b", true}, {61 * time.Second, "a", true}, {90 * time.Second, "a", false}}
	for i, s := range steps {
		got, err := d.Allow(t.Context(), s.user, now.Add(s.at))
		if err != nil || got != s.want {
			t.Errorf("step %d (%s at %v): got %v, %v; want %v", i, s.user, s.at, got, err, s.want)
		}
	}
	if err := d.Forget(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Allow(t.Context(), "a", now.Add(91*time.Second)); !got {
		t.Errorf("after Forget the user was still debounced")
	}
	if err := d.Forget(t.Context(), "nobody"); err != nil {
		t.Errorf("Forget of an unknown user: %v", err)
	}
}

func TestNewSubscriptionsNamesBadOptions(t *testing.T) {
	_, err := NewSubscriptions(SubscriptionOptions{Key: []byte("short"), NotificationURL: "/relative"})
	for _, want := range []string{"Store", "Key", "NotificationURL", "Clients"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestForgetRemovesEveryRow(t *testing.T) {
	r := newPushRig(t, nil)
	if err := r.subs.Forget(t.Context(), r.user); err != nil {
		t.Fatal(err)
	}
	if n := len(r.store.rows); n != 0 {
		t.Errorf("%d rows left after Forget", n)
	}
}

func TestLifecycleNotifications(t *testing.T) {
	r := newPushRig(t, nil)
	upn := "push@contoso.test"
	// reauthorizationRequired renews the subscription and starts no session.
	r.now = r.now.Add(time.Hour)
	if err := r.fg.Lifecycle(r.ids[0], "reauthorizationRequired"); err != nil {
		t.Fatal(err)
	}
	if exp := r.fg.Subscriptions(upn)[r.ids[0]]; !exp.Equal(r.now.Add(SubscriptionLifetime).UTC().Truncate(time.Second)) {
		t.Errorf("after reauthorizationRequired expiry = %v, want %v", exp, r.now.Add(SubscriptionLifetime))
	}
	if got := r.queue.got(); len(got) != 0 {
		t.Errorf("reauthorizationRequired enqueued %v", got)
	}
	// subscriptionRemoved recreates it.
	if err := r.fg.Lifecycle(r.ids[1], "subscriptionRemoved"); err != nil {
		t.Fatal(err)
	}
	live := r.fg.Subscriptions(upn)
	if _, still := live[r.ids[1]]; still || len(live) != 3 {
		t.Errorf("after subscriptionRemoved: %d live subscriptions (old one present %v), want 3 with a new one", len(live), still)
	}
	recs, _ := r.subs.ForUser(t.Context(), r.user)
	if len(recs) != 3 {
		t.Errorf("stored subscriptions = %d, want 3", len(recs))
	}
	// Changes may have gone unnoticed while it was away: a session catches up.
	if got := r.queue.got(); !slices.Equal(got, []string{r.user}) {
		t.Errorf("subscriptionRemoved enqueued %v, want one session for %s", got, r.user)
	}
	// missed asks for a session too.
	if err := r.fg.Lifecycle(r.ids[2], "missed"); err != nil {
		t.Fatal(err)
	}
	if got := r.queue.got(); !slices.Equal(got, []string{r.user, r.user}) {
		t.Errorf("missed enqueued %v, want a second session for %s", got, r.user)
	}
}

func TestRenewExtendsSubscriptionsBeforeExpiry(t *testing.T) {
	r := newPushRig(t, nil)
	n, err := r.subs.Renew(t.Context(), r.now.Add(time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("fresh subscriptions: renewed %d, %v; want 0", n, err)
	}
	r.now = r.now.Add(SubscriptionLifetime - RenewBefore/2)
	n, err = r.subs.Renew(t.Context(), r.now)
	if err != nil || n != 3 {
		t.Fatalf("renewed %d, %v; want 3", n, err)
	}
	for id, exp := range r.fg.Subscriptions("push@contoso.test") {
		if exp.Before(r.now.Add(SubscriptionLifetime - time.Minute)) {
			t.Errorf("subscription %s expires %v, want about %v", id, exp, r.now.Add(SubscriptionLifetime))
		}
	}
	// A subscription Graph forgot is recreated.
	if err := r.side.c.sendJSON(t.Context(), http.MethodDelete, "subscriptions/"+r.ids[0], nil, nil); err != nil {
		t.Fatal(err)
	}
	r.now = r.now.Add(SubscriptionLifetime - RenewBefore/2)
	if _, err := r.subs.Renew(t.Context(), r.now); err != nil {
		t.Fatal(err)
	}
	if live := r.fg.Subscriptions("push@contoso.test"); len(live) != 3 {
		t.Errorf("after renewing with one forgotten: %d live, want 3", len(live))
	}
}

// freshTokens mints a token from the local Graph for every request, so a
// test may move the clock by days.
type freshTokens struct {
	fg  *fakegraph.Server
	upn string
}

func (f freshTokens) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: f.fg.Token(f.upn), TokenType: "Bearer", Expiry: time.Now()}, nil
}

func TestDeleteRemovesSubscriptionsEverywhere(t *testing.T) {
	r := newPushRig(t, nil)
	if err := r.subs.Delete(t.Context(), r.side.c, r.user); err != nil {
		t.Fatal(err)
	}
	if live := r.fg.Subscriptions("push@contoso.test"); len(live) != 0 {
		t.Errorf("%d subscriptions left in Graph", len(live))
	}
	if n := len(r.store.rows); n != 0 {
		t.Errorf("%d rows left", n)
	}
}
