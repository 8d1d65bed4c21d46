package msgraph

import (
	"net/http"
	"testing"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegraph"
)

// TestAdminRole: the administrator directory role of the mailbox's user,
// read from the local Graph's transitiveMemberOf cast to directory roles:
// none, a role that manages no users (Exchange Administrator), then User
// Administrator.
func TestAdminRole(t *testing.T) {
	fg := fakegraph.New(fakegraph.Options{})
	upn := "user@contoso.test"
	fg.AddMailbox(upn, "U")
	me, err := New(Options{BaseURL: "http://graph.local/v1.0", HTTPClient: &http.Client{Transport: fg.Transport()},
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fg.Token(upn)})})
	if err != nil {
		t.Fatal(err)
	}
	check := func(step, want string) {
		t.Helper()
		if got, err := me.AdminRole(t.Context()); err != nil || got != want {
			t.Errorf("%s: AdminRole = %q, %v; want %q", step, got, err, want)
		}
	}
	check("no role", "")
	if err := fg.AssignDirectoryRole(upn, "Exchange Administrator"); err != nil {
		t.Fatal(err)
	}
	check("Exchange Administrator", "")
	if err := fg.AssignDirectoryRole(upn, "User Administrator"); err != nil {
		t.Fatal(err)
	}
	check("User Administrator", "User Administrator")
	if err := fg.AssignDirectoryRole(upn, "Sorcerer"); err == nil {
		t.Error("the local Graph assigned a role that does not exist")
	}
}
