package tablestore_test

import (
	"context"
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
