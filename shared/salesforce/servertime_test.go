package salesforce

import (
	"fmt"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/item"
)

// TestDiscoveryFailureNeverFailsARead: /services/data/ (version discovery
// and the server-time probe) failing — down, or refused — leaves reads
// working: ServerTime takes the Date header of the last answer of any kind,
// the version falls back to the pinned one, and the contacts are read. Before,
// ServerTime's error failed the whole read.
func TestDiscoveryFailureNeverFailsARead(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		code   string
	}{
		{"unavailable", 503, "SERVER_UNAVAILABLE"},
		{"refused", 401, "INVALID_SESSION_ID"},
		{"forbidden", 403, "API_DISABLED_FOR_ORG"},
	} {
		for _, warm := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/warm=%v", c.name, warm), func(t *testing.T) {
				l := newLocal(t, fakesalesforce.Options{}, Options{})
				if _, err := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Lovelace"}); err != nil {
					t.Fatal(err)
				}
				if warm {
					// One ordinary answer first: its Date header is the org's
					// clock. Cold, the failed discovery's own answer is the
					// first one.
					if _, _, err := l.client.Limits(t.Context()); err != nil {
						t.Fatal(err)
					}
				}
				l.clock.Add(3 * time.Second)
				l.srv.Inject(fakesalesforce.Fault{Resource: "versions", Times: 1000, Status: c.status, ErrorCode: c.code})
				now, err := l.client.ServerTime(t.Context())
				if err != nil {
					t.Fatalf("ServerTime: %v", err)
				}
				// The failed answer carries a Date too; either it or the last
				// good one, never the local clock (months away from the org's).
				if d := now.Sub(l.clock.Now()); d < -5*time.Second || d > 0 {
					t.Errorf("ServerTime = %v, want the org's clock %v", now, l.clock.Now())
				}
				ch, err := l.side.Changes(t.Context(), item.Scope{Kind: item.Contact}, "")
				if err != nil {
					t.Fatalf("read with discovery down: %v", err)
				}
				if len(ch.Records) != 1 {
					t.Errorf("read %d contacts, want 1", len(ch.Records))
				}
			})
		}
	}
}
