package main

import (
	"testing"

	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestWireSalesforceUserShare: CRMSYNC_SALESFORCE_USER_SHARE gives the opener
// the share and a counter over the user's session reports; unset, the opener
// has neither, so opening a side reads no reports.
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
			a := testAppWith(t, map[string]string{settings.NameSalesforceUserShare: tt.share})
			if got := a.opener.SalesforceUserShare; got != tt.wantShare {
				t.Errorf("opener share = %v, want %v", got, tt.wantShare)
			}
			switch {
			case tt.wantShare == 0 && a.opener.SalesforceCounter != nil:
				t.Error("the opener counts calls from the reports without a per-user cap")
			case tt.wantShare > 0 && a.opener.SalesforceCounter == nil:
				t.Error("the opener has a per-user cap and no counter spanning sessions")
			case tt.wantShare > 0:
				c := a.opener.SalesforceCounter("u1")
				if _, ok := c.(*session.ReportCounter); !ok {
					t.Errorf("the counter is a %T, want a *session.ReportCounter", c)
				}
			}
		})
	}
}
