package dashboard

import (
	"context"
	"net/http"
	"slices"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/notice"
)

// NoticePrefs reads and stores which e-mails a user gets (notice.Notifier).
type NoticePrefs interface {
	ReadPrefs(ctx context.Context, user string) (notice.Prefs, error)
	SavePrefs(ctx context.Context, user string, p notice.Prefs) error
}

// noticeChoice is one checkbox of the notifications page.
type noticeChoice struct {
	Kind  notice.Kind
	Label string
	On    bool
}

// noticeLabels say what each kind of e-mail is about.
var noticeLabels = map[notice.Kind]string{
	notice.Reconnect: "A connection needs reconnecting",
	notice.Failing:   "Items keep failing to sync (named in the e-mail)",
	notice.Guard:     "Removals were held back by a safety guard",
	notice.Digest:    "Daily digest of the organisation's users needing attention (admins)",
}

type noticeData struct {
	*pageData
	Choices []noticeChoice
}

func (h *Handler) notificationsPage(w http.ResponseWriter, r *http.Request) {
	if h.d.Notices == nil {
		h.fail(w, r, http.StatusNotFound, "not_configured", "notifications are not configured")
		return
	}
	p, err := h.d.Notices.ReadPrefs(r.Context(), target(r).User)
	if err != nil {
		h.internal(w, r, "reading notification choices", err)
		return
	}
	d := &noticeData{pageData: h.data(r, "Notifications", "notifications")}
	if r.URL.Query().Get("msg") == "notices-saved" {
		d.Flash = "Saved. You get the e-mails ticked, at most one of each kind a day."
	}
	for _, k := range notice.Kinds {
		if k == notice.Digest && !d.CanAdmin {
			continue
		}
		d.Choices = append(d.Choices, noticeChoice{Kind: k, Label: noticeLabels[k], On: p.Wants(k)})
	}
	h.renderAny(w, http.StatusOK, "notifications", d)
}

func (h *Handler) notificationsForm(w http.ResponseWriter, r *http.Request) {
	if h.d.Notices == nil {
		h.fail(w, r, http.StatusNotFound, "not_configured", "notifications are not configured")
		return
	}
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "bad_form", "the form could not be read")
		return
	}
	on := r.PostForm["on"]
	for _, k := range on {
		if !slices.Contains(notice.Kinds, notice.Kind(k)) {
			h.fail(w, r, http.StatusBadRequest, "bad_kind", "there is no kind of e-mail called "+k)
			return
		}
	}
	user := target(r).User
	old, err := h.d.Notices.ReadPrefs(r.Context(), user)
	if err != nil {
		h.internal(w, r, "reading notification choices", err)
		return
	}
	admin := h.allowed(r.Context(), access.StatusRead, access.Org(access.PrincipalFrom(r.Context()).Org))
	var p notice.Prefs
	for _, k := range notice.Kinds {
		switch {
		case k == notice.Digest && !admin:
			// Not on the form: keep what was chosen.
			if !old.Wants(k) {
				p.Off = append(p.Off, k)
			}
		case !slices.Contains(on, string(k)):
			p.Off = append(p.Off, k)
		}
	}
	if err := h.d.Notices.SavePrefs(r.Context(), user, p); err != nil {
		h.internal(w, r, "saving notification choices", err)
		return
	}
	h.redirect(w, r, Prefix+"/notifications", "notices-saved")
}
