package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// Target says which resource a route acts on, so the guard can build it from
// the request before the handler runs.
type Target string

const (
	// Public routes need no principal and no grant (sign-in, the tracking
	// pixel, webhooks that authenticate themselves). Permission must be empty.
	Public Target = "public"
	// OwnUser routes act on the caller's own account ("/api/me/...").
	OwnUser Target = "self"
	// PathUser routes act on the user named by the {user} path value; the
	// user's org comes from the Directory, never from the request.
	PathUser Target = "user"
	// PathOrg routes act on the org group named by the {org} path value.
	PathOrg Target = "org"
	// OwnOrg routes act on the caller's own org group.
	OwnOrg Target = "ownorg"
)

// Route is one entry of the HTTP route table: what it needs and who serves it.
type Route struct {
	Method     string
	Path       string // a net/http ServeMux pattern path, e.g. "/api/users/{user}/settings"
	Permission Permission
	Resource   Target
	Handler    http.Handler
}

// Key is "METHOD PATH", the route's name in matrices and logs.
func (rt Route) Key() string { return rt.Method + " " + rt.Path }

// Directory tells which org a user belongs to. It returns an error wrapping
// ErrNoSuchUser for an unknown user.
type Directory interface {
	OrgOf(ctx context.Context, user string) (string, error)
}

// ErrNoSuchUser is what a Directory returns for an unknown user id.
var ErrNoSuchUser = errors.New("access: no such user")

type resourceKey struct{}

// ResourceFrom returns the resource the guard checked for this request, so
// handlers act on exactly what was authorized.
func ResourceFrom(ctx context.Context) (Resource, bool) {
	r, ok := ctx.Value(resourceKey{}).(Resource)
	return r, ok
}

// Validate reports the first problem of a route table: a bad method, a
// missing handler, an unknown permission, a target whose path value is
// absent, a public route with a permission, or a duplicate.
func Validate(routes []Route) error {
	seen := map[string]bool{}
	for _, rt := range routes {
		k := rt.Key()
		switch {
		case !validMethod(rt.Method):
			return fmt.Errorf("access: route %s: method %q is not an HTTP method", k, rt.Method)
		case !strings.HasPrefix(rt.Path, "/"):
			return fmt.Errorf("access: route %s: path must start with /", k)
		case rt.Handler == nil:
			return fmt.Errorf("access: route %s: no handler", k)
		case seen[k]:
			return fmt.Errorf("access: route %s appears twice", k)
		}
		seen[k] = true
		switch rt.Resource {
		case Public:
			if rt.Permission != "" {
				return fmt.Errorf("access: route %s: a public route cannot require %s", k, rt.Permission)
			}
			continue
		case OwnUser, OwnOrg:
		case PathUser:
			if !strings.Contains(rt.Path, "{user}") {
				return fmt.Errorf("access: route %s: target %q needs {user} in the path", k, rt.Resource)
			}
		case PathOrg:
			if !strings.Contains(rt.Path, "{org}") {
				return fmt.Errorf("access: route %s: target %q needs {org} in the path", k, rt.Resource)
			}
		default:
			return fmt.Errorf("access: route %s: unknown target %q", k, rt.Resource)
		}
		if !rt.Permission.Valid() {
			return fmt.Errorf("access: route %s: unknown permission %q", k, rt.Permission)
		}
	}
	return nil
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// Mux validates routes and returns a ServeMux serving each behind Guard.
func Mux(c *Checker, dir Directory, log *slog.Logger, routes []Route) (*http.ServeMux, error) {
	return MuxWith(c, dir, log, routes, nil)
}

// Refusal answers a refused request (status 401, 403 or 500, a code and a
// message that carries no request data). Nil answers JSON.
type Refusal func(w http.ResponseWriter, r *http.Request, status int, code, msg string)

// MuxWith is Mux whose guard answers refusals through refuse, so a web page
// can answer a browser with a page instead of a JSON body.
func MuxWith(c *Checker, dir Directory, log *slog.Logger, routes []Route, refuse Refusal) (*http.ServeMux, error) {
	if err := Validate(routes); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.Key(), guard(c, dir, log, rt, refuse))
	}
	return mux, nil
}

// Guard wraps rt.Handler with the route's check: 401 when a protected route
// is called anonymously, 403 when no grant allows it, and the handler — with
// the checked resource in its context — otherwise.
func Guard(c *Checker, dir Directory, log *slog.Logger, rt Route) http.Handler {
	return guard(c, dir, log, rt, nil)
}

func guard(c *Checker, dir Directory, log *slog.Logger, rt Route, refuse Refusal) http.Handler {
	if refuse == nil {
		refuse = func(w http.ResponseWriter, _ *http.Request, status int, code, msg string) {
			writeError(w, status, code, msg)
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if rt.Resource == Public {
		return rt.Handler
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := PrincipalFrom(r.Context())
		if p.Anonymous() {
			refuse(w, r, http.StatusUnauthorized, "unauthenticated", "sign in first")
			return
		}
		res, err := resolve(r, p, dir, rt.Resource)
		if err == nil {
			err = c.Check(r.Context(), p, rt.Permission, res)
		}
		switch {
		case err == nil:
			rt.Handler.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), resourceKey{}, res)))
		case errors.Is(err, ErrDenied), errors.Is(err, ErrNoSuchUser), errors.Is(err, ErrInvalid):
			// An unknown user gets the same answer as a forbidden one, so
			// the route cannot be used to probe which user ids exist.
			log.InfoContext(r.Context(), "access denied", "route", rt.Key(), "user", p.User, "permission", string(rt.Permission))
			refuse(w, r, http.StatusForbidden, "forbidden", "you do not have access to this")
		default:
			log.ErrorContext(r.Context(), "access check failed", "route", rt.Key(), "user", p.User, "err", err)
			refuse(w, r, http.StatusInternalServerError, "internal", "access check failed; try again")
		}
	})
}

func resolve(r *http.Request, p Principal, dir Directory, t Target) (Resource, error) {
	switch t {
	case OwnUser:
		return User(p.Org, p.User), nil
	case OwnOrg:
		return Org(p.Org), nil
	case PathOrg:
		org := r.PathValue("org")
		if err := validID("org", org); err != nil {
			return Resource{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		return Org(org), nil
	case PathUser:
		user := r.PathValue("user")
		if err := validID("user", user); err != nil {
			return Resource{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		org, err := dir.OrgOf(r.Context(), user)
		if err != nil {
			return Resource{}, err
		}
		return User(org, user), nil
	}
	return Resource{}, fmt.Errorf("%w: unknown target %q", ErrInvalid, t)
}

// writeError answers with a small JSON error body; messages never carry
// request data.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}
