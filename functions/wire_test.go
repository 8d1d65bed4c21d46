package main

import (
	"testing"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/session"
)

// TestWireSalesforceUserShare: CRMSYNC_SALESFORCE_USER_SHARE gives the opener
// the share and a counter over the tally on the user's lease row; unset, the opener
// has neither, so opening a side reads no lease row for a budget.
func TestWireSalesforceUserShare(t *testing.T) {
	tests := []struct {
		name      string
		share     string
		wantShare float64
	}{
		{"unset: no per-user cap", "", 0},
		{"zero: no per-user cap", "0", 0},
		{"a tenth", "0.1", 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testAppWith(t, map[string]string{salesforce.NameUserShare: tt.share})
			if got := a.crm.UserShare; got != tt.wantShare {
				t.Errorf("opener share = %v, want %v", got, tt.wantShare)
			}
			switch {
			case tt.wantShare == 0 && a.crm.Counter != nil:
				t.Error("the opener counts calls from the lease row without a per-user cap")
			case tt.wantShare > 0 && a.crm.Counter == nil:
				t.Error("the opener has a per-user cap and no counter spanning sessions")
			case tt.wantShare > 0:
				c := a.crm.Counter("u1")
				if _, ok := c.(*session.LeaseCounter); !ok {
					t.Errorf("the counter is a %T, want a *session.LeaseCounter", c)
				}
			}
		})
	}
}

// TestWireMailboxTenant: the webhook compares a notification's tenantId with
// the tenant of the user's Microsoft connection, which mailboxTenant reads.
func TestWireMailboxTenant(t *testing.T) {
	a := testAppWith(t, nil)
	ctx := t.Context()
	const tenant = "33333333-3333-4333-8333-333333333333"
	if _, err := a.conns.Save(ctx, connection.Connection{User: "u1", Provider: connection.Microsoft, Tenant: tenant,
		Flow: connection.FlowClientCredentials}, connection.Credentials{Username: "u1@contoso.example"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ user, want string }{{"u1", tenant}, {"nobody", ""}} {
		got, err := a.mailboxTenant(ctx, tt.user)
		if err != nil || got != tt.want {
			t.Errorf("mailboxTenant(%s) = %q, %v; want %q", tt.user, got, err, tt.want)
		}
	}
}
