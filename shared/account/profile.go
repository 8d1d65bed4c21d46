package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// ProfilesTable holds users' profiles, beside shared/identity's "users"
// table (which maps sign-in identities to user ids and holds no e-mail).
// Three kinds of rows, all naming the user:
//   - PartitionKey user, RowKey "profile": org, sealed e-mail, created, by whom;
//   - PartitionKey "o-"+org, RowKey user: the org's member list, for admins;
//   - PartitionKey "e-"+SHA-256(org, e-mail), RowKey "invite": the user an
//     address was provisioned as, so an address is provisioned once per org
//     and a first sign-in can claim it (ClaimInvite).
//
// The e-mail address is stored sealed (bound to org and user), never in
// plaintext, under the privacy rule.
const ProfilesTable = "profiles"

const (
	profileRow   = "profile"
	inviteRow    = "invite"
	emailPurpose = "profile_email"
)

// Profile is what the dashboard shows about a user.
type Profile struct {
	User string `json:"user"`
	Org  string `json:"org"`
	// Email is the user's display address ("" when unknown).
	Email string `json:"email,omitempty"`
	// Roles are the names of the roles the user holds, on any resource.
	Roles   []string  `json:"roles"`
	Created time.Time `json:"created"`
	// Provisioned is true for users an admin created before they signed in.
	Provisioned bool `json:"provisioned,omitempty"`
}

func memberPartition(org string) string { return "o-" + org }

func invitePartition(org, email string) string {
	sum := sha256.Sum256([]byte(org + "\x00" + strings.ToLower(email)))
	return "e-" + hex.EncodeToString(sum[:])
}

// NewUserID returns a fresh crmsync user id, shaped like shared/identity's.
func NewUserID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "u-" + hex.EncodeToString(b[:])
}

// ValidEmail checks an address as an admin types it: one bare address
// (no display name), with a domain containing a dot.
func ValidEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: empty address", ErrInvalid)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("%w: not an e-mail address", ErrInvalid)
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") || strings.HasSuffix(s, ".") {
		return "", fmt.Errorf("%w: the domain must be a full domain name such as example.com", ErrInvalid)
	}
	return strings.ToLower(s[:at]) + s[at:], nil
}

// Register records the profile of a signed-in user (idempotent): identity's
// sign-up should call it with the address from the id token. email may be "".
func (a *Accounts) Register(ctx context.Context, p access.Principal, email string) error {
	if p.User == "" || p.Org == "" {
		return fmt.Errorf("%w: a profile needs a user and an org", ErrInvalid)
	}
	if _, err := a.d.Tables.Get(ctx, ProfilesTable, p.User, profileRow); err == nil {
		return nil
	} else if !errors.Is(err, tablestore.ErrNotFound) {
		return fmt.Errorf("account: reading profile: %w", err)
	}
	if email != "" {
		var err error
		if email, err = ValidEmail(email); err != nil {
			return err
		}
	}
	return a.writeProfile(ctx, p, email, false)
}

// writeProfile writes the member row and invite row first and the profile
// row last, so a crash leaves at worst index rows that Delete still finds by
// the user (they name it) and a rerun completes.
func (a *Accounts) writeProfile(ctx context.Context, p access.Principal, email string, provisioned bool) error {
	now := a.d.Now().UTC()
	if email != "" {
		inv := tablestore.Entity{PartitionKey: invitePartition(p.Org, email), RowKey: inviteRow, Properties: map[string]any{"User": p.User}}
		if _, err := a.d.Tables.Insert(ctx, ProfilesTable, inv); errors.Is(err, tablestore.ErrExists) {
			got, gerr := a.d.Tables.Get(ctx, ProfilesTable, inv.PartitionKey, inviteRow)
			if gerr != nil {
				return fmt.Errorf("account: reading invite: %w", gerr)
			}
			if owner, _ := got.Properties["User"].(string); owner != p.User {
				return ErrTaken
			}
		} else if err != nil {
			return fmt.Errorf("account: writing invite: %w", err)
		}
	}
	if _, err := a.d.Tables.Upsert(ctx, ProfilesTable, tablestore.Entity{PartitionKey: memberPartition(p.Org), RowKey: p.User,
		Properties: map[string]any{"User": p.User, "Created": now}}); err != nil {
		return fmt.Errorf("account: writing member row: %w", err)
	}
	props := map[string]any{"Org": p.Org, "Created": now, "Provisioned": provisioned}
	if email != "" {
		sealed, err := a.d.Sealer.Seal([]byte(email), p.Org, p.User, emailPurpose)
		if err != nil {
			return fmt.Errorf("account: sealing e-mail: %w", err)
		}
		props["Email"] = sealed
		props["Invite"] = invitePartition(p.Org, email)
	}
	if _, err := a.d.Tables.Insert(ctx, ProfilesTable, tablestore.Entity{PartitionKey: p.User, RowKey: profileRow, Properties: props}); err != nil {
		if errors.Is(err, tablestore.ErrExists) {
			return nil
		}
		return fmt.Errorf("account: writing profile: %w", err)
	}
	return nil
}

// Profile returns a user's profile with their role names. A user who signed
// in but has no profile row yet gets one built from the Directory.
func (a *Accounts) Profile(ctx context.Context, user string) (Profile, error) {
	e, err := a.d.Tables.Get(ctx, ProfilesTable, user, profileRow)
	var p Profile
	switch {
	case err == nil:
		p = a.profileOf(user, e)
	case errors.Is(err, tablestore.ErrNotFound):
		org, derr := a.dirOrg(ctx, user)
		if derr != nil {
			return Profile{}, derr
		}
		p = Profile{User: user, Org: org}
	default:
		return Profile{}, fmt.Errorf("account: reading profile: %w", err)
	}
	grants, err := a.d.Grants.ListPrincipal(ctx, user)
	if err != nil {
		return Profile{}, fmt.Errorf("account: reading roles: %w", err)
	}
	p.Roles = []string{}
	for _, g := range grants {
		if !slices.Contains(p.Roles, g.Role) {
			p.Roles = append(p.Roles, g.Role)
		}
	}
	slices.Sort(p.Roles)
	return p, nil
}

func (a *Accounts) profileOf(user string, e tablestore.Entity) Profile {
	p := Profile{User: user}
	p.Org, _ = e.Properties["Org"].(string)
	p.Created, _ = e.Properties["Created"].(time.Time)
	p.Provisioned, _ = e.Properties["Provisioned"].(bool)
	if sealed, _ := e.Properties["Email"].(string); sealed != "" {
		if b, err := a.d.Sealer.Open(sealed, p.Org, user, emailPurpose); err == nil {
			p.Email = string(b)
		} else {
			// Shown as unknown rather than failing the page; the reason is
			// logged without the value.
			a.d.Log.Warn("profile e-mail does not open", "user", user)
		}
	}
	return p
}

// email returns the user's display address ("" when there is no profile or
// no address).
func (a *Accounts) email(ctx context.Context, user string) (string, error) {
	e, err := a.d.Tables.Get(ctx, ProfilesTable, user, profileRow)
	if errors.Is(err, tablestore.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("account: reading profile: %w", err)
	}
	return a.profileOf(user, e).Email, nil
}

func (a *Accounts) dirOrg(ctx context.Context, user string) (string, error) {
	if a.d.Directory == nil {
		return "", fmt.Errorf("%w: user %s", ErrNotFound, user)
	}
	org, err := a.d.Directory.OrgOf(ctx, user)
	if errors.Is(err, access.ErrNoSuchUser) {
		return "", fmt.Errorf("%w: user %s", ErrNotFound, user)
	}
	return org, err
}

// OrgOf returns the org of a user (access.Directory): from the profile when
// there is one (provisioned users who never signed in have no identity row),
// else from Deps.Directory.
func (a *Accounts) OrgOf(ctx context.Context, user string) (string, error) {
	e, err := a.d.Tables.Get(ctx, ProfilesTable, user, profileRow)
	if err == nil {
		org, _ := e.Properties["Org"].(string)
		return org, nil
	}
	if !errors.Is(err, tablestore.ErrNotFound) {
		return "", fmt.Errorf("account: reading profile: %w", err)
	}
	if a.d.Directory == nil {
		return "", fmt.Errorf("%w: %s", access.ErrNoSuchUser, user)
	}
	return a.d.Directory.OrgOf(ctx, user)
}

// Members returns the profiles of the org's users, in user id order.
func (a *Accounts) Members(ctx context.Context, org string) ([]Profile, error) {
	var out []Profile
	q := tablestore.Query{PartitionKey: memberPartition(org)}
	for {
		page, err := a.d.Tables.Query(ctx, ProfilesTable, q)
		if err != nil {
			return nil, fmt.Errorf("account: listing org members: %w", err)
		}
		for _, e := range page.Entities {
			p, err := a.Profile(ctx, e.RowKey)
			if errors.Is(err, ErrNotFound) {
				continue // a member row left by an interrupted deletion
			}
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
		if page.Continuation == "" {
			return out, nil
		}
		q.Continuation = page.Continuation
	}
}

// ClaimInvite returns the user id an admin provisioned for email in org, so
// that identity's first sign-in of that person adopts the provisioned account
// (its settings, schedule and grants) instead of creating a second one.
func (a *Accounts) ClaimInvite(ctx context.Context, org, email string) (user string, ok bool, err error) {
	email, err = ValidEmail(email)
	if err != nil {
		return "", false, err
	}
	e, err := a.d.Tables.Get(ctx, ProfilesTable, invitePartition(org, email), inviteRow)
	if errors.Is(err, tablestore.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("account: reading invite: %w", err)
	}
	user, _ = e.Properties["User"].(string)
	return user, user != "", nil
}

func (a *Accounts) deleteProfile(ctx context.Context, user string) error {
	e, err := a.d.Tables.Get(ctx, ProfilesTable, user, profileRow)
	if errors.Is(err, tablestore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("account: reading profile: %w", err)
	}
	org, _ := e.Properties["Org"].(string)
	if inv, _ := e.Properties["Invite"].(string); inv != "" {
		if err := a.d.Tables.Delete(ctx, ProfilesTable, inv, inviteRow, "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
			return fmt.Errorf("account: deleting invite: %w", err)
		}
	}
	if err := a.d.Tables.Delete(ctx, ProfilesTable, memberPartition(org), user, "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
		return fmt.Errorf("account: deleting member row: %w", err)
	}
	// The profile row goes last: it is what finds the other two.
	if err := a.d.Tables.Delete(ctx, ProfilesTable, user, profileRow, "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
		return fmt.Errorf("account: deleting profile: %w", err)
	}
	return nil
}
