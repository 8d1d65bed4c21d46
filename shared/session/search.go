package session

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// ReportFilter selects session reports: started in [From, To), with the
// outcome (any when ""), having moved records of the kind (any when "").
type ReportFilter struct {
	From, To time.Time
	Outcome  string
	Kind     string
}

func (f ReportFilter) match(r Report) bool {
	if f.Outcome != "" && r.Outcome != f.Outcome {
		return false
	}
	if f.Kind == "" {
		return true
	}
	for k := range r.Counts {
		if strings.HasPrefix(k, f.Kind+"|") {
			return true
		}
	}
	return false
}

// ScanReports calls fn with the user's reports that match f, newest first,
// until fn returns false, reading at most maxRows rows (0 = no bound); more
// is true when rows were left unread. The date range is a RowKey range, so
// rows outside it are never read.
func (s *State) ScanReports(ctx context.Context, f ReportFilter, maxRows int, fn func(Report) bool) (read int, more bool, err error) {
	q := tablestore.Query{PartitionKey: s.user}
	if !f.To.IsZero() {
		q.RowKeyFrom = invertedTime(f.To.Add(-time.Nanosecond))
	}
	if !f.From.IsZero() {
		q.RowKeyTo = invertedTime(f.From) + "}"
	}
	for {
		page, err := s.store.Query(ctx, SessionsTable, q)
		if err != nil {
			return read, false, err
		}
		for i, e := range page.Entities {
			if maxRows > 0 && read >= maxRows {
				return read, true, nil
			}
			read++
			r := reportFrom(e)
			if f.match(r) && !fn(r) {
				return read, i < len(page.Entities)-1 || page.Continuation != "", nil
			}
		}
		if page.Continuation == "" {
			return read, false, nil
		}
		q.Continuation = page.Continuation
	}
}

// reportFrom reads a stored report (SaveReport's properties).
func reportFrom(e tablestore.Entity) Report {
	var r Report
	r.SessionID, _ = e.Properties["SessionID"].(string)
	r.Reason, _ = e.Properties["Reason"].(string)
	r.Started, _ = e.Properties["Started"].(time.Time)
	ms, _ := e.Properties["DurationMs"].(int64)
	r.Duration = time.Duration(ms) * time.Millisecond
	r.Outcome, _ = e.Properties["Outcome"].(string)
	r.Detail, _ = e.Properties["Detail"].(string)
	if c, _ := e.Properties["Counts"].(string); c != "" {
		_ = json.Unmarshal([]byte(c), &r.Counts)
	}
	if c, _ := e.Properties["Calls"].(string); c != "" {
		_ = json.Unmarshal([]byte(c), &r.Calls)
	}
	tw, _ := e.Properties["TableWrites"].(int64)
	r.TableWrites = int(tw)
	is, _ := e.Properties["Issues"].(int64)
	r.Issues = int(is)
	cf, _ := e.Properties["Conflicts"].(int64)
	r.Conflicts = int(cf)
	return r
}
