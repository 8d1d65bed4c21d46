package queue

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/shared/sqlitefile"
)

// Embedded is a Queue in one SQLite file, for the local host and tests. It
// follows Azure Storage Queue semantics: visibility timeouts and delays in
// whole seconds, a fresh random pop receipt on every receipt, dequeue counts,
// a 7-day message lifetime. Dequeue is one IMMEDIATE transaction, so no
// message is handed to two consumers while it is invisible, whether they are
// goroutines or separate processes sharing the file.
//
// The file may be the same one tablestore.Embedded uses; the queue keeps its
// rows in its own SQL table.
type Embedded struct {
	db  *sql.DB
	now func() time.Time
}

// EmbeddedOption configures OpenEmbedded.
type EmbeddedOption func(*Embedded)

// WithClock makes the queue read time from now, so tests can drive delays and
// visibility timeouts with a fake clock instead of sleeping.
func WithClock(now func() time.Time) EmbeddedOption {
	return func(e *Embedded) { e.now = now }
}

const embeddedSchema = `
CREATE TABLE IF NOT EXISTS queue_messages (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	queue         TEXT NOT NULL,
	id            TEXT NOT NULL UNIQUE,
	body          BLOB NOT NULL,
	inserted      INTEGER NOT NULL,
	expires       INTEGER NOT NULL,
	visible       INTEGER NOT NULL,
	dequeue_count INTEGER NOT NULL DEFAULT 0,
	pop_receipt   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS queue_messages_ready ON queue_messages (queue, visible, seq);
`

// OpenEmbedded opens (creating if needed) the SQLite file at path.
func OpenEmbedded(path string, opts ...EmbeddedOption) (*Embedded, error) {
	db, err := sqlitefile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("queue: open %s: %w", path, err)
	}
	if _, err := db.Exec(embeddedSchema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("queue: create schema in %s: %w", path, err)
	}
	e := &Embedded{db: db, now: time.Now}
	for _, o := range opts {
		o(e)
	}
	return e, nil
}

// Close releases the database file.
func (q *Embedded) Close() error { return q.db.Close() }

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func newMessageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (q *Embedded) clock() time.Time { return q.now().UTC() }

// Enqueue adds a message that becomes visible after delay.
func (q *Embedded) Enqueue(ctx context.Context, queue string, body []byte, delay time.Duration) error {
	if err := validateEnqueue(queue, body, delay); err != nil {
		return err
	}
	now := q.clock()
	visible := now.Add(time.Duration(seconds(delay)) * time.Second)
	if body == nil {
		body = []byte{}
	}
	_, err := q.db.ExecContext(ctx,
		`INSERT INTO queue_messages (queue, id, body, inserted, expires, visible) VALUES (?, ?, ?, ?, ?, ?)`,
		queue, newMessageID(), body, now.UnixNano(), now.Add(MessageTTL).UnixNano(), visible.UnixNano())
	if err != nil {
		return fmt.Errorf("queue: enqueue to %s: %w", queue, err)
	}
	return nil
}

// EnqueueBatch adds several messages in one transaction, all or none, each
// visible after delay. A caller enqueueing thousands of messages (the
// scheduler's tick) pays one commit, and so one fsync, per batch instead of
// one per message; a bad body refuses the whole batch before anything is
// written.
func (q *Embedded) EnqueueBatch(ctx context.Context, queue string, bodies [][]byte, delay time.Duration) error {
	for i, body := range bodies {
		if err := validateEnqueue(queue, body, delay); err != nil {
			return fmt.Errorf("queue: batch message %d: %w", i, err)
		}
	}
	if len(bodies) == 0 {
		return nil
	}
	now := q.clock()
	visible := now.Add(time.Duration(seconds(delay)) * time.Second)
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("queue: enqueue batch to %s: begin: %w", queue, err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit
	stmt, err := tx.PrepareContext(ctx,
		`INSERT INTO queue_messages (queue, id, body, inserted, expires, visible) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("queue: enqueue batch to %s: %w", queue, err)
	}
	defer stmt.Close()
	for _, body := range bodies {
		if body == nil {
			body = []byte{}
		}
		if _, err := stmt.ExecContext(ctx, queue, newMessageID(), body, now.UnixNano(), now.Add(MessageTTL).UnixNano(), visible.UnixNano()); err != nil {
			return fmt.Errorf("queue: enqueue batch to %s: %w", queue, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("queue: enqueue batch to %s: commit: %w", queue, err)
	}
	return nil
}

// Dequeue receives up to max visible messages and hides them for visibility.
func (q *Embedded) Dequeue(ctx context.Context, queue string, max int, visibility time.Duration) ([]Message, error) {
	if err := validateDequeue(queue, max, visibility); err != nil {
		return nil, err
	}
	now := q.clock()
	hidden := now.Add(time.Duration(seconds(visibility)) * time.Second)

	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("queue: dequeue from %s: begin: %w", queue, err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit

	if _, err := tx.ExecContext(ctx, `DELETE FROM queue_messages WHERE queue = ? AND expires <= ?`, queue, now.UnixNano()); err != nil {
		return nil, fmt.Errorf("queue: dequeue from %s: expire: %w", queue, err)
	}
	rows, err := tx.QueryContext(ctx,
		`SELECT seq, id, body, inserted, expires, dequeue_count FROM queue_messages
		 WHERE queue = ? AND visible <= ? ORDER BY visible, seq LIMIT ?`, queue, now.UnixNano(), max)
	if err != nil {
		return nil, fmt.Errorf("queue: dequeue from %s: %w", queue, err)
	}
	var (
		msgs []Message
		seqs []int64
	)
	for rows.Next() {
		var (
			m                 Message
			seq, ins, expires int64
		)
		if err := rows.Scan(&seq, &m.ID, &m.Body, &ins, &expires, &m.DequeueCount); err != nil {
			rows.Close()
			return nil, fmt.Errorf("queue: dequeue from %s: %w", queue, err)
		}
		m.InsertedAt, m.ExpiresAt = time.Unix(0, ins).UTC(), time.Unix(0, expires).UTC()
		m.DequeueCount++
		m.PopReceipt = randomToken(16)
		m.NextVisible = hidden
		msgs = append(msgs, m)
		seqs = append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("queue: dequeue from %s: %w", queue, err)
	}
	for i, m := range msgs {
		if _, err := tx.ExecContext(ctx,
			`UPDATE queue_messages SET visible = ?, dequeue_count = ?, pop_receipt = ? WHERE seq = ?`,
			hidden.UnixNano(), m.DequeueCount, m.PopReceipt, seqs[i]); err != nil {
			return nil, fmt.Errorf("queue: dequeue from %s: %w", queue, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("queue: dequeue from %s: commit: %w", queue, err)
	}
	return msgs, nil
}

// Delete removes a received message; ErrNotFound when the receipt is stale.
func (q *Embedded) Delete(ctx context.Context, queue, id, popReceipt string) error {
	if err := validateReceipt(queue, id, popReceipt); err != nil {
		return err
	}
	res, err := q.db.ExecContext(ctx, `DELETE FROM queue_messages WHERE queue = ? AND id = ? AND pop_receipt = ?`, queue, id, popReceipt)
	if err != nil {
		return fmt.Errorf("queue: delete message %s from %s: %w", id, queue, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("queue: delete message %s from %s: %w", id, queue, ErrNotFound)
	}
	return nil
}

// UpdateVisibility hides a received message for visibility more and returns
// its new pop receipt.
func (q *Embedded) UpdateVisibility(ctx context.Context, queue, id, popReceipt string, visibility time.Duration) (string, error) {
	if err := validateReceipt(queue, id, popReceipt); err != nil {
		return "", err
	}
	if err := validateDuration("visibility timeout", visibility, 0); err != nil {
		return "", err
	}
	now := q.clock()
	receipt := randomToken(16)
	res, err := q.db.ExecContext(ctx,
		`UPDATE queue_messages SET visible = ?, pop_receipt = ?
		 WHERE queue = ? AND id = ? AND pop_receipt = ? AND expires > ?`,
		now.Add(time.Duration(seconds(visibility))*time.Second).UnixNano(), receipt, queue, id, popReceipt, now.UnixNano())
	if err != nil {
		return "", fmt.Errorf("queue: update message %s of %s: %w", id, queue, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return "", fmt.Errorf("queue: update message %s of %s: %w", id, queue, ErrNotFound)
	}
	return receipt, nil
}

// Len counts the queue's unexpired messages, visible or not, like Azure's
// approximate message count.
func (q *Embedded) Len(ctx context.Context, queue string) (int, error) {
	if err := ValidateName(queue); err != nil {
		return 0, err
	}
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM queue_messages WHERE queue = ? AND expires > ?`,
		queue, q.clock().UnixNano()).Scan(&n); err != nil {
		return 0, fmt.Errorf("queue: length of %s: %w", queue, err)
	}
	return n, nil
}

// DeleteQueue drops a queue and its messages.
func (q *Embedded) DeleteQueue(ctx context.Context, queue string) error {
	if err := ValidateName(queue); err != nil {
		return err
	}
	if _, err := q.db.ExecContext(ctx, `DELETE FROM queue_messages WHERE queue = ?`, queue); err != nil {
		return fmt.Errorf("queue: delete queue %s: %w", queue, err)
	}
	return nil
}

var _ Queue = (*Embedded)(nil)
