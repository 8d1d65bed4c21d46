package tablestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/sqlitefile"
)

// Embedded is a Store in one SQLite file, for the local host and tests. It
// enforces the same rules as Azure Table Storage (key characters, sizes, batch
// shape), so code that works here works against Azure. It is safe for
// concurrent use by many goroutines and by several processes on the same file.
//
// The file may be shared with queue.Embedded: the two use different SQL tables.
type Embedded struct {
	db  *sql.DB
	now func() time.Time
	// stmts holds each SQL text prepared once (text → *sql.Stmt). SQLite
	// otherwise parses every statement again, which was 41% of an initial
	// sync's profile; the texts are a fixed few (Query has 16 shapes).
	stmts sync.Map
}

// EmbeddedOption configures OpenEmbedded.
type EmbeddedOption func(*Embedded)

// WithClock makes the store read time from now (for entity Timestamps), so
// tests can run under a fake clock.
func WithClock(now func() time.Time) EmbeddedOption {
	return func(e *Embedded) { e.now = now }
}

const embeddedSchema = `
CREATE TABLE IF NOT EXISTS tablestore_entities (
	tbl   TEXT NOT NULL,
	pk    TEXT NOT NULL,
	rk    TEXT NOT NULL,
	etag  INTEGER NOT NULL,
	ts    INTEGER NOT NULL,
	props TEXT NOT NULL,
	PRIMARY KEY (tbl, pk, rk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tablestore_meta (
	k TEXT PRIMARY KEY,
	v INTEGER NOT NULL
);
INSERT OR IGNORE INTO tablestore_meta (k, v) VALUES ('etag', 0);
`

// OpenEmbedded opens (creating if needed) the SQLite file at path.
func OpenEmbedded(path string, opts ...EmbeddedOption) (*Embedded, error) {
	db, err := sqlitefile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tablestore: open %s: %w", path, err)
	}
	if _, err := db.Exec(embeddedSchema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("tablestore: create schema in %s: %w", path, err)
	}
	e := &Embedded{db: db, now: time.Now}
	for _, o := range opts {
		o(e)
	}
	return e, nil
}

// Close releases the prepared statements and the database file.
func (s *Embedded) Close() error {
	s.stmts.Range(func(_, st any) bool {
		_ = st.(*sql.Stmt).Close()
		return true
	})
	return s.db.Close()
}

// stmt returns the prepared statement for query, preparing it on first use.
func (s *Embedded) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		_ = st.Close() // prepared by a concurrent caller first
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// txn runs the store's prepared statements inside one transaction, binding
// each to the transaction's connection once (database/sql keeps the binding
// per connection, so it is prepared once per connection, not per use).
type txn struct {
	ctx   context.Context
	s     *Embedded
	tx    *sql.Tx
	bound map[string]*sql.Stmt
}

func (t *txn) stmt(query string) (*sql.Stmt, error) {
	if st := t.bound[query]; st != nil {
		return st, nil
	}
	st, err := t.s.stmt(t.ctx, query)
	if err != nil {
		return nil, err
	}
	st = t.tx.StmtContext(t.ctx, st)
	t.bound[query] = st
	return st, nil
}

func (t *txn) exec(query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.ctx, args...)
}

func (t *txn) queryRow(query string, args ...any) *sql.Row {
	st, err := t.stmt(query)
	if err != nil {
		// Only database/sql can build a Row that carries an error: run the
		// text unprepared, which fails the same way when its Scan is called.
		return t.tx.QueryRowContext(t.ctx, query, args...)
	}
	return st.QueryRowContext(t.ctx, args...)
}

const (
	sqlGet    = `SELECT pk, rk, etag, ts, props FROM tablestore_entities WHERE tbl = ? AND pk = ? AND rk = ?`
	sqlETag   = `SELECT etag FROM tablestore_entities WHERE tbl = ? AND pk = ? AND rk = ?`
	sqlProps  = `SELECT props FROM tablestore_entities WHERE tbl = ? AND pk = ? AND rk = ?`
	sqlDelete = `DELETE FROM tablestore_entities WHERE tbl = ? AND pk = ? AND rk = ?`
	sqlWrite  = `INSERT INTO tablestore_entities (tbl, pk, rk, etag, ts, props) VALUES (?, ?, ?, ?, ?, ?)
		 ON CONFLICT (tbl, pk, rk) DO UPDATE SET etag = excluded.etag, ts = excluded.ts, props = excluded.props`
	sqlCounter = `UPDATE tablestore_meta SET v = v + ? WHERE k = 'etag' RETURNING v`
)

// tableKey makes table names case-insensitive, as Azure's are.
func tableKey(table string) string { return strings.ToLower(table) }

// Get reads one entity; ErrNotFound when absent.
func (s *Embedded) Get(ctx context.Context, table, partitionKey, rowKey string) (Entity, error) {
	if err := validateTable(table); err != nil {
		return Entity{}, err
	}
	if err := validateKey("PartitionKey", partitionKey); err != nil {
		return Entity{}, err
	}
	if err := validateKey("RowKey", rowKey); err != nil {
		return Entity{}, err
	}
	st, err := s.stmt(ctx, sqlGet)
	if err != nil {
		return Entity{}, fmt.Errorf("tablestore: get %s: %w", table, err)
	}
	e, err := scanEntity(st.QueryRowContext(ctx, tableKey(table), partitionKey, rowKey))
	if errors.Is(err, sql.ErrNoRows) {
		return Entity{}, fmt.Errorf("tablestore: get %s (%q, %q): %w", table, partitionKey, rowKey, ErrNotFound)
	}
	if err != nil {
		return Entity{}, fmt.Errorf("tablestore: get %s: %w", table, err)
	}
	return e, nil
}

// Insert adds an entity that must not exist yet.
func (s *Embedded) Insert(ctx context.Context, table string, e Entity) (string, error) {
	return s.single(ctx, "insert", table, Op{Kind: OpInsert, Entity: e})
}

// Upsert inserts or replaces an entity unconditionally.
func (s *Embedded) Upsert(ctx context.Context, table string, e Entity) (string, error) {
	return s.single(ctx, "upsert", table, Op{Kind: OpUpsert, Entity: e})
}

// Update replaces an existing entity when ifMatch equals its ETag ("*" for any).
func (s *Embedded) Update(ctx context.Context, table string, e Entity, ifMatch string) (string, error) {
	if err := validateIfMatch(ifMatch); err != nil {
		return "", err
	}
	e.ETag = ifMatch
	return s.single(ctx, "update", table, Op{Kind: OpUpdate, Entity: e})
}

// Delete removes an entity when ifMatch equals its ETag ("*" for any).
func (s *Embedded) Delete(ctx context.Context, table, partitionKey, rowKey, ifMatch string) error {
	if err := validateIfMatch(ifMatch); err != nil {
		return err
	}
	_, err := s.single(ctx, "delete", table, Op{Kind: OpDelete, Entity: Entity{PartitionKey: partitionKey, RowKey: rowKey, ETag: ifMatch}})
	return err
}

// single runs one operation as a batch of one and unwraps its BatchError, so
// single writes and batches share one code path and one set of rules.
func (s *Embedded) single(ctx context.Context, verb, table string, op Op) (string, error) {
	etags, err := s.Batch(ctx, table, []Op{op})
	if err != nil {
		var be *BatchError
		if errors.As(err, &be) {
			err = be.Err
		}
		return "", fmt.Errorf("tablestore: %s %s (%q, %q): %w", verb, table, op.Entity.PartitionKey, op.Entity.RowKey, err)
	}
	return etags[0], nil
}

// Batch applies up to 100 operations on one partition in one SQL transaction.
func (s *Embedded) Batch(ctx context.Context, table string, ops []Op) ([]string, error) {
	if err := validateTable(table); err != nil {
		return nil, err
	}
	ops, err := normalizeBatch(ops)
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return []string{}, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("tablestore: batch on %s: begin: %w", table, err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit

	t := &txn{ctx: ctx, s: s, tx: tx, bound: map[string]*sql.Stmt{}}
	var counter int64
	if err := t.queryRow(sqlCounter, len(ops)).Scan(&counter); err != nil {
		return nil, fmt.Errorf("tablestore: batch on %s: etag counter: %w", table, err)
	}
	first := counter - int64(len(ops)) + 1
	ts := s.now().UTC().Truncate(timePrecision).UnixNano()
	tbl := tableKey(table)
	etags := make([]string, len(ops))
	for i, op := range ops {
		n := first + int64(i)
		if err := applyOp(t, tbl, op, n, ts); err != nil {
			return nil, &BatchError{Index: i, Err: err}
		}
		if op.Kind != OpDelete {
			etags[i] = formatETag(n)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("tablestore: batch on %s: commit: %w", table, err)
	}
	return etags, nil
}

// applyOp performs one operation inside the batch's transaction, returning
// ErrExists, ErrNotFound or ErrPrecondition when its condition fails.
func applyOp(t *txn, tbl string, op Op, etag, ts int64) error {
	e := op.Entity
	current, exists, err := currentETag(t, tbl, e.PartitionKey, e.RowKey)
	if err != nil {
		return err
	}
	switch op.Kind {
	case OpInsert:
		if exists {
			return ErrExists
		}
	case OpUpdate, OpDelete:
		if !exists {
			return ErrNotFound
		}
		if e.ETag != "*" && e.ETag != formatETag(current) {
			return ErrPrecondition
		}
	case OpMerge:
		if exists {
			old, err := loadProps(t, tbl, e.PartitionKey, e.RowKey)
			if err != nil {
				return err
			}
			for k, v := range e.Properties {
				old[k] = v
			}
			merged := e
			merged.Properties = old
			if merged, err = normalizeEntity(merged); err != nil {
				return err
			}
			e = merged
		}
	}
	if op.Kind == OpDelete {
		_, err := t.exec(sqlDelete, tbl, e.PartitionKey, e.RowKey)
		return err
	}
	props, err := encodeProps(e.Properties)
	if err != nil {
		return err
	}
	_, err = t.exec(sqlWrite, tbl, e.PartitionKey, e.RowKey, etag, ts, props)
	return err
}

func currentETag(t *txn, tbl, pk, rk string) (int64, bool, error) {
	var n int64
	err := t.queryRow(sqlETag, tbl, pk, rk).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return n, err == nil, err
}

func loadProps(t *txn, tbl, pk, rk string) (map[string]any, error) {
	var raw string
	if err := t.queryRow(sqlProps, tbl, pk, rk).Scan(&raw); err != nil {
		return nil, err
	}
	return decodeProps(raw)
}

// formatETag renders the write counter as a weak ETag; the counter is shared
// by all tables in the file and never goes back, so no two writes share one.
func formatETag(n int64) string { return `W/"` + strconv.FormatInt(n, 10) + `"` }

// Query returns one page of entities in (PartitionKey, RowKey) order. The
// continuation names the first key of the next page.
func (s *Embedded) Query(ctx context.Context, table string, q Query) (Page, error) {
	if err := validateTable(table); err != nil {
		return Page{}, err
	}
	limit, err := validateQuery(q)
	if err != nil {
		return Page{}, err
	}
	where := []string{"tbl = ?"}
	args := []any{tableKey(table)}
	if q.Continuation != "" {
		pk, rk, err := decodeCursor(q.Continuation)
		if err != nil {
			return Page{}, err
		}
		where = append(where, "(pk, rk) >= (?, ?)")
		args = append(args, pk, rk)
	}
	if q.PartitionKey != "" {
		where = append(where, "pk = ?")
		args = append(args, q.PartitionKey)
	}
	if q.RowKeyFrom != "" {
		where = append(where, "rk >= ?")
		args = append(args, q.RowKeyFrom)
	}
	if q.RowKeyTo != "" {
		where = append(where, "rk < ?")
		args = append(args, q.RowKeyTo)
	}
	// One row more than the page tells whether a next page exists and where
	// it starts.
	args = append(args, limit+1)
	st, err := s.stmt(ctx, `SELECT pk, rk, etag, ts, props FROM tablestore_entities WHERE `+strings.Join(where, " AND ")+
		` ORDER BY pk, rk LIMIT ?`)
	if err != nil {
		return Page{}, fmt.Errorf("tablestore: query %s: %w", table, err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return Page{}, fmt.Errorf("tablestore: query %s: %w", table, err)
	}
	defer rows.Close()
	var page Page
	page.Entities = []Entity{}
	for rows.Next() {
		e, err := scanEntity(rows)
		if err != nil {
			return Page{}, fmt.Errorf("tablestore: query %s: %w", table, err)
		}
		if len(page.Entities) == limit {
			page.Continuation = encodeCursor(e.PartitionKey, e.RowKey)
			break
		}
		page.Entities = append(page.Entities, e)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("tablestore: query %s: %w", table, err)
	}
	return page, nil
}

// DeleteTable drops every entity of the table.
func (s *Embedded) DeleteTable(ctx context.Context, table string) error {
	if err := validateTable(table); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM tablestore_entities WHERE tbl = ?`, tableKey(table)); err != nil {
		return fmt.Errorf("tablestore: delete table %s: %w", table, err)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanEntity(row scanner) (Entity, error) {
	var (
		e     Entity
		etag  int64
		ts    int64
		props string
	)
	if err := row.Scan(&e.PartitionKey, &e.RowKey, &etag, &ts, &props); err != nil {
		return Entity{}, err
	}
	e.ETag = formatETag(etag)
	e.Timestamp = time.Unix(0, ts).UTC()
	p, err := decodeProps(props)
	if err != nil {
		return Entity{}, err
	}
	e.Properties = p
	return e, nil
}

var _ Store = (*Embedded)(nil)
