package dashboard_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/session"
)

// raiseGuard opens a guard issue for the fixture user's contacts, as a
// session whose guard held removals back does.
func raiseGuard(t *testing.T, f *fixture) {
	t.Helper()
	err := session.NewState(f.tables, f.user.User).RaiseIssues(context.Background(), []session.Issue{{Kind: item.Contact,
		Code: string(reconcile.GuardTripped), Reason: "The CRM reported none of the 20 synced contacts"}}, f.now)
	if err != nil {
		t.Fatal(err)
	}
}

func guardConfirmed(t *testing.T, f *fixture) bool {
	t.Helper()
	open, err := session.NewState(f.tables, f.user.User).Issues(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range open {
		if is.Code == string(reconcile.GuardTripped) {
			return !is.Confirmed.IsZero()
		}
	}
	return false
}

func TestConfirmRemovalsAPI(t *testing.T) {
	tests := []struct {
		name      string
		guard     bool
		who       func(*fixture) access.Principal
		path      string
		want      int
		confirmed bool
	}{
		{name: "user confirms own", guard: true, path: "/v1/me/guards/contact/confirm", want: http.StatusAccepted, confirmed: true},
		{name: "admin confirms for the user", guard: true, who: admin, path: "/v1/users/{user}/guards/contact/confirm", want: http.StatusAccepted, confirmed: true},
		{name: "support may not confirm", guard: true, who: support, path: "/v1/users/{user}/guards/contact/confirm", want: http.StatusForbidden},
		{name: "peer may not confirm", guard: true, who: peer, path: "/v1/users/{user}/guards/contact/confirm", want: http.StatusForbidden},
		{name: "nothing held back", path: "/v1/me/guards/contact/confirm", want: http.StatusConflict},
		{name: "other kind not held back", guard: true, path: "/v1/me/guards/task/confirm", want: http.StatusConflict},
		{name: "not a kind", guard: true, path: "/v1/me/guards/email/confirm", want: http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if tc.guard {
				raiseGuard(t, f)
			}
			who := f.user
			if tc.who != nil {
				who = tc.who(f)
			}
			code, body, _ := f.call(t, who, http.MethodPost, dashboard.Prefix+tc.path, "", true)
			if code != tc.want {
				t.Fatalf("status = %d, want %d; body %s", code, tc.want, body)
			}
			if got := guardConfirmed(t, f); got != tc.confirmed {
				t.Errorf("guard issue confirmed = %v, want %v", got, tc.confirmed)
			}
		})
	}
}

// TestConfirmRemovalsButton: the overview offers the button on a guard
// issue only, the form confirms and requests a sync, and the issue then
// says it is confirmed instead of offering the button again.
func TestConfirmRemovalsButton(t *testing.T) {
	f := newFixture(t)
	P := dashboard.Prefix
	_, page, _ := f.call(t, f.user, http.MethodGet, P+"/overview", "", false)
	if strings.Contains(page, "Confirm removals") {
		t.Fatalf("overview offers a confirmation without a guard issue")
	}
	raiseGuard(t, f)
	_, page, _ = f.call(t, f.user, http.MethodGet, P+"/overview", "", false)
	for _, want := range []string{`action="/api/dashboard/confirm-removals"`, `name="kind" value="contact"`, "Confirm removals"} {
		if !strings.Contains(page, want) {
			t.Errorf("overview with a guard issue does not contain %q", want)
		}
	}
	code, _, hdr := f.call(t, f.user, http.MethodPost, P+"/confirm-removals", form(f.user.User, "kind", "contact"), false)
	if code != http.StatusSeeOther || hdr.Get("Location") != P+"/overview?msg=confirmed" {
		t.Fatalf("confirm form: status %d, Location %q; want 303 to the overview", code, hdr.Get("Location"))
	}
	if !guardConfirmed(t, f) {
		t.Errorf("the form did not confirm the guard issue")
	}
	if e, err := f.sched.Get(context.Background(), f.user.User); err != nil || e.LastEnqueued.IsZero() {
		t.Errorf("no sync requested after the confirmation: %+v, %v", e, err)
	}
	_, page, _ = f.call(t, f.user, http.MethodGet, P+"/overview?msg=confirmed", "", false)
	if strings.Contains(page, "Confirm removals") || !strings.Contains(page, "Confirmed") {
		t.Errorf("overview after confirming still offers the button or does not say confirmed")
	}
}
