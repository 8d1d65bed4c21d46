package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/tablestore"
)

const (
	testTopic     = "projects/crmsync-test/topics/gmail"
	testPushActor = "gmail-push@crmsync-test.iam.gserviceaccount.com"
)

// selfSigned is a token shaped like Pub/Sub's but signed by a key Google
// never published.
func selfSigned(t *testing.T, aud, email string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	in := enc(map[string]string{"alg": "RS256", "kid": "forged", "typ": "JWT"}) + "." + enc(map[string]any{"aud": aud, "email": email,
		"email_verified": true, "iss": "https://accounts.google.com", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
	sum := sha256.Sum256([]byte(in))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestGmailPushReachesSalesforce: with CRMSYNC_GOOGLE_PUBSUB_TOPIC set, the
// first session calls users.watch on the share label; an e-mail labelled in
// Gmail makes the local Google publish to the topic and push to the
// notifications function with an OpenID Connect token, which is checked
// against the local Google's keys, its audience and the subscription's
// service account; the push enqueues one session at once, which shares the
// e-mail into Salesforce. Forged pushes — no token, a token signed by
// another key, a genuine token for another audience or service account —
// answer 401 and enqueue nothing; a push for an address no user syncs is
// acknowledged and starts nothing. No address is stored: the index holds
// keyed fingerprints, gone with the account.
func TestGmailPushReachesSalesforce(t *testing.T) {
	ps := &fakegoogle.PubSub{Topic: testTopic, ServiceAccount: testPushActor}
	g := newGoogleWorld(t, map[string]string{google.NamePubSubTopic: testTopic, google.NamePubSubServiceAccount: testPushActor},
		fakegoogle.Options{PubSub: ps})
	endpoint := g.srv.URL + "/api/notifications"
	ps.Endpoint = endpoint
	if first := g.runSession(t, g.user); first.Outcome != "ok" {
		t.Fatalf("first session: %q %s", first.Outcome, first.Detail)
	}
	labels, expires, ok := g.fg.GmailWatch(googleWorldUser)
	if !ok || len(labels) == 0 || !expires.After(time.Now().Add(6*24*time.Hour)) {
		t.Fatalf("after the first session the Gmail watch is %v %v %v; want the share label watched for 7 days", labels, expires, ok)
	}
	g.settle(t)

	var share string
	var list struct{ Labels []struct{ ID, Name string } }
	g.google(t, "GET", "/gmail/v1/users/me/labels", nil, &list)
	for _, l := range list.Labels {
		if l.Name == google.DefaultShareLabel {
			share = l.ID
		}
	}
	if share == "" || labels[0] != share {
		t.Fatalf("watched labels %v, share label %q", labels, share)
	}
	raw := "From: alice@acme.example\r\nTo: " + googleWorldUser + "\r\nSubject: Pushed through Pub/Sub\r\nDate: " + time.Now().UTC().Format(time.RFC1123Z) +
		"\r\nMessage-ID: <pushed-1@acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhello\r\n"
	if st := g.google(t, "POST", "/gmail/v1/users/me/messages", map[string]any{"raw": base64.RawURLEncoding.EncodeToString([]byte(raw)),
		"labelIds": []string{"INBOX", share}}, nil); st != http.StatusOK {
		t.Fatalf("inserting the e-mail answered %d", st)
	}
	q := g.queued(t)
	if len(q) != 1 || q[0].User != g.user || q[0].Reason != schedule.Push {
		t.Fatalf("after the labelled e-mail the queue holds %+v; want one push request", q)
	}
	if rep := g.deliver(t, q[0]); rep.Counts["email|to-crm|share"] != 1 {
		t.Errorf("the push session: %q %v; want the e-mail shared", rep.Outcome, rep.Counts)
	}
	g.settle(t)
	// A message outside the share label notifies nothing (the watch's filter).
	if st := g.google(t, "POST", "/gmail/v1/users/me/messages", map[string]any{"raw": base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(raw, "pushed-1", "pushed-2", 1))),
		"labelIds": []string{"INBOX"}}, nil); st != http.StatusOK {
		t.Fatal("inserting an unlabelled e-mail failed")
	}
	if q := g.queued(t); len(q) != 0 {
		t.Errorf("an unlabelled e-mail enqueued %+v", q)
	}

	push := func(token, email string) int {
		data, _ := json.Marshal(map[string]any{"emailAddress": email, "historyId": 99})
		body, _ := json.Marshal(map[string]any{"message": map[string]any{"data": base64.StdEncoding.EncodeToString(data), "messageId": "1"},
			"subscription": "projects/crmsync-test/subscriptions/gmail-push"})
		req, _ := http.NewRequest("POST", endpoint, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := g.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct{ name, token string }{
		{"no token", ""},
		{"signed by another key", selfSigned(t, endpoint, testPushActor)},
		{"another audience", g.fg.PushToken("https://elsewhere.example/push", testPushActor)},
		{"another service account", g.fg.PushToken(endpoint, "someone@evil.example")},
		{"not a JWT", "abc.def"},
	} {
		if st := push(c.token, googleWorldUser); st != http.StatusUnauthorized {
			t.Errorf("%s: answered %d, want 401", c.name, st)
		}
	}
	if q := g.queued(t); len(q) != 0 {
		t.Errorf("forged pushes enqueued %+v", q)
	}
	bad, _ := http.NewRequest("POST", endpoint, strings.NewReader(`{"message":{"data":"bm90IGpzb24="}}`))
	bad.Header.Set("Authorization", "Bearer "+g.fg.PushToken(endpoint, testPushActor))
	if resp, err := g.srv.Client().Do(bad); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an authenticated push whose data is no Gmail notification: %v %v, want 400", resp.Status, err)
	} else {
		resp.Body.Close()
	}
	if st := push(g.fg.PushToken(endpoint, testPushActor), "stranger@elsewhere.example"); st/100 != 2 {
		t.Errorf("a push for an address no user syncs answered %d, want it acknowledged", st)
	}
	if q := g.queued(t); len(q) != 0 {
		t.Errorf("a push for an unknown address enqueued %+v", q)
	}

	// The index holds no address; the account's deletion removes it.
	page, err := g.app.store.Query(t.Context(), google.MailboxTable, tablestore.Query{})
	if err != nil || len(page.Entities) != 2 {
		t.Fatalf("mailbox index rows %v (%v); want the fingerprint row and the user row", page.Entities, err)
	}
	for _, e := range page.Entities {
		if strings.Contains(e.PartitionKey+e.RowKey+toJSON(e.Properties), "acme.example") {
			t.Errorf("the mailbox index stores an address: %+v", e)
		}
	}
	if status, _, body := g.b.fetch(t, "DELETE", g.srv.URL+"/api/dashboard/v1/me", nil, map[string]string{"X-CSRF-Token": g.csrf(t, g.b)}); status/100 != 2 {
		t.Fatalf("account deletion answered %d: %s", status, body)
	}
	if page, _ := g.app.store.Query(t.Context(), google.MailboxTable, tablestore.Query{}); len(page.Entities) != 0 {
		t.Errorf("after deletion the mailbox index holds %v", page.Entities)
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
