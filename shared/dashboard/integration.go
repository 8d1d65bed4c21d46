package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/connection"
)

// The organisation's integration connection: the CRM connection, made by an
// org admin for one integration user, that the organisation-level change
// detector polls through once a minute to start sessions for the users
// whose records changed (shared/orgwatch). This page shows whether the
// organisation has one and how it is doing, and sets it up, replaces and
// removes it. Setting up goes through the connect flow's admin route
// (Deps.Connect, POST /connect/admin/{CRM provider}/integration), called
// in-process like the grant form calls the grant API: one flow, with its
// own checks and its own words for what the CRM refused, whichever way it
// is reached.

// Integrations reads and removes a crmsync organisation's integration
// connections (the wiring, over orgwatch). Set up is not here: it is the
// connect flow's.
type Integrations interface {
	// Integrations lists the integration connections an admin of tenant set
	// up, with their detector's state.
	Integrations(ctx context.Context, tenant string) ([]Integration, error)
	// RemoveIntegration deletes tenant's integration connection to the
	// CRM organisation crmOrg and stops its polling; ErrIntegrationBusy
	// while a poll of it runs, ErrNoIntegration when tenant has none there.
	RemoveIntegration(ctx context.Context, tenant, crmOrg string) error
	// IntegrationNeeds says, one sentence a line, what the CRM's
	// integration user needs before it can be set up (the connector's own
	// words: permissions, pre-authorisation).
	IntegrationNeeds() []string
}

// ErrIntegrationBusy: a poll of the organisation holds it; try again in a
// minute.
var ErrIntegrationBusy = errors.New("dashboard: a poll of the organisation is running")

// ErrNoIntegration: the crmsync organisation has no integration connection
// to that CRM organisation.
var ErrNoIntegration = errors.New("dashboard: no such integration connection")

// Integration is one integration connection as its admin sees it. It holds
// no credential and no integration user's name.
type Integration struct {
	// CRMOrg is the CRM's organisation id.
	CRMOrg string
	// Status is the stored connection's (needs reconnecting once the CRM
	// refused it), StatusReason why.
	Status       connection.Status
	StatusReason string
	// Updated is when it was set up or last changed state.
	Updated time.Time
	// Polled: a poll went through at least once; Up: the last one did.
	Polled, Up bool
	// LastPoll is when a poll last went through; Behind is how long a change
	// made now could have waited unseen.
	LastPoll time.Time
	Behind   time.Duration
	// Users is how many of the organisation's users the detector can
	// attribute changes to (its directory).
	Users int
}

// integrationView is one Integration as the page words it.
type integrationView struct {
	Integration
	// State is "working", "refused" or "waiting" (no poll yet).
	State string
	// BehindText is "45 seconds", "3 minutes"…
	BehindText string
}

type integrationData struct {
	*pageData
	Integrations []integrationView
	Needs        []string
	// Username is the set-up form's value, given back after a refusal.
	Username string
	// CanSetUp: the admin's own organisation (the connect flow sets up the
	// caller's own).
	CanSetUp bool
}

func (h *Handler) integrationPage(w http.ResponseWriter, r *http.Request) {
	h.renderIntegration(w, r, http.StatusOK, "", "")
}

// renderIntegration renders the page with an error (status) and the form's
// username given back.
func (h *Handler) renderIntegration(w http.ResponseWriter, r *http.Request, status int, errMsg, username string) {
	if h.d.Integrations == nil {
		h.fail(w, r, http.StatusNotFound, "not_configured", "the change detector is not configured")
		return
	}
	org := target(r).Org
	list, err := h.d.Integrations.Integrations(r.Context(), org)
	if err != nil {
		h.internal(w, r, "reading the integration connection", err)
		return
	}
	d := &integrationData{pageData: h.data(r, "Change detection", "admin"), Needs: h.d.Integrations.IntegrationNeeds(), Username: username,
		CanSetUp: org == access.PrincipalFrom(r.Context()).Org && h.d.Connect != nil}
	d.Org = org
	switch r.URL.Query().Get("msg") {
	case "integration-saved":
		d.Flash = "The integration connection is set up. The detector polls it within a minute."
	case "integration-removed":
		d.Flash = "The integration connection was removed. Each user's changes wait for their scheduled sync again."
	}
	d.Error = errMsg
	for _, in := range list {
		v := integrationView{Integration: in, State: "waiting", BehindText: roughly(in.Behind)}
		switch {
		case in.Status != connection.Connected || (in.Polled && !in.Up):
			v.State = "refused"
		case in.Polled:
			v.State = "working"
		}
		d.Integrations = append(d.Integrations, v)
	}
	h.renderAny(w, status, "integration", d)
}

// roughly words a duration for people: seconds under two minutes, then
// minutes, hours, days.
func roughly(d time.Duration) string {
	switch {
	case d < 2*time.Minute:
		return plural2(int(d/time.Second), "second")
	case d < 2*time.Hour:
		return plural2(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural2(int(d/time.Hour), "hour")
	}
	return plural2(int(d/(24*time.Hour)), "day")
}

func plural2(n int, unit string) string {
	return strconv.Itoa(n) + " " + unit + plural(n)
}

// integrationForm sets up (or replaces) the organisation's integration
// connection through the connect flow's admin route, and words its answer.
func (h *Handler) integrationForm(w http.ResponseWriter, r *http.Request) {
	if h.d.Integrations == nil || h.d.Connect == nil || h.d.CRM.Provider == "" {
		h.fail(w, r, http.StatusNotFound, "not_configured", "the change detector is not configured")
		return
	}
	org := target(r).Org
	if org != access.PrincipalFrom(r.Context()).Org {
		// The flow sets up the caller's own organisation's connection.
		h.renderIntegration(w, r, http.StatusForbidden, "Only an admin signed in to this organisation can set up its integration connection.", "")
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	if username == "" {
		h.renderIntegration(w, r, http.StatusBadRequest, "The integration connection was not set up: fill in the integration user's "+h.names.CRM+" username.", "")
		return
	}
	body, _ := json.Marshal(map[string]string{"username": username})
	req := r.Clone(r.Context())
	req.Method, req.Body, req.ContentLength = http.MethodPost, httpBody(body), int64(len(body))
	req.URL.Path = Prefix + "/connect/admin/" + h.d.CRM.Provider + "/integration"
	req.URL.RawPath, req.URL.RawQuery = "", ""
	req.Header = r.Header.Clone()
	req.Header.Set("Content-Type", "application/json")
	// The flow checks the request again, as it does any: this form's token
	// (already verified by the route) goes in the header it reads.
	if tok := r.PostFormValue("csrf_token"); tok != "" {
		req.Header.Set("X-CSRF-Token", tok)
	}
	req.Header.Del("Content-Length")
	rec := newRecorder()
	h.d.Connect.ServeHTTP(rec, req)
	if rec.code < 300 {
		h.redirect(w, r, Prefix+"/orgs/"+org+"/integration", "integration-saved")
		return
	}
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(rec.body.Bytes(), &e)
	msg := e.Message
	if msg == "" {
		msg = "the connect flow answered " + http.StatusText(rec.code)
	}
	status := http.StatusBadRequest
	if rec.code == http.StatusForbidden || rec.code >= 500 && rec.code != http.StatusBadGateway {
		status = rec.code
	}
	h.d.Log.InfoContext(r.Context(), "integration connection not set up", "org", org, "status", rec.code, "code", e.Error)
	h.renderIntegration(w, r, status, "The integration connection was not set up: "+sentence(msg), username)
}

// integrationRemoveForm removes the integration connection the form names.
func (h *Handler) integrationRemoveForm(w http.ResponseWriter, r *http.Request) {
	if h.d.Integrations == nil {
		h.fail(w, r, http.StatusNotFound, "not_configured", "the change detector is not configured")
		return
	}
	org := target(r).Org
	err := h.d.Integrations.RemoveIntegration(r.Context(), org, strings.TrimSpace(r.PostFormValue("crm_org")))
	switch {
	case errors.Is(err, ErrIntegrationBusy):
		h.renderIntegration(w, r, http.StatusConflict, "Nothing was removed: the detector is polling the organisation right now. Try again in a minute.", "")
	case errors.Is(err, ErrNoIntegration):
		h.renderIntegration(w, r, http.StatusNotFound, "Nothing was removed: this organisation has no such integration connection.", "")
	case err != nil:
		h.internal(w, r, "removing the integration connection", err)
	default:
		h.redirect(w, r, Prefix+"/orgs/"+org+"/integration", "integration-removed")
	}
}
