package addin

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// LayoutsTable holds task-pane layouts: a user's own (PartitionKey user,
// RowKey "layout"), an organisation's default (PartitionKey "org|<org>",
// RowKey "default") and layouts people shared with their colleagues
// (PartitionKey "org|<org>", RowKey "share|<code>"). A layout names objects
// and fields, never a record or a value.
const LayoutsTable = "addinlayouts"

// Layout says what the task pane shows and lets people edit: which objects
// can be created, which fields of an object are shown and edited (in
// order), and which objects a search looks in. An empty list means "all"
// (Create, Fields) or the default objects (Search).
type Layout struct {
	Create []string            `json:"create"`
	Fields map[string][]string `json:"fields"`
	Search []string            `json:"search"`
}

// LayoutAnswer is the layout in force for the caller and where it comes
// from: "user" (their own), "org" (the organisation's default) or
// "default" (crmsync's: everything).
type LayoutAnswer struct {
	Layout Layout `json:"layout"`
	Source string `json:"source"`
}

// ShareCode is what a colleague types to take a shared layout.
type ShareCode struct {
	Code string `json:"code"`
}

// Layout limits: a layout stays far below a table property's 64 KiB.
const (
	maxLayoutObjects = 50
	maxLayoutFields  = 100
)

var fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)

// shareCode: 10 characters of base32 without padding (50 bits), typed by a
// colleague; only the organisation's own people can take it.
var shareCodePattern = regexp.MustCompile(`^[A-Z2-7]{10}$`)

// validate checks every name and bound; problems name the part at fault.
func (l Layout) validate() string {
	checkList := func(what string, names []string, re *regexp.Regexp, max int) string {
		if len(names) > max {
			return what + ": at most " + itoa(max) + " names"
		}
		for _, n := range names {
			if !re.MatchString(n) {
				return what + ": " + safeName(n) + " is not a Salesforce API name"
			}
		}
		return ""
	}
	if p := checkList("create", l.Create, objectName, maxLayoutObjects); p != "" {
		return p
	}
	if p := checkList("search", l.Search, objectName, maxSearchObjects); p != "" {
		return p
	}
	if len(l.Fields) > maxLayoutObjects {
		return "fields: at most " + itoa(maxLayoutObjects) + " objects"
	}
	for obj, fields := range l.Fields {
		if !objectName.MatchString(obj) {
			return "fields: " + safeName(obj) + " is not a Salesforce API name"
		}
		if p := checkList("fields of "+obj, fields, fieldName, maxLayoutFields); p != "" {
			return p
		}
	}
	return ""
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// OrgSetting reports whether the route changes an organisation-wide setting
// (the organisation's default layout): the wiring then asks for the
// organisation admin's settings permission on the caller's organisation
// instead of the add-in permission on the caller.
func (rt Route) OrgSetting() bool { return rt.Key() == http.MethodPost+" "+Prefix+"/layout/org" }

func orgPartition(org string) string { return "org|" + org }

func (a *API) readLayout(r *http.Request, pk, rk string) (Layout, bool, error) {
	e, err := a.cfg.Store.Get(r.Context(), LayoutsTable, pk, rk)
	if errors.Is(err, tablestore.ErrNotFound) {
		return Layout{}, false, nil
	}
	if err != nil {
		return Layout{}, false, err
	}
	var l Layout
	s, _ := e.Properties["Layout"].(string)
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return Layout{}, false, err
	}
	return l, true, nil
}

func (a *API) writeLayout(r *http.Request, pk, rk string, l Layout) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	_, err = a.cfg.Store.Upsert(r.Context(), LayoutsTable, tablestore.Entity{PartitionKey: pk, RowKey: rk,
		Properties: map[string]any{"Layout": string(b)}})
	return err
}

func (a *API) layoutStorageError(w http.ResponseWriter, r *http.Request, err error) {
	a.log.ErrorContext(r.Context(), "layout storage", "user", callerOf(r.Context()).user, "err", err)
	writeError(w, http.StatusServiceUnavailable, "storage", "could not read or save the layout; try again")
}

// layout answers GET /layout: the caller's own layout, else the
// organisation's default, else crmsync's.
func (a *API) layout(w http.ResponseWriter, r *http.Request) {
	who := callerOf(r.Context())
	if l, ok, err := a.readLayout(r, who.user, "layout"); err != nil {
		a.layoutStorageError(w, r, err)
		return
	} else if ok {
		writeJSON(w, http.StatusOK, LayoutAnswer{Layout: l, Source: "user"})
		return
	}
	if who.org != "" {
		if l, ok, err := a.readLayout(r, orgPartition(who.org), "default"); err != nil {
			a.layoutStorageError(w, r, err)
			return
		} else if ok {
			writeJSON(w, http.StatusOK, LayoutAnswer{Layout: l, Source: "org"})
			return
		}
	}
	writeJSON(w, http.StatusOK, LayoutAnswer{Layout: Layout{}, Source: "default"})
}

func (a *API) readLayoutBody(w http.ResponseWriter, r *http.Request) (Layout, bool) {
	var l Layout
	if !readJSON(w, r, &l) {
		return l, false
	}
	if p := l.validate(); p != "" {
		writeError(w, http.StatusBadRequest, "bad_layout", p)
		return l, false
	}
	return l, true
}

// saveLayout answers POST /layout: the caller's own layout.
func (a *API) saveLayout(w http.ResponseWriter, r *http.Request) {
	l, ok := a.readLayoutBody(w, r)
	if !ok {
		return
	}
	if err := a.writeLayout(r, callerOf(r.Context()).user, "layout", l); err != nil {
		a.layoutStorageError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, LayoutAnswer{Layout: l, Source: "user"})
}

// resetLayout answers DELETE /layout: back to the organisation's default.
func (a *API) resetLayout(w http.ResponseWriter, r *http.Request) {
	err := a.cfg.Store.Delete(r.Context(), LayoutsTable, callerOf(r.Context()).user, "layout", "*")
	if err != nil && !errors.Is(err, tablestore.ErrNotFound) {
		a.layoutStorageError(w, r, err)
		return
	}
	a.layout(w, r)
}

// saveOrgLayout answers POST /layout/org: the organisation's default. The
// route table marks it OrgSetting, so only an organisation admin gets here.
func (a *API) saveOrgLayout(w http.ResponseWriter, r *http.Request) {
	l, ok := a.readLayoutBody(w, r)
	if !ok {
		return
	}
	who := callerOf(r.Context())
	if who.org == "" {
		writeError(w, http.StatusForbidden, "no_org", "you belong to no organisation")
		return
	}
	if err := a.writeLayout(r, orgPartition(who.org), "default", l); err != nil {
		a.layoutStorageError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, LayoutAnswer{Layout: l, Source: "org"})
}

// shareLayout answers POST /layout/share: a copy of the caller's layout in
// force, under a code colleagues of the same organisation can take.
func (a *API) shareLayout(w http.ResponseWriter, r *http.Request) {
	who := callerOf(r.Context())
	if who.org == "" {
		writeError(w, http.StatusForbidden, "no_org", "you belong to no organisation, so there is nobody to share with")
		return
	}
	l, ok, err := a.readLayout(r, who.user, "layout")
	if err != nil {
		a.layoutStorageError(w, r, err)
		return
	}
	if !ok {
		writeError(w, http.StatusConflict, "no_layout", "save a layout of your own first, then share it")
		return
	}
	b := make([]byte, 7)
	_, _ = rand.Read(b)
	code := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)[:10]
	if err := a.writeLayout(r, orgPartition(who.org), "share|"+code, l); err != nil {
		a.layoutStorageError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ShareCode{Code: code})
}

// takeLayout answers POST /layout/take {"code": "…"}: a colleague's shared
// layout becomes the caller's own.
func (a *API) takeLayout(w http.ResponseWriter, r *http.Request) {
	var req ShareCode
	if !readJSON(w, r, &req) {
		return
	}
	code := strings.ToUpper(strings.TrimSpace(req.Code))
	if !shareCodePattern.MatchString(code) {
		writeError(w, http.StatusBadRequest, "bad_code", "a layout code is 10 letters and digits")
		return
	}
	who := callerOf(r.Context())
	l, ok, err := a.readLayout(r, orgPartition(who.org), "share|"+code)
	if err != nil {
		a.layoutStorageError(w, r, err)
		return
	}
	if !ok || who.org == "" {
		writeError(w, http.StatusNotFound, "no_such_code", "no colleague shared a layout under this code")
		return
	}
	if err := a.writeLayout(r, who.user, "layout", l); err != nil {
		a.layoutStorageError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, LayoutAnswer{Layout: l, Source: "user"})
}
