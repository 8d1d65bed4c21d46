package dashboard

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/tracking"
)

// TrackedMail is the user's open tracking (tracking.Tracker).
type TrackedMail interface {
	Enabled(ctx context.Context, user string) (bool, error)
	SetEnabled(ctx context.Context, user string, on bool) error
	Recent(ctx context.Context, user string, limit int) ([]tracking.Tracked, error)
}

// MessageSubjects reads tracked messages' subjects live, by the hash
// tracking keeps (sides.SentSubjects).
type MessageSubjects interface {
	Subjects(ctx context.Context, user string, hashes []string) (map[string]string, error)
}

// trackedShown bounds the messages the page lists.
const trackedShown = 20

type trackedData struct {
	*pageData
	On       bool
	Messages []trackedView
	// SubjectsNote says why subjects are missing, when they are.
	SubjectsNote string
}

type trackedView struct {
	Subject string
	Gone    bool
	Sent    time.Time
	People  int
	Opens   []openView
	More    bool
}

type openView struct {
	At    time.Time
	Who   string
	Place string
}

// openWho says who opened, as the page words it.
func openWho(ev tracking.Event) string {
	client := ev.Client
	if client == "" {
		client = "unknown client"
	}
	switch ev.Kind {
	case tracking.Human:
		return "A person (" + client + ")"
	case tracking.Proxy:
		return "A person, through an image proxy (" + strings.ReplaceAll(ev.Reason, "-", " ") + ")"
	}
	why := strings.ReplaceAll(ev.Reason, "-", " ")
	if why == "" {
		why = "automated"
	}
	return "A machine, not a person (" + why + ")"
}

func openPlace(ev tracking.Event) string {
	var parts []string
	for _, p := range []string{ev.City, ev.Region, ev.Country} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, ", ")
}

func (h *Handler) trackedPage(w http.ResponseWriter, r *http.Request) {
	if h.d.Tracking == nil {
		h.fail(w, r, http.StatusNotFound, "not_configured", "open tracking is not configured")
		return
	}
	ctx, user := r.Context(), target(r).User
	on, err := h.d.Tracking.Enabled(ctx, user)
	if err != nil {
		h.internal(w, r, "reading the tracking choice", err)
		return
	}
	msgs, err := h.d.Tracking.Recent(ctx, user, trackedShown)
	if err != nil {
		h.internal(w, r, "reading tracked e-mails", err)
		return
	}
	d := &trackedData{pageData: h.data(r, "Tracked e-mails", "tracked"), On: on}
	switch r.URL.Query().Get("msg") {
	case "tracking-on":
		d.Flash = "Open tracking is on. Turn it on for a message while you write it, in the add-in."
	case "tracking-off":
		d.Flash = "Open tracking is off. Messages tracked before keep their opens."
	}
	var hashes []string
	for _, m := range msgs {
		hashes = append(hashes, m.Message)
	}
	subjects := map[string]string{}
	if len(hashes) > 0 {
		if h.d.Subjects == nil {
			d.SubjectsNote = "Subjects cannot be read here."
		} else if subjects, err = h.d.Subjects.Subjects(ctx, user, hashes); err != nil {
			h.d.Log.WarnContext(ctx, "dashboard: subjects unreadable", "user", user, "err", err)
			d.SubjectsNote = "Your mailbox could not be asked for the subjects just now; the messages are listed by when they were sent."
			subjects = map[string]string{}
		}
	}
	for _, m := range msgs {
		v := trackedView{Sent: m.Sent, People: m.Recipients, More: m.Truncated || len(m.Events) < m.Opens}
		v.Subject = subjects[m.Message]
		v.Gone = v.Subject == "" && d.SubjectsNote == ""
		for _, ev := range m.Events {
			v.Opens = append(v.Opens, openView{At: ev.At, Who: openWho(ev), Place: openPlace(ev)})
		}
		d.Messages = append(d.Messages, v)
	}
	h.renderAny(w, http.StatusOK, "tracked", d)
}

func (h *Handler) trackedForm(w http.ResponseWriter, r *http.Request) {
	if h.d.Tracking == nil {
		h.fail(w, r, http.StatusNotFound, "not_configured", "open tracking is not configured")
		return
	}
	var on bool
	switch r.PostFormValue("on") {
	case "true":
		on = true
	case "false":
	default:
		h.fail(w, r, http.StatusBadRequest, "bad_choice", "on must be true or false")
		return
	}
	if err := h.d.Tracking.SetEnabled(r.Context(), target(r).User, on); err != nil {
		h.internal(w, r, "saving the tracking choice", err)
		return
	}
	msg := "tracking-off"
	if on {
		msg = "tracking-on"
	}
	h.redirect(w, r, Prefix+"/tracked", msg)
}
