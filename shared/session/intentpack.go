package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Intents are stored packed: one row holds the intents of up to packBytes of
// JSON (about fifty), and a transaction writes up to packRowsPerBatch rows. A
// create of 10,000 records used to cost 100 transactions to record its
// intents and 100 to clear them, as many as its links; packed, 4 and 4.
// A row is written once (insert under a fresh key) and then only shrunk,
// under its ETag, as its creates settle; deleted with the last of them.
// Rows of the earlier format (one intent per row, RowKey = marker) are still
// read and cleared.
const (
	packPrefix = "p|"
	// packBytes keeps a row's JSON under Azure's 64 KiB string limit (counted
	// as UTF-16: 32,768 characters).
	packBytes = 30_000
	// packRowsPerBatch keeps a transaction's payload under Azure's 4 MiB.
	packRowsPerBatch = 50
)

// packedIntent is an intent in a packed row (short names: a row holds many).
type packedIntent struct {
	M  string            `json:"m"`
	K  string            `json:"k"`
	T  string            `json:"t"`
	S  int64             `json:"s"`
	C  string            `json:"c,omitempty"`
	X  string            `json:"x,omitempty"`
	CV string            `json:"cv,omitempty"`
	MV string            `json:"mv,omitempty"`
	F  map[string]string `json:"f,omitempty"`
}

func packIntent(in Intent) packedIntent {
	return packedIntent{M: in.Marker, K: string(in.Kind), T: string(in.Target), S: in.Since.UTC().UnixNano(),
		C: in.Link.CRMID, X: in.Link.MailboxID, CV: in.Link.CRMVersion, MV: in.Link.MailboxVersion, F: in.Link.Fingerprints}
}

func (p packedIntent) intent() Intent {
	in := Intent{Marker: p.M, Kind: item.Kind(p.K), Target: reconcile.Side(p.T), Since: time.Unix(0, p.S).UTC()}
	in.Link = reconcile.Link{Kind: in.Kind, CRMID: p.C, MailboxID: p.X, CRMVersion: p.CV, MailboxVersion: p.MV, Fingerprints: p.F}
	return in
}

// packRow is a packed row as this State last read or wrote it.
type packRow struct {
	etag    string
	intents []packedIntent
}

func (s *State) packRows() map[string]*packRow {
	if s.packs == nil {
		s.packs = map[string]*packRow{}
	}
	return s.packs
}

func packEntity(user, key string, intents []packedIntent) (tablestore.Entity, error) {
	b, err := json.Marshal(intents)
	if err != nil {
		return tablestore.Entity{}, err
	}
	return tablestore.Entity{PartitionKey: user, RowKey: key, Properties: map[string]any{"Intents": string(b)}}, nil
}

// recordPacked stores intents in new packed rows.
func (s *State) recordPacked(ctx context.Context, intents []Intent) error {
	var rows [][]packedIntent
	size := packBytes
	for _, in := range intents {
		p := packIntent(in)
		b, _ := json.Marshal(p)
		if size+len(b)+1 > packBytes {
			rows = append(rows, nil)
			size = 2
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], p)
		size += len(b) + 1
	}
	packs := s.packRows()
	for start := 0; start < len(rows); start += packRowsPerBatch {
		chunk := rows[start:min(start+packRowsPerBatch, len(rows))]
		ops := make([]tablestore.Op, len(chunk))
		keys := make([]string, len(chunk))
		for i, r := range chunk {
			keys[i] = packPrefix + newID()
			e, err := packEntity(s.user, keys[i], r)
			if err != nil {
				return err
			}
			ops[i] = tablestore.Op{Kind: tablestore.OpInsert, Entity: e}
		}
		s.writes++
		etags, err := s.store.Batch(ctx, IntentsTable, ops)
		if err != nil {
			return err
		}
		for i, r := range chunk {
			packs[keys[i]] = &packRow{etag: etags[i], intents: r}
		}
	}
	return nil
}

// unpack reads a packed row (PendingIntents).
func (s *State) unpack(e tablestore.Entity) ([]Intent, error) {
	raw, _ := e.Properties["Intents"].(string)
	var ps []packedIntent
	if err := json.Unmarshal([]byte(raw), &ps); err != nil {
		return nil, fmt.Errorf("session: intents %s unreadable: %w", e.RowKey, err)
	}
	s.packRows()[e.RowKey] = &packRow{etag: e.ETag, intents: ps}
	out := make([]Intent, len(ps))
	for i, p := range ps {
		out[i] = p.intent()
	}
	return out, nil
}

// clearPacked takes markers out of the packed rows this State knows: a row
// left empty is deleted, another rewritten without them, each under its
// ETag (read again and redone if it changed). It returns the markers no
// packed row held (rows of the earlier format, or none).
func (s *State) clearPacked(ctx context.Context, markers []string) ([]string, error) {
	packs := s.packRows()
	if len(packs) == 0 {
		return markers, nil
	}
	clear := map[string]bool{}
	for _, m := range markers {
		clear[m] = true
	}
	held := map[string]bool{}
	var touched []string
	for key, row := range packs {
		hit := false
		for _, p := range row.intents {
			if clear[p.M] {
				held[p.M], hit = true, true
			}
		}
		if hit {
			touched = append(touched, key)
		}
	}
	slices.Sort(touched)
	var rest []string
	for _, m := range markers {
		if !held[m] {
			rest = append(rest, m)
		}
	}
	for start := 0; start < len(touched); start += packRowsPerBatch {
		keys := touched[start:min(start+packRowsPerBatch, len(touched))]
		if err := s.shrinkPacks(ctx, keys, clear); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// shrinkPacks writes the packed rows keys without the cleared markers in one
// transaction; when one of them changed under it, row by row, each read
// again first.
func (s *State) shrinkPacks(ctx context.Context, keys []string, clear map[string]bool) error {
	packs := s.packRows()
	op := func(key string, row *packRow) (tablestore.Op, []packedIntent, error) {
		left := slices.DeleteFunc(slices.Clone(row.intents), func(p packedIntent) bool { return clear[p.M] })
		if len(left) == 0 {
			return tablestore.Op{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: s.user, RowKey: key, ETag: row.etag}}, nil, nil
		}
		e, err := packEntity(s.user, key, left)
		e.ETag = row.etag
		return tablestore.Op{Kind: tablestore.OpUpdate, Entity: e}, left, err
	}
	ops := make([]tablestore.Op, len(keys))
	lefts := make([][]packedIntent, len(keys))
	for i, key := range keys {
		var err error
		if ops[i], lefts[i], err = op(key, packs[key]); err != nil {
			return err
		}
	}
	s.writes++
	etags, err := s.store.Batch(ctx, IntentsTable, ops)
	if err == nil {
		for i, key := range keys {
			if lefts[i] == nil {
				delete(packs, key)
			} else {
				packs[key] = &packRow{etag: etags[i], intents: lefts[i]}
			}
		}
		return nil
	}
	if !errors.Is(err, tablestore.ErrPrecondition) && !errors.Is(err, tablestore.ErrNotFound) {
		return err
	}
	for _, key := range keys {
		for attempt := 0; ; attempt++ {
			e, err := s.store.Get(ctx, IntentsTable, s.user, key)
			if errors.Is(err, tablestore.ErrNotFound) {
				delete(packs, key)
				break
			}
			if err != nil {
				return err
			}
			if _, err := s.unpack(e); err != nil {
				return err
			}
			o, left, err := op(key, packs[key])
			if err != nil {
				return err
			}
			s.writes++
			var etag string
			if o.Kind == tablestore.OpDelete {
				err = s.store.Delete(ctx, IntentsTable, s.user, key, o.Entity.ETag)
			} else {
				etag, err = s.store.Update(ctx, IntentsTable, o.Entity, o.Entity.ETag)
			}
			switch {
			case err == nil && left == nil, errors.Is(err, tablestore.ErrNotFound):
				delete(packs, key)
			case err == nil:
				packs[key] = &packRow{etag: etag, intents: left}
			case errors.Is(err, tablestore.ErrPrecondition) && attempt < 2:
				continue
			default:
				return err
			}
			break
		}
	}
	return nil
}

// isPacked tells a packed intents row from one of the earlier format.
func isPacked(rowKey string) bool { return strings.HasPrefix(rowKey, packPrefix) }
