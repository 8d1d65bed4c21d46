package account_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/orgwatch"
	"github.com/crmsync/crmsync/shared/salesforce"
)

// TestDeleteUnhooksBeforeRevoking: the Unhook deleters (stopping watch
// channels and subscriptions at the providers, which takes the user's
// token) run before the connections go and the tokens are revoked; one
// that fails is logged and the deletion still completes, the next one
// still runs.
func TestDeleteUnhooksBeforeRevoking(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.signUp(t, "org-1", "subject-gone", "gone@example.com")
	f.seedUser(t, p, "rt-secret-gone")

	var calls []string
	unhook := func(name string, err error) account.Deleter {
		return account.DeleterFunc(func(_ context.Context, user string) error {
			f.revoker.mu.Lock()
			revoked := len(f.revoker.revoked)
			f.revoker.mu.Unlock()
			if revoked != 0 {
				t.Errorf("%s ran after the token was revoked", name)
			}
			if user != p.User {
				t.Errorf("%s was asked about %q, want %q", name, user, p.User)
			}
			calls = append(calls, name)
			return err
		})
	}
	acc, err := account.New(account.Deps{
		Tables: f.tables, Sealer: account.KeysSealer{Keys: f.ring}, Scheduler: f.sched, Grants: f.grants,
		Connections: f.conns, Identities: f.users, Forget: []account.Deleter{account.DeleterFunc(f.subs.Forget), account.DeleterFunc(orgwatch.Index{Store: f.tables}.ForgetUser)},
		Unhook:    []account.Deleter{unhook("failing stop", errors.New("channels.stop: 503")), unhook("stop", nil)},
		Directory: f.users, Now: func() (t time.Time) { return f.now },
		CRM: salesforce.Connector, Mailbox: msgraph.Connector,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.Delete(ctx, p, p.User); err != nil {
		t.Fatalf("Delete with a failing unhook: %v, want the deletion done", err)
	}
	if want := []string{"failing stop", "stop"}; !slices.Equal(calls, want) {
		t.Errorf("unhooks ran %q, want %q", calls, want)
	}
	if got, want := f.revoker.revoked, []string{"rt-secret-gone"}; !slices.Equal(got, want) {
		t.Errorf("revoked tokens = %q, want %q", got, want)
	}
	if _, err := acc.Profile(ctx, p.User); err == nil {
		t.Error("the profile survived the deletion")
	}
}
