package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// LeaseTable holds one lease row per user while a session runs.
const LeaseTable = "leases"

// leaseKey is the RowKey of a user's lease row.
const leaseKey = "lease"

// DefaultLeaseTTL is how long a session's lease lasts without renewal. A
// running session renews it every DefaultLeaseTTL/3 (Hold), however long the
// session takes; a crashed one (its process killed, its host gone) stops
// renewing, and the user's next session takes the lease over at most this
// long after the last renewal. It was 10 minutes, which held up a user's sync
// that long after a crash; a minute is enough margin for three renewals to
// fail (a storage hiccup) before a live session loses its lease.
const DefaultLeaseTTL = time.Minute

// ErrLeaseHeld reports that another session of the same user is running.
var ErrLeaseHeld = errors.New("session: another session of this user holds the lease")

// ErrLeaseLost reports that the lease expired and someone else took it; the
// session must stop writing state at once.
var ErrLeaseLost = errors.New("session: lease lost to another session")

// Lease is a held per-user lease: an ETag-guarded table row that names its
// holder and when it expires. A crashed holder's lease expires by itself.
type Lease struct {
	store   tablestore.Store
	user    string
	holder  string
	etag    string
	expires time.Time
	// lastHeld is when Hold last renewed (or started holding) the lease.
	lastHeld time.Time
	// crm is the user's CRM call tally read from the row at acquiring, kept
	// in every write of the row so that Release needs no read of its own.
	crm hourlyCalls
	// window is how far back the tally keeps hours (DefaultTallyWindow
	// unless TallyOver says otherwise).
	window time.Duration
}

// TallyOver makes Release keep the CRM call tally's hours of the last window
// (the connector's budget window) instead of DefaultTallyWindow.
func (l *Lease) TallyOver(window time.Duration) { l.window = window }

// AcquireLease takes user's lease for ttl on behalf of holder (a session id),
// or returns ErrLeaseHeld while another holder's lease is unexpired.
func AcquireLease(ctx context.Context, store tablestore.Store, user, holder string, ttl time.Duration, now time.Time) (*Lease, error) {
	l := &Lease{store: store, user: user, holder: holder, expires: now.Add(ttl).UTC()}
	cur, err := store.Get(ctx, LeaseTable, user, leaseKey)
	switch {
	case errors.Is(err, tablestore.ErrNotFound):
		l.etag, err = store.Insert(ctx, LeaseTable, l.entity())
		if errors.Is(err, tablestore.ErrExists) {
			return nil, ErrLeaseHeld
		}
	case err != nil:
		return nil, err
	default:
		h, _ := cur.Properties["Holder"].(string)
		exp, _ := cur.Properties["Expires"].(time.Time)
		if h != holder && now.Before(exp) {
			return nil, ErrLeaseHeld
		}
		raw, _ := cur.Properties[crmCallsProp].(string)
		l.crm = parseHourlyCalls(raw)
		l.etag, err = store.Update(ctx, LeaseTable, l.entity(), cur.ETag)
		if errors.Is(err, tablestore.ErrPrecondition) || errors.Is(err, tablestore.ErrNotFound) {
			return nil, ErrLeaseHeld
		}
	}
	if err != nil {
		return nil, fmt.Errorf("session: acquire lease: %w", err)
	}
	return l, nil
}

func (l *Lease) entity() tablestore.Entity {
	props := map[string]any{"Holder": l.holder, "Expires": l.expires}
	if len(l.crm) > 0 {
		props[crmCallsProp] = l.crm.String()
	}
	return tablestore.Entity{PartitionKey: l.user, RowKey: leaseKey, Properties: props}
}

// Renew extends the lease to now+ttl; ErrLeaseLost if someone took it.
func (l *Lease) Renew(ctx context.Context, ttl time.Duration, now time.Time) error {
	l.expires = now.Add(ttl).UTC()
	etag, err := l.store.Update(ctx, LeaseTable, l.entity(), l.etag)
	if errors.Is(err, tablestore.ErrPrecondition) || errors.Is(err, tablestore.ErrNotFound) {
		return ErrLeaseLost
	}
	if err != nil {
		return err
	}
	l.etag = etag
	return nil
}

// Release gives the lease up and leaves in its row a summary of the session
// that held it (when it ran, how it ended), so the dashboard can show the last
// sync without a session that changed nothing writing any other row.
// It also adds the session's CRM calls (rep.Calls) to the user's hourly
// tally, in the hour the session ended, and drops the hours older than a day
// (LeaseCounter reads the tally). Releasing a lost lease is not an error; its
// session's calls then go untallied, since the row is another session's now:
// the budget errs low by one session, which is rare (the session stalled past
// the lease's TTL) and costs no extra read.
func (l *Lease) Release(ctx context.Context, rep Report) error {
	l.crm = l.crm.add(rep.Started.Add(rep.Duration), rep.Calls[crmCalls], windowOr(l.window))
	props := map[string]any{
		"Holder": "", "Expires": rep.Started.UTC(),
		"LastStarted": rep.Started.UTC(), "LastOutcome": rep.Outcome, "LastDetail": rep.Detail,
		"LastDurationMs": rep.Duration.Milliseconds(), "LastChanges": int64(total(rep.Counts)), "LastIssues": int64(rep.Issues),
	}
	if len(l.crm) > 0 {
		props[crmCallsProp] = l.crm.String()
	}
	_, err := l.store.Update(ctx, LeaseTable, tablestore.Entity{PartitionKey: l.user, RowKey: leaseKey, Properties: props}, l.etag)
	if errors.Is(err, tablestore.ErrPrecondition) || errors.Is(err, tablestore.ErrNotFound) {
		return nil
	}
	return err
}

// LastSession is the summary a released lease keeps.
type LastSession struct {
	Started  time.Time
	Outcome  string
	Detail   string
	Duration time.Duration
	Changes  int
	Issues   int
	// Running is true while a session holds the lease.
	Running bool
}

// ReadLastSession returns the summary of user's last session (zero if none).
func ReadLastSession(ctx context.Context, store tablestore.Store, user string, now time.Time) (LastSession, error) {
	e, err := store.Get(ctx, LeaseTable, user, leaseKey)
	if errors.Is(err, tablestore.ErrNotFound) {
		return LastSession{}, nil
	}
	if err != nil {
		return LastSession{}, err
	}
	var ls LastSession
	ls.Started, _ = e.Properties["LastStarted"].(time.Time)
	ls.Outcome, _ = e.Properties["LastOutcome"].(string)
	ls.Detail, _ = e.Properties["LastDetail"].(string)
	ms, _ := e.Properties["LastDurationMs"].(int64)
	ls.Duration = time.Duration(ms) * time.Millisecond
	c, _ := e.Properties["LastChanges"].(int64)
	is, _ := e.Properties["LastIssues"].(int64)
	ls.Changes, ls.Issues = int(c), int(is)
	holder, _ := e.Properties["Holder"].(string)
	exp, _ := e.Properties["Expires"].(time.Time)
	ls.Running = holder != "" && now.Before(exp)
	return ls, nil
}

// Hold keeps the lease while a session runs longer than its TTL: it renews
// the lease every ttl/3 until stop is called, and cancels the returned
// context if the lease is lost (a renewal failed with ErrLeaseLost, or
// renewals kept failing until the lease ran out), so the session stops
// writing state that another session now owns. now gives each renewal's
// time. stop waits for the renewing goroutine, so the lease's ETag is
// settled before Release uses it.
func (l *Lease) Hold(ctx context.Context, ttl time.Duration, now func() time.Time) (held context.Context, stop func()) {
	held, cancel := context.WithCancelCause(ctx)
	l.lastHeld = now()
	done := make(chan struct{})
	quit := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(ttl / 3)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-held.Done():
				return
			case <-tick.C:
			}
			t := now()
			err := l.Renew(held, ttl, t)
			if errors.Is(err, ErrLeaseLost) || (err != nil && !t.Before(l.lastHeld.Add(ttl))) {
				cancel(ErrLeaseLost)
				return
			}
			if err == nil {
				l.lastHeld = t
			}
		}
	}()
	return held, func() {
		close(quit)
		<-done
		cancel(nil)
	}
}
