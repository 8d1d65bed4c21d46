package session

import (
	"context"
	"time"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/side"
)

// Observer is told how a session goes, for the dashboard's history, live
// progress and conflict log (shared/insight implements it). Everything it
// receives is identifiers, counts and times: never a field value or a name.
// Its methods must not fail the session: an implementation logs its own
// errors and returns.
type Observer interface {
	// Progress reports what a running session has read, planned and written
	// so far. The runner calls it at most once per ProgressEvery (and at the
	// start and the end), so an implementation may write every call.
	Progress(ctx context.Context, p Progress)
	// Conflict reports one field conflict the merge settled.
	Conflict(ctx context.Context, c ConflictNote)
	// Ended reports a finished session (not one skipped because another
	// held the lease), after its lease was released.
	Ended(ctx context.Context, e Ended)
}

// ProgressEvery is how often a running session reports its progress.
const ProgressEvery = 3 * time.Second

// Progress is a running session's counts so far.
type Progress struct {
	User, SessionID string
	Started, At     time.Time
	// Kind is the object being synced now ("" before the first and after
	// the last).
	Kind item.Kind
	// Read counts records and removals the sides reported; Planned the
	// actions planned; Written those applied; Failed those that failed.
	Read, Planned, Written, Failed int
	// Done is set on the session's last report.
	Done bool
}

// ConflictNote is one field conflict the merge settled: the item's ids on
// both sides (never its name), the field, the side that won and the rule.
type ConflictNote struct {
	User, SessionID string
	Kind            item.Kind
	CRMID           string
	MailboxID       string
	Field           string
	Winner          reconcile.Side
	Rule            string
	At              time.Time
}

// Ended is a finished session's report with the user's CRM calls so far on
// the report's UTC day (every session's, idle ones too: the lease row's
// hourly tally) and the org's daily CRM API limit as the CRM last reported
// it (0 when unknown).
type Ended struct {
	User          string
	Report        Report
	CRMCallsToday int
	CRMLimit      int
}

// tracker is a session's progress counts and when they were last reported.
type tracker struct {
	p    Progress
	sent time.Time
}

// observe reports progress when ProgressEvery has passed since the last
// report, or at once when force is set.
func (s *run) observe(ctx context.Context, force bool) {
	if s.Observer == nil {
		return
	}
	now := s.Now()
	if s.track == nil {
		s.track = &tracker{p: Progress{User: s.user, SessionID: s.rep.SessionID, Started: s.rep.Started}}
		force = true
	}
	if !force && now.Sub(s.track.sent) < ProgressEvery {
		return
	}
	s.track.sent = now
	p := s.track.p
	p.At = now
	s.Observer.Progress(ctx, p)
}

// noteRead counts what the sides reported for kind.
func (s *run) noteRead(ctx context.Context, kind item.Kind, chs ...item.Changes) {
	if s.Observer == nil {
		return
	}
	s.observe(ctx, false)
	s.track.p.Kind = kind
	for _, ch := range chs {
		s.track.p.Read += len(ch.Records) + len(ch.Removed)
	}
	s.observe(ctx, false)
}

// notePlan counts kind's planned actions and reports its conflicts.
func (s *run) notePlan(ctx context.Context, kind item.Kind, out reconcile.Output) {
	if s.Observer == nil {
		return
	}
	s.observe(ctx, false)
	s.track.p.Planned += len(out.Actions)
	for _, c := range out.Conflicts {
		s.Observer.Conflict(ctx, ConflictNote{User: s.user, SessionID: s.rep.SessionID, Kind: kind, CRMID: c.CRMID, MailboxID: c.MailboxID,
			Field: c.Field, Winner: c.Winner, Rule: c.Rule, At: s.now})
	}
	s.observe(ctx, false)
}

// noteApplied counts one applied (ok) or failed action.
func (s *run) noteApplied(ctx context.Context, ok bool) {
	if s.Observer == nil {
		return
	}
	s.observe(ctx, false)
	if ok {
		s.track.p.Written++
	} else {
		s.track.p.Failed++
	}
	s.observe(ctx, false)
}

// ended reports the session's last progress and its end.
func (r *Runner) ended(ctx context.Context, s *run, lease *Lease, rep Report) {
	if r.Observer == nil {
		return
	}
	s.observe(ctx, false)
	s.track.p.Done, s.track.p.Kind = true, ""
	s.observe(ctx, true)
	e := Ended{User: s.user, Report: rep}
	day := rep.Started.UTC().Truncate(24 * time.Hour)
	for hour, calls := range lease.crm {
		if !time.Unix(hour, 0).Before(day) {
			e.CRMCallsToday += int(calls)
		}
	}
	if s.sides.CRM != nil {
		if u, ok := s.sides.CRM.(side.UsageReporter); ok {
			_, e.CRMLimit = u.Usage()
		}
	}
	r.Observer.Ended(ctx, e)
}

// Observers tells each of several observers in turn (the dashboard's
// insight store, the notifier).
type Observers []Observer

// Progress tells each observer.
func (o Observers) Progress(ctx context.Context, p Progress) {
	for _, x := range o {
		x.Progress(ctx, p)
	}
}

// Conflict tells each observer.
func (o Observers) Conflict(ctx context.Context, c ConflictNote) {
	for _, x := range o {
		x.Conflict(ctx, c)
	}
}

// Ended tells each observer.
func (o Observers) Ended(ctx context.Context, e Ended) {
	for _, x := range o {
		x.Ended(ctx, e)
	}
}
