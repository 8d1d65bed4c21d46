package dashboard

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/session"
)

// Search bounds: the page shows the first pageMatches matches; a CSV holds
// at most CSVMaxRows rows; either reads at most scanRows stored rows, and a
// date range spans at most maxSearchDays.
const (
	pageMatches   = 100
	CSVMaxRows    = 100_000
	scanRows      = 200_000
	maxSearchDays = 366
)

var searchOutcomes = []option{{"", "Any result"}, {"ok", "Finished"}, {"partial", "Finished with problems"}, {"quota", "Stopped at the API limit"},
	{"reconnect", "Needs reconnecting"}, {"retry", "Stopped; retried"}, {"error", "Failed"}}

type searchData struct {
	*pageData
	From, To, Object, Outcome string
	Objects, Outcomes         []option
	Sessions                  []SessionView
	More                      bool
	CSV                       string
	Problems                  []problemView
}

type problemView struct {
	IssueView
	CRMLink, MailboxLink string
}

// searchFilter reads the form: dates (YYYY-MM-DD, UTC), object and outcome;
// each bad value is refused by name.
func searchFilter(q url.Values, now time.Time) (session.ReportFilter, error) {
	day := func(name string, def time.Time) (time.Time, error) {
		v := q.Get(name)
		if v == "" {
			return def, nil
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s must be a date like 2026-12-31", name)
		}
		return t, nil
	}
	today := now.UTC().Truncate(24 * time.Hour)
	to, err := day("to", today)
	if err != nil {
		return session.ReportFilter{}, err
	}
	from, err := day("from", to.AddDate(0, 0, -29))
	if err != nil {
		return session.ReportFilter{}, err
	}
	switch {
	case from.After(to):
		return session.ReportFilter{}, fmt.Errorf("from must not be after to")
	case to.Sub(from) > maxSearchDays*24*time.Hour:
		return session.ReportFilter{}, fmt.Errorf("a search spans at most %d days", maxSearchDays)
	}
	f := session.ReportFilter{From: from, To: to.AddDate(0, 0, 1), Outcome: q.Get("outcome"), Kind: q.Get("object")}
	if !slices.ContainsFunc(searchOutcomes, func(o option) bool { return o.Value == f.Outcome }) {
		return session.ReportFilter{}, fmt.Errorf("there is no result called %q", f.Outcome)
	}
	if f.Kind != "" && !slices.Contains(item.Kinds, item.Kind(f.Kind)) {
		return session.ReportFilter{}, fmt.Errorf("there is no object called %q", f.Kind)
	}
	return f, nil
}

func (h *Handler) sessionsPage(w http.ResponseWriter, r *http.Request) {
	f, err := searchFilter(r.URL.Query(), h.d.Now())
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "bad_search", err.Error())
		return
	}
	user := target(r).User
	st := session.NewState(h.d.Tables, user)
	if r.URL.Query().Get("format") == "csv" {
		h.sessionsCSV(w, r, st, f)
		return
	}
	d := &searchData{pageData: h.data(r, "Sessions and problems", "history"), From: f.From.Format(time.DateOnly),
		To: f.To.AddDate(0, 0, -1).Format(time.DateOnly), Object: f.Kind, Outcome: f.Outcome, Outcomes: searchOutcomes}
	d.Objects = []option{{"", "Any object"}}
	for _, k := range item.Kinds {
		d.Objects = append(d.Objects, option{string(k), kindName(string(k))})
	}
	_, more, err := st.ScanReports(r.Context(), f, scanRows, func(rep session.Report) bool {
		if len(d.Sessions) == pageMatches {
			d.More = true
			return false
		}
		d.Sessions = append(d.Sessions, sessionView(rep))
		return true
	})
	if err != nil {
		h.internal(w, r, "searching sessions", err)
		return
	}
	d.More = d.More || more
	q := r.URL.Query()
	q.Set("format", "csv")
	d.CSV = r.URL.Path + "?" + q.Encode()
	if d.Problems, err = h.problems(r, user, f.Kind); err != nil {
		h.internal(w, r, "reading problems", err)
		return
	}
	h.renderAny(w, http.StatusOK, "sessions", d)
}

// problems are the user's open issues of kind ("" = all) with links to the
// record or item in each side's own app (side.Connector.Link).
func (h *Handler) problems(r *http.Request, user, kind string) ([]problemView, error) {
	issues, err := h.issues(r.Context(), user)
	if err != nil {
		return nil, err
	}
	conns, err := h.d.Connections.List(r.Context(), user)
	if err != nil {
		return nil, err
	}
	instance := map[string]string{}
	for _, c := range conns {
		instance[string(c.Provider)] = c.InstanceURL
	}
	var out []problemView
	for _, is := range issues {
		if kind != "" && is.Kind != kind {
			continue
		}
		p := problemView{IssueView: is}
		switch is.Side {
		case "crm":
			p.CRMLink = h.d.CRM.LinkTo(instance[h.d.CRM.Provider], is.Kind, is.RecordID)
		case "mailbox":
			p.MailboxLink = h.d.Mailbox.LinkTo(instance[h.d.Mailbox.Provider], is.Kind, is.RecordID)
		}
		out = append(out, p)
	}
	return out, nil
}

// sessionsCSV streams the matching sessions as CSV, flushing as it goes, at
// most CSVMaxRows rows; a last comment line says when more were left out.
func (h *Handler) sessionsCSV(w http.ResponseWriter, r *http.Request, st *session.State, f session.ReportFilter) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="crmsync-sessions.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"started_utc", "reason", "result", "detail", "duration_ms", "problems", "conflicts", "changes"})
	rows := 0
	flusher, _ := w.(http.Flusher)
	_, more, err := st.ScanReports(r.Context(), f, scanRows, func(rep session.Report) bool {
		if rows == CSVMaxRows {
			return false
		}
		var changes []string
		for _, c := range sessionView(rep).Counts {
			changes = append(changes, c.Kind+" "+c.Direction+" "+c.Op+"="+strconv.Itoa(c.N))
		}
		_ = cw.Write([]string{rep.Started.UTC().Format(time.RFC3339), rep.Reason, rep.Outcome, csvSafe(rep.Detail),
			strconv.FormatInt(rep.Duration.Milliseconds(), 10), strconv.Itoa(rep.Issues), strconv.Itoa(rep.Conflicts), strings.Join(changes, "; ")})
		rows++
		if rows%1000 == 0 {
			cw.Flush()
			if flusher != nil {
				flusher.Flush()
			}
		}
		return true
	})
	if err != nil {
		// Headers are gone: the file ends with the reason instead.
		h.d.Log.ErrorContext(r.Context(), "dashboard: CSV export failed", "err", err)
		_ = cw.Write([]string{"# the export stopped early: the session history could not be read; try again"})
	} else if more || rows == CSVMaxRows {
		_ = cw.Write([]string{fmt.Sprintf("# stopped after %d rows; narrow the dates for the rest", rows)})
	}
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
