package dashboard

import (
	"errors"
	"net/http"
	"slices"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/session"
)

// confirmRemovals records the user's confirmation of the removals a guard
// held back for the kind named by v, then asks for a session so they go
// through now rather than at the next interval. It answers a bad kind or a
// failure itself (answered true); otherwise ok tells whether there was
// anything to confirm, for the caller to say so.
func (h *Handler) confirmRemovals(w http.ResponseWriter, r *http.Request, v string) (ok, answered bool) {
	kind := item.Kind(v)
	if !slices.Contains(item.Kinds, kind) {
		h.fail(w, r, http.StatusBadRequest, "invalid", "kind: not an object that syncs (contact, task or event)")
		return false, true
	}
	user := target(r).User
	err := session.NewState(h.d.Tables, user).ConfirmGuard(r.Context(), kind, h.d.Now())
	if errors.Is(err, session.ErrNothingToConfirm) {
		return false, false
	}
	if err != nil {
		h.internal(w, r, "confirming removals", err)
		return false, true
	}
	if _, err := h.syncNow(r, user); err != nil {
		// The confirmation holds; the next scheduled session uses it.
		h.d.Log.WarnContext(r.Context(), "dashboard: sync not requested after a confirmation", "user", user, "err", err)
	}
	return true, false
}

func (h *Handler) apiConfirmRemovals(w http.ResponseWriter, r *http.Request) {
	ok, answered := h.confirmRemovals(w, r, r.PathValue("kind"))
	switch {
	case answered:
	case !ok:
		h.fail(w, r, http.StatusConflict, "nothing_to_confirm", "no removals of this object are held back; reload the issues")
	default:
		writeJSON(w, http.StatusAccepted, map[string]any{"confirmed": true, "kind": r.PathValue("kind"),
			"message": "confirmed: the next sync applies the held-back removals once"})
	}
}

func (h *Handler) confirmRemovalsForm(w http.ResponseWriter, r *http.Request) {
	ok, answered := h.confirmRemovals(w, r, r.PostFormValue("kind"))
	switch {
	case answered:
	case !ok:
		h.redirect(w, r, back(r), "unconfirmed")
	default:
		h.redirect(w, r, back(r), "confirmed")
	}
}
