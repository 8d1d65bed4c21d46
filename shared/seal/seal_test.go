package seal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/seal"
)

// staticKeys is a fixed ring: versions 1 and 2, version 2 current.
type staticKeys map[int]keyring.Key

func newStaticKeys(t testing.TB) staticKeys {
	t.Helper()
	ks := staticKeys{}
	for v := 1; v <= 2; v++ {
		k, err := keyring.NewKey(v, bytes.Repeat([]byte{byte(v)}, keyring.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		ks[v] = k
	}
	return ks
}

func (s staticKeys) Current(context.Context) (keyring.Key, error) { return s[len(s)], nil }
func (s staticKeys) Key(_ context.Context, v int) (keyring.Key, error) {
	k, ok := s[v]
	if !ok {
		return keyring.Key{}, keyring.ErrUnknownKey
	}
	return k, nil
}

var alice = seal.AssociatedData{Tenant: "00D000000000001", User: "u-alice", Provider: "salesforce", Purpose: "refresh_token"}

func TestSealOpenRoundTrip(t *testing.T) {
	ctx := context.Background()
	keys := newStaticKeys(t)
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"empty", []byte{}},
		{"refresh token", []byte("5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJrfh")},
		{"unicode password", []byte("pässwörd✓" + "SECURITYTOKEN")},
		{"binary", []byte{0, 1, 2, 255, 254}},
		{"4 KiB", bytes.Repeat([]byte("x"), 4096)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := seal.Seal(ctx, keys, tt.plaintext, alice)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(s, "v2.") {
				t.Errorf("sealed = %.10q…, want the current version prefix v2.", s)
			}
			if len(tt.plaintext) > 3 && strings.Contains(s, string(tt.plaintext)) {
				t.Errorf("sealed value contains the plaintext")
			}
			if v, err := seal.Version(s); err != nil || v != 2 {
				t.Errorf("Version() = %d, %v; want 2", v, err)
			}
			got, err := seal.Open(ctx, keys, s, alice)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open() = %q, want %q", got, tt.plaintext)
			}
		})
	}
}

func TestSealUsesAFreshNonce(t *testing.T) {
	keys := newStaticKeys(t)
	seen := map[string]bool{}
	for range 100 {
		s, err := seal.Seal(context.Background(), keys, []byte("same token"), alice)
		if err != nil {
			t.Fatal(err)
		}
		nonce := s[:len("v2.")+16] // 12 bytes = 16 base64 characters
		if seen[nonce] {
			t.Fatalf("nonce repeated after %d seals", len(seen))
		}
		seen[nonce] = true
	}
}

func TestCiphertextMovedToAnotherUserFailsToOpen(t *testing.T) {
	ctx := context.Background()
	keys := newStaticKeys(t)
	s, err := seal.Seal(ctx, keys, []byte("alice's refresh token"), alice)
	if err != nil {
		t.Fatal(err)
	}
	moved := func(f func(*seal.AssociatedData)) seal.AssociatedData {
		ad := alice
		f(&ad)
		return ad
	}
	tests := []struct {
		name string
		ad   seal.AssociatedData
	}{
		{"another user", moved(func(ad *seal.AssociatedData) { ad.User = "u-bob" })},
		{"another tenant", moved(func(ad *seal.AssociatedData) { ad.Tenant = "00D000000000002" })},
		{"another provider", moved(func(ad *seal.AssociatedData) { ad.Provider = "microsoft" })},
		{"another field", moved(func(ad *seal.AssociatedData) { ad.Purpose = "password" })},
		{"shifted boundary", moved(func(ad *seal.AssociatedData) { ad.Tenant, ad.User = alice.Tenant+"u", "-alice" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := seal.Open(ctx, keys, s, tt.ad)
			if !errors.Is(err, seal.ErrTampered) {
				t.Errorf("Open() = %q, %v; want ErrTampered", got, err)
			}
		})
	}
}

func TestOpenDetectsTampering(t *testing.T) {
	ctx := context.Background()
	keys := newStaticKeys(t)
	s, err := seal.Seal(ctx, keys, []byte("token"), alice)
	if err != nil {
		t.Fatal(err)
	}
	// Every single-character change in the data part must fail to open.
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := len("v2."); i < len(s); i++ {
		repl := alphabet[(strings.IndexByte(alphabet, s[i])+1)%len(alphabet)]
		bad := s[:i] + string(repl) + s[i+1:]
		if _, err := seal.Open(ctx, keys, bad, alice); !errors.Is(err, seal.ErrTampered) && !errors.Is(err, seal.ErrMalformed) {
			t.Errorf("changed character %d: error = %v, want ErrTampered or ErrMalformed", i, err)
		}
	}
	// Relabelling the value with another existing version does not help.
	if _, err := seal.Open(ctx, keys, "v1"+s[2:], alice); !errors.Is(err, seal.ErrTampered) {
		t.Errorf("relabelled version: error = %v, want ErrTampered", err)
	}
}

func TestOpenUnknownOrRetiredKey(t *testing.T) {
	ctx := context.Background()
	ring, err := keyring.OpenFileRing(filepath.Join(t.TempDir(), "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	old, err := seal.Seal(ctx, ring, []byte("token"), alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Add(ctx); err != nil {
		t.Fatal(err)
	}
	// Old versions keep opening until retired.
	if _, err := seal.Open(ctx, ring, old, alice); err != nil {
		t.Fatalf("open with a non-current version: %v", err)
	}
	if err := ring.Retire(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := seal.Open(ctx, ring, old, alice); !errors.Is(err, seal.ErrUnknownKey) {
		t.Errorf("retired version: error = %v, want ErrUnknownKey", err)
	}
	unknown := "v99" + old[2:]
	if _, err := seal.Open(ctx, ring, unknown, alice); !errors.Is(err, seal.ErrUnknownKey) {
		t.Errorf("unknown version: error = %v, want ErrUnknownKey", err)
	}
}

func TestOpenMalformed(t *testing.T) {
	keys := newStaticKeys(t)
	valid, _ := seal.Seal(context.Background(), keys, []byte("t"), alice)
	data := valid[3:]
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"plaintext token", "5Aep861TSESvWeug_xvFHRBTTbf"},
		{"no dot", "v2" + data},
		{"no v", "2." + data},
		{"empty version", "v." + data},
		{"leading zero", "v02." + data},
		{"zero version", "v0." + data},
		{"negative", "v-2." + data},
		{"plus", "v+2." + data},
		{"huge version", "v12345678901." + data},
		{"padded base64", valid + "=="},
		{"std base64 chars", "v2." + strings.Repeat("+/", 20)},
		{"too short", "v2.AAAA"},
		{"whitespace", "v2. " + data},
		{"too long", "v2." + strings.Repeat("A", seal.MaxLen)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := seal.Open(context.Background(), keys, tt.in, alice); !errors.Is(err, seal.ErrMalformed) {
				t.Errorf("Open(%.20q) error = %v, want ErrMalformed", tt.in, err)
			}
			if seal.IsSealed(tt.in) {
				t.Errorf("IsSealed(%.20q) = true", tt.in)
			}
		})
	}
}

func TestSealNeedsAssociatedData(t *testing.T) {
	keys := newStaticKeys(t)
	_, err := seal.Seal(context.Background(), keys, []byte("t"), seal.AssociatedData{Tenant: "x"})
	if err == nil || !strings.Contains(err.Error(), "User, Provider, Purpose") {
		t.Errorf("Seal without associated data: error = %v, want one naming User, Provider, Purpose", err)
	}
}

func FuzzOpen(f *testing.F) {
	keys := newStaticKeys(f)
	valid, err := seal.Seal(context.Background(), keys, []byte("seed token"), alice)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{valid, "v1." + valid[3:], "v2.", "v.", "v999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", ".", "vv2.x", valid + "A", valid[:len(valid)-1]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pt, err := seal.Open(context.Background(), keys, s, alice)
		if err == nil {
			// Forging is out of reach: only a value sealed with these keys
			// for alice opens, and "seed token" is the only one there is.
			if string(pt) != "seed token" {
				t.Fatalf("Open(%q) succeeded with %q", s, pt)
			}
			return
		}
		if !errors.Is(err, seal.ErrMalformed) && !errors.Is(err, seal.ErrTampered) && !errors.Is(err, seal.ErrUnknownKey) {
			t.Fatalf("Open(%q) error = %v, want a classified error", s, err)
		}
		if strings.Contains(err.Error(), "seed token") {
			t.Fatalf("error message carries the plaintext")
		}
	})
}

func BenchmarkSealOpen(b *testing.B) {
	ctx := context.Background()
	keys := newStaticKeys(b)
	token := []byte("5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJrfh.f4J8i8P2xQ9yK0")
	for b.Loop() {
		s, err := seal.Seal(ctx, keys, token, alice)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := seal.Open(ctx, keys, s, alice); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "values/s")
}

func Example() {
	ctx := context.Background()
	dir := exampleDir()
	defer os.RemoveAll(dir)
	ring, _ := keyring.OpenFileRing(filepath.Join(dir, "keys", "ring.json"))
	ad := seal.AssociatedData{Tenant: "00D000000000001", User: "u-1", Provider: "salesforce", Purpose: "refresh_token"}
	s, _ := seal.Seal(ctx, ring, []byte("refresh-token"), ad)
	pt, _ := seal.Open(ctx, ring, s, ad)
	fmt.Println(strings.HasPrefix(s, "v1."), string(pt))
	// Output: true refresh-token
}
