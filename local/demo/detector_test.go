package demo_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/demo"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/orgwatch"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/schedule"
)

// TestDemoRunsTheDetector: the demo organisation has an integration
// connection the app's JWT bearer key (in the demo's settings) opens, and
// the demo user is in the detector's directory, so a contact added in the
// local Salesforce requests the demo user's session for a CRM change.
func TestDemoRunsTheDetector(t *testing.T) {
	ctx := context.Background()
	w, tables, q, ring := startDemo(t, nil)
	var keyPEM string
	for _, kv := range w.Env {
		if v, ok := strings.CutPrefix(kv, salesforce.NameJWTKey+"="); ok {
			keyPEM = v
		}
	}
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil {
		t.Fatalf("the demo's settings hold no %s", salesforce.NameJWTKey)
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	org := w.Salesforce.OrgID()
	idx := orgwatch.Index{Store: tables}
	if orgs, err := idx.Orgs(ctx); err != nil || len(orgs) != 1 || orgs[0].ID != org {
		t.Fatalf("watched organisations: %+v %v, want the demo's", orgs, err)
	}
	owner, ok, err := idx.Owner(ctx, org, w.User)
	if err != nil || !ok {
		t.Fatalf("the demo user is not in the directory: %v", err)
	}
	sf := &salesforce.App{ClientID: demo.SalesforceClient, LoginURL: w.SalesforceURL}
	opener := &salesforce.Opener{JWT: func(ctx context.Context, username string) salesforce.TokenSource {
		return salesforce.JWTBearerSource(ctx, sf, username, key)
	}}
	conns := connection.NewStore(tables, ring, connection.Options{})
	sched := schedule.New(tables, q)
	run := &orgwatch.Runner{Detector: &orgwatch.Detector{Store: tables, Directory: idx, Requester: sched, Watcher: sched}, Index: idx,
		Opener: openerFunc(func(ctx context.Context, org string) (orgwatch.Querier, error) {
			c, err := conns.Get(ctx, orgwatch.IntegrationUser(org), connection.Salesforce)
			if err != nil {
				return nil, err
			}
			return opener.OpenIntegration(ctx, conns, c)
		})}
	// Drain what the demo's provisioning requested.
	msgs, _ := q.Dequeue(ctx, schedule.SessionsQueue, 32, time.Minute)
	for _, m := range msgs {
		q.Delete(ctx, schedule.SessionsQueue, m.ID, m.PopReceipt)
	}
	now := time.Now()
	if rep, err := run.Run(ctx, now); err != nil || rep.Polled != 1 {
		t.Fatalf("first poll: %+v %v", rep, err)
	}
	if _, err := w.Salesforce.Insert(owner, "Contact", map[string]any{"FirstName": "Dora", "LastName": "Detected"}); err != nil {
		t.Fatal(err)
	}
	// The next tick, past the minute the change was made in.
	if rep, err := run.Run(ctx, now.Add(2*time.Minute)); err != nil || rep.Polled != 1 || rep.Requested != 1 || rep.Queries != len(orgwatch.Objects) {
		t.Fatalf("poll after the change: %+v %v", rep, err)
	}
	msgs, err = q.Dequeue(ctx, schedule.SessionsQueue, 32, time.Minute)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("queued sessions: %d %v, want the demo user's", len(msgs), err)
	}
	if req, err := schedule.DecodeRequest(msgs[0].Body); err != nil || req.User != w.User || req.Reason != schedule.CRMChange {
		t.Fatalf("queued session: %+v %v", req, err)
	}
}

type openerFunc func(ctx context.Context, org string) (orgwatch.Querier, error)

func (f openerFunc) Integration(ctx context.Context, org string) (orgwatch.Querier, error) {
	return f(ctx, org)
}
