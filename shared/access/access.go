// Package access is crmsync's authorization model: a Principal holds Grants,
// each giving one Role (a named set of Permissions) on one Resource (a user, or
// the group of all users of an org). Access is additive and denied by default:
// without a grant that covers the resource and carries the permission, Check
// returns ErrDenied. Every HTTP route goes through the same Check, via Guard.
package access

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Permission names one thing a principal may do to a resource.
type Permission string

// The permissions crmsync routes require. There is deliberately no permission
// that reads secrets or tokens: credentials never leave the backend, so no role
// could be given one.
const (
	// SyncRead: see sync settings, history and results.
	SyncRead Permission = "sync.read"
	// SyncWrite: pause, resume, "sync now".
	SyncWrite Permission = "sync.write"
	// SettingsWrite: change what syncs and in which direction.
	SettingsWrite Permission = "settings.write"
	// ConnectionsWrite: connect, reconnect or disconnect CRM and mailbox accounts.
	ConnectionsWrite Permission = "connections.write"
	// UsersProvision: create or deprovision users of an org.
	UsersProvision Permission = "users.provision"
	// GrantsWrite: list, add and remove grants.
	GrantsWrite Permission = "grants.write"
	// StatusRead: read sync status (last and next run, counts).
	StatusRead Permission = "status.read"
	// IssuesRead: read the per-item issues of a sync.
	IssuesRead Permission = "issues.read"
	// AccountDelete: delete an account and everything stored for it.
	AccountDelete Permission = "account.delete"
)

// permissions lists every permission, for validation.
var permissions = []Permission{
	SyncRead, SyncWrite, SettingsWrite, ConnectionsWrite, UsersProvision,
	GrantsWrite, StatusRead, IssuesRead, AccountDelete, AddinUse, AddinWrite, TrackingUse,
}

// Permissions of the Outlook add-in and open tracking, used on one's own
// account only: they act with the user's own CRM credentials.
const (
	// AddinUse: read the CRM through the add-in (people, search, describe).
	AddinUse Permission = "addin.use"
	// AddinWrite: write the CRM through the add-in (records, shares, files, Chatter).
	AddinWrite Permission = "addin.write"
	// TrackingUse: mint tracking pixels and read their open statistics.
	TrackingUse Permission = "tracking.use"
)

// Valid reports whether p is one of the known permissions.
func (p Permission) Valid() bool {
	for _, q := range permissions {
		if p == q {
			return true
		}
	}
	return false
}

// Principal is who acts: a crmsync user id and the org (Entra tenant id or
// Salesforce org id) the user belongs to. The zero Principal is anonymous.
type Principal struct {
	User string `json:"user"`
	Org  string `json:"org"`
}

// Anonymous reports whether no one is signed in.
func (p Principal) Anonymous() bool { return p.User == "" }

// ResourceKind says whether a resource is one user or a whole org.
type ResourceKind string

const (
	// KindUser is one user's account, settings and sync.
	KindUser ResourceKind = "user"
	// KindOrg is the group of all users of one org.
	KindOrg ResourceKind = "org"
)

// Resource is what a permission applies to: a user (User and the Org it
// belongs to) or an org group (Org only).
type Resource struct {
	Kind ResourceKind `json:"kind"`
	Org  string       `json:"org"`
	User string       `json:"user,omitempty"`
}

// User returns the resource for one user of an org.
func User(org, user string) Resource { return Resource{Kind: KindUser, Org: org, User: user} }

// Org returns the resource for the group of all users of an org.
func Org(org string) Resource { return Resource{Kind: KindOrg, Org: org} }

// Covers reports whether a grant on r applies to target: the same resource, or
// r is an org group and target is that org or one of its users.
func (r Resource) Covers(target Resource) bool {
	switch r.Kind {
	case KindOrg:
		return r.Org == target.Org
	case KindUser:
		return target.Kind == KindUser && r.Org == target.Org && r.User == target.User
	}
	return false
}

// key is the resource's storage key part, e.g. "org" or "user:u123".
func (r Resource) key() string {
	if r.Kind == KindOrg {
		return "org"
	}
	return "user:" + r.User
}

func (r Resource) String() string {
	if r.Kind == KindOrg {
		return "org:" + r.Org
	}
	return "user:" + r.Org + "/" + r.User
}

// validate checks the resource is well formed and its ids are usable as
// storage keys.
func (r Resource) validate() error {
	switch r.Kind {
	case KindOrg:
		if r.User != "" {
			return fmt.Errorf("access: org resource %q must not name a user", r.Org)
		}
	case KindUser:
		if err := validID("user", r.User); err != nil {
			return err
		}
	default:
		return fmt.Errorf("access: resource kind %q is neither %q nor %q", r.Kind, KindUser, KindOrg)
	}
	return validID("org", r.Org)
}

// validID accepts ids that are safe as table keys and key separators: no
// separators, no characters Table Storage forbids in keys, at most 200 bytes.
func validID(what, id string) error {
	if id == "" {
		return fmt.Errorf("access: %s id is empty", what)
	}
	if len(id) > 200 {
		return fmt.Errorf("access: %s id is longer than 200 bytes", what)
	}
	if strings.ContainsAny(id, "|/\\#?:") {
		return fmt.Errorf("access: %s id %q contains a reserved character (| / \\ # ? :)", what, id)
	}
	for _, c := range id {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("access: %s id contains a control character", what)
		}
	}
	return nil
}

// Grant gives Principal the Role on Resource.
type Grant struct {
	Principal Principal `json:"principal"`
	Role      string    `json:"role"`
	Resource  Resource  `json:"resource"`
}

func (g Grant) validate() error {
	if err := validID("principal user", g.Principal.User); err != nil {
		return err
	}
	if err := validID("principal org", g.Principal.Org); err != nil {
		return err
	}
	if _, ok := BuiltinRole(g.Role); !ok {
		return fmt.Errorf("access: unknown role %q", g.Role)
	}
	return g.Resource.validate()
}

// Errors are classified by what the HTTP layer answers.
var (
	// ErrDenied: no grant allows it (403, or 401 for anonymous callers).
	ErrDenied = errors.New("access: denied")
	// ErrInvalid: a malformed grant, resource or id (400).
	ErrInvalid = errors.New("access: invalid request")
)

type principalKey struct{}

// WithPrincipal returns a context carrying the authenticated principal. The
// identity package calls it after it has verified a session or bearer token.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal of the request; the zero (anonymous)
// principal when none was authenticated.
func PrincipalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}
