package account

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/seal"
	"github.com/crmsync/crmsync/shared/tablestore"
)

const (
	keyRow = "fpkey"
	// keyPurpose binds the sealed key to its use; the row's user binds it to
	// the user, so a sealed key copied to another user's row does not open.
	keyPurpose = "fingerprint_key"
	// keyTenant is fixed: the key belongs to the user whatever org they are
	// in, and the row carries no org to bind it to.
	keyTenant = "crmsync"
	// FingerprintKeyBytes is the size of a user's fingerprint key.
	FingerprintKeyBytes = 32
)

// FingerprintKey returns the user's key for keyed field fingerprints,
// creating it (32 random bytes, stored sealed) on first use. The key never
// changes afterwards, not even when the sealing keys rotate (Reseal only
// re-seals it): a new key would make every stored fingerprint look changed.
func (a *Accounts) FingerprintKey(ctx context.Context, user string) ([]byte, error) {
	e, err := a.d.Tables.Get(ctx, SettingsTable, user, keyRow)
	if err == nil {
		return a.openKey(user, e)
	}
	if !errors.Is(err, tablestore.ErrNotFound) {
		return nil, fmt.Errorf("account: reading fingerprint key: %w", err)
	}
	key := make([]byte, FingerprintKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("account: making fingerprint key: %w", err)
	}
	sealed, err := a.d.Sealer.Seal(key, keyTenant, user, keyPurpose)
	if err != nil {
		return nil, fmt.Errorf("account: sealing fingerprint key: %w", err)
	}
	_, err = a.d.Tables.Insert(ctx, SettingsTable, tablestore.Entity{PartitionKey: user, RowKey: keyRow, Properties: map[string]any{"Key": sealed}})
	if errors.Is(err, tablestore.ErrExists) {
		// Another instance created it first: theirs is the key.
		e, err := a.d.Tables.Get(ctx, SettingsTable, user, keyRow)
		if err != nil {
			return nil, fmt.Errorf("account: reading fingerprint key: %w", err)
		}
		return a.openKey(user, e)
	}
	if err != nil {
		return nil, fmt.Errorf("account: storing fingerprint key: %w", err)
	}
	return key, nil
}

func (a *Accounts) openKey(user string, e tablestore.Entity) ([]byte, error) {
	sealed, _ := e.Properties["Key"].(string)
	key, err := a.d.Sealer.Open(sealed, keyTenant, user, keyPurpose)
	if err != nil {
		return nil, fmt.Errorf("account: opening fingerprint key of user %s: %w", user, err)
	}
	if len(key) != FingerprintKeyBytes {
		return nil, fmt.Errorf("account: fingerprint key of user %s has %d bytes, want %d", user, len(key), FingerprintKeyBytes)
	}
	return key, nil
}

// Reseal re-seals every stored fingerprint key that another key version
// sealed, so that version (the ring's current one, which Sealer seals with)
// seals it. The keys themselves stay the same. Rows written meanwhile are
// read again and redone. It implements keyring.Resealer beside the
// connection store's: the lead runs both from the keyrotation timer.
func (a *Accounts) Reseal(ctx context.Context, version int) (keyring.ResealCounts, error) {
	c := keyring.ResealCounts{ByVersion: map[int]int{}}
	// "fpkey!" is the least key above "fpkey" that the store accepts.
	q := tablestore.Query{RowKeyFrom: keyRow, RowKeyTo: keyRow + "!"}
	for {
		page, err := a.d.Tables.Query(ctx, SettingsTable, q)
		if err != nil {
			return c, fmt.Errorf("account: listing fingerprint keys: %w", err)
		}
		for _, e := range page.Entities {
			if e.RowKey != keyRow {
				continue
			}
			c.Rows++
			c.Values++
			if err := a.resealRow(ctx, e, version, &c); err != nil {
				return c, err
			}
		}
		if page.Continuation == "" {
			return c, nil
		}
		q.Continuation = page.Continuation
	}
}

func (a *Accounts) resealRow(ctx context.Context, e tablestore.Entity, version int, c *keyring.ResealCounts) error {
	for {
		sealed, _ := e.Properties["Key"].(string)
		v, err := seal.Version(sealed)
		if err == nil && v == version {
			c.Current++
			c.ByVersion[v]++
			return nil
		}
		key, err := a.openKey(e.PartitionKey, e)
		if err != nil {
			c.Failed++
			c.ByVersion[v]++
			a.d.Log.WarnContext(ctx, "fingerprint key does not open; left as it is", "user", e.PartitionKey, "version", v)
			return nil
		}
		resealed, err := a.d.Sealer.Seal(key, keyTenant, e.PartitionKey, keyPurpose)
		if err != nil {
			return fmt.Errorf("account: re-sealing fingerprint key: %w", err)
		}
		e.Properties["Key"] = resealed
		_, err = a.d.Tables.Update(ctx, SettingsTable, e, e.ETag)
		if err == nil {
			c.Resealed++
			nv, _ := seal.Version(resealed)
			c.ByVersion[nv]++
			return nil
		}
		if !errors.Is(err, tablestore.ErrPrecondition) {
			if errors.Is(err, tablestore.ErrNotFound) {
				return nil // the account was deleted meanwhile
			}
			return fmt.Errorf("account: storing re-sealed fingerprint key: %w", err)
		}
		c.Retried++
		e, err = a.d.Tables.Get(ctx, SettingsTable, e.PartitionKey, keyRow)
		if errors.Is(err, tablestore.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("account: re-reading fingerprint key: %w", err)
		}
	}
}

// KeysSealer adapts a seal.Keys ring (keyring.Ring) to Sealer: AES-256-GCM
// under the ring's current key, with the tenant, user and purpose as
// associated data. Provider is "crmsync", telling these values apart from
// the connection credentials sealed for "salesforce" and "microsoft".
type KeysSealer struct {
	Keys seal.Keys
	// Ctx is used for key lookups (Key Vault calls); context.Background when nil.
	Ctx context.Context
}

func (s KeysSealer) ctx() context.Context {
	if s.Ctx == nil {
		return context.Background()
	}
	return s.Ctx
}

// Seal seals plaintext for tenant, user and purpose.
func (s KeysSealer) Seal(plaintext []byte, tenant, user, purpose string) (string, error) {
	return seal.Seal(s.ctx(), s.Keys, plaintext, seal.AssociatedData{Tenant: tenant, User: user, Provider: "crmsync", Purpose: purpose})
}

// Open opens a value sealed for tenant, user and purpose.
func (s KeysSealer) Open(sealed, tenant, user, purpose string) ([]byte, error) {
	return seal.Open(s.ctx(), s.Keys, sealed, seal.AssociatedData{Tenant: tenant, User: user, Provider: "crmsync", Purpose: purpose})
}

// OrgKey returns an organisation's key for the fingerprints its users share
// (session.OrgKeySource): the keyed fingerprint of a shared e-mail's message
// id, the same in every colleague's session. Made and kept like a user's
// fingerprint key, in a partition named after the org ("org|" + its CRM org
// id, an identifier).
func (a *Accounts) OrgKey(ctx context.Context, org string) ([]byte, error) {
	if org == "" {
		return nil, fmt.Errorf("account: an org key needs the org")
	}
	return a.FingerprintKey(ctx, "org|"+org)
}
