package connection

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/seal"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Reseal re-seals every sealed value in the connections table under key
// version, for keyring.Rotate. Each row is updated ETag-conditionally: when a
// token refresh or a reconnect wrote the row meanwhile, the row is read again
// and redone, so their change is never overwritten. A value that does not
// open is counted as failed and left alone.
func (s *Store) Reseal(ctx context.Context, version int) (keyring.ResealCounts, error) {
	counts := keyring.ResealCounts{ByVersion: map[int]int{}}
	key, err := s.keys.Key(ctx, version)
	if err != nil {
		return counts, fmt.Errorf("connection: reseal: %w", err)
	}
	// Rows are independent (one or two per partition, so batches do not
	// help); updating several at once hides Table Storage's round trips.
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, resealWorkers)
	)
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	var q tablestore.Query
	for !failed() {
		page, err := s.tables.Query(ctx, Table, q)
		if err != nil {
			mu.Lock()
			firstErr = cmp.Or(firstErr, fmt.Errorf("connection: reseal: listing connections: %w", err))
			mu.Unlock()
			break
		}
		for _, e := range page.Entities {
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				var c keyring.ResealCounts
				c.ByVersion = map[int]int{}
				err := s.resealRow(ctx, e, key, &c)
				mu.Lock()
				defer mu.Unlock()
				firstErr = cmp.Or(firstErr, err)
				addCounts(&counts, c)
				counts.Rows++
			})
		}
		if page.Continuation == "" {
			break
		}
		q.Continuation = page.Continuation
	}
	wg.Wait()
	if firstErr != nil {
		return counts, firstErr
	}
	s.log.InfoContext(ctx, "connections re-sealed", "version", version, "rows", counts.Rows,
		"resealed", counts.Resealed, "current", counts.Current, "retried", counts.Retried, "failed", counts.Failed)
	return counts, nil
}

// resealWorkers bounds the concurrent row updates of a re-seal.
const resealWorkers = 16

func addCounts(to *keyring.ResealCounts, c keyring.ResealCounts) {
	to.Values += c.Values
	to.Resealed += c.Resealed
	to.Current += c.Current
	to.Retried += c.Retried
	to.Failed += c.Failed
	for v, n := range c.ByVersion {
		to.ByVersion[v] += n
	}
}

// resealRow re-seals one row's values, retrying on a lost conditional update.
func (s *Store) resealRow(ctx context.Context, e tablestore.Entity, key keyring.Key, counts *keyring.ResealCounts) error {
	for range maxAttempts {
		props := maps.Clone(e.Properties)
		var resealed, current, failed []int // versions, for the counts
		for _, prop := range sealedProps {
			sealed, _ := props[prop].(string)
			if sealed == "" {
				continue
			}
			v, err := seal.Version(sealed)
			if err == nil && v == key.Version {
				current = append(current, v)
				continue
			}
			pt, err := seal.Open(ctx, s.keys, sealed, adFor(e, prop))
			if errors.Is(err, seal.ErrTampered) || errors.Is(err, seal.ErrUnknownKey) || errors.Is(err, seal.ErrMalformed) {
				s.log.ErrorContext(ctx, "connection: reseal: value does not open", "user", e.PartitionKey, "provider", e.RowKey, "property", prop, "error", err)
				failed = append(failed, v)
				continue
			}
			if err != nil {
				return fmt.Errorf("connection: reseal %s of user %s: %w", e.RowKey, e.PartitionKey, err)
			}
			if props[prop], err = seal.SealWith(key, pt, adFor(e, prop)); err != nil {
				return fmt.Errorf("connection: reseal %s of user %s: %w", e.RowKey, e.PartitionKey, err)
			}
			resealed = append(resealed, key.Version)
		}
		if len(resealed) > 0 {
			upd := e
			upd.Properties = props
			_, err := s.tables.Update(ctx, Table, upd, e.ETag)
			if errors.Is(err, tablestore.ErrPrecondition) {
				counts.Retried++
				e, err = s.tables.Get(ctx, Table, e.PartitionKey, e.RowKey)
				if errors.Is(err, tablestore.ErrNotFound) {
					return nil // deleted meanwhile
				}
				if err != nil {
					return fmt.Errorf("connection: reseal %s of user %s: %w", e.RowKey, e.PartitionKey, err)
				}
				continue
			}
			if errors.Is(err, tablestore.ErrNotFound) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("connection: reseal %s of user %s: %w", e.RowKey, e.PartitionKey, err)
			}
		}
		for _, group := range [][]int{resealed, current, failed} {
			for _, v := range group {
				counts.ByVersion[v]++
			}
		}
		counts.Values += len(resealed) + len(current) + len(failed)
		counts.Resealed += len(resealed)
		counts.Current += len(current)
		counts.Failed += len(failed)
		return nil
	}
	return fmt.Errorf("connection: reseal %s of user %s: %w (gave up after %d attempts)", e.RowKey, e.PartitionKey, tablestore.ErrPrecondition, maxAttempts)
}

// The store is what key rotation re-seals.
var _ keyring.Resealer = (*Store)(nil)
