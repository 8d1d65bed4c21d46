package c4c

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Known is what the side has reported in scope of one kind: ObjectID →
// a hash of the ETag reported. C4C reports no deletions, so the side finds
// them by comparing this set with a listing; and a record whose ETag is
// the one reported is not reported again (de-duplication by ObjectID and
// ETag).
type Known map[string]uint64

// KnownStore keeps Known sets by generation. A cursor names the generation
// it was made with, so a session that dies before storing its new cursor
// reads the old set again with the old cursor and no deletion is lost.
// It is per user: the Opener gives each side one for its user.
type KnownStore interface {
	Load(ctx context.Context, kind item.Kind, gen string) (Known, error)
	// Save stores set as a new generation and returns its name; the
	// generation keep (the one the stored cursor names) stays readable,
	// older ones may go.
	Save(ctx context.Context, kind item.Kind, set Known, keep string) (string, error)
	// Add puts ids into generation gen with no ETag (so their next read
	// reports them again): records the side created, which it must know to
	// tell when they leave the scope or are deleted before it read them.
	Add(ctx context.Context, kind item.Kind, gen string, ids []string) error
}

func etagHash(et string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(et))
	return h.Sum64()
}

func newGen() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// MemKnown keeps Known sets in memory, for one process (tests, the demo).
type MemKnown struct {
	mu   sync.Mutex
	sets map[string]Known
}

// Load implements KnownStore.
func (m *MemKnown) Load(_ context.Context, kind item.Kind, gen string) (Known, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	set, ok := m.sets[string(kind)+"."+gen]
	if !ok {
		return nil, fmt.Errorf("c4c: known set %s.%s is gone", kind, gen)
	}
	out := make(Known, len(set))
	for k, v := range set {
		out[k] = v
	}
	return out, nil
}

// Save implements KnownStore.
func (m *MemKnown) Save(_ context.Context, kind item.Kind, set Known, keep string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sets == nil {
		m.sets = map[string]Known{}
	}
	gen := newGen()
	cp := make(Known, len(set))
	for k, v := range set {
		cp[k] = v
	}
	for k := range m.sets {
		if strings.HasPrefix(k, string(kind)+".") && k != string(kind)+"."+keep {
			delete(m.sets, k)
		}
	}
	m.sets[string(kind)+"."+gen] = cp
	return gen, nil
}

// Add implements KnownStore.
func (m *MemKnown) Add(_ context.Context, kind item.Kind, gen string, ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	set, ok := m.sets[string(kind)+"."+gen]
	if !ok {
		return fmt.Errorf("c4c: known set %s.%s is gone", kind, gen)
	}
	for _, id := range ids {
		if _, ok := set[id]; !ok {
			set[id] = 0
		}
	}
	return nil
}

// KnownTable is the table TableKnown keeps its rows in (side.Connector
// Tables: PartitionKey is the user).
const KnownTable = "c4cknown"

// perRow is how many ObjectIDs a row holds: 24 bytes each (16 of the
// ObjectID's 32 hex digits, 8 of the ETag hash) in one binary property of
// at most 64 KiB.
const perRow = 64 << 10 / 24

// TableKnown keeps one user's Known sets in a table store: rows
// "<kind>.<gen>.<n>" of packed ObjectIDs. ObjectIDs that are not 32 hex
// digits go as text in the row's S property.
type TableKnown struct {
	Tables tablestore.Store
	User   string
}

func rowKey(kind item.Kind, gen string, n int) string { return fmt.Sprintf("%s.%s.%05d", kind, gen, n) }

// Load implements KnownStore.
func (k TableKnown) Load(ctx context.Context, kind item.Kind, gen string) (Known, error) {
	set := Known{}
	prefix := string(kind) + "." + gen + "."
	rows := 0
	err := k.scan(ctx, prefix, func(e tablestore.Entity) error {
		rows++
		b, _ := e.Properties["B"].([]byte)
		for i := 0; i+24 <= len(b); i += 24 {
			set[strings.ToUpper(hex.EncodeToString(b[i:i+16]))] = binary.BigEndian.Uint64(b[i+16 : i+24])
		}
		s, _ := e.Properties["S"].(string)
		for _, line := range strings.Split(s, "\n") {
			if id, h, ok := strings.Cut(line, "\t"); ok {
				var v uint64
				fmt.Sscanf(h, "%x", &v)
				set[id] = v
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rows == 0 {
		return nil, fmt.Errorf("c4c: known set %s.%s is gone", kind, gen)
	}
	return set, nil
}

func (k TableKnown) scan(ctx context.Context, prefix string, fn func(tablestore.Entity) error) error {
	q := tablestore.Query{PartitionKey: k.User, RowKeyFrom: prefix, RowKeyTo: prefix + "\xff"}
	for {
		page, err := k.Tables.Query(ctx, KnownTable, q)
		if err != nil {
			return err
		}
		for _, e := range page.Entities {
			if err := fn(e); err != nil {
				return err
			}
		}
		if page.Continuation == "" {
			return nil
		}
		q.Continuation = page.Continuation
	}
}

// Save implements KnownStore: the new generation's rows in batches of 100,
// then the rows of generations other than keep are deleted.
func (k TableKnown) Save(ctx context.Context, kind item.Kind, set Known, keep string) (string, error) {
	gen := newGen()
	var rows []tablestore.Op
	var b []byte
	var odd []string
	n := 0
	flush := func() {
		props := map[string]any{"B": b}
		if len(odd) > 0 {
			props["S"] = strings.Join(odd, "\n")
		}
		rows = append(rows, tablestore.Op{Kind: tablestore.OpUpsert, Entity: tablestore.Entity{PartitionKey: k.User, RowKey: rowKey(kind, gen, len(rows)), Properties: props}})
		b, odd, n = nil, nil, 0
	}
	for id, h := range set {
		raw, err := hex.DecodeString(id)
		if err != nil || len(raw) != 16 {
			odd = append(odd, fmt.Sprintf("%s\t%x", id, h))
		} else {
			b = append(b, raw...)
			b = binary.BigEndian.AppendUint64(b, h)
		}
		if n++; n == perRow || len(odd) > 400 {
			flush()
		}
	}
	flush() // an empty set still has its row, so Load tells empty from gone
	for start := 0; start < len(rows); start += 100 {
		if _, err := k.Tables.Batch(ctx, KnownTable, rows[start:min(start+100, len(rows))]); err != nil {
			return "", err
		}
	}
	var stale []tablestore.Op
	err := k.scan(ctx, string(kind)+".", func(e tablestore.Entity) error {
		g := strings.Split(strings.TrimPrefix(e.RowKey, string(kind)+"."), ".")[0]
		if g != gen && g != keep {
			stale = append(stale, tablestore.Op{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: k.User, RowKey: e.RowKey, ETag: "*"}})
		}
		return nil
	})
	if err == nil {
		for start := 0; start < len(stale); start += 100 {
			if _, err = k.Tables.Batch(ctx, KnownTable, stale[start:min(start+100, len(stale))]); err != nil {
				break
			}
		}
	}
	// Stale rows left behind cost space only; the next Save removes them.
	return gen, nil
}

// Add implements KnownStore: one more row of the generation, named after
// its first ObjectID so that concurrent adds never overwrite each other.
// Load reads it with the generation's other rows; an ObjectID also in an
// older row keeps that row's hash or this one's 0, both only ever make the
// side report the record again.
func (k TableKnown) Add(ctx context.Context, kind item.Kind, gen string, ids []string) error {
	for start := 0; start < len(ids); start += 400 {
		part := ids[start:min(start+400, len(ids))]
		var b []byte
		var odd []string
		for _, id := range part {
			raw, err := hex.DecodeString(id)
			if err != nil || len(raw) != 16 {
				odd = append(odd, fmt.Sprintf("%s\t%x", id, 0))
				continue
			}
			b = append(b, raw...)
			b = binary.BigEndian.AppendUint64(b, 0)
		}
		props := map[string]any{"B": b}
		if len(odd) > 0 {
			props["S"] = strings.Join(odd, "\n")
		}
		row := fmt.Sprintf("%s.%s.add.%s", kind, gen, part[0])
		if _, err := k.Tables.Batch(ctx, KnownTable, []tablestore.Op{{Kind: tablestore.OpUpsert,
			Entity: tablestore.Entity{PartitionKey: k.User, RowKey: row, Properties: props}}}); err != nil {
			return err
		}
	}
	return nil
}
