package dashboard

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

type pages struct {
	t *template.Template
}

func newPages(names sideNames) *pages {
	funcs := template.FuncMap{
		"when": func(t time.Time) template.HTML {
			// The text is UTC; the script shows it in the reader's zone.
			u := t.UTC()
			return template.HTML(`<time datetime="` + u.Format(time.RFC3339) + `">` + u.Format("2006-01-02 15:04 UTC") + `</time>`)
		},
		"millis": func(ms int64) string {
			return (time.Duration(ms) * time.Millisecond).Round(time.Millisecond).String()
		},
		"statusLabel": func(s string) string {
			switch s {
			case "connected":
				return "Connected"
			case "needs_reconnect":
				return "Needs reconnecting"
			case "paused":
				return "Paused"
			}
			return "Not connected"
		},
		"sideLabel": func(s string) string {
			switch s {
			case string(reconcile.CRM):
				return names.CRM
			case string(reconcile.Mailbox):
				return "Mailbox"
			}
			return s
		},
		"join":          strings.Join,
		"countPhrase":   names.countPhrase,
		"outcomePhrase": names.outcomePhrase,
		// crmName and mailboxName are the connectors' display names.
		"crmName":     func() string { return names.CRM },
		"mailboxName": func() string { return names.Mailbox },
		// shareCategory is the category sessions share by when the user
		// chose none (the CRM connector's).
		"shareCategory": func() string { return names.ShareCategory },
		"kindName":      kindName,
		"roleLabel":     roleLabel,
		"roleLabels":    roleLabels,
		"fieldLabel":    fieldLabel,
		"fieldMessage":  fieldMessage,
		"plural":        plural,
		"planLabel":     planLabel,
		"lower":         strings.ToLower,
		"inc":           func(i int) int { return i + 1 },
	}
	return &pages{t: template.Must(template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/*.html"))}
}

// option is one <option> of a select.
type option struct{ Value, Label string }

// kindLabel is one fieldset of the settings form.
type kindLabel struct {
	Kind  item.Kind
	Label string
}

// pageData is what every template gets; each page fills its part.
type pageData struct {
	Title     string
	Nav       string
	Prefix    string
	CSRF      string
	Principal access.Principal
	Flash     string
	Error     string
	// Return is the page to come back to after signing in ("" = overview).
	Return string
	// Forward is the way on from an error page (a link), ForwardLabel its text.
	Forward, ForwardLabel string
	CanAdmin              bool
	// NoAddin hides the link to the Outlook add-in: the mailbox side is not
	// Microsoft 365 (a Google Workspace world has no Outlook to add it to).
	NoAddin bool
	// CanAct offers the status page's actions (sync now, pause, confirm
	// removals), posted under Actions (the overview's or a user's path).
	CanAct  bool
	Actions string
	// Connected: every account of the user is connected.
	Connected bool
	// ConnectFirst are the accounts the user has never connected: until
	// both are, the next step is connecting them, and pausing, resuming or
	// syncing now means nothing, so the page offers that step instead.
	ConnectFirst []ConnectionView
	Self         bool

	Providers []Provider
	Status    Status
	Issues    []IssueView

	// Progress is a running session's progress bar (nil: none running),
	// refreshed by the script from ProgressURL.
	Progress    *progressView
	ProgressURL string
	// SetupLeft names the first-run step the user is at ("" = set up).
	SetupLeft string

	Settings    SettingsDoc
	FieldErrors []account.FieldError
	Kinds       []kindLabel
	// CustomRows are each kind's custom field rows in the form: the
	// mappings, then a blank one to add (below the cap); FreeFields the
	// mailbox fields a kind's mappings may name (none: no custom fields).
	CustomRows map[item.Kind][]item.CustomField
	FreeFields map[item.Kind][]string
	// Scope is the contact scope: a select of list views, or a text box.
	Scope scopeView
	// Calendars is the choice of calendars that sync.
	Calendars calendarsView
	Options   struct{ Direction, Conflict, MailboxDelete, NewItems []option }

	Org          string
	Members      []Member
	CanProvision bool
	CanGrant     bool
	// CanIntegrate links the change detector's page (an admin who may
	// provision, with the detector configured).
	CanIntegrate bool
	// AdminPages are the connectors' admin pages linked from the
	// organisation page (its admins', for their own organisation).
	AdminPages []AdminPage
	Results    []account.Provisioned
	Plans      []string
	Grants     []access.Grant
	// Roles are the roles an admin may grant (the User role is automatic).
	Roles []option
	// Names maps the org's user ids to their addresses, for the role list.
	Names map[string]string
}

// flashes are the messages a redirect may ask for, by code, so that no
// request text is ever echoed into a page.
var flashes = map[string]string{
	"queued":      "Sync requested. It starts within a minute.",
	"debounced":   "A sync was requested moments ago and will pick up your changes; no second one was queued.",
	"paused":      "Sync paused. Nothing syncs until you resume.",
	"resumed":     "Sync resumed.",
	"confirmed":   "Removals confirmed. The next sync, requested now, applies them once.",
	"unconfirmed": "Nothing was confirmed: no removals of that object are held back any more.",
	"saved":       "Settings saved. They apply from the next sync.",
	"deleted":     "Your account was deleted.",
	"signedout":   "You signed out.",
	"granted":     "Role granted.",
	"revoked":     "Role removed.",
}

func (h *Handler) data(r *http.Request, title, nav string) *pageData {
	p := access.PrincipalFrom(r.Context())
	d := &pageData{Title: title, Nav: nav, Prefix: Prefix, Principal: p, Flash: flashes[r.URL.Query().Get("msg")], Providers: h.d.Providers}
	d.NoAddin = h.d.Mailbox.Provider != "" && h.d.Mailbox.Provider != string(connection.Microsoft)
	if d.Flash == "" && !p.Anonymous() {
		d.Flash = h.connectResult(r.URL.Query())
	}
	if !p.Anonymous() {
		if h.d.CSRF != nil {
			d.CSRF = h.d.CSRF.Token(r)
		}
		d.CanAdmin = h.allowed(r.Context(), access.StatusRead, access.Org(p.Org))
	}
	return d
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, d *pageData) {
	h.renderAny(w, status, name, d)
}

func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	d := h.data(r, http.StatusText(status), "")
	d.Error = sentence(msg)
	h.render(w, status, "error", d)
}

func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, path, msg string) {
	if msg != "" {
		path += "?msg=" + msg
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// home shows the sign-in page, or sends a signed-in user to the overview.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Prefix && r.URL.Path != Prefix+"/" {
		h.fail(w, r, http.StatusNotFound, "not_found", "there is no such page")
		return
	}
	if !access.PrincipalFrom(r.Context()).Anonymous() {
		// A connect flow returns here with its result; the overview shows it.
		to, q := Prefix+"/overview", r.URL.Query()
		if q.Get("connect") != "" {
			to += "?" + url.Values{"connect": {q.Get("connect")}, "result": {q.Get("result")}, "message": {q.Get("message")}}.Encode()
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	d := h.data(r, "Sign in", "")
	d.Return = returnPath(r.URL.Query().Get("return"))
	h.render(w, http.StatusOK, "signin", d)
}

// returnPath keeps a dashboard page path to come back to after sign-in, or
// "" (the sign-in then ends on the overview).
func returnPath(p string) string {
	if !strings.HasPrefix(p, Prefix+"/") || strings.HasPrefix(p, Prefix+"/auth/") || strings.ContainsFunc(p, func(r rune) bool {
		return r < 0x21 || r == 0x7f || r == '\\' || r == '?' || r == '#' || r == '%'
	}) {
		return ""
	}
	return p
}

func (h *Handler) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := fs.ReadFile(staticFiles, "static/"+name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	switch {
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(name, ".svg"):
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b)
}

func (h *Handler) overviewPage(w http.ResponseWriter, r *http.Request) {
	h.statusPage(w, r, "overview", "Overview", true)
}

func (h *Handler) userPage(w http.ResponseWriter, r *http.Request) {
	h.statusPage(w, r, "user", "", false)
}

func (h *Handler) statusPage(w http.ResponseWriter, r *http.Request, tmpl, title string, self bool) {
	user := target(r).User
	st, err := h.status(r.Context(), user)
	if err != nil {
		h.internal(w, r, "reading status", err)
		return
	}
	d := h.data(r, title, tmpl)
	d.Status, d.Self = st, self
	d.CanAct = self || h.allowed(r.Context(), access.SyncWrite, target(r))
	d.Actions = Prefix
	if !self {
		d.Actions = Prefix + "/users/" + user
	}
	d.Connected = len(st.Connections) > 0
	for _, c := range st.Connections {
		if c.Status != "connected" {
			d.Connected = false
		}
		if c.Status == "not_connected" {
			d.ConnectFirst = append(d.ConnectFirst, c)
		}
	}
	if !self {
		d.Title = "A user's sync"
		if st.Email != "" {
			d.Title = st.Email
		}
	}
	if self {
		d.SetupLeft = h.setupLeft(r, user, st)
	}
	if err := h.liveProgress(r, d, user, self); err != nil {
		h.internal(w, r, "reading progress", err)
		return
	}
	if h.allowed(r.Context(), access.IssuesRead, target(r)) {
		if d.Issues, err = h.issues(r.Context(), user); err != nil {
			h.internal(w, r, "reading issues", err)
			return
		}
	}
	h.render(w, http.StatusOK, tmpl, d)
}

func (h *Handler) syncNowForm(w http.ResponseWriter, r *http.Request) {
	debounced, err := h.syncNow(r, target(r).User)
	if err != nil {
		h.scheduleError(w, r, err)
		return
	}
	msg := "queued"
	if debounced {
		msg = "debounced"
	}
	h.redirect(w, r, back(r), msg)
}

// back is the page a status form returns to: the user's page when an admin
// acted on a user (/users/{user}/…), else the overview.
func back(r *http.Request) string {
	if u := r.PathValue("user"); u != "" {
		return Prefix + "/users/" + u
	}
	return Prefix + "/overview"
}

func (h *Handler) pauseForm(paused bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h.setPaused(r, target(r).User, paused); err != nil {
			h.scheduleError(w, r, err)
			return
		}
		msg := "resumed"
		if paused {
			msg = "paused"
		}
		h.redirect(w, r, back(r), msg)
	}
}

var settingsOptions = struct{ Direction, Conflict, MailboxDelete, NewItems []option }{
	Direction: []option{{string(reconcile.Both), "Both ways"}, {string(reconcile.CRMToMailbox), "CRM to mailbox only"},
		{string(reconcile.MailboxToCRM), "Mailbox to CRM only"}, {string(reconcile.Off), "Off"}},
	Conflict: []option{{string(reconcile.NewerWins), "The newer change wins"}, {string(reconcile.CRMWins), "The CRM wins"},
		{string(reconcile.MailboxWins), "The mailbox wins"}},
	MailboxDelete: []option{{string(reconcile.Unlink), "Keep it in the CRM (stop syncing it)"}, {string(reconcile.DeleteInCRM), "Delete it in the CRM too"}},
	NewItems: []option{{string(reconcile.NewAll), "Create all of them in the CRM"}, {string(reconcile.NewShared), "Only those with the share category"},
		{string(reconcile.NewNone), "None"}},
}

func kindLabels() []kindLabel {
	var out []kindLabel
	for _, k := range item.Kinds {
		label := string(k)
		switch k {
		case item.Contact:
			label = "Contacts"
		case item.Task:
			label = "Tasks"
		case item.Event:
			label = "Events"
		}
		out = append(out, kindLabel{Kind: k, Label: label})
	}
	return out
}

func (h *Handler) settingsData(r *http.Request, doc SettingsDoc) *pageData {
	d := h.data(r, "Settings", "settings")
	d.Settings, d.Kinds, d.Options = doc, kindLabels(), settingsOptions
	d.CustomRows, d.FreeFields = map[item.Kind][]item.CustomField{}, map[item.Kind][]string{}
	for _, k := range item.Kinds {
		var free []string
		if h.d.Mailbox.Custom != nil {
			free = h.d.Mailbox.Custom.Offered(k)
		}
		if len(free) == 0 {
			continue
		}
		d.FreeFields[k] = free
		rows := slices.Clone(doc.Kinds[k].CustomFields)
		if len(rows) < account.MaxCustomFields {
			rows = append(rows, item.CustomField{})
		}
		d.CustomRows[k] = rows
	}
	return d
}

func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request) {
	user := target(r).User
	s, err := h.d.Accounts.Settings(r.Context(), user)
	if err != nil {
		h.internal(w, r, "reading settings", err)
		return
	}
	d := h.settingsData(r, docOf(s))
	views, err := h.listViews(r.Context(), user)
	d.Scope = h.scopeView(r.Context(), user, s.ContactListView, s.ContactListView, s.Plan, views, err)
	d.Calendars = h.calendarsView(r.Context(), user, s.Calendars)
	h.render(w, http.StatusOK, "settings", d)
}

// docFromForm reads the settings form; numbers that do not parse become
// field errors beside the ones Validate finds.
func docFromForm(r *http.Request, plan string) (SettingsDoc, []account.FieldError) {
	var errs []account.FieldError
	doc := SettingsDoc{Kinds: map[item.Kind]KindSettings{}, Plan: plan}
	for _, k := range item.Kinds {
		f := func(name string) string { return strings.TrimSpace(r.PostFormValue(string(k) + "." + name)) }
		ks := KindSettings{Direction: reconcile.Direction(f("direction")), Conflict: reconcile.ConflictRule(f("conflict")),
			MailboxDelete: reconcile.MailboxDelete(f("mailboxDelete")), NewItems: reconcile.NewItems(f("newItems")),
			CustomFields: []item.CustomField{}}
		// Rows numbered from 0; a ticked "remove" or a blank row drops out.
		// One row past the cap is read, so going over it is reported.
		for i := 0; i <= account.MaxCustomFields+1; i++ {
			row := fmt.Sprintf("custom.%d.", i)
			c := item.CustomField{CRM: f(row + "crm"), Mailbox: f(row + "mailbox")}
			if f(row+"remove") == "on" || (c.CRM == "" && c.Mailbox == "") {
				continue
			}
			ks.CustomFields = append(ks.CustomFields, c)
		}
		doc.Kinds[k] = ks
	}
	doc.ContactListView = strings.TrimSpace(r.PostFormValue("contactListView"))
	doc.Calendars = calendarsFromForm(r)
	for _, n := range []struct {
		name string
		dst  *int
	}{{"pastDays", &doc.PastDays}, {"futureDays", &doc.FutureDays}} {
		v := strings.TrimSpace(r.PostFormValue(n.name))
		if v == "" {
			continue
		}
		i, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, account.FieldError{Field: n.name, Message: "is not a whole number of days"})
			continue
		}
		*n.dst = i
	}
	on := func(name string) bool { return r.PostFormValue(name) == "on" }
	doc.Email = account.Email{Enabled: on("email.enabled"), CreateLeads: on("email.createLeads"), SkipFreeMail: on("email.skipFreeMail"),
		ShareCategory: strings.TrimSpace(r.PostFormValue("email.shareCategory")), Folder: strings.TrimSpace(r.PostFormValue("email.folder"))}
	for _, d := range strings.Split(r.PostFormValue("email.ownDomains"), ",") {
		if d = strings.TrimSpace(d); d != "" {
			doc.Email.OwnDomains = append(doc.Email.OwnDomains, d)
		}
	}
	return doc, errs
}

func (h *Handler) settingsForm(w http.ResponseWriter, r *http.Request) {
	user := target(r).User
	cur, err := h.d.Accounts.Settings(r.Context(), user)
	if err != nil {
		h.internal(w, r, "reading settings", err)
		return
	}
	doc, errs := docFromForm(r, cur.Plan)
	// The user's list views are read only when a new one was chosen, to check
	// it, or when the form comes back with errors: a plain save costs no
	// Salesforce call (the settings page it redirects to reads them anyway).
	var views []side.Choice
	var viewsErr error
	listed := false
	if doc.ContactListView != "" && doc.ContactListView != cur.ContactListView {
		views, viewsErr = h.listViews(r.Context(), user)
		listed = true
		if fe := h.checkListView(doc, cur, views, viewsErr == nil); fe != nil {
			errs = append(errs, *fe)
		}
	}
	if len(errs) > 0 {
		// Report what Validate finds too, so one round trip shows every problem.
		var ve *account.ValidationError
		if errors.As(doc.apply(cur).Validate(h.d.CRM, h.d.Mailbox), &ve) {
			errs = append(errs, ve.Fields...)
		}
	} else {
		err = h.d.Accounts.SaveSettings(r.Context(), user, doc.apply(cur))
		if err == nil {
			h.redirect(w, r, Prefix+"/settings", "saved")
			return
		}
		var ve *account.ValidationError
		switch {
		case errors.As(err, &ve):
			errs = ve.Fields
		case errors.Is(err, account.ErrConflict):
			errs = []account.FieldError{{Field: "settings", Message: "changed meanwhile in another window; check and save again"}}
		default:
			h.internal(w, r, "saving settings", err)
			return
		}
	}
	if !listed {
		views, viewsErr = h.listViews(r.Context(), user)
	}
	d := h.settingsData(r, doc)
	d.FieldErrors = errs
	d.Scope = h.scopeView(r.Context(), user, doc.ContactListView, cur.ContactListView, cur.Plan, views, viewsErr)
	chosen := doc.Calendars
	if chosen == nil {
		chosen = cur.Calendars
	}
	d.Calendars = h.calendarsView(r.Context(), user, chosen)
	h.render(w, http.StatusBadRequest, "settings", d)
}

func (h *Handler) deletePage(w http.ResponseWriter, r *http.Request) {
	h.render(w, http.StatusOK, "delete", h.data(r, "Delete your account", ""))
}

func (h *Handler) deleteForm(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("confirm") != "yes" {
		d := h.data(r, "Delete your account", "")
		d.Error = "Tick the box to confirm that the account should be deleted."
		h.render(w, http.StatusBadRequest, "delete", d)
		return
	}
	if err := h.d.Accounts.Delete(r.Context(), access.PrincipalFrom(r.Context()), target(r).User); err != nil {
		h.deleteError(w, r, err)
		return
	}
	if h.d.EndSession != nil {
		h.d.EndSession(w)
	}
	h.redirect(w, r, Prefix+"/", "deleted")
}

func (h *Handler) adminRedirect(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, Prefix+"/orgs/"+target(r).Org, http.StatusSeeOther)
}

func (h *Handler) orgData(r *http.Request) (*pageData, error) {
	org := target(r).Org
	d := h.data(r, "Organisation", "admin")
	d.Org = org
	var err error
	if d.Members, err = h.members(r.Context(), org); err != nil {
		return nil, err
	}
	d.Names = map[string]string{}
	for _, m := range d.Members {
		if m.Email != "" {
			d.Names[m.User] = m.Email
		}
	}
	res := access.Org(org)
	d.CanProvision = h.allowed(r.Context(), access.UsersProvision, res)
	d.CanGrant = h.allowed(r.Context(), access.GrantsWrite, res) && h.d.Grants != nil
	d.CanIntegrate = d.CanProvision && h.d.Integrations != nil
	if d.CanProvision && h.d.Connect != nil && org == access.PrincipalFrom(r.Context()).Org {
		// The pages serve the admin's own organisation (connect's OwnOrg).
		for _, p := range h.d.AdminPages {
			d.AdminPages = append(d.AdminPages, AdminPage{Title: p.Title, Path: Prefix + "/connect" + p.Path})
		}
	}
	for name := range schedule.Plans {
		d.Plans = append(d.Plans, name)
	}
	slices.Sort(d.Plans)
	for _, role := range access.Roles() {
		if role.Name != access.RoleSelf {
			d.Roles = append(d.Roles, option{Value: role.Name, Label: roleLabel(role.Name)})
		}
	}
	if d.CanGrant {
		if d.Grants, err = h.listGrants(r, org); err != nil {
			return nil, err
		}
		// Grantees from another organisation (support staff) are named
		// by their address too.
		for _, g := range d.Grants {
			if _, ok := d.Names[g.Principal.User]; ok {
				continue
			}
			if prof, err := h.d.Accounts.Profile(r.Context(), g.Principal.User); err == nil && prof.Email != "" {
				d.Names[g.Principal.User] = prof.Email
			}
		}
	}
	return d, nil
}

func (h *Handler) orgPage(w http.ResponseWriter, r *http.Request) {
	d, err := h.orgData(r)
	if err != nil {
		h.internal(w, r, "listing users", err)
		return
	}
	h.render(w, http.StatusOK, "org", d)
}

func (h *Handler) provisionForm(w http.ResponseWriter, r *http.Request) {
	lines := strings.Split(strings.ReplaceAll(r.PostFormValue("addresses"), "\r\n", "\n"), "\n")
	res, err := h.d.Accounts.Provision(r.Context(), access.PrincipalFrom(r.Context()), target(r).Org, lines, r.PostFormValue("plan"))
	var formErr string
	switch {
	case errors.Is(err, account.ErrInvalid):
		formErr = strings.TrimPrefix(err.Error(), "account: invalid: ")
	case err != nil:
		h.internal(w, r, "provisioning", err)
		return
	}
	d, err := h.orgData(r)
	if err != nil {
		h.internal(w, r, "listing users", err)
		return
	}
	d.Results, d.Error = res, formErr
	status := http.StatusOK
	if formErr != "" {
		status = http.StatusBadRequest
	}
	h.render(w, status, "org", d)
}

// listGrants asks access.Admin's list handler, so its own checks apply.
func (h *Handler) listGrants(r *http.Request, org string) ([]access.Grant, error) {
	req := r.Clone(r.Context())
	req.Method, req.Body = http.MethodGet, http.NoBody
	req.SetPathValue("org", org)
	rec := newRecorder()
	h.d.Grants.ListGrants().ServeHTTP(rec, req)
	if rec.code != http.StatusOK {
		return nil, fmt.Errorf("listing grants: status %d", rec.code)
	}
	var body struct {
		Grants []access.Grant `json:"grants"`
	}
	if err := json.Unmarshal(rec.body.Bytes(), &body); err != nil {
		return nil, fmt.Errorf("listing grants: %w", err)
	}
	return body.Grants, nil
}

// grantForm turns the add/remove form into access.Admin's JSON request, so
// the admin API's rules (nobody grants more than they hold) decide. The
// admin names people by e-mail address; the form resolves them among the
// org's members (a remove button carries the ids of the row it removes).
func (h *Handler) grantForm(w http.ResponseWriter, r *http.Request) {
	org := target(r).Org
	refuse := func(msg string) {
		d, err := h.orgData(r)
		if err != nil {
			h.internal(w, r, "listing users", err)
			return
		}
		d.Error = "The role was not changed: " + msg
		h.render(w, http.StatusBadRequest, "org", d)
	}
	var gr access.GrantRequest
	gr.Role = strings.TrimSpace(r.PostFormValue("role"))
	method, serve, msg := http.MethodPost, h.d.Grants.AddGrant(), "granted"
	if r.PostFormValue("action") == "remove" {
		method, serve, msg = http.MethodDelete, h.d.Grants.RemoveGrant(), "revoked"
		gr.User = strings.TrimSpace(r.PostFormValue("user"))
		gr.Resource.User = strings.TrimSpace(r.PostFormValue("resource"))
		if gr.Role == access.RoleSelf {
			refuse("the User role on one's own account is part of every account and cannot be removed.")
			return
		}
	} else {
		members, err := h.d.Accounts.Members(r.Context(), org)
		if err != nil {
			h.internal(w, r, "listing users", err)
			return
		}
		byEmail := func(field, label string) (string, bool) {
			email := strings.ToLower(strings.TrimSpace(r.PostFormValue(field)))
			if email == "" {
				return "", true
			}
			for _, m := range members {
				if strings.EqualFold(m.Email, email) {
					return m.User, true
				}
			}
			refuse(label + ": no user of this organisation has that address. Add them under \"Add users\" first.")
			return "", false
		}
		var ok bool
		if gr.User, ok = byEmail("email", "E-mail address of the user"); !ok {
			return
		}
		if gr.User == "" {
			refuse("E-mail address of the user: fill it in.")
			return
		}
		if gr.Resource.User, ok = byEmail("on", "On the account of"); !ok {
			return
		}
		if gr.Role == access.RoleSelf {
			refuse("Role: every user holds the User role on their own account already.")
			return
		}
		if why := h.orgAdminRefusal(r, gr); why != "" {
			refuse(why)
			return
		}
	}
	body, _ := json.Marshal(gr)
	req := r.Clone(r.Context())
	req.Method, req.Body, req.ContentLength = method, httpBody(body), int64(len(body))
	req.Header = r.Header.Clone()
	req.Header.Set("Content-Type", "application/json")
	req.SetPathValue("org", org)
	rec := newRecorder()
	serve.ServeHTTP(rec, req)
	if rec.code >= 300 {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(rec.body.Bytes(), &e)
		refuse(sentence(e.Message))
		return
	}
	h.redirect(w, r, Prefix+"/orgs/"+org, msg)
}

func isNotFound(err error) bool { return errors.Is(err, tablestore.ErrNotFound) }

func httpBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// recorder captures the answer of a handler the dashboard calls in-process
// (the grant admin API), to render it as part of a page.
type recorder struct {
	code   int
	header http.Header
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{code: http.StatusOK, header: http.Header{}} }

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.code = code }

// maxConnectMessage bounds the connect flow's reason shown on the page.
const maxConnectMessage = 300

// connectResult words what a connect flow sent the browser back with
// (?connect=<provider>&result=ok|error&message=…, shared/connect's overview
// redirect): "<Name> connected." or "Connecting <Name> did not work: …".
// Only the two connectors' providers are named, and the reason is framed by
// our own sentence, cut short and rid of control characters, so a crafted
// link can add no more than that to the page.
func (h *Handler) connectResult(q url.Values) string {
	name := ""
	for _, c := range []side.Connector{h.d.CRM, h.d.Mailbox} {
		if c.Provider != "" && c.Provider == q.Get("connect") {
			name = c.Name
		}
	}
	if name == "" {
		return ""
	}
	switch q.Get("result") {
	case "ok":
		return name + " connected."
	case "error":
		msg := strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return -1
			}
			return r
		}, q.Get("message"))
		if len(msg) > maxConnectMessage {
			msg = strings.ToValidUTF8(msg[:maxConnectMessage], "") + "…"
		}
		if msg == "" {
			return "Connecting " + name + " did not work. Try again."
		}
		if !strings.HasSuffix(msg, ".") {
			msg += "."
		}
		return "Connecting " + name + " did not work: " + msg
	}
	return ""
}
