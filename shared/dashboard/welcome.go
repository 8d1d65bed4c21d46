package dashboard

import (
	"cmp"
	"context"
	"net/http"
	"time"
)

// Welcomer keeps the first-run wizard's one choice of its own (insight.Store):
// every other step is read from the state it sets up, so leaving and coming
// back resumes where the user stopped.
type Welcomer interface {
	ScopeChosen(ctx context.Context, user string) (time.Time, error)
	ChooseScope(ctx context.Context, user string) error
}

// welcomeStep is one step of the wizard.
type welcomeStep struct {
	ID, Title string
	Done      bool
	Current   bool
	// connect says the step is connecting a side (its ID is the provider).
	connect bool
}

type welcomeData struct {
	*pageData
	Steps   []welcomeStep
	Current string
	// Connect is the current step when it is connecting a side.
	Connect *welcomeStep
	// Admin adds the step of inviting the organisation's users.
	Admin bool
}

// welcomeSteps derives the wizard's steps from the user's state.
func (h *Handler) welcomeSteps(r *http.Request, user string) ([]welcomeStep, string, error) {
	st, err := h.status(r.Context(), user)
	if err != nil {
		return nil, "", err
	}
	connected := map[string]bool{}
	for _, c := range st.Connections {
		connected[c.Provider] = c.Status == "connected"
	}
	chosen, err := h.d.Welcome.ScopeChosen(r.Context(), user)
	if err != nil {
		return nil, "", err
	}
	crm, mailbox := cmp.Or(h.d.CRM.Provider, "crm"), cmp.Or(h.d.Mailbox.Provider, "mailbox")
	steps := []welcomeStep{
		// Connecting each side is a step, named by its connector's provider.
		{ID: crm, Title: "Connect " + h.names.CRM, Done: connected[crm], connect: true},
		{ID: mailbox, Title: "Connect " + h.names.Mailbox, Done: connected[mailbox], connect: true},
		{ID: "scope", Title: "Choose what syncs", Done: !chosen.IsZero()},
		{ID: "sync", Title: "Run the first sync", Done: st.LastSync != nil && !st.LastSync.Running},
	}
	current := "done"
	for i := range steps {
		if !steps[i].Done {
			steps[i].Current, current = true, steps[i].ID
			break
		}
	}
	return steps, current, nil
}

func (h *Handler) welcomePage(w http.ResponseWriter, r *http.Request) {
	if h.d.Welcome == nil {
		h.fail(w, r, http.StatusNotFound, "not_configured", "the first-run guide is not configured")
		return
	}
	user := target(r).User
	steps, current, err := h.welcomeSteps(r, user)
	if err != nil {
		h.internal(w, r, "reading the first-run steps", err)
		return
	}
	d := &welcomeData{pageData: h.data(r, "Getting started", "overview"), Steps: steps, Current: current}
	d.Admin = d.CanAdmin
	for i := range steps {
		if steps[i].Current && steps[i].connect {
			d.Connect = &steps[i]
		}
	}
	if current == "sync" {
		if err := h.liveProgress(r, d.pageData, user, true); err != nil {
			h.internal(w, r, "reading progress", err)
			return
		}
	}
	h.renderAny(w, http.StatusOK, "welcome", d)
}

func (h *Handler) welcomeScopeForm(w http.ResponseWriter, r *http.Request) {
	if h.d.Welcome == nil {
		h.fail(w, r, http.StatusNotFound, "not_configured", "the first-run guide is not configured")
		return
	}
	if err := h.d.Welcome.ChooseScope(r.Context(), target(r).User); err != nil {
		h.internal(w, r, "saving the first-run step", err)
		return
	}
	h.redirect(w, r, Prefix+"/welcome", "")
}

// setupLeft names the first step the user has not done, from the status
// the overview read anyway and the wizard's one row ("" when set up, or
// when there is no wizard).
func (h *Handler) setupLeft(r *http.Request, user string, st Status) string {
	if h.d.Welcome == nil || st.LastSync != nil {
		return "" // set up, or synced before: a reconnect is the status's business
	}
	for _, c := range st.Connections {
		if c.Status != "connected" {
			return "connect " + c.Label
		}
	}
	chosen, err := h.d.Welcome.ScopeChosen(r.Context(), user)
	switch {
	case err != nil:
		return ""
	case chosen.IsZero():
		return "choose what syncs"
	}
	return "run the first sync"
}
