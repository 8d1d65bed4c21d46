package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/schedule"
)

// maxBody bounds JSON and form bodies; settings and provisioning lists fit
// well within it.
const maxBody = 256 << 10

// SettingsDoc is the settings as the API and the form show them: the
// choices a user makes per kind, e-mail sharing, the contact list view.
// Policy details not offered here (field lists, guards) are kept as stored.
type SettingsDoc struct {
	Kinds           map[item.Kind]KindSettings `json:"kinds"`
	ContactListView string                     `json:"contactListView"`
	PastDays        int                        `json:"pastDays"`
	FutureDays      int                        `json:"futureDays"`
	Email           account.Email              `json:"email"`
	// Calendars are the mailbox calendar ids events sync from: [] is the
	// default calendar only; a document without them (null) keeps the
	// stored choice.
	Calendars []string `json:"calendars"`
	// Plan is shown, never changed here.
	Plan string `json:"plan,omitempty"`
}

// KindSettings are one kind's choices.
type KindSettings struct {
	Direction     reconcile.Direction     `json:"direction"`
	Conflict      reconcile.ConflictRule  `json:"conflict"`
	MailboxDelete reconcile.MailboxDelete `json:"mailboxDelete"`
	NewItems      reconcile.NewItems      `json:"newItems"`
	// CustomFields are the kind's custom field mappings; a document without
	// them (null) keeps the stored ones, an empty list removes them all.
	CustomFields []item.CustomField `json:"customFields"`
}

func docOf(s account.Settings) SettingsDoc {
	d := SettingsDoc{Kinds: map[item.Kind]KindSettings{}, ContactListView: s.ContactListView, PastDays: s.PastDays,
		FutureDays: s.FutureDays, Email: s.Email, Plan: s.Plan, Calendars: append([]string{}, s.Calendars...)}
	for _, k := range item.Kinds {
		p := s.Policy(k)
		d.Kinds[k] = KindSettings{Direction: p.Direction, Conflict: p.Conflict, MailboxDelete: p.MailboxDelete, NewItems: p.NewItems,
			CustomFields: append([]item.CustomField{}, s.Custom[k]...)}
	}
	return d
}

// apply merges d's choices into the stored settings s.
func (d SettingsDoc) apply(s account.Settings) account.Settings {
	if s.Policies == nil {
		s.Policies = map[item.Kind]reconcile.Policy{}
	}
	for k, ks := range d.Kinds {
		p := s.Policies[k]
		p.Direction, p.Conflict, p.MailboxDelete, p.NewItems = ks.Direction, ks.Conflict, ks.MailboxDelete, ks.NewItems
		s.Policies[k] = p
		if ks.CustomFields != nil {
			s.Custom = maps.Clone(s.Custom)
			if s.Custom == nil {
				s.Custom = map[item.Kind][]item.CustomField{}
			}
			s.Custom[k] = ks.CustomFields
		}
	}
	s.ContactListView, s.PastDays, s.FutureDays, s.Email = d.ContactListView, d.PastDays, d.FutureDays, d.Email
	if d.Calendars != nil {
		s.Calendars = nil
		if len(d.Calendars) > 0 {
			s.Calendars = slices.Clone(d.Calendars)
		}
	}
	return s
}

func (h *Handler) apiStatus(w http.ResponseWriter, r *http.Request) {
	st, err := h.status(r.Context(), target(r).User)
	if err != nil {
		h.internal(w, r, "reading status", err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *Handler) apiIssues(w http.ResponseWriter, r *http.Request) {
	issues, err := h.issues(r.Context(), target(r).User)
	if err != nil {
		h.internal(w, r, "reading issues", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"issues": issues})
}

func (h *Handler) apiSettings(w http.ResponseWriter, r *http.Request) {
	s, err := h.d.Accounts.Settings(r.Context(), target(r).User)
	if err != nil {
		h.internal(w, r, "reading settings", err)
		return
	}
	writeJSON(w, http.StatusOK, docOf(s))
}

func (h *Handler) apiPutSettings(w http.ResponseWriter, r *http.Request) {
	var doc SettingsDoc
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		h.fail(w, r, http.StatusBadRequest, "bad_json", "the body is not a settings document: "+jsonProblem(err))
		return
	}
	user := target(r).User
	cur, err := h.d.Accounts.Settings(r.Context(), user)
	if err != nil {
		h.internal(w, r, "reading settings", err)
		return
	}
	if doc.Plan != "" && doc.Plan != cur.Plan {
		h.fail(w, r, http.StatusBadRequest, "invalid", "plan: the plan is changed by an administrator, not here")
		return
	}
	// A newly chosen list view must be one of the user's, when Salesforce
	// lists them; the id is accepted unchecked when it cannot.
	if doc.ContactListView != "" && doc.ContactListView != cur.ContactListView && h.d.Scopes != nil {
		views, err := h.listViews(r.Context(), user)
		if fe := h.checkListView(doc, cur, views, err == nil); fe != nil {
			fields := []account.FieldError{*fe}
			var ve *account.ValidationError
			if errors.As(doc.apply(cur).Validate(h.d.CRM, h.d.Mailbox), &ve) {
				fields = append(fields, ve.Fields...)
			}
			h.settingsError(w, r, &account.ValidationError{Fields: fields})
			return
		}
	}
	if err := h.d.Accounts.SaveSettings(r.Context(), user, doc.apply(cur)); err != nil {
		h.settingsError(w, r, err)
		return
	}
	saved, err := h.d.Accounts.Settings(r.Context(), user)
	if err != nil {
		h.internal(w, r, "reading settings", err)
		return
	}
	writeJSON(w, http.StatusOK, docOf(saved))
}

func (h *Handler) settingsError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *account.ValidationError
	switch {
	case errors.As(err, &ve):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid", "message": "some settings are not valid", "fields": ve.Fields})
	case errors.Is(err, account.ErrConflict):
		h.fail(w, r, http.StatusConflict, "conflict", "the settings changed meanwhile; reload and try again")
	default:
		h.internal(w, r, "saving settings", err)
	}
}

// syncNow asks for a session now; debounced reports honestly that one was
// requested moments ago and no second one was queued.
func (h *Handler) syncNow(r *http.Request, user string) (debounced bool, err error) {
	err = h.d.Scheduler.RequestNow(r.Context(), user, schedule.Manual, h.d.Now())
	if errors.Is(err, schedule.ErrDebounced) {
		return true, nil
	}
	return false, err
}

func (h *Handler) apiSyncNow(w http.ResponseWriter, r *http.Request) {
	debounced, err := h.syncNow(r, target(r).User)
	if err != nil {
		h.scheduleError(w, r, err)
		return
	}
	if debounced {
		writeJSON(w, http.StatusOK, map[string]any{"queued": false, "debounced": true,
			"message": "a sync was requested moments ago; it will pick up your changes"})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"queued": true, "debounced": false, "message": "sync requested"})
}

func (h *Handler) apiPause(paused bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h.setPaused(r, target(r).User, paused); err != nil {
			h.scheduleError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"paused": paused})
	}
}

func (h *Handler) setPaused(r *http.Request, user string, paused bool) error {
	return h.d.Scheduler.SetPaused(r.Context(), user, paused)
}

func (h *Handler) scheduleError(w http.ResponseWriter, r *http.Request, err error) {
	if isNotFound(err) {
		h.fail(w, r, http.StatusConflict, "not_enrolled", "this account has no sync schedule yet: connect both accounts first")
		return
	}
	h.internal(w, r, "changing the schedule", err)
}

func (h *Handler) apiDelete(w http.ResponseWriter, r *http.Request) {
	user := target(r).User
	if err := h.d.Accounts.Delete(r.Context(), access.PrincipalFrom(r.Context()), user); err != nil {
		h.deleteError(w, r, err)
		return
	}
	if user == access.PrincipalFrom(r.Context()).User && h.d.EndSession != nil {
		h.d.EndSession(w)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) deleteError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, account.ErrBusy) {
		h.fail(w, r, http.StatusConflict, "busy", "a sync is running for this account; try again in a minute")
		return
	}
	h.internal(w, r, "deleting an account", err)
}

func (h *Handler) apiMembers(w http.ResponseWriter, r *http.Request) {
	ms, err := h.members(r.Context(), target(r).Org)
	if err != nil {
		h.internal(w, r, "listing users", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": ms})
}

// ProvisionRequest is the body of POST …/orgs/{org}/users.
type ProvisionRequest struct {
	Addresses []string `json:"addresses"`
	Plan      string   `json:"plan,omitempty"`
}

func (h *Handler) apiProvision(w http.ResponseWriter, r *http.Request) {
	var req ProvisionRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		h.fail(w, r, http.StatusBadRequest, "bad_json", "the body is not a provisioning request: "+jsonProblem(err))
		return
	}
	res, err := h.d.Accounts.Provision(r.Context(), access.PrincipalFrom(r.Context()), target(r).Org, req.Addresses, req.Plan)
	if errors.Is(err, account.ErrInvalid) {
		h.fail(w, r, http.StatusBadRequest, "invalid", strings.TrimPrefix(err.Error(), "account: invalid: "))
		return
	}
	if err != nil {
		h.internal(w, r, "provisioning", err)
		return
	}
	status := http.StatusOK
	for _, p := range res {
		if p.Error != "" {
			// Some lines failed: the results say which; the request itself worked.
			status = http.StatusMultiStatus
		}
	}
	writeJSON(w, status, map[string]any{"results": res})
}

// csrf refuses a state-changing request without the session's CSRF token.
func (h *Handler) csrf(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.d.CSRF == nil {
			h.fail(w, r, http.StatusForbidden, "csrf", "CSRF protection is not configured; refusing to change anything")
			return
		}
		if err := h.d.CSRF.Verify(r); err != nil {
			h.d.Log.InfoContext(r.Context(), "csrf check failed", "path", r.URL.Path, "user", access.PrincipalFrom(r.Context()).User)
			h.fail(w, r, http.StatusForbidden, "csrf", "the request lacks a valid CSRF token; reload the page and try again")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers an error: JSON for the API, a small page for the rest.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if isAPI(r) || r.Header.Get("Accept") == "application/json" {
		writeJSON(w, status, map[string]string{"error": code, "message": msg})
		return
	}
	h.renderError(w, r, status, msg)
}

func (h *Handler) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.d.Log.ErrorContext(r.Context(), "dashboard: "+what+" failed", "path", r.URL.Path, "user", access.PrincipalFrom(r.Context()).User, "err", err)
	h.fail(w, r, http.StatusInternalServerError, "internal", what+" failed; try again later")
}

// jsonProblem says what is wrong with a body without echoing it.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	case errors.As(err, &mbe):
		return fmt.Sprintf("larger than %d bytes", mbe.Limit)
	case errors.Is(err, io.EOF):
		return "empty body"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "not valid JSON"
}
