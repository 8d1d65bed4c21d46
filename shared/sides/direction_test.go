package sides_test

import (
	"context"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// loggingCRM records the e-mails the engine hands to the CRM's LogEmail.
type loggingCRM struct {
	side.CRM
	mu     sync.Mutex
	logged map[string]item.Record // by subject
}

func (c *loggingCRM) LogEmail(ctx context.Context, email item.Record, whoIDs []string, whatID, marker string) (string, error) {
	c.mu.Lock()
	c.logged[email.Fields[item.Subject]] = email
	c.mu.Unlock()
	return c.CRM.LogEmail(ctx, email, whoIDs, whatID, marker)
}

type loggingOpener struct {
	side.Opener
	crm *loggingCRM
}

func (o loggingOpener) Open(ctx context.Context, user string) (side.Sides, error) {
	s, err := o.Opener.Open(ctx, user)
	o.crm.CRM, s.CRM = s.CRM, o.crm
	return s, err
}

// TestSharedEmailDirectionReachesTheCRM: the direction Graph's message shows
// (the owner sent it, or received it) arrives at the CRM side's LogEmail with
// the rest of the e-mail; mapping it to a Task field is the CRM adapter's part.
func TestSharedEmailDirectionReachesTheCRM(t *testing.T) {
	w := newWorld(t)
	crm := &loggingCRM{logged: map[string]item.Record{}}
	w.runner.Opener = loggingOpener{Opener: w.runner.Opener, crm: crm}
	w.putSharedMessage(t) // from alice@acme.example to the owner
	outbound := `{"subject":"Our offer","body":{"contentType":"text","content":"See the offer."},` +
		`"from":{"emailAddress":{"address":"` + upn + `"}},"toRecipients":[{"emailAddress":{"address":"alice@acme.example"}}],` +
		`"sentDateTime":"2026-11-24T08:30:00Z","receivedDateTime":"2026-11-24T08:30:00Z","categories":["Salesforce"]}`
	graphPost(t, w.gURL+"/v1.0/users/"+upn+"/messages", w.graph.Token(upn), outbound, nil)
	w.session()
	for subject, want := range map[string]string{"Quarterly review": "Inbound", "Our offer": "Outbound"} {
		got, ok := crm.logged[subject]
		if !ok {
			t.Errorf("%q was not logged in the CRM (logged: %v)", subject, crm.logged)
			continue
		}
		if got.Fields[item.Direction] != want {
			t.Errorf("%q reached LogEmail with direction %q, want %q", subject, got.Fields[item.Direction], want)
		}
	}
}
