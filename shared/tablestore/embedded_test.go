package tablestore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

func openEmbedded(t testing.TB) *tablestore.Embedded {
	t.Helper()
	s, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformanceEmbedded(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tablestore.Store { return openEmbedded(t) })
}

var ctx = context.Background()

func TestEmbeddedSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := tablestore.OpenEmbedded(path)
	if err != nil {
		t.Fatal(err)
	}
	want := tablestore.Entity{PartitionKey: "u1", RowKey: "marker", Properties: map[string]any{"Seq": int64(42), "At": time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}}
	etag, err := s.Insert(ctx, "syncState", want)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = tablestore.OpenEmbedded(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get(ctx, "syncState", "u1", "marker")
	if err != nil {
		t.Fatalf("Get after reopening: %v", err)
	}
	if diff := cmp.Diff(want.Properties, got.Properties); diff != "" || got.ETag != etag {
		t.Errorf("after reopening: ETag %q (want %q), properties (-want +got):\n%s", got.ETag, etag, diff)
	}
	// The ETag counter carries on: a write after restart never reuses an ETag.
	next, err := s.Upsert(ctx, "syncState", want)
	if err != nil {
		t.Fatal(err)
	}
	if next == etag {
		t.Errorf("write after restart reused ETag %q", etag)
	}
}

// Table names are case-insensitive, as in Azure.
func TestEmbeddedTableNamesIgnoreCase(t *testing.T) {
	s := openEmbedded(t)
	if _, err := s.Insert(ctx, "Users", tablestore.Entity{PartitionKey: "p", RowKey: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "users", "p", "r"); err != nil {
		t.Errorf("Get via lower-case name: %v", err)
	}
}

func TestEmbeddedTimestampFromClock(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	s, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "s.db"), tablestore.WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Insert(ctx, "clocked", tablestore.Entity{PartitionKey: "p", RowKey: "r"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "clocked", "p", "r")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Timestamp.Equal(at) {
		t.Errorf("Timestamp = %v, want the injected clock's %v", got.Timestamp, at)
	}
}

// TestEmbeddedFilesArePrivate: the store holds identifiers and fingerprints
// of every user; its file and the -wal and -shm beside it are the owner's
// only (0600), whatever the umask leaves for new files.
func TestEmbeddedFilesArePrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "tables.db")
	s, err := tablestore.OpenEmbedded(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Insert(ctx, "syncState", tablestore.Entity{PartitionKey: "u1", RowKey: "r"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is %o, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the folder OpenEmbedded created: %v (err %v), want 0700", fi.Mode().Perm(), err)
	}
}
