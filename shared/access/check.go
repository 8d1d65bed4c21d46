package access

import (
	"context"
	"fmt"
)

// GrantSource reads the grants a principal holds within one org: all the
// grants that could cover a resource of that org.
type GrantSource interface {
	GrantsIn(ctx context.Context, org, principalUser string) ([]Grant, error)
}

// Checker decides whether a principal may do something to a resource.
type Checker struct {
	grants GrantSource
}

// NewChecker returns a Checker reading grants from src (usually a *Store).
func NewChecker(src GrantSource) *Checker { return &Checker{grants: src} }

// Check returns nil when one of the principal's grants carries permission and
// covers resource, and an error wrapping ErrDenied otherwise. Anonymous
// principals, unknown permissions and malformed resources are denied.
func (c *Checker) Check(ctx context.Context, p Principal, permission Permission, resource Resource) error {
	if p.Anonymous() {
		return fmt.Errorf("%w: not signed in", ErrDenied)
	}
	if !permission.Valid() {
		return fmt.Errorf("%w: unknown permission %q", ErrDenied, permission)
	}
	if err := resource.validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrDenied, err)
	}
	grants, err := c.grants.GrantsIn(ctx, resource.Org, p.User)
	if err != nil {
		return fmt.Errorf("access: reading grants: %w", err)
	}
	for _, g := range grants {
		// The org recorded with the grant must be the principal's org: a
		// grant made for a user of one org never serves a token from another.
		if g.Principal != p {
			continue
		}
		role, ok := BuiltinRole(g.Role)
		if ok && role.Has(permission) && g.Resource.Covers(resource) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s lacks %s on %s", ErrDenied, p.User, permission, resource)
}

// holdsRole reports whether p holds every permission of role on resource:
// the rule that keeps anyone from granting more than they have.
func (c *Checker) holdsRole(ctx context.Context, p Principal, role Role, resource Resource) error {
	for _, perm := range role.Permissions {
		if err := c.Check(ctx, p, perm, resource); err != nil {
			return fmt.Errorf("%w: %s does not hold role %s on %s", ErrDenied, p.User, role.Name, resource)
		}
	}
	return nil
}
