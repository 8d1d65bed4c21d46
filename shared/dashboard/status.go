package dashboard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Status is what a user (or their admin, or support) sees about one user's
// sync. It holds identifiers, states, times and counts: never a credential.
type Status struct {
	User        string           `json:"user"`
	Email       string           `json:"email,omitempty"`
	Connections []ConnectionView `json:"connections"`
	// Enrolled is false for a user the scheduler does not know (yet).
	Enrolled bool       `json:"enrolled"`
	Paused   bool       `json:"paused"`
	Plan     string     `json:"plan,omitempty"`
	NextSync *time.Time `json:"nextSync,omitempty"`
	LastSync *LastSync  `json:"lastSync,omitempty"`
	// Sessions are the latest session results, newest first.
	Sessions   []SessionView `json:"sessions"`
	OpenIssues int           `json:"openIssues"`
}

// ConnectionView is one provider's connection as the user sees it.
type ConnectionView struct {
	Provider string `json:"provider"`
	Label    string `json:"label"`
	// Status is "connected", "needs_reconnect", "paused" or "not_connected".
	Status  string     `json:"status"`
	Reason  string     `json:"reason,omitempty"`
	Updated *time.Time `json:"updated,omitempty"`
	// Action is the button to offer: "Connect", "Reconnect" or "".
	Action string `json:"action,omitempty"`
}

// LastSync summarizes the last session.
type LastSync struct {
	Started    time.Time `json:"started"`
	Outcome    string    `json:"outcome"`
	Detail     string    `json:"detail,omitempty"`
	Changes    int       `json:"changes"`
	Issues     int       `json:"issues"`
	DurationMS int64     `json:"durationMs"`
	Running    bool      `json:"running"`
}

// SessionView is one session's result with its counts per object and
// direction.
type SessionView struct {
	Started    time.Time   `json:"started"`
	Reason     string      `json:"reason,omitempty"`
	Outcome    string      `json:"outcome"`
	Detail     string      `json:"detail,omitempty"`
	Issues     int         `json:"issues"`
	DurationMS int64       `json:"durationMs"`
	Counts     []CountView `json:"counts"`
}

// CountView is how many records of one kind moved in one direction by one
// operation.
type CountView struct {
	Kind      string `json:"kind"`
	Direction string `json:"direction"`
	Op        string `json:"op"`
	N         int    `json:"n"`
}

// IssueView is one open issue: which item, where, why, since when.
type IssueView struct {
	Kind      string    `json:"kind"`
	Side      string    `json:"side"`
	RecordID  string    `json:"recordId"`
	Name      string    `json:"name"`
	Code      string    `json:"code"`
	Reason    string    `json:"reason"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
	Attempts  int64     `json:"attempts"`
	// Confirmable marks a guard's issue whose held-back removals the user
	// may confirm; Confirmed is when they did (the next sync applies them).
	Confirmable bool       `json:"confirmable"`
	Confirmed   *time.Time `json:"confirmed,omitempty"`
}

// sessionsShown is how many session results the overview lists.
const sessionsShown = 5

func (h *Handler) status(ctx context.Context, user string) (Status, error) {
	st := Status{User: user, Connections: []ConnectionView{}, Sessions: []SessionView{}}
	prof, err := h.d.Accounts.Profile(ctx, user)
	switch {
	case err == nil:
		st.Email = prof.Email
	case errors.Is(err, account.ErrNotFound):
	default:
		return Status{}, err
	}
	conns, err := h.d.Connections.List(ctx, user)
	if err != nil {
		return Status{}, fmt.Errorf("listing connections: %w", err)
	}
	// One connection per side, the CRM's first, named as the connectors say.
	for _, sc := range []side.Connector{h.d.CRM, h.d.Mailbox} {
		if sc.Provider == "" {
			continue
		}
		p := connection.Provider(sc.Provider)
		cv := ConnectionView{Provider: sc.Provider, Label: sc.Name, Status: "not_connected", Action: "Connect"}
		if i := slices.IndexFunc(conns, func(c connection.Connection) bool { return c.Provider == p }); i >= 0 {
			c := conns[i]
			upd := c.Updated
			cv.Status, cv.Reason, cv.Updated, cv.Action = string(c.Status), c.StatusReason, &upd, ""
			if c.Status == connection.NeedsReconnect {
				cv.Action = "Reconnect"
			}
		}
		st.Connections = append(st.Connections, cv)
	}
	entry, err := h.d.Scheduler.Get(ctx, user)
	switch {
	case err == nil:
		st.Enrolled, st.Paused, st.Plan = true, entry.Paused, entry.Plan
		if !entry.Paused && !entry.Next.IsZero() {
			next := entry.Next
			st.NextSync = &next
		}
	case errors.Is(err, tablestore.ErrNotFound):
	default:
		return Status{}, fmt.Errorf("reading schedule: %w", err)
	}
	last, err := session.ReadLastSession(ctx, h.d.Tables, user, h.d.Now())
	if err != nil {
		return Status{}, fmt.Errorf("reading last session: %w", err)
	}
	if !last.Started.IsZero() || last.Running {
		st.LastSync = &LastSync{Started: last.Started, Outcome: last.Outcome, Detail: last.Detail, Changes: last.Changes,
			Issues: last.Issues, DurationMS: last.Duration.Milliseconds(), Running: last.Running}
	}
	state := session.NewState(h.d.Tables, user)
	reports, err := state.Reports(ctx, sessionsShown)
	if err != nil {
		return Status{}, fmt.Errorf("reading session results: %w", err)
	}
	for _, r := range reports {
		st.Sessions = append(st.Sessions, sessionView(r))
	}
	issues, err := state.Issues(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("reading issues: %w", err)
	}
	st.OpenIssues = len(issues)
	return st, nil
}

func sessionView(r session.Report) SessionView {
	sv := SessionView{Started: r.Started, Reason: r.Reason, Outcome: r.Outcome, Detail: r.Detail, Issues: r.Issues, DurationMS: r.Duration.Milliseconds(), Counts: []CountView{}}
	for k, n := range r.Counts {
		parts := strings.SplitN(k, "|", 3)
		for len(parts) < 3 {
			parts = append(parts, "")
		}
		sv.Counts = append(sv.Counts, CountView{Kind: parts[0], Direction: parts[1], Op: parts[2], N: n})
	}
	slices.SortFunc(sv.Counts, func(a, b CountView) int {
		return strings.Compare(a.Kind+"|"+a.Direction+"|"+a.Op, b.Kind+"|"+b.Direction+"|"+b.Op)
	})
	return sv
}

func (h *Handler) issues(ctx context.Context, user string) ([]IssueView, error) {
	issues, err := session.NewState(h.d.Tables, user).Issues(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading issues: %w", err)
	}
	out := []IssueView{}
	for _, i := range issues {
		v := IssueView{Kind: string(i.Kind), Side: string(i.Side), RecordID: i.RecordID, Name: i.Name, Code: i.Code,
			Reason: i.Reason, FirstSeen: i.FirstSeen, LastSeen: i.LastSeen, Attempts: i.Attempts}
		if i.Code == string(reconcile.GuardTripped) && i.RecordID == "" {
			v.Confirmable = i.Confirmed.IsZero()
			if !i.Confirmed.IsZero() {
				c := i.Confirmed
				v.Confirmed = &c
			}
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b IssueView) int { return b.LastSeen.Compare(a.LastSeen) })
	return out, nil
}

// Member is one user of an org in the admin list.
type Member struct {
	account.Profile
	Paused     bool   `json:"paused"`
	Enrolled   bool   `json:"enrolled"`
	Connected  int    `json:"connected"`
	Reconnect  int    `json:"needsReconnect"`
	LastResult string `json:"lastResult,omitempty"`
	OpenIssues int    `json:"openIssues"`
	// LastResultText is LastResult in words, for the page.
	LastResultText string `json:"-"`
}

func (h *Handler) members(ctx context.Context, org string) ([]Member, error) {
	profs, err := h.d.Accounts.Members(ctx, org)
	if err != nil {
		return nil, err
	}
	out := []Member{}
	for _, p := range profs {
		st, err := h.status(ctx, p.User)
		if err != nil {
			return nil, err
		}
		m := Member{Profile: p, Paused: st.Paused, Enrolled: st.Enrolled, OpenIssues: st.OpenIssues}
		for _, c := range st.Connections {
			switch c.Status {
			case string(connection.Connected):
				m.Connected++
			case string(connection.NeedsReconnect):
				m.Reconnect++
			}
		}
		if st.LastSync != nil {
			m.LastResult = st.LastSync.Outcome
			m.LastResultText = h.names.outcomePhrase(st.LastSync.Outcome, st.LastSync.Issues)
			if st.LastSync.Running {
				m.LastResultText = "running now"
			}
		}
		out = append(out, m)
	}
	return out, nil
}
