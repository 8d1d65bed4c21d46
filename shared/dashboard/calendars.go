package dashboard

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/side"
)

// MailboxCalendars lists a user's mailbox calendars through the user's own
// mailbox connection (sides.MailboxCalendars).
type MailboxCalendars interface {
	Calendars(ctx context.Context, user string) ([]side.Choice, error)
}

// calendarsView is the settings page's choice of calendars: boxes to tick
// when the mailbox could be asked, else a text box of ids with a note.
type calendarsView struct {
	Listed  bool
	Options []calendarOption
	IDs     string
	Note    string
}

type calendarOption struct {
	ID, Name string
	Default  bool
	Checked  bool
}

// calendarsWait bounds the settings page's read of the calendars, so a slow
// mailbox makes the text box rather than a hanging page.
const calendarsWait = 5 * time.Second

// codeNoCalendars is the fault code of a mailbox that offers no choice of
// calendars (sides.MailboxCalendars: no side.CalendarChooser); it was
// reached, so the note must not say it did not answer.
const codeNoCalendars = "no_calendars"

func (h *Handler) calendarsView(ctx context.Context, user string, chosen []string) calendarsView {
	v := calendarsView{IDs: strings.Join(chosen, ", ")}
	if h.d.Calendars == nil {
		v.Note = "Your mailbox calendars cannot be listed here: enter calendar ids (empty: your default calendar)."
		return v
	}
	wait, cancel := context.WithTimeout(ctx, calendarsWait)
	defer cancel()
	cals, err := h.d.Calendars.Calendars(wait, user)
	if fe := (*fault.Error)(nil); errors.As(err, &fe) && fe.Code == codeNoCalendars {
		v.Note = h.names.Mailbox + " calendars cannot be listed here: enter calendar ids (empty: your default calendar)."
		return v
	}
	if fault.Is(err, fault.Reconnect) {
		// Not connected (or the connection needs renewing): the mailbox
		// was not asked, so it is not said not to answer.
		v.Note = "Connect " + h.names.Mailbox + " (or reconnect it) to choose from its calendars; until then enter calendar ids (empty: your default calendar)."
		return v
	}
	if err != nil {
		v.Note = "Your mailbox did not answer, so its calendars are not listed: enter calendar ids (empty: your default calendar)."
		return v
	}
	v.Listed = true
	for _, c := range cals {
		checked := slices.Contains(chosen, c.ID) || len(chosen) == 0 && c.Default
		v.Options = append(v.Options, calendarOption{ID: c.ID, Name: c.Name, Default: c.Default, Checked: checked})
	}
	return v
}

// calendarsFromForm reads the calendar choice: the ticked boxes (only the
// default one ticked is the default), or the ids typed in the text box.
// nil when the form had neither (the stored choice stays).
func calendarsFromForm(r *http.Request) []string {
	switch r.PostFormValue("calendars.form") {
	case "boxes":
		out := []string{}
		for _, id := range r.PostForm["calendars"] {
			if id = strings.TrimSpace(id); id != "" && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
		if len(out) == 1 && out[0] == r.PostFormValue("calendars.default") {
			return []string{}
		}
		return out
	case "ids":
		out := []string{}
		for _, id := range strings.Split(r.PostFormValue("calendarIDs"), ",") {
			if id = strings.TrimSpace(id); id != "" {
				out = append(out, id)
			}
		}
		return out
	}
	return nil
}
