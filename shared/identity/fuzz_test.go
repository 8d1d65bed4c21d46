package identity_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/access"
)

// FuzzParseJWT feeds arbitrary Authorization values to the add-in's bearer
// middleware: it must never panic and never accept anything but the one
// genuine token of the seed corpus.
func FuzzParseJWT(f *testing.F) {
	fx := newFixture(f)
	_, h := fx.bearer(f)
	valid, err := fx.idp.AccessToken(userA, dashboard, addinScope)
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	for _, seed := range []string{
		valid,
		parts[0] + "." + parts[1] + ".",
		parts[0] + ".." + parts[2],
		"eyJhbGciOiJub25lIn0." + parts[1] + ".",
		"eyJhbGciOiJIUzI1NiJ9." + parts[1] + "." + parts[2],
		valid + "=",
		strings.ToUpper(valid),
		"a.b.c", "", "....", "eyJ", strings.Repeat("A", 20000),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		req := httptest.NewRequest("GET", "/addin/me", nil)
		req.Header["Authorization"] = []string{"Bearer " + token}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK && strings.TrimSpace(token) != valid {
			t.Fatalf("accepted a token that is not the genuine one: %q", token)
		}
	})
}

// FuzzSessionCookie decodes arbitrary cookie values: never a panic, and
// nothing but a genuinely issued cookie opens.
func FuzzSessionCookie(f *testing.F) {
	fx := newFixture(f)
	rec := httptest.NewRecorder()
	if _, err := fx.sessions.Start(rec, access.Principal{User: "u-1", Org: tenantA}); err != nil {
		f.Fatal(err)
	}
	valid := rec.Result().Cookies()[0].Value
	parts := strings.Split(valid, ".")
	for _, seed := range []string{
		valid,
		parts[0] + "." + parts[1] + ".",
		parts[0] + "." + parts[1] + "." + parts[2] + "A",
		"v1." + parts[1],
		"v1.e30." + parts[2],
		"v1..", "v1", "", ".", strings.Repeat("v1.", 2000),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		sess, err := fx.sessions.Decode(value)
		if err != nil {
			return
		}
		// Whatever opens must be exactly what crmsync would have issued for
		// that session: one spelling per session, nothing altered.
		again, err := fx.sessions.Encode(sess)
		if err != nil || again != value {
			t.Fatalf("accepted a value crmsync never issued: %q as %+v", value, sess)
		}
	})
}
