// Package tablestore is crmsync's table storage: entities addressed by
// PartitionKey and RowKey, with Azure Table Storage semantics (ETags, entity
// group transactions, ordered range queries with paging). Two implementations
// exist: Azure (aztables, tested against Azurite) and Embedded (one SQLite file).
// Both pass the same conformance suite.
package tablestore

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Entity is one row. Properties hold only identifiers, change markers and keyed
// fingerprints (see the privacy rule in DESIGN.md), never user content.
//
// Property values may be string, int64, int32 (returned as int64), float64, bool,
// []byte or time.Time (UTC). Other types are rejected with ErrInvalid.
//
// Both implementations apply Azure's limits (see validate.go): keys up to
// 1 KiB as UTF-16 (512 code units) without / \ # ? or control characters;
// at most 252 properties with C#-identifier names; strings and binaries up to
// 64 KiB; the entity up to 1 MiB. Times are stored in UTC at Edm.DateTime's
// 100 ns resolution (finer parts are truncated) and must lie in 1601–9999;
// float64 NaN and ±Inf are refused. Table names are case-insensitive.
type Entity struct {
	PartitionKey string
	RowKey       string
	// ETag is set by the store on read and write; pass it back for conditional
	// updates and deletes.
	ETag string
	// Timestamp is server-owned: set by the store on write, ignored on input.
	Timestamp  time.Time
	Properties map[string]any
}

// OpKind names what one operation in a batch does.
type OpKind int

const (
	// OpInsert adds the entity; it fails the batch when the key exists.
	OpInsert OpKind = iota + 1
	// OpUpsert inserts or replaces the entity, unconditionally.
	OpUpsert
	// OpMerge inserts or merges properties into the entity, unconditionally.
	OpMerge
	// OpUpdate replaces the entity when Entity.ETag matches ("*" for any).
	OpUpdate
	// OpDelete removes the entity when Entity.ETag matches ("*" for any).
	OpDelete
)

// Op is one operation in a batch.
type Op struct {
	Kind   OpKind
	Entity Entity
}

// Query selects entities of one table in (PartitionKey, RowKey) order.
// Empty bounds are open. RowKey bounds apply within PartitionKey when it is set.
type Query struct {
	// PartitionKey, when set, restricts the query to one partition.
	PartitionKey string
	// RowKeyFrom is an inclusive lower bound on RowKey ("" = open).
	RowKeyFrom string
	// RowKeyTo is an exclusive upper bound on RowKey ("" = open).
	// Without PartitionKey the RowKey bounds filter every partition.
	RowKeyTo string
	// Limit caps the page size (1..1000; 0 means 1000). A page may hold fewer
	// entities than Limit and still have a continuation.
	Limit int
	// Continuation resumes a query from the page before; "" starts it.
	Continuation string
}

// Page is one page of query results.
type Page struct {
	Entities []Entity
	// Continuation is "" on the last page.
	Continuation string
}

// Store is the table store the service uses. Tables are created on first use.
type Store interface {
	// Get reads one entity; ErrNotFound when absent.
	Get(ctx context.Context, table, partitionKey, rowKey string) (Entity, error)
	// Insert adds an entity that must not exist yet (ErrExists otherwise) and returns its ETag.
	Insert(ctx context.Context, table string, e Entity) (etag string, err error)
	// Upsert inserts or replaces an entity unconditionally and returns its ETag.
	Upsert(ctx context.Context, table string, e Entity) (etag string, err error)
	// Update replaces an existing entity when ifMatch equals its ETag ("*" for any):
	// ErrPrecondition on mismatch, ErrNotFound when absent.
	Update(ctx context.Context, table string, e Entity, ifMatch string) (etag string, err error)
	// Delete removes an entity when ifMatch equals its ETag ("*" for any):
	// ErrPrecondition on mismatch, ErrNotFound when absent.
	Delete(ctx context.Context, table, partitionKey, rowKey, ifMatch string) error
	// Batch applies up to 100 operations on one partition, all or nothing, and
	// returns the new ETag of each operation in order ("" for deletes).
	// More than 100 operations, mixed partition keys or one key twice → ErrInvalid
	// before anything is written. A failing operation fails the whole batch with
	// a *BatchError naming its index. An empty batch writes nothing and succeeds.
	Batch(ctx context.Context, table string, ops []Op) (etags []string, err error)
	// Query returns one page of entities in key order.
	Query(ctx context.Context, table string, q Query) (Page, error)
	// DeleteTable drops a table and everything in it; no error when absent.
	DeleteTable(ctx context.Context, table string) error
}

// Errors are classified by behaviour; wrap them, compare with errors.Is.
var (
	// ErrNotFound: the entity (or table) does not exist.
	ErrNotFound = errors.New("tablestore: entity not found")
	// ErrExists: insert of a key that exists.
	ErrExists = errors.New("tablestore: entity already exists")
	// ErrPrecondition: the ETag given did not match (someone else wrote first).
	ErrPrecondition = errors.New("tablestore: etag mismatch")
	// ErrInvalid: the request breaks a storage rule (bad key characters, batch
	// over 100 or across partitions, unsupported property type, oversize entity).
	ErrInvalid = errors.New("tablestore: invalid request")
)

// BatchError reports which operation of a batch failed; Err is one of the
// errors above.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string {
	return "tablestore: batch operation " + strconv.Itoa(e.Index) + ": " + e.Err.Error()
}

// Unwrap lets errors.Is see the cause.
func (e *BatchError) Unwrap() error { return e.Err }
