package connection_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/keyring/ringtest"
	"github.com/crmsync/crmsync/shared/seal"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// sealedVersions lists the key version of every sealed value in the table.
func sealedVersions(t testing.TB, tables tablestore.Store) map[int]int {
	t.Helper()
	out := map[int]int{}
	var q tablestore.Query
	for {
		page, err := tables.Query(context.Background(), connection.Table, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entities {
			for _, p := range []string{"RefreshToken", "Username", "Password"} {
				if s, ok := e.Properties[p].(string); ok {
					v, err := seal.Version(s)
					if err != nil {
						t.Fatalf("row %s/%s %s: %v", e.PartitionKey, e.RowKey, p, err)
					}
					out[v]++
				}
			}
		}
		if page.Continuation == "" {
			return out
		}
		q.Continuation = page.Continuation
	}
}

func TestRotationResealsAll(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, connection.Options{})
	want := map[string]connection.Credentials{}
	for i := range 25 {
		user := fmt.Sprintf("u-%02d", i)
		cred := connection.Credentials{RefreshToken: secret("RT")}
		mustSave(t, e.store, sfConn(user), cred)
		want[user+"/salesforce"] = cred
		if i%5 == 0 {
			c := msConn(user)
			cred := connection.Credentials{RefreshToken: secret("RT")}
			mustSave(t, e.store, c, cred)
			want[user+"/microsoft"] = cred
		}
	}
	c := sfConn("u-pw")
	c.Flow = connection.FlowPassword
	pw := connection.Credentials{Username: "api@acme.example", Password: secret("PW")}
	mustSave(t, e.store, c, pw)
	want["u-pw/salesforce"] = pw

	check := func(t *testing.T, version int) {
		t.Helper()
		if diff := cmp.Diff(map[int]int{version: 32}, sealedVersions(t, e.tables)); diff != "" {
			t.Errorf("sealed values per key version (-want +got):\n%s", diff)
		}
		for key, cred := range want {
			user, p, _ := strings.Cut(key, "/")
			if got := mustOpen(t, e.store, user, connection.Provider(p)); got != cred {
				t.Errorf("%s: credentials changed by rotation", key)
			}
		}
	}
	check(t, 1)

	rep, err := keyring.Rotate(ctx, e.ring, e.store)
	if err != nil {
		t.Fatal(err)
	}
	wantRep := keyring.Report{Previous: 1, Version: 2, ResealCounts: keyring.ResealCounts{
		Rows: 31, Values: 32, Resealed: 32, ByVersion: map[int]int{2: 32},
	}}
	if diff := cmp.Diff(wantRep, rep); diff != "" {
		t.Errorf("first rotation report (-want +got):\n%s", diff)
	}
	check(t, 2)
	// Version 1 sealed nothing any more but was current until now: kept.
	if _, err := e.ring.Key(ctx, 1); err != nil {
		t.Errorf("version 1 after the first rotation: %v, want it still open", err)
	}

	rep, err = keyring.Rotate(ctx, e.ring, e.store)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Version != 3 || rep.Resealed != 32 || !cmp.Equal(rep.Retired, []int{1}) {
		t.Errorf("second rotation: version %d, resealed %d, retired %v; want 3, 32, [1]", rep.Version, rep.Resealed, rep.Retired)
	}
	check(t, 3)
}

// TestRotationKeepsAValueThatDoesNotOpen: a tampered value is reported, left
// as it is, and keeps its key version from being retired.
func TestRotationKeepsAValueThatDoesNotOpen(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, connection.Options{})
	mustSave(t, e.store, sfConn("u-1"), connection.Credentials{RefreshToken: secret("RT")})
	mustSave(t, e.store, sfConn("u-2"), connection.Credentials{RefreshToken: secret("RT")})
	// Copy u-1's sealed token into u-2's row.
	src, dst := e.entity(t, "u-1", connection.Salesforce), e.entity(t, "u-2", connection.Salesforce)
	dst.Properties["RefreshToken"] = src.Properties["RefreshToken"]
	if _, err := e.tables.Update(ctx, connection.Table, dst, dst.ETag); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := keyring.Rotate(ctx, e.ring, e.store); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := keyring.Rotate(ctx, e.ring, e.store)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 1 || rep.ByVersion[1] != 1 {
		t.Errorf("report: failed %d, version-1 values %d; want 1, 1", rep.Failed, rep.ByVersion[1])
	}
	if vs, _ := e.ring.Versions(ctx); vs[0] != 1 {
		t.Errorf("versions %v: version 1 was retired while a value still used it", vs)
	}
	if got := e.entity(t, "u-2", connection.Salesforce).Properties["RefreshToken"]; got != src.Properties["RefreshToken"] {
		t.Error("the value that does not open was changed")
	}
}

// racingStore writes a row behind the re-sealer's back, once, just before
// the re-sealer's conditional update of that row: as a token refresh in
// another process would.
type racingStore struct {
	tablestore.Store
	once  sync.Once
	race  func()
	match func(tablestore.Entity) bool
}

func (s *racingStore) Update(ctx context.Context, table string, e tablestore.Entity, ifMatch string) (string, error) {
	if s.match(e) {
		s.once.Do(s.race)
	}
	return s.Store.Update(ctx, table, e, ifMatch)
}

func TestRotationDoesNotClobberAConcurrentRefresh(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, connection.Options{})
	old, rotated := secret("RT"), secret("RT")
	mustSave(t, e.store, sfConn("u-1"), connection.Credentials{RefreshToken: old})
	mustSave(t, e.store, sfConn("u-2"), connection.Credentials{RefreshToken: secret("RT")})

	racing := &racingStore{
		Store: e.tables,
		match: func(ent tablestore.Entity) bool { return ent.PartitionKey == "u-1" },
		race: func() {
			// Another process saves a rotated token, sealed with the old
			// version it still holds as current.
			mustSave(t, e.another(t), sfConn("u-1"), connection.Credentials{RefreshToken: rotated})
		},
	}
	resealer := connection.NewStore(racing, e.ring, connection.Options{})
	rep, err := keyring.Rotate(ctx, e.ring, resealer)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Retried != 1 {
		t.Errorf("retried = %d, want 1", rep.Retried)
	}
	if got := mustOpen(t, e.store, "u-1", connection.Salesforce).RefreshToken; got != rotated {
		t.Errorf("re-sealing overwrote the concurrently saved refresh token")
	}
	if diff := cmp.Diff(map[int]int{2: 2}, sealedVersions(t, e.tables)); diff != "" {
		t.Errorf("sealed values per key version (-want +got):\n%s", diff)
	}
}

// BenchmarkRotation10k re-seals 10,000 stored refresh tokens per iteration
// against the embedded (SQLite) table store.
func BenchmarkRotation10k(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b, connection.Options{})
	const n = 10_000
	for i := range n {
		mustSave(b, e.store, sfConn(fmt.Sprintf("u-%05d", i)), connection.Credentials{RefreshToken: secret("RT")})
	}
	rows := 0
	for b.Loop() {
		rep, err := keyring.Rotate(ctx, e.ring, e.store)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Resealed != n {
			b.Fatalf("resealed %d, want %d", rep.Resealed, n)
		}
		rows += rep.Rows
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// TestRotationWithKeyVaultRing runs the same rotation with keys in (fake)
// Key Vault: new versions become secrets, retired ones are deleted.
func TestRotationWithKeyVaultRing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, connection.Options{})
	vault := ringtest.NewFakeVault()
	ring, err := keyring.NewKeyVaultRing(ringtest.FakeVaultURL, vault.Credential(), vault.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	store := connection.NewStore(e.tables, ring, connection.Options{})
	tokens := map[string]string{}
	for i := range 5 {
		user := fmt.Sprintf("u-%d", i)
		tokens[user] = secret("RT")
		mustSave(t, store, sfConn(user), connection.Credentials{RefreshToken: tokens[user]})
	}
	for range 2 {
		if _, err := keyring.Rotate(ctx, ring, store); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(map[int]int{3: 5}, sealedVersions(t, e.tables)); diff != "" {
		t.Errorf("sealed values per key version (-want +got):\n%s", diff)
	}
	for user, rt := range tokens {
		if got := mustOpen(t, store, user, connection.Salesforce).RefreshToken; got != rt {
			t.Errorf("%s: refresh token changed by rotation", user)
		}
	}
	if diff := cmp.Diff([]string{"crmsync-key-2", "crmsync-key-3"}, vault.Names()); diff != "" {
		t.Errorf("vault secrets (-want +got):\n%s", diff)
	}
}
