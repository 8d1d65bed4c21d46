// Package storetest is the conformance suite every tablestore.Store
// implementation passes. An implementation's tests call Run with a
// constructor; each subtest gets a fresh store and its own tables.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// Run runs the whole suite. newStore is called once per subtest and must
// return a ready store; the suite deletes the tables it creates.
func Run(t *testing.T, newStore func(t *testing.T) tablestore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s tablestore.Store, table string)
	}{
		{"CRUD", testCRUD},
		{"ETagConflicts", testETagConflicts},
		{"PropertyTypes", testPropertyTypes},
		{"UpsertReplaces", testUpsertReplaces},
		{"InvalidRequests", testInvalidRequests},
		{"LegalOddKeys", testLegalOddKeys},
		{"Batch", testBatch},
		{"BatchAllOrNothing", testBatchAllOrNothing},
		{"BatchRules", testBatchRules},
		{"QueryPaging", testQueryPaging},
		{"QueryEmptyAndMissing", testQueryEmptyAndMissing},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"DeleteTable", testDeleteTable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			table := NewTableName(t)
			t.Cleanup(func() {
				if err := s.DeleteTable(context.Background(), table); err != nil {
					t.Errorf("cleanup: DeleteTable(%s): %v", table, err)
				}
			})
			tc.fn(t, s, table)
		})
	}
}

// NewTableName returns a fresh valid table name, so tests sharing one account
// never see each other's rows.
func NewTableName(t testing.TB) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "t" + hex.EncodeToString(b)
}

var ctx = context.Background()

// entityOpts compares entities on keys and properties; ETag and Timestamp are
// the store's and checked separately.
var entityOpts = cmp.Options{
	cmpopts.IgnoreFields(tablestore.Entity{}, "ETag", "Timestamp"),
	cmpopts.EquateEmpty(),
}

func mustInsert(t *testing.T, s tablestore.Store, table string, e tablestore.Entity) string {
	t.Helper()
	etag, err := s.Insert(ctx, table, e)
	if err != nil {
		t.Fatalf("Insert(%.40q, %.40q): %v", e.PartitionKey, e.RowKey, err)
	}
	if etag == "" {
		t.Fatalf("Insert(%.40q, %.40q) returned an empty ETag", e.PartitionKey, e.RowKey)
	}
	return etag
}

func mustGet(t *testing.T, s tablestore.Store, table, pk, rk string) tablestore.Entity {
	t.Helper()
	e, err := s.Get(ctx, table, pk, rk)
	if err != nil {
		t.Fatalf("Get(%q, %q): %v", pk, rk, err)
	}
	return e
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

func testCRUD(t *testing.T, s tablestore.Store, table string) {
	_, err := s.Get(ctx, table, "p", "r")
	wantErr(t, "Get before any write", err, tablestore.ErrNotFound)

	e := tablestore.Entity{PartitionKey: "p", RowKey: "r", Properties: map[string]any{"Name": "first", "N": int64(1)}}
	etag := mustInsert(t, s, table, e)
	got := mustGet(t, s, table, "p", "r")
	if diff := cmp.Diff(e, got, entityOpts); diff != "" {
		t.Errorf("Get after Insert (-want +got):\n%s", diff)
	}
	if got.ETag != etag {
		t.Errorf("Get ETag = %q, want the one Insert returned, %q", got.ETag, etag)
	}
	if got.Timestamp.IsZero() {
		t.Error("Get Timestamp is zero, want the time of the write")
	}

	_, err = s.Insert(ctx, table, e)
	wantErr(t, "second Insert of the same key", err, tablestore.ErrExists)

	e.Properties["N"] = int64(2)
	etag2, err := s.Update(ctx, table, e, etag)
	if err != nil {
		t.Fatalf("Update with current ETag: %v", err)
	}
	if etag2 == etag {
		t.Errorf("Update returned the old ETag %q; every write must change it", etag)
	}
	e.Properties["N"] = int64(3)
	etag3, err := s.Update(ctx, table, e, "*")
	if err != nil {
		t.Fatalf(`Update with "*": %v`, err)
	}
	if got := mustGet(t, s, table, "p", "r"); got.Properties["N"] != int64(3) || got.ETag != etag3 {
		t.Errorf("after Update: N = %v, ETag %q; want 3 and %q", got.Properties["N"], got.ETag, etag3)
	}

	_, err = s.Update(ctx, table, tablestore.Entity{PartitionKey: "p", RowKey: "absent"}, "*")
	wantErr(t, "Update of a missing entity", err, tablestore.ErrNotFound)

	if err := s.Delete(ctx, table, "p", "r", etag3); err != nil {
		t.Fatalf("Delete with current ETag: %v", err)
	}
	_, err = s.Get(ctx, table, "p", "r")
	wantErr(t, "Get after Delete", err, tablestore.ErrNotFound)
	wantErr(t, "second Delete", s.Delete(ctx, table, "p", "r", "*"), tablestore.ErrNotFound)

	// Insert-if-absent after a delete works again.
	mustInsert(t, s, table, e)
	if err := s.Delete(ctx, table, "p", "r", "*"); err != nil {
		t.Fatalf(`Delete with "*": %v`, err)
	}
}

func testETagConflicts(t *testing.T, s tablestore.Store, table string) {
	e := tablestore.Entity{PartitionKey: "p", RowKey: "r", Properties: map[string]any{"V": int64(1)}}
	old := mustInsert(t, s, table, e)
	current, err := s.Upsert(ctx, table, e)
	if err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	if current == old {
		t.Fatalf("Upsert kept ETag %q; every write must change it", old)
	}
	_, err = s.Update(ctx, table, e, old)
	wantErr(t, "Update with a stale ETag", err, tablestore.ErrPrecondition)
	wantErr(t, "Delete with a stale ETag", s.Delete(ctx, table, "p", "r", old), tablestore.ErrPrecondition)
	if got := mustGet(t, s, table, "p", "r"); got.ETag != current {
		t.Errorf("after refused writes the ETag is %q, want unchanged %q", got.ETag, current)
	}
}

// Values chosen to break lossy encodings: int64 beyond float64 precision,
// a double with no fraction (looks like an Int32 in JSON), bytes that are not
// UTF-8, times finer than a second.
func testPropertyTypes(t *testing.T, s tablestore.Store, table string) {
	when := time.Date(2026, 5, 1, 10, 0, 0, 123456700, time.UTC)
	e := tablestore.Entity{PartitionKey: "p", RowKey: "types", Properties: map[string]any{
		"Str":       "héllo, wörld ✓ 𝄞",
		"EmptyStr":  "",
		"Big":       int64(9007199254740993),
		"Min":       int64(math.MinInt64),
		"Max":       int64(math.MaxInt64),
		"Small":     int64(7),
		"Neg":       int64(-42),
		"Whole":     3.0,
		"Frac":      0.1,
		"Huge":      -1.5e300,
		"Tiny":      5e-324,
		"True":      true,
		"False":     false,
		"Bytes":     []byte{0x00, 0xff, 0xfe, 0x80, 'a'},
		"When":      when,
		"EpochNano": time.Date(1970, 1, 1, 0, 0, 0, 100, time.UTC),
	}}
	mustInsert(t, s, table, e)
	got := mustGet(t, s, table, "p", "types")
	if diff := cmp.Diff(e, got, entityOpts); diff != "" {
		t.Errorf("Get round trip (-want +got):\n%s", diff)
	}
	page, err := s.Query(ctx, table, tablestore.Query{PartitionKey: "p"})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	if len(page.Entities) != 1 {
		t.Fatalf("Query returned %d entities, want 1", len(page.Entities))
	}
	if diff := cmp.Diff(e, page.Entities[0], entityOpts); diff != "" {
		t.Errorf("Query round trip (-want +got):\n%s", diff)
	}

	// Normalized on the way in: int32 comes back as int64, a local time as
	// UTC, nanoseconds truncated to Edm.DateTime's 100 ns.
	local := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	in := tablestore.Entity{PartitionKey: "p", RowKey: "normalized", Properties: map[string]any{"I32": int32(-5), "Local": local}}
	mustInsert(t, s, table, in)
	want := map[string]any{"I32": int64(-5), "Local": time.Date(2026, 5, 1, 10, 0, 0, 123456700, time.UTC)}
	got = mustGet(t, s, table, "p", "normalized")
	if diff := cmp.Diff(want, got.Properties); diff != "" {
		t.Errorf("normalized properties (-want +got):\n%s", diff)
	}
	if loc := got.Properties["Local"].(time.Time).Location(); loc != time.UTC {
		t.Errorf("time came back in %v, want UTC", loc)
	}
}

func testUpsertReplaces(t *testing.T, s tablestore.Store, table string) {
	mustInsert(t, s, table, tablestore.Entity{PartitionKey: "p", RowKey: "r", Properties: map[string]any{"A": "a", "B": "b"}})
	if _, err := s.Upsert(ctx, table, tablestore.Entity{PartitionKey: "p", RowKey: "r", Properties: map[string]any{"C": "c"}}); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	got := mustGet(t, s, table, "p", "r")
	if diff := cmp.Diff(map[string]any{"C": "c"}, got.Properties); diff != "" {
		t.Errorf("Upsert must replace the whole entity (-want +got):\n%s", diff)
	}
	// Merge (batch only) keeps properties it does not name.
	if _, err := s.Batch(ctx, table, []tablestore.Op{{Kind: tablestore.OpMerge, Entity: tablestore.Entity{PartitionKey: "p", RowKey: "r", Properties: map[string]any{"D": int64(4)}}}}); err != nil {
		t.Fatalf("Batch merge: %v", err)
	}
	got = mustGet(t, s, table, "p", "r")
	if diff := cmp.Diff(map[string]any{"C": "c", "D": int64(4)}, got.Properties); diff != "" {
		t.Errorf("Merge must keep other properties (-want +got):\n%s", diff)
	}
	// Merge of an absent row inserts it.
	if _, err := s.Batch(ctx, table, []tablestore.Op{{Kind: tablestore.OpMerge, Entity: tablestore.Entity{PartitionKey: "p", RowKey: "new", Properties: map[string]any{"E": true}}}}); err != nil {
		t.Fatalf("Batch merge of an absent row: %v", err)
	}
	if got := mustGet(t, s, table, "p", "new"); got.Properties["E"] != true {
		t.Errorf("merged new row holds %v, want E=true", got.Properties)
	}
}

func testInvalidRequests(t *testing.T, s tablestore.Store, table string) {
	big := strings.Repeat("x", 32*1024) // 64 KiB as UTF-16: the most one string may hold
	oversize := map[string]any{}
	for i := range 17 {
		oversize[fmt.Sprintf("P%d", i)] = big
	}
	tooMany := map[string]any{}
	for i := range 253 {
		tooMany[fmt.Sprintf("P%d", i)] = int64(i)
	}
	ent := func(pk, rk string, props map[string]any) tablestore.Entity {
		return tablestore.Entity{PartitionKey: pk, RowKey: rk, Properties: props}
	}
	tests := []struct {
		name  string
		table string
		e     tablestore.Entity
	}{
		{"slash in RowKey", table, ent("p", "a/b", nil)},
		{"backslash in PartitionKey", table, ent(`a\b`, "r", nil)},
		{"hash", table, ent("p", "a#b", nil)},
		{"question mark", table, ent("p", "a?b", nil)},
		{"NUL", table, ent("p", "a\x00b", nil)},
		{"tab", table, ent("p", "a\tb", nil)},
		{"DEL", table, ent("p", "a\x7fb", nil)},
		{"C1 control", table, ent("p", "a\u0085b", nil)},
		{"key over 1 KiB", table, ent("p", strings.Repeat("k", 513), nil)},
		{"key over 1 KiB in UTF-16", table, ent("p", strings.Repeat("é", 400)+strings.Repeat("𝄞", 60), nil)},
		{"253 properties", table, ent("p", "r", tooMany)},
		{"entity over 1 MiB", table, ent("p", "r", oversize)},
		{"string over 64 KiB", table, ent("p", "r", map[string]any{"S": big + "x"})},
		{"binary over 64 KiB", table, ent("p", "r", map[string]any{"B": make([]byte, 64*1024+1)})},
		{"unsupported type int", table, ent("p", "r", map[string]any{"I": 5})},
		{"nil value", table, ent("p", "r", map[string]any{"X": nil})},
		{"NaN", table, ent("p", "r", map[string]any{"F": math.NaN()})},
		{"time before 1601", table, ent("p", "r", map[string]any{"T": time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)})},
		{"property name with dash", table, ent("p", "r", map[string]any{"a-b": "x"})},
		{"property named PartitionKey", table, ent("p", "r", map[string]any{"PartitionKey": "x"})},
		{"table name too short", "ab", ent("p", "r", nil)},
		{"table name starts with digit", "1abc", ent("p", "r", nil)},
		{"table name with dash", "ab-cd", ent("p", "r", nil)},
		{"reserved table name", "tables", ent("p", "r", nil)},
	}
	for _, tc := range tests {
		_, err := s.Insert(ctx, tc.table, tc.e)
		wantErr(t, "Insert with "+tc.name, err, tablestore.ErrInvalid)
		_, err = s.Upsert(ctx, tc.table, tc.e)
		wantErr(t, "Upsert with "+tc.name, err, tablestore.ErrInvalid)
	}
	_, err := s.Get(ctx, table, "p", "a/b")
	wantErr(t, "Get with a slash", err, tablestore.ErrInvalid)
	_, err = s.Update(ctx, table, ent("p", "r", nil), "")
	wantErr(t, "Update with an empty ETag", err, tablestore.ErrInvalid)
	wantErr(t, "Delete with an empty ETag", s.Delete(ctx, table, "p", "r", ""), tablestore.ErrInvalid)
	_, err = s.Query(ctx, table, tablestore.Query{Limit: 1001})
	wantErr(t, "Query with Limit 1001", err, tablestore.ErrInvalid)
	_, err = s.Query(ctx, table, tablestore.Query{Continuation: "not-a-token!"})
	wantErr(t, "Query with a forged continuation", err, tablestore.ErrInvalid)

	// The largest legal values are accepted.
	mustInsert(t, s, table, ent("p", strings.Repeat("k", 512), map[string]any{"S": big, "B": make([]byte, 64*1024)}))
	page, err := s.Query(ctx, table, tablestore.Query{})
	if err != nil || len(page.Entities) != 1 {
		t.Fatalf("Query after refused writes: %d entities, %v; want only the one legal entity", len(page.Entities), err)
	}
}

// Keys that are legal but break naive URL or filter building.
func testLegalOddKeys(t *testing.T, s tablestore.Store, table string) {
	keys := []string{"it's", "a b", "50%+1", "é✓𝄞", "(x)", "a&b=c", "~!@$^*"}
	for _, k := range keys {
		e := tablestore.Entity{PartitionKey: k, RowKey: k, Properties: map[string]any{"K": k}}
		etag := mustInsert(t, s, table, e)
		got := mustGet(t, s, table, k, k)
		if diff := cmp.Diff(e, got, entityOpts); diff != "" {
			t.Errorf("key %q round trip (-want +got):\n%s", k, diff)
		}
		page, err := s.Query(ctx, table, tablestore.Query{PartitionKey: k, RowKeyFrom: k, RowKeyTo: k + "\uffff"})
		if err != nil || len(page.Entities) != 1 {
			t.Errorf("Query for key %q: %d entities, %v; want 1", k, len(page.Entities), err)
		}
		etags, err := s.Batch(ctx, table, []tablestore.Op{{Kind: tablestore.OpUpdate, Entity: tablestore.Entity{PartitionKey: k, RowKey: k, ETag: etag, Properties: map[string]any{"K": "updated"}}}})
		if err != nil {
			t.Errorf("Batch update of key %q: %v", k, err)
			continue
		}
		if _, err := s.Batch(ctx, table, []tablestore.Op{{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: k, RowKey: k, ETag: etags[0]}}}); err != nil {
			t.Errorf("Batch delete of key %q: %v", k, err)
		}
	}
}

func testBatch(t *testing.T, s tablestore.Store, table string) {
	etagU := mustInsert(t, s, table, tablestore.Entity{PartitionKey: "p", RowKey: "u", Properties: map[string]any{"V": "old"}})
	etagD := mustInsert(t, s, table, tablestore.Entity{PartitionKey: "p", RowKey: "d"})
	mustInsert(t, s, table, tablestore.Entity{PartitionKey: "p", RowKey: "m", Properties: map[string]any{"A": "a"}})
	ops := []tablestore.Op{
		{Kind: tablestore.OpInsert, Entity: tablestore.Entity{PartitionKey: "p", RowKey: "i", Properties: map[string]any{"V": "ins"}}},
		{Kind: tablestore.OpUpsert, Entity: tablestore.Entity{PartitionKey: "p", RowKey: "s", Properties: map[string]any{"V": "ups"}}},
		{Kind: tablestore.OpMerge, Entity: tablestore.Entity{PartitionKey: "p", RowKey: "m", Properties: map[string]any{"B": "b"}}},
		{Kind: tablestore.OpUpdate, Entity: tablestore.Entity{PartitionKey: "p", RowKey: "u", ETag: etagU, Properties: map[string]any{"V": "new"}}},
		{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: "p", RowKey: "d", ETag: etagD}},
	}
	etags, err := s.Batch(ctx, table, ops)
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	if len(etags) != len(ops) {
		t.Fatalf("Batch returned %d ETags for %d operations", len(etags), len(ops))
	}
	want := map[string]map[string]any{
		"i": {"V": "ins"}, "s": {"V": "ups"}, "m": {"A": "a", "B": "b"}, "u": {"V": "new"},
	}
	for i, op := range ops[:4] {
		got := mustGet(t, s, table, "p", op.Entity.RowKey)
		if diff := cmp.Diff(want[op.Entity.RowKey], got.Properties); diff != "" {
			t.Errorf("row %q after batch (-want +got):\n%s", op.Entity.RowKey, diff)
		}
		if got.ETag != etags[i] {
			t.Errorf("row %q: Get ETag %q, Batch returned %q", op.Entity.RowKey, got.ETag, etags[i])
		}
	}
	if etags[4] != "" {
		t.Errorf("delete ETag = %q, want empty", etags[4])
	}
	_, err = s.Get(ctx, table, "p", "d")
	wantErr(t, "Get of a row the batch deleted", err, tablestore.ErrNotFound)

	// A full batch of 100 is allowed.
	var full []tablestore.Op
	for i := range 100 {
		full = append(full, tablestore.Op{Kind: tablestore.OpUpsert, Entity: tablestore.Entity{PartitionKey: "full", RowKey: fmt.Sprintf("r%03d", i)}})
	}
	if _, err := s.Batch(ctx, table, full); err != nil {
		t.Fatalf("Batch of 100: %v", err)
	}
}

func testBatchAllOrNothing(t *testing.T, s tablestore.Store, table string) {
	etag := mustInsert(t, s, table, tablestore.Entity{PartitionKey: "p", RowKey: "exists", Properties: map[string]any{"V": "orig"}})
	stale := etag
	if _, err := s.Upsert(ctx, table, tablestore.Entity{PartitionKey: "p", RowKey: "exists", Properties: map[string]any{"V": "orig"}}); err != nil {
		t.Fatal(err)
	}
	newRow := func(rk string) tablestore.Op {
		return tablestore.Op{Kind: tablestore.OpInsert, Entity: tablestore.Entity{PartitionKey: "p", RowKey: rk, Properties: map[string]any{"V": "new"}}}
	}
	tests := []struct {
		name      string
		ops       []tablestore.Op
		wantIndex int
		wantErr   error
	}{
		{"insert of an existing key", []tablestore.Op{newRow("a1"), newRow("exists"), newRow("a2")}, 1, tablestore.ErrExists},
		{"update with a stale ETag", []tablestore.Op{newRow("b1"), newRow("b2"),
			{Kind: tablestore.OpUpdate, Entity: tablestore.Entity{PartitionKey: "p", RowKey: "exists", ETag: stale, Properties: map[string]any{"V": "lost"}}}}, 2, tablestore.ErrPrecondition},
		{"delete of a missing row", []tablestore.Op{
			{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: "p", RowKey: "missing", ETag: "*"}}, newRow("c1")}, 0, tablestore.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Batch(ctx, table, tc.ops)
			var be *tablestore.BatchError
			if !errors.As(err, &be) {
				t.Fatalf("Batch error = %v, want a *BatchError", err)
			}
			if be.Index != tc.wantIndex || !errors.Is(err, tc.wantErr) {
				t.Errorf("BatchError = index %d, %v; want index %d, %v", be.Index, be.Err, tc.wantIndex, tc.wantErr)
			}
		})
	}
	page, err := s.Query(ctx, table, tablestore.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entities) != 1 || page.Entities[0].Properties["V"] != "orig" {
		t.Errorf("after failed batches the table holds %v, want only the original row unchanged", keysOf(page.Entities))
	}
}

func testBatchRules(t *testing.T, s tablestore.Store, table string) {
	ins := func(pk, rk string) tablestore.Op {
		return tablestore.Op{Kind: tablestore.OpInsert, Entity: tablestore.Entity{PartitionKey: pk, RowKey: rk}}
	}
	var over []tablestore.Op
	for i := range 101 {
		over = append(over, ins("p", fmt.Sprintf("r%03d", i)))
	}
	tests := []struct {
		name string
		ops  []tablestore.Op
	}{
		{"101 operations", over},
		{"mixed partition keys", []tablestore.Op{ins("p1", "a"), ins("p2", "b")}},
		{"one row twice", []tablestore.Op{ins("p", "a"), {Kind: tablestore.OpUpsert, Entity: tablestore.Entity{PartitionKey: "p", RowKey: "a"}}}},
		{"bad key character", []tablestore.Op{ins("p", "a"), ins("p", "b#c")}},
		{"update without ETag", []tablestore.Op{{Kind: tablestore.OpUpdate, Entity: tablestore.Entity{PartitionKey: "p", RowKey: "a"}}}},
		{"unknown kind", []tablestore.Op{{Kind: 0, Entity: tablestore.Entity{PartitionKey: "p", RowKey: "a"}}}},
	}
	for _, tc := range tests {
		_, err := s.Batch(ctx, table, tc.ops)
		wantErr(t, "Batch with "+tc.name, err, tablestore.ErrInvalid)
	}
	page, err := s.Query(ctx, table, tablestore.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entities) != 0 {
		t.Errorf("refused batches wrote %v; want nothing", keysOf(page.Entities))
	}
}

type key struct{ PK, RK string }

func keysOf(es []tablestore.Entity) []key {
	out := make([]key, len(es))
	for i, e := range es {
		out[i] = key{e.PartitionKey, e.RowKey}
	}
	return out
}

// queryAll follows continuations to the end and checks no page breaks the
// limit.
func queryAll(t *testing.T, s tablestore.Store, table string, q tablestore.Query) ([]key, int) {
	t.Helper()
	var all []key
	pages := 0
	limit := q.Limit
	if limit == 0 {
		limit = 1000
	}
	for {
		page, err := s.Query(ctx, table, q)
		if err != nil {
			t.Fatalf("Query page %d: %v", pages, err)
		}
		pages++
		if len(page.Entities) > limit {
			t.Fatalf("page %d holds %d entities, over the limit %d", pages, len(page.Entities), limit)
		}
		all = append(all, keysOf(page.Entities)...)
		if page.Continuation == "" {
			return all, pages
		}
		if pages > 10000 {
			t.Fatal("query never ends")
		}
		q.Continuation = page.Continuation
	}
}

func testQueryPaging(t *testing.T, s tablestore.Store, table string) {
	const partitions, perPartition = 5, 500 // 2,500 rows
	var want []key
	var wg sync.WaitGroup
	errs := make(chan error, partitions*perPartition/100)
	for p := range partitions {
		pk := fmt.Sprintf("p%d", p)
		for start := 0; start < perPartition; start += 100 {
			var ops []tablestore.Op
			for r := start; r < start+100; r++ {
				rk := fmt.Sprintf("r%04d", r)
				want = append(want, key{pk, rk})
				ops = append(ops, tablestore.Op{Kind: tablestore.OpInsert, Entity: tablestore.Entity{PartitionKey: pk, RowKey: rk, Properties: map[string]any{"N": int64(r)}}})
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Batch(ctx, table, ops); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("loading rows: %v", err)
	}
	sort.Slice(want, func(i, j int) bool {
		return want[i].PK < want[j].PK || want[i].PK == want[j].PK && want[i].RK < want[j].RK
	})

	t.Run("whole table, default limit", func(t *testing.T) {
		got, pages := queryAll(t, s, table, tablestore.Query{})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
		if pages < 3 {
			t.Errorf("2,500 rows came in %d pages; a page holds at most 1,000", pages)
		}
	})
	t.Run("whole table, limit 1000", func(t *testing.T) {
		got, _ := queryAll(t, s, table, tablestore.Query{Limit: 1000})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
	})
	t.Run("one partition, limit 7", func(t *testing.T) {
		got, _ := queryAll(t, s, table, tablestore.Query{PartitionKey: "p3", Limit: 7})
		if diff := cmp.Diff(want[3*perPartition:4*perPartition], got); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
	})
	t.Run("row range, limit 9", func(t *testing.T) {
		got, _ := queryAll(t, s, table, tablestore.Query{PartitionKey: "p1", RowKeyFrom: "r0100", RowKeyTo: "r0200", Limit: 9})
		if diff := cmp.Diff(want[perPartition+100:perPartition+200], got); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
	})
	t.Run("open-ended ranges", func(t *testing.T) {
		got, _ := queryAll(t, s, table, tablestore.Query{PartitionKey: "p0", RowKeyFrom: "r0495"})
		if diff := cmp.Diff(want[495:500], got); diff != "" {
			t.Errorf("RowKeyFrom only (-want +got):\n%s", diff)
		}
		got, _ = queryAll(t, s, table, tablestore.Query{PartitionKey: "p4", RowKeyTo: "r0003", Limit: 2})
		if diff := cmp.Diff(want[4*perPartition:4*perPartition+3], got); diff != "" {
			t.Errorf("RowKeyTo only (-want +got):\n%s", diff)
		}
	})
	t.Run("continuation is repeatable", func(t *testing.T) {
		q := tablestore.Query{PartitionKey: "p2", Limit: 50}
		first, err := s.Query(ctx, table, q)
		if err != nil || first.Continuation == "" {
			t.Fatalf("first page: continuation %q, %v", first.Continuation, err)
		}
		q.Continuation = first.Continuation
		a, err := s.Query(ctx, table, q)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Query(ctx, table, q)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(keysOf(a.Entities), keysOf(b.Entities)); diff != "" {
			t.Errorf("the same continuation gave different pages (-first +second):\n%s", diff)
		}
		if len(a.Entities) > 0 && a.Entities[0].RowKey != "r0050" {
			t.Errorf("second page starts at %q, want r0050", a.Entities[0].RowKey)
		}
	})
}

func testQueryEmptyAndMissing(t *testing.T, s tablestore.Store, table string) {
	page, err := s.Query(ctx, table, tablestore.Query{})
	if err != nil {
		t.Fatalf("Query of a table never written: %v", err)
	}
	if len(page.Entities) != 0 || page.Continuation != "" {
		t.Errorf("Query of a table never written = %d entities, continuation %q; want none", len(page.Entities), page.Continuation)
	}
	mustInsert(t, s, table, tablestore.Entity{PartitionKey: "p", RowKey: "r"})
	page, err = s.Query(ctx, table, tablestore.Query{PartitionKey: "other"})
	if err != nil || len(page.Entities) != 0 {
		t.Errorf("Query of an empty partition = %d entities, %v; want none", len(page.Entities), err)
	}
}

func testConcurrentUpdates(t *testing.T, s tablestore.Store, table string) {
	etag := mustInsert(t, s, table, tablestore.Entity{PartitionKey: "p", RowKey: "r", Properties: map[string]any{"Owner": "none"}})
	const writers = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []int
	)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Update(ctx, table, tablestore.Entity{PartitionKey: "p", RowKey: "r", Properties: map[string]any{"Owner": int64(i)}}, etag)
			switch {
			case err == nil:
				mu.Lock()
				winners = append(winners, i)
				mu.Unlock()
			case !errors.Is(err, tablestore.ErrPrecondition):
				t.Errorf("writer %d: got %v, want success or ErrPrecondition", i, err)
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d writers succeeded with the same ETag, want exactly 1", len(winners))
	}
	if got := mustGet(t, s, table, "p", "r"); got.Properties["Owner"] != int64(winners[0]) {
		t.Errorf("Owner = %v, want the winner %d", got.Properties["Owner"], winners[0])
	}
}

func testDeleteTable(t *testing.T, s tablestore.Store, table string) {
	mustInsert(t, s, table, tablestore.Entity{PartitionKey: "p", RowKey: "r"})
	other := NewTableName(t)
	t.Cleanup(func() { _ = s.DeleteTable(ctx, other) })
	mustInsert(t, s, other, tablestore.Entity{PartitionKey: "p", RowKey: "r"})
	if err := s.DeleteTable(ctx, table); err != nil {
		t.Fatalf("DeleteTable: %v", err)
	}
	_, err := s.Get(ctx, table, "p", "r")
	wantErr(t, "Get after DeleteTable", err, tablestore.ErrNotFound)
	page, err := s.Query(ctx, table, tablestore.Query{})
	if err != nil || len(page.Entities) != 0 {
		t.Errorf("Query after DeleteTable = %d entities, %v; want none", len(page.Entities), err)
	}
	mustGet(t, s, other, "p", "r") // other tables are untouched
	if err := s.DeleteTable(ctx, NewTableName(t)); err != nil {
		t.Errorf("DeleteTable of a table that never existed: %v", err)
	}
}

// Rows returns every entity of a table, across pages, for tests that check
// what is (or is not) stored.
func Rows(t testing.TB, s tablestore.Store, table string) []tablestore.Entity {
	t.Helper()
	var out []tablestore.Entity
	q := tablestore.Query{}
	for {
		page, err := s.Query(context.Background(), table, q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Entities...)
		if page.Continuation == "" {
			return out
		}
		q.Continuation = page.Continuation
	}
}
