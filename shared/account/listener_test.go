package account_test

import (
	"context"
	"errors"
	"testing"

	"github.com/crmsync/crmsync/shared/account"
)

// TestSettingsListenersHearSaves: each listener hears a save with the
// settings before and after it; a refused save (invalid) tells nobody; a
// listener's failure leaves the settings saved and says so, and saving again
// tells it again.
func TestSettingsListenersHearSaves(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.signUp(t, "org-1", "s1", "ann@example.com")
	type heard struct{ user, before, after string }
	var got []heard
	fail := errors.New("directory unavailable")
	var failing bool
	acc, err := account.New(account.Deps{Tables: f.tables, Sealer: account.KeysSealer{Keys: f.ring}, Scheduler: f.sched, Grants: f.grants,
		Saved: []account.SettingsListener{account.SettingsListenerFunc(func(_ context.Context, user string, before, after account.Settings) error {
			got = append(got, heard{user, before.ContactListView, after.ContactListView})
			if failing {
				return fail
			}
			return nil
		})}})
	if err != nil {
		t.Fatal(err)
	}
	s := account.DefaultSettings()
	s.ContactListView = "00B5e00000AbCdE"
	if err := acc.SaveSettings(ctx, p.User, s); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (heard{p.User, "", "00B5e00000AbCdE"}) {
		t.Fatalf("after the first save the listener heard %+v", got)
	}
	bad := s
	bad.ContactListView = "not a view"
	if err := acc.SaveSettings(ctx, p.User, bad); !errors.Is(err, account.ErrInvalid) || len(got) != 1 {
		t.Fatalf("an invalid save: %v, heard %+v; want ErrInvalid and nobody told", err, got)
	}
	failing = true
	s.ContactListView = ""
	if err := acc.SaveSettings(ctx, p.User, s); !errors.Is(err, fail) {
		t.Fatalf("a failing listener: err = %v, want it named", err)
	}
	if cur, err := acc.Settings(ctx, p.User); err != nil || cur.ContactListView != "" {
		t.Fatalf("settings after a failing listener: %q %v, want them saved", cur.ContactListView, err)
	}
	failing = false
	if err := acc.SaveSettings(ctx, p.User, s); err != nil {
		t.Fatal(err)
	}
	if last := got[len(got)-1]; len(got) != 3 || last != (heard{p.User, "", ""}) {
		t.Fatalf("saving again: heard %+v", got)
	}
}
