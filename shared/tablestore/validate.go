package tablestore

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf16"
)

// The Azure Table Storage limits both implementations enforce. The embedded
// store enforces them so that code developed locally cannot rely on something
// Azure refuses; the Azure store checks them before sending because Azurite
// accepts some requests (mixed partition keys in a batch) that Azure rejects.
const (
	maxKeyUTF16        = 512 // 1 KiB, counted as Azure stores strings: UTF-16
	maxCustomProps     = 252
	maxPropNameLen     = 255
	maxEntityBytes     = 1 << 20
	maxValueBytes      = 64 << 10 // Edm.String (as UTF-16) and Edm.Binary
	maxBatchOps        = 100
	maxQueryLimit      = 1000
	timePrecision      = 100 * time.Nanosecond // Edm.DateTime resolution
	reservedTableName  = "tables"
	systemPartitionKey = "PartitionKey"
	systemRowKey       = "RowKey"
	systemTimestamp    = "Timestamp"
)

// minTime is the earliest Edm.DateTime Azure stores.
var minTime = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

// invalid wraps ErrInvalid with a message naming the problem.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// validateTable checks a table name against ^[A-Za-z][A-Za-z0-9]{2,62}$ and
// the reserved name "tables".
func validateTable(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return invalid("table name %q must be 3 to 63 characters", name)
	}
	for i, c := range name {
		letter := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
		digit := c >= '0' && c <= '9'
		if !letter && (i == 0 || !digit) {
			return invalid("table name %q must be a letter followed by letters and digits", name)
		}
	}
	if strings.EqualFold(name, reservedTableName) {
		return invalid("table name %q is reserved", name)
	}
	return nil
}

// validateKey checks a PartitionKey or RowKey: at most 1 KiB as UTF-16 (512
// code units, which is how Azurite counts too), none of / \ # ? and no
// control characters (U+0000–U+001F, U+007F–U+009F).
func validateKey(what, key string) error {
	if n := utf16Len(key); n > maxKeyUTF16 {
		return invalid("%s is %d UTF-16 code units, over the 1 KiB limit of 512", what, n)
	}
	for _, c := range key {
		switch {
		case c == '/' || c == '\\' || c == '#' || c == '?':
			return invalid("%s %q contains %q, which table keys may not hold", what, key, c)
		case c <= 0x1f || (c >= 0x7f && c <= 0x9f):
			return invalid("%s %q contains control character U+%04X", what, key, c)
		}
	}
	return nil
}

// validatePropName checks a custom property name: C#-identifier-like, at most
// 255 characters, not a system property and not an OData annotation.
func validatePropName(name string) error {
	if name == "" || len(name) > maxPropNameLen {
		return invalid("property name %q must be 1 to 255 characters", name)
	}
	for i, c := range name {
		letter := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_'
		digit := c >= '0' && c <= '9'
		if !letter && (i == 0 || !digit) {
			return invalid("property name %q must be a letter or _ followed by letters, digits or _", name)
		}
	}
	switch name {
	case systemPartitionKey, systemRowKey, systemTimestamp, "ETag":
		return invalid("property name %q is reserved for the system", name)
	}
	if strings.HasPrefix(strings.ToLower(name), "odata") {
		return invalid("property name %q is reserved for OData", name)
	}
	return nil
}

// normalizeEntity validates e and returns a copy whose properties hold only the
// stored types: int32 becomes int64 and times become UTC at 100 ns resolution,
// so both implementations return exactly what the other would.
func normalizeEntity(e Entity) (Entity, error) {
	if err := validateKey("PartitionKey", e.PartitionKey); err != nil {
		return Entity{}, err
	}
	if err := validateKey("RowKey", e.RowKey); err != nil {
		return Entity{}, err
	}
	if len(e.Properties) > maxCustomProps {
		return Entity{}, invalid("entity has %d properties, over the limit of %d", len(e.Properties), maxCustomProps)
	}
	// Size as Azure counts it: 4 bytes + keys as UTF-16, and per property 8
	// bytes + name as UTF-16 + the value's size.
	size := 4 + 2*utf16Len(e.PartitionKey) + 2*utf16Len(e.RowKey)
	props := make(map[string]any, len(e.Properties))
	for name, v := range e.Properties {
		if err := validatePropName(name); err != nil {
			return Entity{}, err
		}
		size += 8 + 2*utf16Len(name)
		switch v := v.(type) {
		case string:
			n := 2 * utf16Len(v)
			if n > maxValueBytes {
				return Entity{}, invalid("property %q is a string of %d UTF-16 bytes, over the 64 KiB limit", name, n)
			}
			size += 4 + n
			props[name] = v
		case []byte:
			if len(v) > maxValueBytes {
				return Entity{}, invalid("property %q holds %d bytes, over the 64 KiB limit", name, len(v))
			}
			size += 4 + len(v)
			props[name] = append([]byte{}, v...)
		case int64:
			size += 8
			props[name] = v
		case int32:
			size += 8
			props[name] = int64(v)
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return Entity{}, invalid("property %q is %v; only finite numbers are stored", name, v)
			}
			size += 8
			props[name] = v
		case bool:
			size++
			props[name] = v
		case time.Time:
			t := v.UTC().Truncate(timePrecision)
			if t.Before(minTime) || t.Year() > 9999 {
				return Entity{}, invalid("property %q time %s is outside 1601–9999", name, t.Format(time.RFC3339))
			}
			size += 8
			props[name] = t
		case nil:
			return Entity{}, invalid("property %q is nil", name)
		default:
			return Entity{}, invalid("property %q has unsupported type %T", name, v)
		}
	}
	if size > maxEntityBytes {
		return Entity{}, invalid("entity is about %d bytes, over the 1 MiB limit", size)
	}
	return Entity{PartitionKey: e.PartitionKey, RowKey: e.RowKey, ETag: e.ETag, Properties: props}, nil
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// validateIfMatch refuses an empty ETag condition: a caller that means
// "whatever is there" must say "*".
func validateIfMatch(ifMatch string) error {
	if ifMatch == "" {
		return invalid(`empty ETag condition; pass the entity's ETag or "*"`)
	}
	return nil
}

// normalizeBatch checks the batch rules (1..100 operations, one partition,
// each row once, known kinds, ETag conditions on updates and deletes) and
// returns the operations with normalized entities.
func normalizeBatch(ops []Op) ([]Op, error) {
	if len(ops) > maxBatchOps {
		return nil, invalid("batch has %d operations, over the limit of %d", len(ops), maxBatchOps)
	}
	out := make([]Op, len(ops))
	seen := make(map[string]int, len(ops))
	for i, op := range ops {
		if op.Entity.PartitionKey != ops[0].Entity.PartitionKey {
			return nil, invalid("batch operation %d is in partition %q, operation 0 in %q: a batch must stay in one partition",
				i, op.Entity.PartitionKey, ops[0].Entity.PartitionKey)
		}
		if j, dup := seen[op.Entity.RowKey]; dup {
			return nil, invalid("batch operations %d and %d both touch row %q", j, i, op.Entity.RowKey)
		}
		seen[op.Entity.RowKey] = i
		switch op.Kind {
		case OpInsert, OpUpsert, OpMerge:
		case OpUpdate, OpDelete:
			if err := validateIfMatch(op.Entity.ETag); err != nil {
				return nil, fmt.Errorf("batch operation %d: %w", i, err)
			}
		default:
			return nil, invalid("batch operation %d has unknown kind %d", i, op.Kind)
		}
		e := op.Entity
		if op.Kind == OpDelete {
			if err := validateKey("PartitionKey", e.PartitionKey); err != nil {
				return nil, fmt.Errorf("batch operation %d: %w", i, err)
			}
			if err := validateKey("RowKey", e.RowKey); err != nil {
				return nil, fmt.Errorf("batch operation %d: %w", i, err)
			}
			e = Entity{PartitionKey: e.PartitionKey, RowKey: e.RowKey, ETag: e.ETag}
		} else {
			var err error
			if e, err = normalizeEntity(op.Entity); err != nil {
				return nil, fmt.Errorf("batch operation %d: %w", i, err)
			}
		}
		out[i] = Op{Kind: op.Kind, Entity: e}
	}
	return out, nil
}

// validateQuery checks a query's bounds and page size, returning the limit
// to use.
func validateQuery(q Query) (int, error) {
	if q.PartitionKey != "" {
		if err := validateKey("PartitionKey", q.PartitionKey); err != nil {
			return 0, err
		}
	}
	for _, b := range []struct{ what, key string }{{"RowKeyFrom", q.RowKeyFrom}, {"RowKeyTo", q.RowKeyTo}} {
		if b.key != "" {
			if err := validateKey(b.what, b.key); err != nil {
				return 0, err
			}
		}
	}
	if q.Limit < 0 || q.Limit > maxQueryLimit {
		return 0, invalid("query limit %d is outside 1..1000 (0 means 1000)", q.Limit)
	}
	if q.Limit == 0 {
		return maxQueryLimit, nil
	}
	return q.Limit, nil
}
