package identity_test

import (
	"context"
	"testing"

	"github.com/crmsync/crmsync/shared/identity"
)

// TestFirstSignInAdoptsTheProvisionedAccount: an admin provisioned an
// account for an address; that person's first sign-in links to it instead of
// creating a second account, and only within the same org.
func TestFirstSignInAdoptsTheProvisionedAccount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var asked []string
	f.users.AdoptProvisioned(func(ctx context.Context, org, email string) (string, bool, error) {
		asked = append(asked, org+"/"+email)
		if org == tenantA && email == "ann@contoso.example" {
			return "u-provisioned-ann", true, nil
		}
		return "", false, nil
	})
	p, created, err := f.users.SignIn(ctx, identity.Identity{Kind: identity.Entra, Org: tenantA, Subject: userA, Email: "ann@contoso.example"})
	if err != nil {
		t.Fatal(err)
	}
	if p.User != "u-provisioned-ann" || !created {
		t.Fatalf("first sign-in = %+v (created %v), want the provisioned account", p, created)
	}
	again, _, err := f.users.SignIn(ctx, identity.Identity{Kind: identity.Entra, Org: tenantA, Subject: userA, Email: "ann@contoso.example"})
	if err != nil || again.User != p.User {
		t.Fatalf("second sign-in = %+v, %v; want the same account", again, err)
	}
	// Someone in another org with the same address gets an account of their own.
	other, _, err := f.users.SignIn(ctx, identity.Identity{Kind: identity.Entra, Org: tenantB, Subject: userB, Email: "ann@contoso.example"})
	if err != nil {
		t.Fatal(err)
	}
	if other.User == p.User {
		t.Errorf("a sign-in from another org adopted the provisioned account")
	}
	if len(asked) != 2 {
		t.Errorf("adoption asked %v, want one look-up per new identity", asked)
	}
}
