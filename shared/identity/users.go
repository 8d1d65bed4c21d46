package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// UsersTable maps external identities to crmsync users. Two kinds of rows:
// a user row (PartitionKey = user id "u-…", RowKey "user") holding the org,
// and a link row (PartitionKey = "x-" + SHA-256 of kind, org and subject,
// RowKey "link") naming the user. Hashing keeps external ids out of keys and
// makes any id shape a valid key.
const UsersTable = "users"

const (
	userRow = "user"
	linkRow = "link"
)

// Users is the user directory: sign-up on first sign-in, lookup after.
type Users struct {
	tables tablestore.Store
	grants *access.Store
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]cached // link key → principal, to spare two reads per API call
	// adopt finds the account an admin provisioned for an address in an org.
	adopt func(ctx context.Context, org, email string) (user string, ok bool, err error)
}

// AdoptProvisioned makes a first sign-in adopt the account an admin
// provisioned for the person's address in the same org (account.ClaimInvite)
// instead of creating a second one. The address must come from the org's own
// directory (Entra's preferred_username, Salesforce's email), and the org must
// match, so nobody outside the org can claim the account.
func (u *Users) AdoptProvisioned(f func(ctx context.Context, org, email string) (user string, ok bool, err error)) {
	u.adopt = f
}

type cached struct {
	p       access.Principal
	expires time.Time
}

// cacheFor bounds how long a deleted user can linger in another instance's
// cache; grants are removed at deletion, so the cached principal is denied
// everything anyway.
const cacheFor = 5 * time.Minute

// NewUsers returns the directory over tables; grants receives the self grant
// of each new user. now is the clock (time.Now when nil).
func NewUsers(tables tablestore.Store, grants *access.Store, now func() time.Time) *Users {
	if now == nil {
		now = time.Now
	}
	return &Users{tables: tables, grants: grants, now: now, cache: map[string]cached{}}
}

func linkKey(id Identity) string {
	sum := sha256.Sum256([]byte(string(id.Kind) + "\x00" + id.Org + "\x00" + id.Subject))
	return "x-" + hex.EncodeToString(sum[:])
}

// SignIn returns the crmsync principal of a verified identity, creating the
// user and granting it the self role on first sign-in (sign-up).
func (u *Users) SignIn(ctx context.Context, id Identity) (p access.Principal, created bool, err error) {
	key := linkKey(id)
	u.mu.Lock()
	c, ok := u.cache[key]
	u.mu.Unlock()
	if ok && u.now().Before(c.expires) {
		return c.p, false, nil
	}
	p, created, err = u.signIn(ctx, key, id)
	if err != nil {
		return access.Principal{}, false, err
	}
	u.mu.Lock()
	u.cache[key] = cached{p: p, expires: u.now().Add(cacheFor)}
	u.mu.Unlock()
	return p, created, nil
}

func (u *Users) signIn(ctx context.Context, key string, id Identity) (access.Principal, bool, error) {
	link, err := u.tables.Get(ctx, UsersTable, key, linkRow)
	if err == nil {
		user, _ := link.Properties["User"].(string)
		row, err := u.tables.Get(ctx, UsersTable, user, userRow)
		if err != nil {
			return access.Principal{}, false, fmt.Errorf("identity: link names a missing user: %w", err)
		}
		org, _ := row.Properties["Org"].(string)
		p := access.Principal{User: user, Org: org}
		if done, _ := row.Properties["SelfGranted"].(bool); !done {
			// A sign-up stopped before its grant: finish it now.
			return p, false, u.grantSelf(ctx, p, row)
		}
		return p, false, nil
	}
	if !errors.Is(err, tablestore.ErrNotFound) {
		return access.Principal{}, false, fmt.Errorf("identity: reading user link: %w", err)
	}
	// Sign-up: the user row first, then the link. A crash in between leaves
	// an unreachable user row, never a link to nothing; a racing sign-in
	// loses the link insert and adopts the winner's user.
	var b [12]byte
	_, _ = rand.Read(b[:])
	p := access.Principal{User: "u-" + hex.EncodeToString(b[:]), Org: id.Org}
	adopted := false
	if u.adopt != nil && id.Email != "" {
		user, ok, err := u.adopt(ctx, id.Org, id.Email)
		if err != nil {
			return access.Principal{}, false, fmt.Errorf("identity: looking for a provisioned account: %w", err)
		}
		if ok {
			p.User, adopted = user, true
		}
	}
	if _, err := u.tables.Insert(ctx, UsersTable, tablestore.Entity{PartitionKey: p.User, RowKey: userRow, Properties: map[string]any{
		"Org": id.Org, "Kind": string(id.Kind), "Link": key, "Created": u.now().UTC(),
	}}); err != nil && !(adopted && errors.Is(err, tablestore.ErrExists)) {
		return access.Principal{}, false, fmt.Errorf("identity: creating user: %w", err)
	}
	if _, err := u.tables.Insert(ctx, UsersTable, tablestore.Entity{PartitionKey: key, RowKey: linkRow, Properties: map[string]any{"User": p.User}}); err != nil {
		if !adopted {
			_ = u.tables.Delete(ctx, UsersTable, p.User, userRow, "*")
		}
		if errors.Is(err, tablestore.ErrExists) {
			return u.signIn(ctx, key, id)
		}
		return access.Principal{}, false, fmt.Errorf("identity: linking user: %w", err)
	}
	row, err := u.tables.Get(ctx, UsersTable, p.User, userRow)
	if err != nil {
		return access.Principal{}, false, fmt.Errorf("identity: reading new user: %w", err)
	}
	if err := u.grantSelf(ctx, p, row); err != nil {
		return access.Principal{}, false, err
	}
	return p, true, nil
}

// grantSelf gives a new user the self role on their own account, then marks
// the user row so later sign-ins skip it.
func (u *Users) grantSelf(ctx context.Context, p access.Principal, row tablestore.Entity) error {
	self := access.Grant{Principal: p, Role: access.RoleSelf, Resource: access.User(p.Org, p.User)}
	if _, err := u.grants.Add(ctx, access.Principal{}, self); err != nil {
		return fmt.Errorf("identity: granting self: %w", err)
	}
	row.Properties["SelfGranted"] = true
	if _, err := u.tables.Update(ctx, UsersTable, row, row.ETag); err != nil && !errors.Is(err, tablestore.ErrPrecondition) {
		return fmt.Errorf("identity: marking user: %w", err)
	}
	return nil
}

// OrgOf returns the org of a crmsync user (access.Directory).
func (u *Users) OrgOf(ctx context.Context, user string) (string, error) {
	e, err := u.tables.Get(ctx, UsersTable, user, userRow)
	if errors.Is(err, tablestore.ErrNotFound) {
		return "", fmt.Errorf("%w: %s", access.ErrNoSuchUser, user)
	}
	if err != nil {
		return "", fmt.Errorf("identity: reading user: %w", err)
	}
	org, _ := e.Properties["Org"].(string)
	return org, nil
}

// Delete removes the user's row and its identity link, for account deletion.
// The user's grants are the access store's to delete (access.Store.DeleteUser).
func (u *Users) Delete(ctx context.Context, user string) error {
	e, err := u.tables.Get(ctx, UsersTable, user, userRow)
	if errors.Is(err, tablestore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("identity: reading user: %w", err)
	}
	if key, _ := e.Properties["Link"].(string); key != "" {
		if err := u.tables.Delete(ctx, UsersTable, key, linkRow, "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
			return fmt.Errorf("identity: removing link: %w", err)
		}
		u.mu.Lock()
		delete(u.cache, key)
		u.mu.Unlock()
	}
	if err := u.tables.Delete(ctx, UsersTable, user, userRow, "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
		return fmt.Errorf("identity: removing user: %w", err)
	}
	return nil
}
