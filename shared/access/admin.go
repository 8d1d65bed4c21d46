package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
)

// Admin serves the grant administration API for one org at a time, on
// routes carrying an {org} path value:
//
//	GET    /…/orgs/{org}/grants   list the org's grants
//	POST   /…/orgs/{org}/grants   add one (JSON GrantRequest)
//	DELETE /…/orgs/{org}/grants   remove one (JSON GrantRequest)
//	GET    /…/orgs/{org}/audit    recent grant changes
//
// Each handler checks "grants.write" on the org group itself, whatever the
// route table says, and a change is allowed only when the caller holds every
// permission of the role on the target resource, so nobody grants more than
// they have and no org admin reaches into another org.
type Admin struct {
	store   *Store
	checker *Checker
	dir     Directory
	log     *slog.Logger
}

// NewAdmin returns the admin API over store; dir tells which org a user
// belongs to.
func NewAdmin(store *Store, checker *Checker, dir Directory, log *slog.Logger) *Admin {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Admin{store: store, checker: checker, dir: dir, log: log}
}

// GrantRequest names a grant within the org of the route: the grantee user,
// the role, and the resource (an empty User means the org group).
type GrantRequest struct {
	User     string `json:"user"`
	Role     string `json:"role"`
	Resource struct {
		User string `json:"user,omitempty"`
	} `json:"resource"`
}

// ListGrants answers GET with {"grants": [...]}.
func (a *Admin) ListGrants() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org, ok := a.authorize(w, r)
		if !ok {
			return
		}
		grants, err := a.store.ListOrg(r.Context(), org)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if grants == nil {
			grants = []Grant{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"grants": grants})
	})
}

// AddGrant answers POST: 201 with the grant when created, 200 when it
// existed already.
func (a *Admin) AddGrant() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g, actor, ok := a.grantFromRequest(w, r, false)
		if !ok {
			return
		}
		created, err := a.store.Add(r.Context(), actor, g)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
			a.log.InfoContext(r.Context(), "grant added", "actor", actor.User, "grantee", g.Principal.User, "role", g.Role, "resource", g.Resource.String())
		}
		writeJSON(w, status, g)
	})
}

// RemoveGrant answers DELETE: 204 when removed, 404 when there was no such
// grant.
func (a *Admin) RemoveGrant() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g, actor, ok := a.grantFromRequest(w, r, true)
		if !ok {
			return
		}
		if err := a.store.Remove(r.Context(), actor, g); err != nil {
			a.fail(w, r, err)
			return
		}
		a.log.InfoContext(r.Context(), "grant removed", "actor", actor.User, "grantee", g.Principal.User, "role", g.Role, "resource", g.Resource.String())
		w.WriteHeader(http.StatusNoContent)
	})
}

// ListAudit answers GET with {"entries": [...]}, newest first; ?limit=N caps it.
func (a *Admin) ListAudit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org, ok := a.authorize(w, r)
		if !ok {
			return
		}
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		entries, err := a.store.Audit(r.Context(), org, limit)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if entries == nil {
			entries = []AuditEntry{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
	})
}

// authorize checks grants.write on the route's org group.
func (a *Admin) authorize(w http.ResponseWriter, r *http.Request) (string, bool) {
	p := PrincipalFrom(r.Context())
	if p.Anonymous() {
		writeError(w, http.StatusUnauthorized, "unauthenticated", "sign in first")
		return "", false
	}
	org := r.PathValue("org")
	if err := validID("org", org); err != nil {
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
		return "", false
	}
	if err := a.checker.Check(r.Context(), p, GrantsWrite, Org(org)); err != nil {
		a.fail(w, r, err)
		return "", false
	}
	return org, true
}

func (a *Admin) grantFromRequest(w http.ResponseWriter, r *http.Request, removing bool) (Grant, Principal, bool) {
	org, ok := a.authorize(w, r)
	if !ok {
		return Grant{}, Principal{}, false
	}
	actor := PrincipalFrom(r.Context())
	var req GrantRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "body must be JSON {\"user\", \"role\", \"resource\": {\"user\"}}")
		return Grant{}, Principal{}, false
	}
	role, ok := BuiltinRole(req.Role)
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("unknown role %q", req.Role))
		return Grant{}, Principal{}, false
	}
	g, err := a.grant(r.Context(), org, req, removing)
	if err == nil {
		err = a.checker.holdsRole(r.Context(), actor, role, g.Resource)
	}
	if err != nil {
		a.fail(w, r, err)
		return Grant{}, Principal{}, false
	}
	return g, actor, true
}

// grant builds the grant, taking every org from the directory: the target
// user must belong to the route's org, and so must a new grantee. Removal
// accepts a grantee from elsewhere, so an admin can withdraw access that the
// operator gave its support staff.
func (a *Admin) grant(ctx context.Context, org string, req GrantRequest, removing bool) (Grant, error) {
	if err := validID("user", req.User); err != nil {
		return Grant{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	granteeOrg, err := a.dir.OrgOf(ctx, req.User)
	if err != nil {
		return Grant{}, err
	}
	if granteeOrg != org && !removing {
		return Grant{}, fmt.Errorf("%w: grantee is not a user of org %s", ErrDenied, org)
	}
	res := Org(org)
	if req.Resource.User != "" {
		if err := validID("user", req.Resource.User); err != nil {
			return Grant{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		resOrg, err := a.dir.OrgOf(ctx, req.Resource.User)
		if err != nil {
			return Grant{}, err
		}
		if resOrg != org {
			return Grant{}, fmt.Errorf("%w: resource user is not a user of org %s", ErrDenied, org)
		}
		res = User(org, req.Resource.User)
	}
	return Grant{Principal: Principal{User: req.User, Org: granteeOrg}, Role: req.Role, Resource: res}, nil
}

func (a *Admin) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrDenied), errors.Is(err, ErrNoSuchUser):
		a.log.InfoContext(r.Context(), "grant change denied", "user", PrincipalFrom(r.Context()).User)
		writeError(w, http.StatusForbidden, "forbidden", "you cannot change grants there")
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such grant")
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
	default:
		a.log.ErrorContext(r.Context(), "grant administration failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not complete the request; try again")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
