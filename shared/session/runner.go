package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Runner runs sessions. Its fields are its dependencies; set them all.
type Runner struct {
	Store    tablestore.Store
	Opener   side.Opener
	Settings SettingsSource
	Log      *slog.Logger
	Now      func() time.Time
	// LeaseTTL bounds how long a crashed session blocks the next (default
	// DefaultLeaseTTL).
	LeaseTTL time.Duration
	// OrgKeys, when set, keys the fingerprints of shared e-mails across an
	// organisation, so colleagues' copies of one e-mail make one CRM Task
	// (nil = each user's own key: copies are found within a mailbox).
	OrgKeys OrgKeySource
	// Observer, when set, is told the session's progress, conflicts and end
	// (see observer.go).
	Observer Observer
	// TallyWindow is how far back the lease row keeps the user's CRM calls:
	// the CRM connector's budget window (side.Connector.Budget.Window;
	// DefaultTallyWindow when 0).
	TallyWindow time.Duration
}

// ErrRetryLater wraps errors after which the whole session should be retried
// by the queue (temporary trouble on a side or in storage).
var ErrRetryLater = errors.New("session: retry later")

// Run runs one session for user. It returns nil when the session ended in a
// way that a retry would not change (done, partly failed items recorded as
// issues, quota reached, needs reconnect, another session running) and an
// error wrapping ErrRetryLater when the queue should deliver the request again.
func (r *Runner) Run(ctx context.Context, user, reason string) (Report, error) {
	now := r.Now()
	rep := Report{SessionID: newID(), Reason: reason, Started: now, Counts: map[string]int{}, Calls: map[string]int64{}}
	log := r.Log.With("user", user, "session", rep.SessionID)
	ttl := r.LeaseTTL
	if ttl == 0 {
		ttl = DefaultLeaseTTL
	}
	lease, err := AcquireLease(ctx, r.Store, user, rep.SessionID, ttl, now)
	if errors.Is(err, ErrLeaseHeld) {
		rep.Outcome, rep.Detail = "busy", "another session of this user is running"
		log.Info("session skipped", "outcome", rep.Outcome)
		return rep, nil
	}
	if err != nil {
		return rep, fmt.Errorf("%w: %v", ErrRetryLater, err)
	}
	lease.TallyOver(r.TallyWindow)
	st := NewState(r.Store, user)
	run := &run{Runner: r, st: st, rep: &rep, log: log, user: user, now: now}
	// The lease is renewed while the session runs, however long it takes;
	// if it is lost all the same, the session's context ends.
	held, stop := lease.Hold(ctx, ttl, r.Now)
	run.observe(held, true) // progress shows at once, before the first read
	runErr := run.session(held)
	stop()
	if runErr != nil && errors.Is(context.Cause(held), ErrLeaseLost) && ctx.Err() == nil {
		log.Warn("lease lost during the session; stopped it", "err", runErr)
		runErr = fmt.Errorf("%w: %w", ErrLeaseLost, runErr)
	}
	rep.Duration = r.Now().Sub(now)
	rep.TableWrites = st.Writes() + 2 // acquiring and releasing the lease
	outcome(&rep, runErr)
	if rep.Outcome != "ok" || len(rep.Counts) > 0 || rep.Issues > 0 {
		// A session that changed nothing writes nothing but its lease.
		if err := st.SaveReport(ctx, rep); err != nil {
			log.Warn("session report not saved", "err", err)
		}
	}
	if err := lease.Release(ctx, rep); err != nil {
		log.Warn("lease not released", "err", err)
	}
	r.ended(ctx, run, lease, rep)
	log.Info("session done", "outcome", rep.Outcome, "changes", total(rep.Counts), "issues", rep.Issues,
		"conflicts", rep.Conflicts, "ms", rep.Duration.Milliseconds())
	if rep.Outcome == "retry" {
		return rep, fmt.Errorf("%w: %v", ErrRetryLater, runErr)
	}
	return rep, nil
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// outcome maps how a session ended to its report, in one place.
func outcome(rep *Report, err error) {
	switch {
	case err == nil && rep.Issues > 0:
		rep.Outcome = "partial"
	case err == nil:
		rep.Outcome = "ok"
	case fault.Is(err, fault.Quota):
		rep.Outcome, rep.Detail = "quota", "CRM API limit reached; the next session continues"
	case fault.Is(err, fault.Reconnect):
		rep.Outcome, rep.Detail = "reconnect", "a connection needs to be reconnected"
	case fault.Is(err, fault.Permanent):
		rep.Outcome, rep.Detail = "error", err.Error()
	default:
		rep.Outcome, rep.Detail = "retry", err.Error()
	}
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// run is one session's working state.
type run struct {
	*Runner
	st       *State
	rep      *Report
	log      *slog.Logger
	user     string
	now      time.Time
	settings UserSettings
	sides    side.Sides
	// openIssues are the user's issue keys open at the start; cleared when
	// their item syncs.
	openIssues map[string]bool
	// confirmed are the kinds whose held-back removals the user confirmed.
	confirmed map[item.Kind]bool
	// leftOut are the open plan-limit issue keys, by kind and source side.
	leftOut map[item.Kind]map[reconcile.Side][]string
	// links are a kind's links when read before its sync (to size the room
	// under the plan's cap); syncKind takes them instead of reading again.
	links map[item.Kind][]reconcile.Link
	// reread are the sides each kind reads in full for its left-out items.
	reread  map[item.Kind][]reconcile.Side
	cleared []string
	issues  []Issue
	// pending are intents left by an earlier session, by marker.
	pending map[string]Intent
	// failed holds the links (by side and ID) an action failed on in this
	// session: their later actions are skipped, so no link is saved as if the
	// failed change had synced.
	failed map[string]bool
	// track is the progress reported to the Observer.
	track *tracker
}

func (s *run) session(ctx context.Context) error {
	var err error
	if s.settings, err = s.Settings.UserSettings(ctx, s.user); err != nil {
		return err
	}
	if len(s.settings.FingerprintKey) < item.MinKeyBytes {
		return fault.New(fault.Permanent, "settings", "the user's fingerprint key is missing")
	}
	if co, ok := s.Opener.(side.CustomOpener); ok {
		s.sides, err = co.OpenCustom(ctx, s.user, s.settings.Custom)
	} else {
		s.sides, err = s.Opener.Open(ctx, s.user)
	}
	if err != nil {
		return err
	}
	calls0 := s.calls()
	defer func() {
		for side, n := range s.calls() {
			s.rep.Calls[side] = n - calls0[side]
		}
	}()
	open, err := s.st.Issues(ctx)
	if err != nil {
		return err
	}
	s.openIssues = map[string]bool{}
	for _, is := range open {
		s.openIssues[issueKey(is.Kind, is.Side, is.RecordID)] = true
	}
	s.confirmed = confirmedGuards(open)
	s.leftOut, s.links, s.reread = leftOut(open), map[item.Kind][]reconcile.Link{}, map[item.Kind][]reconcile.Side{}
	s.cleared = append(s.cleared, legacyLeadIssues(open)...)
	intents, err := s.st.PendingIntents(ctx)
	if err != nil {
		return err
	}
	s.failed = map[string]bool{}
	s.pending = map[string]Intent{}
	for _, in := range intents {
		s.pending[in.Marker] = in
	}
	defer s.flushIssues(ctx)
	// Each kind's cursors are read once, for the prefetch and the kind's sync.
	cursors := map[item.Kind]Cursors{}
	for _, kind := range item.Kinds {
		if s.settings.Policies[kind].WithDefaults(kind).Direction == reconcile.Off {
			continue
		}
		if err := s.checkFields(ctx, kind); err != nil {
			return err
		}
		c, err := s.st.LoadCursors(ctx, kind)
		if err != nil {
			return err
		}
		if c.readWith(kind, s.settings.Policies[kind].WithDefaults(kind).Fields) {
			s.log.Info("fields added since the last session: reading both sides in full", "kind", kind)
		}
		cursors[kind] = c
		if err := s.rereadLeftOut(ctx, kind, cursors[kind]); err != nil {
			return err
		}
	}
	s.prefetch(ctx, cursors)
	for _, kind := range item.Kinds {
		c, ok := cursors[kind]
		if !ok {
			continue // sync of this kind is off
		}
		if err := s.syncKind(ctx, kind, c); err != nil {
			return err
		}
	}
	if s.settings.Email.Enabled {
		if err := s.shareEmails(ctx); err != nil {
			return err
		}
	}
	return s.settleLeftoverIntents(ctx)
}

// prefetch lets a CRM that can read every kind's change feed in one call do
// so before the kinds are synced one by one.
func (s *run) prefetch(ctx context.Context, loaded map[item.Kind]Cursors) {
	pf, ok := s.sides.CRM.(side.Prefetcher)
	if !ok {
		return
	}
	var scopes []item.Scope
	var cursors []string
	for _, kind := range item.Kinds {
		c, ok := loaded[kind]
		if !ok {
			continue
		}
		crm, _ := s.scopes(kind, s.settings.Policies[kind].WithDefaults(kind))
		scopes, cursors = append(scopes, crm), append(cursors, c.Old[reconcile.CRM])
	}
	if err := pf.Prefetch(ctx, scopes, cursors); err != nil {
		s.log.Info("change feeds not prefetched", "err", err)
	}
}

func (s *run) calls() map[string]int64 {
	out := map[string]int64{}
	if c, ok := s.sides.CRM.(side.CallReporter); ok {
		out[crmCalls] = c.Calls()
	}
	if c, ok := s.sides.Mailbox.(side.CallReporter); ok {
		out["mailbox"] = c.Calls()
	}
	return out
}

func (s *run) flushIssues(ctx context.Context) {
	s.clearSynced(ctx)
	if err := s.st.RaiseIssues(ctx, s.issues, s.now); err != nil {
		s.log.Warn("issues not recorded", "err", err)
	}
	s.rep.Issues = len(s.issues)
}

// clearSynced deletes the open issues of items that synced, right after their
// links are committed: an item in sync is not planned again, so an issue left
// open by a session killed later in its run would stay open for ever.
func (s *run) clearSynced(ctx context.Context) {
	var clear []string
	for _, k := range s.cleared {
		if s.openIssues[k] {
			clear = append(clear, k)
			delete(s.openIssues, k)
		}
	}
	s.cleared = s.cleared[:0]
	if err := s.st.ClearIssues(ctx, clear); err != nil {
		s.log.Warn("issues not cleared", "err", err)
	}
}

// Explain describes an error for an issue the user sees and storage keeps:
// the error's class, the vendor's code and the fields it names — never the
// vendor's message, which can quote a field value ("data value too large: …").
func Explain(err error) string {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return fault.ClassOf(err).String() + " error"
	}
	var b strings.Builder
	switch fe.Class {
	case fault.Permanent:
		b.WriteString("rejected")
	default:
		b.WriteString(fe.Class.String())
	}
	if fe.Code != "" {
		b.WriteString(" (" + fe.Code + ")")
	}
	if len(fe.Fields) > 0 {
		b.WriteString("; fields: " + strings.Join(fe.Fields, ", "))
	}
	return b.String()
}
