package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Sides are one user's opened CRM and mailbox.
type Sides struct {
	CRM     CRM
	Mailbox Mailbox
}

// Opener opens a user's sides with the user's own credentials. A revoked or
// expired credential is a fault.Reconnect error.
type Opener interface {
	Open(ctx context.Context, user string) (Sides, error)
}

// CustomOpener is an optional Opener ability: opening sides that carry the
// user's custom field mappings (UserSettings.Custom).
type CustomOpener interface {
	OpenCustom(ctx context.Context, user string, custom map[item.Kind][]item.CustomField) (Sides, error)
}

// FieldChecker is an optional CRM ability: checking the custom fields of a
// kind against the CRM's schema before a session reads it. It takes out of
// the side the fields that cannot sync and returns why, by canonical name.
type FieldChecker interface {
	CheckFields(ctx context.Context, kind item.Kind) (map[string]string, error)
}

// CallCounter is an optional side ability: the number of API calls made so far.
type CallCounter interface {
	Calls() int64
}

// UserSettings is what a session needs to know about its user.
type UserSettings struct {
	// Policies per kind; a kind absent from the map uses the defaults.
	Policies map[item.Kind]reconcile.Policy
	// ContactListView scopes CRM contacts to a list view ("" = owned contacts).
	ContactListView string
	// PastDays and FutureDays bound the event and task windows (defaults 14 / 28).
	PastDays, FutureDays int
	// FingerprintKey is the user's key for keyed field fingerprints.
	FingerprintKey []byte
	// MaxRecords caps linked records per kind by the user's plan (0 = no cap).
	MaxRecords int
	// Custom are the user's custom field mappings per kind; their canonical
	// names are among the kind's policy fields.
	Custom map[item.Kind][]item.CustomField
	// Calendars are the mailbox calendars events sync from (ids; none = the
	// default calendar).
	Calendars []string
	Email     EmailSettings
}

// EmailSettings control e-mail sharing.
type EmailSettings struct {
	Enabled bool
	// CreateLeads turns unknown external addresses into Leads.
	CreateLeads bool
	// OwnAddress is the user's own address; OwnDomains are never made Leads.
	OwnAddress string
	OwnDomains []string
	// SkipFreeMail keeps free-mail addresses (gmail.com…) from becoming Leads.
	SkipFreeMail bool
	// ShareCategory marks messages to share ("" = "Salesforce").
	ShareCategory string
	// Folder is the share folder ("" = "Salesforce Emails").
	Folder string
}

// SettingsSource loads a user's settings.
type SettingsSource interface {
	UserSettings(ctx context.Context, user string) (UserSettings, error)
}

// Runner runs sessions. Its fields are its dependencies; set them all.
type Runner struct {
	Store    tablestore.Store
	Opener   Opener
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
	sides    Sides
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
	if co, ok := s.Opener.(CustomOpener); ok {
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
	pf, ok := s.sides.CRM.(Prefetcher)
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
	if c, ok := s.sides.CRM.(CallCounter); ok {
		out[crmCalls] = c.Calls()
	}
	if c, ok := s.sides.Mailbox.(CallCounter); ok {
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

// scopes returns the CRM and mailbox scopes of kind at the session's time.
func (s *run) scopes(kind item.Kind, pol reconcile.Policy) (crm, mbx item.Scope) {
	past, future := s.settings.PastDays, s.settings.FutureDays
	if past == 0 {
		past = 14
	}
	if future == 0 {
		future = 28
	}
	day := s.now.UTC().Truncate(24 * time.Hour)
	sc := item.Scope{Kind: kind, ShareCategory: pol.ShareCategory}
	switch kind {
	case item.Contact:
		sc.ListView = s.settings.ContactListView
	case item.Task:
		sc.From = day.AddDate(0, 0, -past)
	case item.Event:
		sc.From, sc.To = day.AddDate(0, 0, -past), day.AddDate(0, 0, future)
	}
	mbx = sc
	if kind == item.Event {
		mbx.Calendars = slices.Clone(s.settings.Calendars)
	}
	return sc, mbx
}

func (s *run) syncKind(ctx context.Context, kind item.Kind, cursors Cursors) error {
	pol := s.settings.Policies[kind].WithDefaults(kind)
	crmScope, mbxScope := s.scopes(kind, pol)
	crmCh, err := s.sides.CRM.Changes(ctx, crmScope, cursors.Old[reconcile.CRM])
	if err != nil {
		return fmt.Errorf("%s changes in the CRM: %w", kind, err)
	}
	mbxCh, err := s.sides.Mailbox.Changes(ctx, mbxScope, cursors.Old[reconcile.Mailbox])
	if err != nil {
		return fmt.Errorf("%s changes in the mailbox: %w", kind, err)
	}
	crmCh.Kind, mbxCh.Kind = kind, kind
	s.noteRead(ctx, kind, crmCh, mbxCh)
	s.problems(kind, reconcile.CRM, crmCh.Problems)
	s.problems(kind, reconcile.Mailbox, mbxCh.Problems)
	links, ok := s.links[kind]
	if delete(s.links, kind); !ok && !idleKind(crmCh, mbxCh) {
		if links, err = s.st.Links(ctx, kind); err != nil {
			return err
		}
	}
	out, err := reconcile.Plan(reconcile.Input{
		Kind: kind, Now: s.now, Policy: pol, Key: s.settings.FingerprintKey,
		Links: links, CRM: crmCh, Mailbox: mbxCh, Confirmed: s.confirmed[kind],
	})
	if err != nil {
		return fault.Wrap(fault.Permanent, err)
	}
	s.capCreates(&out, len(links))
	s.notePlan(ctx, kind, out)
	for _, c := range out.Conflicts {
		s.log.Info("conflict settled", "kind", kind, "field", c.Field, "winner", c.Winner, "rule", c.Rule)
	}
	s.rep.Conflicts += len(out.Conflicts)
	for _, is := range out.Issues {
		s.issues = append(s.issues, Issue{Kind: kind, Side: is.Side, RecordID: is.RecordID, Name: is.Name, Code: string(is.Code), Reason: is.Message})
	}
	retry, err := s.apply(ctx, kind, out.Actions)
	if err != nil {
		return err
	}
	if out.Guard.Tripped == "" || out.Guard.Overridden {
		// The side recovered, or the confirmed removals went through (those
		// that failed are issues of their own): the guard issue is settled,
		// and a confirmation on it is used up with it. Left-out items are
		// judged here too, never on a held plan, which may drop creates.
		s.cleared = append(s.cleared, guardKey(kind))
		s.settleLeftOut(kind, map[reconcile.Side]bool{reconcile.CRM: crmCh.Full, reconcile.Mailbox: mbxCh.Full})
	}
	if retry || (out.Guard.Tripped != "" && !out.Guard.Overridden) {
		// Some records failed for a temporary reason, or a guard held
		// deletions back: keep the old cursors so the next session sees those
		// changes again. Everything that did apply is linked and will be
		// recognised as already in sync.
		if retry && len(s.reread[kind]) > 0 {
			// The stored cursor is past the left-out items this full read
			// tried to create: only another full read retries them.
			return s.st.ForgetCursors(ctx, kind, s.reread[kind])
		}
		return nil
	}
	quiet := !crmCh.Full && !mbxCh.Full && len(out.Actions) == 0 &&
		len(crmCh.Records)+len(crmCh.Removed)+len(mbxCh.Records)+len(mbxCh.Removed) == 0
	return s.st.SaveCursors(ctx, kind, cursors, map[reconcile.Side]string{reconcile.CRM: crmCh.Cursor, reconcile.Mailbox: mbxCh.Cursor}, quiet, s.now)
}

// capCreates enforces the plan's record cap: creates beyond it are dropped
// and each becomes an issue saying so. The cursors move on all the same; the
// issue is what brings a left-out item back (see rereadLeftOut).
func (s *run) capCreates(out *reconcile.Output, linked int) {
	limit := s.settings.MaxRecords
	if limit == 0 {
		return
	}
	room := limit - linked
	kept := out.Actions[:0]
	for _, a := range out.Actions {
		if a.Op == reconcile.CreateCRM || a.Op == reconcile.CreateMailbox {
			if room <= 0 {
				side, id := sourceOf(a)
				s.issues = append(s.issues, Issue{Kind: out.Kind, Side: side, RecordID: id, Name: a.Record.Name(), Code: planLimit,
					Reason: fmt.Sprintf("your plan syncs up to %d records of this kind; this one was left out and syncs once there is room (a larger plan, or fewer synced records)", limit)})
				continue
			}
			room--
		}
		kept = append(kept, a)
	}
	out.Actions = kept
}

// planLimit is the issue code of an item the plan's record cap left out.
const planLimit = "plan-limit"

// leftOut indexes the open plan-limit issues by kind and source side.
func leftOut(open []Issue) map[item.Kind]map[reconcile.Side][]string {
	out := map[item.Kind]map[reconcile.Side][]string{}
	for _, is := range open {
		if is.Code != planLimit {
			continue
		}
		if out[is.Kind] == nil {
			out[is.Kind] = map[reconcile.Side][]string{}
		}
		out[is.Kind][is.Side] = append(out[is.Kind][is.Side], issueKey(is.Kind, is.Side, is.RecordID))
	}
	return out
}

// rereadLeftOut makes the kind's sync read a side in full when items of it
// were left out under the plan's cap and there is room now (the plan grew or
// synced records went away): the change feed has moved past them, so only a
// full listing plans their creates again. While the cap is still reached the
// feed is read as usual, so a user at the cap pays nothing for it.
func (s *run) rereadLeftOut(ctx context.Context, kind item.Kind, c Cursors) error {
	sides := s.leftOut[kind]
	if len(sides) == 0 {
		return nil
	}
	if limit := s.settings.MaxRecords; limit > 0 {
		links, err := s.st.Links(ctx, kind)
		if err != nil {
			return err
		}
		s.links[kind] = links
		if len(links) >= limit {
			return nil
		}
	}
	for side := range sides {
		c.Old[side] = ""
		s.reread[kind] = append(s.reread[kind], side)
	}
	return nil
}

// settleLeftOut clears, after a full listing of a side, the plan-limit
// issues of its items that this session neither synced nor left out again:
// they were deleted or left the scope meanwhile, and no later session would
// ever plan them to clear their issue.
func (s *run) settleLeftOut(kind item.Kind, full map[reconcile.Side]bool) {
	raised := map[string]bool{}
	for _, is := range s.issues {
		raised[issueKey(is.Kind, is.Side, is.RecordID)] = true
	}
	for side, keys := range s.leftOut[kind] {
		if !full[side] {
			continue
		}
		for _, k := range keys {
			if !raised[k] {
				s.cleared = append(s.cleared, k)
			}
		}
	}
}

// sourceOf names the item an action is about, on the side the user changed.
func sourceOf(a reconcile.Action) (reconcile.Side, string) {
	switch a.Op {
	case reconcile.CreateCRM, reconcile.UpdateCRM, reconcile.DeleteCRM:
		if a.Link.MailboxID != "" {
			return reconcile.Mailbox, a.Link.MailboxID
		}
		return reconcile.CRM, a.Link.CRMID
	default:
		if a.Link.CRMID != "" {
			return reconcile.CRM, a.Link.CRMID
		}
		return reconcile.Mailbox, a.Link.MailboxID
	}
}

func (s *run) side(target reconcile.Side) Side {
	if target == reconcile.CRM {
		return s.sides.CRM
	}
	return s.sides.Mailbox
}

func direction(target reconcile.Side) string {
	if target == reconcile.CRM {
		return "to-crm"
	}
	return "to-mailbox"
}

// apply runs the plan's actions: consecutive actions of one operation go to
// their side in one batched call, and each success commits its link. It
// reports retry=true when some record failed for a temporary reason.
func (s *run) apply(ctx context.Context, kind item.Kind, actions []reconcile.Action) (retry bool, err error) {
	created := map[string]string{} // marker → new ID, for exceptions of new series
	for start := 0; start < len(actions); {
		end := start + 1
		for end < len(actions) && actions[end].Op == actions[start].Op && (actions[end].SeriesMarker == "") == (actions[start].SeriesMarker == "") {
			end++
		}
		r, err := s.applyRun(ctx, kind, actions[start:end], created)
		if err != nil {
			return retry, err
		}
		retry = retry || r
		start = end
	}
	return retry, nil
}

func linkKeys(kind item.Kind, l reconcile.Link) []string {
	var out []string
	if l.CRMID != "" {
		out = append(out, string(kind)+"|crm|"+l.CRMID)
	}
	if l.MailboxID != "" {
		out = append(out, string(kind)+"|mailbox|"+l.MailboxID)
	}
	return out
}

func (s *run) linkFailed(kind item.Kind, l reconcile.Link) bool {
	for _, k := range linkKeys(kind, l) {
		if s.failed[k] {
			return true
		}
	}
	return false
}

func (s *run) applyRun(ctx context.Context, kind item.Kind, acts []reconcile.Action, created map[string]string) (retry bool, err error) {
	// Skip the actions of links an earlier action failed on in this session.
	kept := make([]reconcile.Action, 0, len(acts))
	for _, a := range acts {
		if !s.linkFailed(kind, a.Link) {
			kept = append(kept, a)
		}
	}
	if acts = kept; len(acts) == 0 {
		return false, nil
	}
	op := acts[0].Op
	var links []LinkChange
	switch op {
	case reconcile.SaveLink, reconcile.Detach:
		for _, a := range acts {
			links = append(links, LinkChange{Link: a.Link})
			s.done(ctx, kind, a)
		}
		return false, s.commit(ctx, kind, links)
	case reconcile.DropLink:
		for _, a := range acts {
			links = append(links, LinkChange{Link: a.Link, Drop: true})
			s.done(ctx, kind, a)
		}
		return false, s.commit(ctx, kind, links)
	}
	target := acts[0].Target()
	side := s.side(target)
	var results []Result
	switch op {
	case reconcile.DeleteCRM, reconcile.DeleteMailbox:
		ids := make([]string, len(acts))
		for i, a := range acts {
			ids[i] = a.Record.ID
		}
		results, err = side.Delete(ctx, kind, ids)
	case reconcile.UpdateCRM, reconcile.UpdateMailbox:
		recs := make([]item.Record, len(acts))
		for i, a := range acts {
			recs[i] = a.Record
		}
		results, err = side.Update(ctx, kind, recs)
	case reconcile.CreateCRM, reconcile.CreateMailbox:
		results, err = s.create(ctx, kind, target, side, acts, created)
	default:
		return false, fmt.Errorf("session: unknown planned operation %q", op)
	}
	if err != nil {
		return false, fmt.Errorf("%s %s: %w", kind, op, err)
	}
	if len(results) != len(acts) {
		return false, fmt.Errorf("session: %s %s returned %d results for %d records", kind, op, len(results), len(acts))
	}
	var settled []string
	for i, a := range acts {
		res := results[i]
		if res.Err != nil {
			if c := fault.ClassOf(res.Err); c == fault.Temporary || c == fault.Throttled {
				retry = true
			}
			if fault.Is(res.Err, fault.Gone) && (op == reconcile.UpdateCRM || op == reconcile.UpdateMailbox) {
				// Deleted meanwhile, perhaps outside the sync's view: drop the
				// link so the pair is planned afresh from what each side shows.
				links = append(links, LinkChange{Link: a.Link, Drop: true})
				continue
			}
			for _, k := range linkKeys(kind, a.Link) {
				s.failed[k] = true
			}
			s.fail(ctx, kind, a, res.Err)
			continue
		}
		l := a.Link
		switch op {
		case reconcile.CreateCRM:
			l.CRMID = res.ID
			created[a.Marker] = res.ID
			settled = append(settled, a.Marker)
		case reconcile.CreateMailbox:
			l.MailboxID = res.ID
			created[a.Marker] = res.ID
			settled = append(settled, a.Marker)
		}
		links = append(links, LinkChange{Link: l, Drop: a.DropsLink()})
		s.done(ctx, kind, a)
	}
	if err := s.commit(ctx, kind, links); err != nil {
		return retry, err
	}
	if len(settled) > 0 {
		if err := s.st.ClearIntents(ctx, settled); err != nil {
			return retry, err
		}
		for _, m := range settled {
			delete(s.pending, m)
		}
	}
	return retry, nil
}

// commit saves link changes, then clears the issues of the items they synced.
func (s *run) commit(ctx context.Context, kind item.Kind, links []LinkChange) error {
	if err := s.st.CommitLinks(ctx, kind, links); err != nil {
		return err
	}
	s.clearSynced(ctx)
	return nil
}

// create records intents, adopts records an interrupted session already
// created, and creates the rest.
func (s *run) create(ctx context.Context, kind item.Kind, target reconcile.Side, side Side, acts []reconcile.Action, created map[string]string) ([]Result, error) {
	results := make([]Result, len(acts))
	// Adopt first: a pending intent with this marker means the create may
	// have happened before a crash.
	var probe []item.Intent
	for _, a := range acts {
		if in, ok := s.pending[a.Marker]; ok {
			probe = append(probe, item.Intent{Marker: a.Marker, Since: in.Since, Record: a.Record})
		}
	}
	found := map[string]string{}
	if len(probe) > 0 {
		var err error
		if found, err = side.FindCreated(ctx, kind, probe); err != nil {
			return nil, err
		}
	}
	var intents []Intent
	var sendIdx []int
	for i, a := range acts {
		if id, ok := found[a.Marker]; ok {
			results[i] = Result{ID: id}
			s.rep.Counts[string(kind)+"|"+direction(target)+"|adopt"]++
			continue
		}
		if a.SeriesMarker != "" {
			id, ok := created[a.SeriesMarker]
			if !ok {
				results[i] = Result{Err: fault.New(fault.Permanent, "series-not-created", "the recurring series of this occurrence could not be created")}
				continue
			}
			a.Record.Fields = cloneFields(a.Record.Fields)
			a.Record.Fields[item.SeriesID] = id
			acts[i] = a
		}
		since := s.now
		if in, ok := s.pending[a.Marker]; ok {
			since = in.Since
		}
		intents = append(intents, Intent{Marker: a.Marker, Kind: kind, Target: target, Since: since, Link: a.Link})
		sendIdx = append(sendIdx, i)
	}
	if len(sendIdx) == 0 {
		return results, nil
	}
	if err := s.st.RecordIntents(ctx, intents); err != nil {
		return nil, err
	}
	recs := make([]item.Record, len(sendIdx))
	markers := make([]string, len(sendIdx))
	for j, i := range sendIdx {
		recs[j], markers[j] = acts[i].Record, acts[i].Marker
	}
	sent, err := side.Create(ctx, kind, recs, markers)
	if err != nil {
		return nil, err
	}
	if len(sent) != len(sendIdx) {
		return nil, fmt.Errorf("session: create returned %d results for %d records", len(sent), len(sendIdx))
	}
	for j, i := range sendIdx {
		results[i] = sent[j]
	}
	return results, nil
}

func cloneFields(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func opName(op reconcile.Op) string {
	switch op {
	case reconcile.CreateCRM, reconcile.CreateMailbox:
		return "create"
	case reconcile.UpdateCRM, reconcile.UpdateMailbox:
		return "update"
	case reconcile.DeleteCRM, reconcile.DeleteMailbox:
		return "delete"
	case reconcile.Detach, reconcile.DropLink:
		return "unlink"
	}
	return "link"
}

// done counts a successful action and clears any open issue of its item.
func (s *run) done(ctx context.Context, kind item.Kind, a reconcile.Action) {
	s.noteApplied(ctx, true)
	if t := a.Target(); t != "" {
		s.rep.Counts[string(kind)+"|"+direction(t)+"|"+opName(a.Op)]++
	} else if a.Op != reconcile.SaveLink {
		s.rep.Counts[string(kind)+"|link|"+opName(a.Op)]++
	}
	for _, side := range []reconcile.Side{reconcile.CRM, reconcile.Mailbox} {
		id := a.Link.CRMID
		if side == reconcile.Mailbox {
			id = a.Link.MailboxID
		}
		if id == "" && a.Record.ID != "" && a.Target() == side {
			id = a.Record.ID
		}
		if id == "" {
			continue
		}
		k := issueKey(kind, side, id)
		if s.openIssues[k] {
			s.cleared = append(s.cleared, k)
			if side == reconcile.Mailbox {
				if err := s.sides.Mailbox.FlagIssue(ctx, kind, id, false); err != nil {
					s.log.Warn("sync error category not cleared", "err", err)
				}
			}
		}
	}
}

// problems turns the records a side could not read into issues naming them.
func (s *run) problems(kind item.Kind, side reconcile.Side, ps []item.Problem) {
	for _, p := range ps {
		name := p.Name
		if name == "" {
			name = p.ID
		}
		s.issues = append(s.issues, Issue{Kind: kind, Side: side, RecordID: p.ID, Name: name, Code: p.Code, Reason: p.Reason})
		s.log.Warn("item unreadable", "kind", kind, "side", side, "code", p.Code)
	}
}

// fail records a failed action as an issue naming the item, flagging the
// mailbox item with the "Sync Error" category where there is one.
func (s *run) fail(ctx context.Context, kind item.Kind, a reconcile.Action, err error) {
	s.noteApplied(ctx, false)
	side, id := sourceOf(a)
	name := a.Record.Name()
	if name == "" {
		name = id
	}
	code := "rejected"
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Code != "" {
		code = fe.Code
	}
	s.issues = append(s.issues, Issue{Kind: kind, Side: side, RecordID: id, Name: name, Code: code,
		Reason: fmt.Sprintf("could not %s in the %s: %s", opName(a.Op), a.Target(), Explain(err))})
	s.log.Warn("item failed", "kind", kind, "op", a.Op, "class", fault.ClassOf(err).String(), "code", code)
	if side == reconcile.Mailbox && id != "" {
		if ferr := s.sides.Mailbox.FlagIssue(ctx, kind, id, true); ferr != nil {
			s.log.Warn("sync error category not set", "err", ferr)
		}
	}
}

// settleLeftoverIntents resolves intents that no create of this session took
// up (their source changed or vanished): a record that was created is linked,
// and every such intent is cleared.
func (s *run) settleLeftoverIntents(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	type group struct {
		kind   item.Kind
		target reconcile.Side
	}
	groups := map[group][]Intent{}
	for _, in := range s.pending {
		g := group{in.Kind, in.Target}
		groups[g] = append(groups[g], in)
	}
	var markers []string
	for g, ins := range groups {
		if g.kind == item.SharedEmail {
			continue // settled by shareEmails when its message comes round again
		}
		probe := make([]item.Intent, len(ins))
		for i, in := range ins {
			probe[i] = item.Intent{Marker: in.Marker, Since: in.Since}
		}
		found, err := s.side(g.target).FindCreated(ctx, g.kind, probe)
		if err != nil {
			return err
		}
		var links []LinkChange
		for _, in := range ins {
			if id, ok := found[in.Marker]; ok {
				l := in.Link
				if g.target == reconcile.CRM {
					l.CRMID = id
				} else {
					l.MailboxID = id
				}
				links = append(links, LinkChange{Link: l})
			}
			markers = append(markers, in.Marker)
		}
		if err := s.st.CommitLinks(ctx, g.kind, links); err != nil {
			return err
		}
	}
	return s.st.ClearIntents(ctx, markers)
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
