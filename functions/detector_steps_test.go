package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/settings"
)

// integrationWorld is a world at now whose deployment holds a key the
// local Salesforce's connected app trusts (the organisation's integration
// connection signs its JWT bearer with it), wendy its admin, and an admin
// integration user in the org to set that connection up as.
func integrationWorld(t *testing.T, now func() time.Time) *testWorld {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	w := newTestWorld(t, worldOptions{email: "wendy@world.example", now: now,
		env:   map[string]string{settings.NameAdminEmails: "wendy@world.example", salesforce.NameJWTKey: string(keyPEM)},
		sfApp: func(c *fakesalesforce.Client) { c.JWTKey = &key.PublicKey }})
	if _, err := w.sf.AddUser(fakesalesforce.User{Username: "integration@world.example", Email: "integration@world.example", LastName: "Integration", Admin: true}); err != nil {
		t.Fatal(err)
	}
	return w
}

// connectUser signs b in on the dashboard and connects the user's
// Salesforce (the demo user's password) and Microsoft mailbox; it returns
// the signed-in user and the dashboard's CSRF token.
func (w *testWorld) connectUser(t *testing.T, b *browser) (user, token string) {
	t.Helper()
	w.signIn(t, b)
	user = w.signedInUser(t, b)
	token = w.csrf(t, b)
	form := url.Values{"username": {fakesalesforce.DemoUsername}, "password": {fakesalesforce.DemoPassword}}
	if status, _, body := b.fetch(t, "POST", w.srv.URL+"/api/dashboard/connect/salesforce/password", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token}); status != http.StatusOK {
		t.Fatalf("Salesforce connect answered %d: %s", status, body)
	}
	w.connectMicrosoft(t, b)
	return user, token
}

// takeRequests takes the session requests in the sessions queue (up to 32)
// off it and returns those keep accepts.
func (w *testWorld) takeRequests(t *testing.T, keep func(schedule.Request) bool) []schedule.Request {
	t.Helper()
	ctx := context.Background()
	msgs, err := w.app.queue.Dequeue(ctx, schedule.SessionsQueue, 32, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var out []schedule.Request
	for _, m := range msgs {
		req, err := schedule.DecodeRequest(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		if keep(req) {
			out = append(out, req)
		}
		if err := w.app.queue.Delete(ctx, schedule.SessionsQueue, m.ID, m.PopReceipt); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
