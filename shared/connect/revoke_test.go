package connect_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/fault"
)

// TestRevokeToken: RFC 7009's answers sorted by what a caller does next —
// revoked (200, or 400 with a code meaning the token is dead already),
// try later (5xx, 429), or refused for good (anything else) — with the
// token sent as a form field and never in the error.
func TestRevokeToken(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   fault.Class // 0 = revoked
		code   string
	}{
		{"revoked", 200, ``, 0, ""},
		{"dead already", 400, `{"error":"invalid_token"}`, 0, ""},
		{"another dead code", 400, `{"error":"unsupported_token_type"}`, 0, ""},
		{"bad request", 400, `{"error":"invalid_request"}`, fault.Permanent, "invalid_request"},
		{"unavailable", 503, ``, fault.Temporary, "revoke_unavailable"},
		{"throttled", 429, `{"error":"rate_limited"}`, fault.Temporary, "rate_limited"},
		{"forbidden, no code", 403, `not json`, fault.Permanent, "revoke_refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.PostFormValue("token") != "refresh-secret" {
					t.Errorf("got %s with token %q", r.Method, r.PostFormValue("token"))
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			err := connect.RevokeToken(context.Background(), nil, srv.URL, "refresh-secret", "Vendor", "invalid_token", "unsupported_token_type")
			if tt.want == 0 {
				if err != nil {
					t.Fatalf("err = %v; want revoked", err)
				}
				return
			}
			var fe *fault.Error
			if !errors.As(err, &fe) || fault.ClassOf(err) != tt.want || fe.Code != tt.code || strings.Contains(err.Error(), "refresh-secret") {
				t.Fatalf("err = %#v; want class %s code %s", err, tt.want, tt.code)
			}
		})
	}
}
