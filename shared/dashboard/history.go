package dashboard

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/insight"
)

// Insight is what the history, progress and conflict pages read
// (insight.Store).
type Insight interface {
	UserHistory(ctx context.Context, user string, days int) (insight.History, error)
	OrgHistory(ctx context.Context, org string, days int) (insight.History, error)
	ReadProgress(ctx context.Context, user string) (insight.Live, bool, error)
	Conflicts(ctx context.Context, user string, limit int) ([]insight.Conflict, error)
}

// historyData is the history pages' data.
type historyData struct {
	*pageData
	Days    int
	Spans   []int
	Charts  []chart
	OrgView bool
	// Base is the page's own path, for the span links.
	Base string
	// UserHistory links an admin's view of one user back to their page.
	UserPage string
}

// historySpans are the spans the page offers.
var historySpans = []int{7, 30, insight.Days}

// historyDays reads ?days=: empty is 30; a number above 90 is answered with
// the 90 days kept (said on the page); anything else is refused by name.
func historyDays(r *http.Request) (days int, note string, err error) {
	raw := r.URL.Query().Get("days")
	if raw == "" {
		return 30, "", nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, "", fmt.Errorf("days must be a whole number from 1 to %d", insight.Days)
	}
	if n > insight.Days {
		return insight.Days, fmt.Sprintf("History keeps %d days; showing all of them.", insight.Days), nil
	}
	return n, "", nil
}

func (h *Handler) userHistoryPage(w http.ResponseWriter, r *http.Request) {
	h.historyPage(w, r, false)
}

func (h *Handler) orgHistoryPage(w http.ResponseWriter, r *http.Request) {
	h.historyPage(w, r, true)
}

func (h *Handler) historyPage(w http.ResponseWriter, r *http.Request, org bool) {
	if h.d.Insight == nil {
		h.fail(w, r, http.StatusNotFound, "not_configured", "history is not configured")
		return
	}
	days, note, err := historyDays(r)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "bad_days", err.Error())
		return
	}
	res := target(r)
	var hist insight.History
	d := &historyData{pageData: h.data(r, "History", "history"), Days: days, Spans: historySpans, OrgView: org, Base: r.URL.Path}
	if org {
		d.Title, d.Nav = "Organisation history", "admin"
		hist, err = h.d.Insight.OrgHistory(r.Context(), res.Org, days)
	} else {
		if u := r.PathValue("user"); u != "" {
			d.Title, d.Nav, d.UserPage = "A user's history", "admin", Prefix+"/users/"+u
		}
		hist, err = h.d.Insight.UserHistory(r.Context(), res.User, days)
	}
	if err != nil {
		h.internal(w, r, "reading history", err)
		return
	}
	d.Flash = note
	d.Charts = h.names.historyCharts(hist, org)
	h.renderAny(w, http.StatusOK, "history", d)
}

// historyCharts are the charts of a history: records moved by object and
// direction, problems, session outcomes and, for an organisation, Salesforce
// API calls against the org's daily limit.
func (sn sideNames) historyCharts(hist insight.History, org bool) []chart {
	days := make([]time.Time, len(hist.Days))
	for i, d := range hist.Days {
		days[i] = d.Day
	}
	var moved []chartSeries
	for i, k := range hist.Kinds {
		kind, dir, _ := strings.Cut(k, "|")
		s := chartSeries{Label: sn.movedLabel(kind, dir), Fill: palette[i%len(palette)], Values: make([]int, len(days))}
		for j, d := range hist.Days {
			s.Values[j] = d.Moved[k]
		}
		moved = append(moved, s)
	}
	problems := chartSeries{Label: "Problems", Fill: "#b42318", Values: make([]int, len(days))}
	for j, d := range hist.Days {
		problems.Values[j] = d.Problems
	}
	var outcomes []chartSeries
	for _, o := range outcomeOrder {
		s := chartSeries{Label: capitalize(sn.outcomePhrase(o.name, 0)), Fill: o.fill, Values: make([]int, len(days))}
		any := false
		for j, d := range hist.Days {
			s.Values[j] = d.Outcomes[o.name]
			any = any || s.Values[j] > 0
		}
		if any {
			outcomes = append(outcomes, s)
		}
	}
	charts := []chart{
		newChart("moved", "Records moved per day", "records moved", days, moved, 0, ""),
		newChart("problems", "Problems per day", "problems", days, []chartSeries{problems}, 0, ""),
		newChart("outcomes", "Sessions per day by result", "sessions", days, outcomes, 0, ""),
	}
	if org {
		calls := chartSeries{Label: sn.CRM + " API calls", Fill: "#0a5bd3", Values: make([]int, len(days))}
		limit := 0
		for j, d := range hist.Days {
			calls.Values[j] = d.CRMCalls
			limit = max(limit, d.CRMLimit)
		}
		charts = append(charts, newChart("calls", sn.CRM+" API calls per day", "API calls", days, []chartSeries{calls}, limit, "The org's daily API limit"))
	}
	return charts
}

// outcomeOrder lists session results best first, with their colours.
var outcomeOrder = []struct{ name, fill string }{
	{"ok", "#1a7f37"}, {"partial", "#b35900"}, {"quota", "#8250df"}, {"reconnect", "#b42318"}, {"retry", "#57606a"}, {"error", "#1b1f24"},
}

// movedLabel names a kind and direction: "Contacts to Salesforce".
func (sn sideNames) movedLabel(kind, dir string) string {
	n := noun(kind, 2)
	n = strings.ToUpper(n[:1]) + n[1:]
	switch dir {
	case "to-crm":
		return n + " to " + sn.CRM
	case "to-mailbox":
		return n + " to the mailbox"
	case "link":
		return n + " linked"
	}
	return n + " " + dir
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// progressAPI answers the overview's script: the session's progress as
// JSON ({"running": false} when none was ever reported).
func (h *Handler) apiProgress(w http.ResponseWriter, r *http.Request) {
	if h.d.Insight == nil {
		h.fail(w, r, http.StatusNotFound, "not_configured", "progress is not configured")
		return
	}
	live, ok, err := h.d.Insight.ReadProgress(r.Context(), target(r).User)
	if err != nil {
		h.internal(w, r, "reading progress", err)
		return
	}
	writeJSON(w, http.StatusOK, progressView{Live: live, Known: ok, Running: ok && !live.Done && !live.Stale, Text: progressText(live)})
}

// progressView is the progress API's answer.
type progressView struct {
	insight.Live
	Known   bool   `json:"known"`
	Running bool   `json:"running"`
	Text    string `json:"text"`
}

// progressText says a session's progress in one line; the script shows the
// API's text so the page and the script never word it differently.
func progressText(l insight.Live) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Read %d, planned %d, written %d", l.Read, l.Planned, l.Written)
	if l.Failed > 0 {
		fmt.Fprintf(&b, ", %d failed", l.Failed)
	}
	switch {
	case l.Done:
		b.WriteString(". Finished.")
	case l.Stale:
		b.WriteString(". No news from this sync for a while; the next one picks up where it stopped.")
	case l.RemainingSeconds > 0:
		fmt.Fprintf(&b, ". About %s left.", (time.Duration(l.RemainingSeconds) * time.Second).Round(time.Second))
	default:
		b.WriteString(".")
	}
	return b.String()
}

// liveProgress fills the overview's progress bar when a session is running.
func (h *Handler) liveProgress(r *http.Request, d *pageData, user string, self bool) error {
	if h.d.Insight == nil {
		return nil
	}
	live, ok, err := h.d.Insight.ReadProgress(r.Context(), user)
	if err != nil || !ok || live.Done || live.Stale {
		return err
	}
	d.Progress = &progressView{Live: live, Known: true, Running: true, Text: progressText(live)}
	d.ProgressURL = Prefix + "/v1/me/progress"
	if !self {
		d.ProgressURL = Prefix + "/v1/users/" + user + "/progress"
	}
	return nil
}

// RecordNames reads records' current names by id and kind (the user's own
// Salesforce connection: sides.RecordNames); the conflict log stores ids
// only and shows names read live.
type RecordNames interface {
	Names(ctx context.Context, user string, ids map[string][]string) (map[string]string, error)
}

// conflictData is the conflict log page's data.
type conflictData struct {
	*pageData
	Conflicts []conflictView
	// NamesNote says why names are missing, when they are.
	NamesNote string
}

// conflictView is one conflict with its rule in words and the record's
// current name ("" when unknown).
type conflictView struct {
	insight.Conflict
	RuleText string
	Name     string
	Gone     bool
}

// ruleText says why a side won: the user's conflict rule, a one-way
// direction, or a delete meeting a change.
func (sn sideNames) ruleText(rule string) string {
	switch rule {
	case "newer-wins":
		return "The newer change wins"
	case "crm-wins":
		return sn.CRM + " wins"
	case "mailbox-wins":
		return "The mailbox wins"
	case "delete":
		return "A removal met a change; the change stays"
	case "crm-to-mailbox", "mailbox-to-crm":
		return "Sync runs one way only"
	}
	return rule
}

// conflictsShown bounds the conflict log page.
const conflictsShown = 200

func (h *Handler) conflictsPage(w http.ResponseWriter, r *http.Request) {
	if h.d.Insight == nil {
		h.fail(w, r, http.StatusNotFound, "not_configured", "the conflict log is not configured")
		return
	}
	cs, err := h.d.Insight.Conflicts(r.Context(), target(r).User, conflictsShown)
	if err != nil {
		h.internal(w, r, "reading conflicts", err)
		return
	}
	d := &conflictData{pageData: h.data(r, "Conflicts the merge settled", "history")}
	ids := map[string][]string{}
	for _, c := range cs {
		d.Conflicts = append(d.Conflicts, conflictView{Conflict: c, RuleText: h.names.ruleText(c.Rule)})
		if c.CRMID != "" {
			ids[c.Kind] = append(ids[c.Kind], c.CRMID)
		}
	}
	if h.d.Names != nil && len(ids) > 0 {
		names, err := h.d.Names.Names(r.Context(), target(r).User, ids)
		if err != nil {
			// The log stands without names: say so, keep the ids.
			h.d.Log.WarnContext(r.Context(), "dashboard: record names unreadable", "user", target(r).User, "err", err)
			d.NamesNote = h.names.CRM + " could not be asked for the records' names just now; they are shown by id."
		} else {
			for i := range d.Conflicts {
				c := &d.Conflicts[i]
				if c.CRMID == "" {
					continue
				}
				c.Name, c.Gone = names[c.CRMID], names[c.CRMID] == ""
			}
		}
	}
	h.renderAny(w, http.StatusOK, "conflicts", d)
}

// renderAny renders a page whose data is or embeds pageData, whole before
// anything is written, so a failed template is a clean 500.
func (h *Handler) renderAny(w http.ResponseWriter, status int, name string, d any) {
	var buf bytes.Buffer
	if err := h.page.t.ExecuteTemplate(&buf, name, d); err != nil {
		h.d.Log.Error("dashboard: rendering page failed", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}
