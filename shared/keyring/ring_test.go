package keyring_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/keyring/ringtest"
)

func TestConformanceFileRing(t *testing.T) {
	ringtest.Run(t, ringtest.Harness{
		New: func(t *testing.T) keyring.Ring {
			r, err := keyring.OpenFileRing(filepath.Join(t.TempDir(), "keys", "ring.json"))
			if err != nil {
				t.Fatal(err)
			}
			return r
		},
		Reopen: func(t *testing.T, r keyring.Ring) keyring.Ring {
			r2, err := keyring.OpenFileRing(r.(*keyring.FileRing).Path())
			if err != nil {
				t.Fatal(err)
			}
			return r2
		},
	})
}

func TestConformanceKeyVaultRing(t *testing.T) {
	vaults := map[keyring.Ring]*ringtest.FakeVault{}
	open := func(t *testing.T, v *ringtest.FakeVault) keyring.Ring {
		r, err := keyring.NewKeyVaultRing(ringtest.FakeVaultURL, v.Credential(), v.ClientOptions())
		if err != nil {
			t.Fatal(err)
		}
		vaults[r] = v
		return r
	}
	ringtest.Run(t, ringtest.Harness{
		New:    func(t *testing.T) keyring.Ring { return open(t, ringtest.NewFakeVault()) },
		Reopen: func(t *testing.T, r keyring.Ring) keyring.Ring { return open(t, vaults[r]) },
	})
}

func TestFileRingCreatesAPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ring.json")
	if _, err := keyring.OpenFileRing(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("mode = %04o, want %04o", got, want)
	}
	// Nothing but the ring itself is left in the directory.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the ring file", len(entries))
	}
}

func TestFileRingRefusesBadFiles(t *testing.T) {
	good := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "ring.json")
		if _, err := keyring.OpenFileRing(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T) string
		wantErr string
	}{
		{"group readable", func(t *testing.T) string {
			p := good(t)
			os.Chmod(p, 0o640)
			return p
		}, "chmod 600"},
		{"world readable", func(t *testing.T) string {
			p := good(t)
			os.Chmod(p, 0o604)
			return p
		}, "group or others"},
		{"not json", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "ring.json")
			os.WriteFile(p, []byte("hello"), 0o600)
			return p
		}, "not a key ring file"},
		{"wrong format", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "ring.json")
			os.WriteFile(p, []byte(`{"format":"other","keys":[]}`), 0o600)
			return p
		}, "format"},
		{"short key", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "ring.json")
			os.WriteFile(p, []byte(`{"format":"crmsync-keyring-v1","keys":[{"version":1,"key":"AAAA","created":"2026-01-01T00:00:00Z"}]}`), 0o600)
			return p
		}, "3 bytes of key material"},
		{"duplicate version", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "ring.json")
			k := base64.StdEncoding.EncodeToString(make([]byte, 32))
			os.WriteFile(p, []byte(`{"format":"crmsync-keyring-v1","keys":[{"version":1,"key":"`+k+`","created":"2026-01-01T00:00:00Z"},{"version":1,"key":"`+k+`","created":"2026-01-01T00:00:00Z"}]}`), 0o600)
			return p
		}, "appears twice"},
		{"no active key", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "ring.json")
			os.WriteFile(p, []byte(`{"format":"crmsync-keyring-v1","keys":[{"version":1,"created":"2026-01-01T00:00:00Z","retired":"2026-02-01T00:00:00Z"}]}`), 0o600)
			return p
		}, "no active key"},
		{"a directory", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "ring.json")
			os.Mkdir(p, 0o700)
			return p
		}, "not a regular file"},
		{"empty path", func(t *testing.T) string { return "" }, "empty key ring file path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := keyring.OpenFileRing(tt.prepare(t))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("OpenFileRing error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestFileRingRetireErasesMaterial(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ring.json")
	r, err := keyring.OpenFileRing(path)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if _, err := r.Add(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Retire(ctx, 1); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	// The first file held only version 1, so its material is the only
	// base64 run of 44 characters in it.
	old := findKey(t, before)
	if strings.Contains(string(after), old) {
		t.Errorf("retired key material is still in the file")
	}
	fi, _ := os.Stat(path)
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode after rewrite = %04o, want 0600", got)
	}
}

func findKey(t *testing.T, file []byte) string {
	t.Helper()
	_, rest, ok := strings.Cut(string(file), `"key": "`)
	if !ok {
		t.Fatalf("no key in %s", file)
	}
	k, _, _ := strings.Cut(rest, `"`)
	return k
}

func TestKeyVaultRingStoresOneSecretPerVersion(t *testing.T) {
	ctx := context.Background()
	v := ringtest.NewFakeVault()
	v.Set("unrelated-secret", "x")
	v.Set("crmsync-key-007", "not ours: leading zero")
	r, err := keyring.NewKeyVaultRing(ringtest.FakeVaultURL, v.Credential(), v.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	k, err := r.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if k.Version != 1 {
		t.Errorf("first version = %d, want 1", k.Version)
	}
	if _, err := r.Add(ctx); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(v.Names(), ",")
	if want := "crmsync-key-007,crmsync-key-1,crmsync-key-2,unrelated-secret"; got != want {
		t.Errorf("secrets = %s, want %s", got, want)
	}
}

func TestKeyVaultRingCachesKeys(t *testing.T) {
	ctx := context.Background()
	v := ringtest.NewFakeVault()
	r, err := keyring.NewKeyVaultRing(ringtest.FakeVaultURL, v.Credential(), v.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Current(ctx); err != nil {
		t.Fatal(err)
	}
	gets := v.Calls("GetSecret")
	for range 10 {
		if _, err := r.Current(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Key(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	if got := v.Calls("GetSecret"); got != gets {
		t.Errorf("GetSecret calls = %d after cached reads, want %d", got, gets)
	}
}

// TestKeyVaultRingFirstWriteWins: two instances that add the same version at
// once leave two Key Vault versions of one secret; every instance must use
// the same (oldest) one, or values sealed by one would not open in the other.
func TestKeyVaultRingFirstWriteWins(t *testing.T) {
	ctx := context.Background()
	v := ringtest.NewFakeVault()
	first := base64.StdEncoding.EncodeToString(make([]byte, 32))
	v.Set("crmsync-key-1", first)
	v.Set("crmsync-key-1", base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 32))))
	want, _ := keyring.NewKey(1, make([]byte, 32))
	for i := range 2 {
		r, err := keyring.NewKeyVaultRing(ringtest.FakeVaultURL, v.Credential(), v.ClientOptions())
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Key(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) {
			t.Errorf("instance %d: Key(1) is not the first written value", i)
		}
	}
}

func TestKeyVaultRingRejectsBadInput(t *testing.T) {
	v := ringtest.NewFakeVault()
	for _, u := range []string{"", "http://crmsync.vault.azure.net", "vault.azure.net", "https://"} {
		if _, err := keyring.NewKeyVaultRing(u, v.Credential(), v.ClientOptions()); err == nil {
			t.Errorf("NewKeyVaultRing(%q) succeeded, want an error", u)
		}
	}
	if _, err := keyring.NewKeyVaultRing(ringtest.FakeVaultURL, nil, v.ClientOptions()); err == nil {
		t.Error("NewKeyVaultRing without credential succeeded, want an error")
	}
	v.Set("crmsync-key-1", "!!not base64")
	r, _ := keyring.NewKeyVaultRing(ringtest.FakeVaultURL, v.Credential(), v.ClientOptions())
	_, err := r.Key(context.Background(), 1)
	if err == nil || errors.Is(err, keyring.ErrUnknownKey) || !strings.Contains(err.Error(), "not base64") {
		t.Errorf("Key of a garbled secret: error = %v, want a clear non-ErrUnknownKey error", err)
	}
}

// TestKeyVaultRingCurrentFollowsOtherInstances: an instance picks up a key
// another instance added within CurrentTTL, and not before (the cache is
// what keeps Key Vault calls down).
func TestKeyVaultRingCurrentFollowsOtherInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		v := ringtest.NewFakeVault()
		a, _ := keyring.NewKeyVaultRing(ringtest.FakeVaultURL, v.Credential(), v.ClientOptions())
		b, _ := keyring.NewKeyVaultRing(ringtest.FakeVaultURL, v.Credential(), v.ClientOptions())
		if k, err := a.Current(ctx); err != nil || k.Version != 1 {
			t.Fatalf("a.Current() = %v, %v; want version 1", k, err)
		}
		v2, err := b.Add(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if k, _ := a.Current(ctx); k.Version != 1 {
			t.Errorf("a.Current() right after b.Add = version %d, want the cached 1", k.Version)
		}
		time.Sleep(keyring.CurrentTTL + time.Second)
		if k, _ := a.Current(ctx); k.Version != v2 {
			t.Errorf("a.Current() after CurrentTTL = version %d, want %d", k.Version, v2)
		}
	})
}
