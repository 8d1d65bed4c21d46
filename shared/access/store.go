package access

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// Tables the access package owns.
const (
	// GrantsTable holds two rows per grant, both in the partition of the
	// resource's org and written in one batch: "p|<principal>|<resource>|<role>"
	// (a principal's grants in an org, read by every Check with one range
	// query) and "r|<resource>|<principal>|<role>" (who holds what on a
	// resource, for the admin API and account deletion).
	GrantsTable = "grants"
	// GrantIndexTable lists, per principal (PartitionKey), the orgs in which
	// the principal holds grants (RowKey), so a user's grants across orgs can be
	// found without a scan.
	GrantIndexTable = "grantindex"
	// AuditTable records every grant change: PartitionKey org, RowKey newest
	// first. It holds ids and role names only, never a secret.
	AuditTable = "audit"
)

// ErrNotFound is returned when removing a grant that does not exist.
var ErrNotFound = errors.New("access: grant not found")

// Store keeps grants and their audit trail in a table store.
type Store struct {
	tables tablestore.Store
	now    func() time.Time
}

// NewStore returns a grant store over tables; now supplies the audit clock
// (time.Now when nil).
func NewStore(tables tablestore.Store, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{tables: tables, now: now}
}

func principalRow(g Grant) string {
	return "p|" + g.Principal.User + "|" + g.Resource.key() + "|" + g.Role
}

func resourceRow(g Grant) string {
	return "r|" + g.Resource.key() + "|" + g.Principal.User + "|" + g.Role
}

func grantProps(g Grant, actor Principal, at time.Time) map[string]any {
	return map[string]any{
		"PrincipalUser": g.Principal.User,
		"PrincipalOrg":  g.Principal.Org,
		"Role":          g.Role,
		"Kind":          string(g.Resource.Kind),
		"ResourceUser":  g.Resource.User,
		"GrantedBy":     actor.User,
		"GrantedAt":     at.UTC(),
	}
}

func grantFrom(org string, e tablestore.Entity) Grant {
	s := func(k string) string { v, _ := e.Properties[k].(string); return v }
	return Grant{
		Principal: Principal{User: s("PrincipalUser"), Org: s("PrincipalOrg")},
		Role:      s("Role"),
		Resource:  Resource{Kind: ResourceKind(s("Kind")), Org: org, User: s("ResourceUser")},
	}
}

// Add records g on behalf of actor (the zero Principal for system actions
// such as sign-up) and audits it. It reports false when the grant existed.
// Add does not check that actor may make the grant: the admin API does.
func (s *Store) Add(ctx context.Context, actor Principal, g Grant) (bool, error) {
	if err := g.validate(); err != nil {
		return false, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	at := s.now()
	// The index row goes first: a crash after it leaves a harmless pointer to
	// an org without grants, never a grant that account deletion cannot find.
	if _, err := s.tables.Upsert(ctx, GrantIndexTable, tablestore.Entity{
		PartitionKey: g.Principal.User, RowKey: g.Resource.Org, Properties: map[string]any{},
	}); err != nil {
		return false, fmt.Errorf("access: indexing grant: %w", err)
	}
	props := grantProps(g, actor, at)
	_, err := s.tables.Batch(ctx, GrantsTable, []tablestore.Op{
		{Kind: tablestore.OpInsert, Entity: tablestore.Entity{PartitionKey: g.Resource.Org, RowKey: principalRow(g), Properties: props}},
		{Kind: tablestore.OpInsert, Entity: tablestore.Entity{PartitionKey: g.Resource.Org, RowKey: resourceRow(g), Properties: props}},
	})
	if errors.Is(err, tablestore.ErrExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("access: storing grant: %w", err)
	}
	return true, s.audit(ctx, actor, "grant.add", g, at)
}

// Remove deletes g on behalf of actor and audits it; ErrNotFound when absent.
func (s *Store) Remove(ctx context.Context, actor Principal, g Grant) error {
	if err := g.validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	_, err := s.tables.Batch(ctx, GrantsTable, []tablestore.Op{
		{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: g.Resource.Org, RowKey: principalRow(g), ETag: "*"}},
		{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: g.Resource.Org, RowKey: resourceRow(g), ETag: "*"}},
	})
	if errors.Is(err, tablestore.ErrNotFound) {
		return fmt.Errorf("%w: %s %s on %s", ErrNotFound, g.Principal.User, g.Role, g.Resource)
	}
	if err != nil {
		return fmt.Errorf("access: removing grant: %w", err)
	}
	return s.audit(ctx, actor, "grant.remove", g, s.now())
}

// GrantsIn returns the grants principalUser holds on resources of org.
func (s *Store) GrantsIn(ctx context.Context, org, principalUser string) ([]Grant, error) {
	if validID("org", org) != nil || validID("user", principalUser) != nil {
		return nil, nil // no grant can exist under a malformed id
	}
	return s.list(ctx, org, "p|"+principalUser+"|")
}

// ListOrg returns every grant on the org group or its users.
func (s *Store) ListOrg(ctx context.Context, org string) ([]Grant, error) {
	if err := validID("org", org); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return s.list(ctx, org, "r|")
}

// ListPrincipal returns every grant the user holds, in every org.
func (s *Store) ListPrincipal(ctx context.Context, user string) ([]Grant, error) {
	if err := validID("user", user); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	orgs, err := s.keys(ctx, GrantIndexTable, user, "")
	if err != nil {
		return nil, err
	}
	var out []Grant
	for _, org := range orgs {
		gs, err := s.GrantsIn(ctx, org, user)
		if err != nil {
			return nil, err
		}
		out = append(out, gs...)
	}
	return out, nil
}

func (s *Store) list(ctx context.Context, org, prefix string) ([]Grant, error) {
	var out []Grant
	err := s.scan(ctx, GrantsTable, org, prefix, func(e tablestore.Entity) {
		out = append(out, grantFrom(org, e))
	})
	return out, err
}

func (s *Store) keys(ctx context.Context, table, partition, prefix string) ([]string, error) {
	var out []string
	err := s.scan(ctx, table, partition, prefix, func(e tablestore.Entity) { out = append(out, e.RowKey) })
	return out, err
}

func (s *Store) scan(ctx context.Context, table, partition, prefix string, each func(tablestore.Entity)) error {
	q := tablestore.Query{PartitionKey: partition, RowKeyFrom: prefix}
	if prefix != "" {
		q.RowKeyTo = prefixEnd(prefix)
	}
	for {
		page, err := s.tables.Query(ctx, table, q)
		if err != nil {
			return fmt.Errorf("access: reading %s: %w", table, err)
		}
		for _, e := range page.Entities {
			each(e)
		}
		if page.Continuation == "" {
			return nil
		}
		q.Continuation = page.Continuation
	}
}

// prefixEnd is the smallest key above every key starting with prefix; the
// prefixes used here end in "|", whose successor is "}".
func prefixEnd(prefix string) string {
	return prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1)
}

// AuditEntry is one recorded grant change.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  Principal `json:"actor"`
	Action string    `json:"action"`
	Grant  Grant     `json:"grant"`
}

func (s *Store) audit(ctx context.Context, actor Principal, action string, g Grant, at time.Time) error {
	var nonce [4]byte
	_, _ = rand.Read(nonce[:])
	// Newest first: the row key counts down with time.
	row := fmt.Sprintf("%019d-%s", math.MaxInt64-at.UnixNano(), hex.EncodeToString(nonce[:]))
	props := grantProps(g, actor, at)
	props["Action"] = action
	props["ActorOrg"] = actor.Org
	if _, err := s.tables.Insert(ctx, AuditTable, tablestore.Entity{PartitionKey: g.Resource.Org, RowKey: row, Properties: props}); err != nil {
		return fmt.Errorf("access: recording audit entry: %w", err)
	}
	return nil
}

// Audit returns up to limit audit entries of org, newest first.
func (s *Store) Audit(ctx context.Context, org string, limit int) ([]AuditEntry, error) {
	if err := validID("org", org); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	var out []AuditEntry
	q := tablestore.Query{PartitionKey: org, Limit: limit}
	for len(out) < limit {
		page, err := s.tables.Query(ctx, AuditTable, q)
		if err != nil {
			return nil, fmt.Errorf("access: reading audit: %w", err)
		}
		for _, e := range page.Entities {
			str := func(k string) string { v, _ := e.Properties[k].(string); return v }
			at, _ := e.Properties["GrantedAt"].(time.Time)
			out = append(out, AuditEntry{
				At:     at,
				Actor:  Principal{User: str("GrantedBy"), Org: str("ActorOrg")},
				Action: str("Action"),
				Grant:  grantFrom(org, e),
			})
		}
		if page.Continuation == "" {
			break
		}
		q.Continuation = page.Continuation
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
