package identity

import (
	"fmt"
	"net/url"
	"testing"
)

// TestSafeReturnRefusesEveryControlCharacter: every ASCII control character
// and the backslash, raw or percent-encoded, anywhere in the value, sends the
// sign-in home instead of to the value (browsers drop TAB, CR and LF from
// URLs, so "/\t/evil.example" would be "//evil.example").
func TestSafeReturnRefusesEveryControlCharacter(t *testing.T) {
	var bad []rune
	for c := rune(0); c < 0x20; c++ {
		bad = append(bad, c)
	}
	bad = append(bad, 0x7f, '\\')
	for _, c := range bad {
		for _, shape := range []string{"/%c/evil.example", "%c/evil.example", "/settings%c", "/a/b%c/c"} {
			raw := fmt.Sprintf(shape, c)
			enc := url.PathEscape(string(c))
			if c == '\\' {
				enc = "%5C"
			}
			encoded := fmt.Sprintf("/%s/evil.example", enc)
			for _, v := range []string{raw, encoded} {
				if got := safeReturn(v); got != "/" {
					t.Errorf("safeReturn(%q) = %q, want /", v, got)
				}
			}
		}
	}
}

func TestSafeReturn(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/api/dashboard/settings", "/api/dashboard/settings"},
		{"/api/dashboard/users/u-1?tab=issues#x", "/api/dashboard/users/u-1"},
		{"/api/dashboard/caf%C3%A9", "/api/dashboard/caf%C3%A9"},
		{"", "/"},
		{"api/dashboard", "/"},
		{"//evil.example", "/"},
		{"/%2F/evil.example", "/"},
		{"https://evil.example/", "/"},
		{"https:/evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"/\\evil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/%5C/evil.example", "/"},
		{"/%zz", "/"},
	}
	for _, tt := range tests {
		if got := safeReturn(tt.in); got != tt.want {
			t.Errorf("safeReturn(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
