package item

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFingerprint(t *testing.T) {
	key := []byte("0123456789abcdef")
	fp := Fingerprint(key, Contact, Email, "ann@example.com")
	if len(fp) != 16 || strings.ContainsAny(fp, "+/=") {
		t.Errorf("Fingerprint = %q, want 16 base64url characters", fp)
	}
	cases := []struct {
		name       string
		key        string
		kind       Kind
		field, val string
		same       bool
	}{
		{"same input", "0123456789abcdef", Contact, Email, "ann@example.com", true},
		{"spelling the adapter may vary", "0123456789abcdef", Contact, Email, " Ann@Example.COM\r\n", true},
		{"another value", "0123456789abcdef", Contact, Email, "bob@example.com", false},
		{"another field", "0123456789abcdef", Contact, Phone, "ann@example.com", false},
		{"another kind", "0123456789abcdef", Task, Email, "ann@example.com", false},
		{"another user's key", "fedcba9876543210", Contact, Email, "ann@example.com", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Fingerprint([]byte(tc.key), tc.kind, tc.field, tc.val)
			if (got == fp) != tc.same {
				t.Errorf("Fingerprint(%q) = %q, same as %q: %t, want %t", tc.val, got, fp, got == fp, tc.same)
			}
		})
	}
}

func TestFingerprintsSkipsFieldsNotRead(t *testing.T) {
	key := []byte("0123456789abcdef")
	rec := Record{Kind: Contact, Fields: map[string]string{FirstName: "Ann", Phone: ""}}
	got := Fingerprints(key, rec, []string{FirstName, LastName, Phone})
	want := map[string]string{
		FirstName: Fingerprint(key, Contact, FirstName, "Ann"),
		Phone:     Fingerprint(key, Contact, Phone, ""),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Fingerprints (-want +got):\n%s", diff)
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct {
		name, field, in, want string
	}{
		{"plain text is kept", Subject, "Call Ann", "Call Ann"},
		{"surrounding space goes", Subject, "  Call Ann \n", "Call Ann"},
		{"CRLF becomes LF", Description, "a\r\nb", "a\nb"},
		{"e-mail is lower-cased", Email, "Ann@Example.COM", "ann@example.com"},
		{"address lists are sorted and trimmed", Attendees, "b@x.com, A@x.com,,", "a@x.com,b@x.com"},
		{"instants go to UTC", Start, "2026-11-03T10:00:00+01:00", "2026-11-03T09:00:00Z"},
		{"fractional seconds go", End, "2026-11-03T09:00:00.000Z", "2026-11-03T09:00:00Z"},
		{"booleans are spelled out", AllDay, "1", "true"},
		{"unparsable instants are only trimmed", Start, " soon ", "soon"},
		{"empty stays empty", Email, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Normalize(tc.field, tc.in); got != tc.want {
				t.Errorf("Normalize(%s, %q) = %q, want %q", tc.field, tc.in, got, tc.want)
			}
		})
	}
}

func BenchmarkFingerprint(b *testing.B) {
	f := NewFingerprinter([]byte("0123456789abcdef"))
	b.ReportAllocs()
	for b.Loop() {
		f.Fingerprint(Contact, Email, "ann.lee@example.com")
	}
}
