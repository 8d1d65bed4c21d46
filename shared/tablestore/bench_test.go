package tablestore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

// benchEntity has the shape of a sync-state row: identifiers, a change
// marker, a fingerprint.
func benchEntity(pk, rk string) tablestore.Entity {
	return tablestore.Entity{PartitionKey: pk, RowKey: rk, Properties: map[string]any{
		"CrmID":       "003000000000001AAA",
		"Fingerprint": []byte("0123456789abcdef0123456789abcdef"),
		"Version":     int64(7),
		"SeenAt":      time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC),
	}}
}

func reportOpsPerSec(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "ops/s")
}

func benchGet(b *testing.B, s tablestore.Store) {
	table := storetest.NewTableName(b)
	b.Cleanup(func() { _ = s.DeleteTable(ctx, table) })
	if _, err := s.Upsert(ctx, table, benchEntity("p", "r")); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Get(ctx, table, "p", "r"); err != nil {
			b.Fatal(err)
		}
	}
	reportOpsPerSec(b, 1)
}

func benchUpsert(b *testing.B, s tablestore.Store) {
	table := storetest.NewTableName(b)
	b.Cleanup(func() { _ = s.DeleteTable(ctx, table) })
	i := 0
	for b.Loop() {
		if _, err := s.Upsert(ctx, table, benchEntity("p", fmt.Sprintf("r%06d", i%1000))); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportOpsPerSec(b, 1)
}

func benchBatch100(b *testing.B, s tablestore.Store) {
	table := storetest.NewTableName(b)
	b.Cleanup(func() { _ = s.DeleteTable(ctx, table) })
	ops := make([]tablestore.Op, 100)
	for i := range ops {
		ops[i] = tablestore.Op{Kind: tablestore.OpUpsert, Entity: benchEntity("p", fmt.Sprintf("r%03d", i))}
	}
	for b.Loop() {
		if _, err := s.Batch(ctx, table, ops); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(100, "entities/op")
	reportOpsPerSec(b, 100)
}

func BenchmarkEmbeddedGet(b *testing.B)      { benchGet(b, openEmbedded(b)) }
func BenchmarkEmbeddedUpsert(b *testing.B)   { benchUpsert(b, openEmbedded(b)) }
func BenchmarkEmbeddedBatch100(b *testing.B) { benchBatch100(b, openEmbedded(b)) }
func BenchmarkAzuriteGet(b *testing.B)       { benchGet(b, newAzure(b)) }
func BenchmarkAzuriteUpsert(b *testing.B)    { benchUpsert(b, newAzure(b)) }
func BenchmarkAzuriteBatch100(b *testing.B)  { benchBatch100(b, newAzure(b)) }
