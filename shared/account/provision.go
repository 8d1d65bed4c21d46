package account

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/schedule"
)

// MaxProvision bounds one provisioning request, so one form post cannot keep
// a function busy past its timeout.
const MaxProvision = 500

// Provisioned is the outcome of one line of a provisioning request.
type Provisioned struct {
	// Line is the 1-based line number in the request.
	Line int `json:"line"`
	// Email is the address as normalized (the admin's own input, echoed back
	// to them; never logged or stored in plaintext).
	Email string `json:"email"`
	// User is the new user's id when the line succeeded.
	User string `json:"user,omitempty"`
	// Error says why the line failed ("" = success).
	Error string `json:"error,omitempty"`
}

// Provision creates a user per address in lines (one address per line; blank
// lines are skipped) in org, on behalf of actor: a profile, settings on plan,
// a schedule that stays paused until the user connects both accounts, and
// the self role. Every line is tried; each result says what happened to it.
// The error is non-nil only for a request that cannot be tried at all.
func (a *Accounts) Provision(ctx context.Context, actor access.Principal, org string, lines []string, plan string) ([]Provisioned, error) {
	if org == "" {
		return nil, fmt.Errorf("%w: no org", ErrInvalid)
	}
	if plan == "" {
		plan = DefaultPlan
	}
	if _, ok := schedule.Plans[plan]; !ok {
		return nil, fmt.Errorf("%w: unknown plan %q (known: %s)", ErrInvalid, plan, planList())
	}
	var out []Provisioned
	seen := map[string]int{}
	n := 0
	for i, raw := range lines {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		n++
		if n > MaxProvision {
			return nil, fmt.Errorf("%w: more than %d addresses in one request; split the list", ErrInvalid, MaxProvision)
		}
		r := Provisioned{Line: i + 1, Email: strings.TrimSpace(raw)}
		email, err := ValidEmail(raw)
		switch {
		case err != nil:
			r.Error = strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
		case seen[email] != 0:
			r.Email = email
			r.Error = fmt.Sprintf("repeats line %d", seen[email])
		default:
			r.Email = email
			seen[email] = r.Line
			r.User, err = a.provisionOne(ctx, actor, org, email, plan)
			if err != nil {
				r.User = ""
				r.Error = provisionMessage(err)
				if !errors.Is(err, ErrTaken) {
					a.d.Log.ErrorContext(ctx, "provisioning a user failed", "org", org, "line", r.Line, "err", err)
				}
			}
		}
		out = append(out, r)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: no addresses given", ErrInvalid)
	}
	return out, nil
}

func provisionMessage(err error) string {
	if errors.Is(err, ErrTaken) {
		return "already a user of this org"
	}
	return "could not be created; try this line again"
}

// provisionOne creates one user. The invite row goes first: a rerun of a
// half-done line finds it taken by the user it started, so a retry after a
// crash reports "already a user" rather than creating a second account.
func (a *Accounts) provisionOne(ctx context.Context, actor access.Principal, org, email, plan string) (string, error) {
	user := NewUserID()
	p := access.Principal{User: user, Org: org}
	if err := a.writeProfile(ctx, p, email, true); err != nil {
		return "", err
	}
	s := DefaultSettings()
	if err := a.writeSettings(ctx, user, s, ""); err != nil {
		return "", err
	}
	if err := a.d.Scheduler.Enroll(ctx, user, plan, a.d.Now()); err != nil {
		return "", fmt.Errorf("account: enrolling: %w", err)
	}
	// Paused until the user connects: a session without credentials could
	// only fail.
	if err := a.d.Scheduler.SetPaused(ctx, user, true); err != nil {
		return "", fmt.Errorf("account: pausing: %w", err)
	}
	self := access.Grant{Principal: p, Role: access.RoleSelf, Resource: access.User(org, user)}
	if _, err := a.d.Grants.Add(ctx, actor, self); err != nil {
		return "", fmt.Errorf("account: granting self: %w", err)
	}
	return user, nil
}
