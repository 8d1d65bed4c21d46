package c4c

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/fakec4c"
)

// TestCheck: the demo communication user signs in and the tenant is the
// local host; a wrong password is ErrCredentials and the password appears
// in no error.
func TestCheck(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	u, _ := url.Parse(l.http.URL)
	tenant, err := Check(t.Context(), Options{Host: l.http.URL, User: fakec4c.DemoUser, Password: fakec4c.DemoPassword})
	if err != nil || tenant != u.Host {
		t.Fatalf("Check with the demo user: tenant %q err %v, want %q", tenant, err, u.Host)
	}
	_, err = Check(t.Context(), Options{Host: l.http.URL, User: fakec4c.DemoUser, Password: "wrong-Secret-991"})
	if !errors.Is(err, ErrCredentials) {
		t.Fatalf("Check with a wrong password: %v, want ErrCredentials", err)
	}
	if _, err = Check(t.Context(), Options{Host: "http://127.0.0.1:1", User: "u", Password: "p-Secret-17"}); err == nil || errors.Is(err, ErrCredentials) || strings.Contains(err.Error(), "p-Secret-17") {
		t.Fatalf("Check of an unreachable host: %v, want an error saying so without the password", err)
	}
}
