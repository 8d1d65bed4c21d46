package session

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// crmCallsProp is the lease row's property that keeps the user's CRM calls
// by the hour (see hourlyCalls). It holds counts only.
const crmCallsProp = "CRMCallsByHour"

// DefaultTallyWindow is the span the engine counts a user's CRM calls over
// when the connector names none: a rolling day. The window is the
// connector's (side.Connector.Budget.Window: Salesforce measures its daily
// allowance over the last 24 hours), as is the budget itself (what share of
// the allowance a user may take, salesforce.Opener.UserShare); the engine
// only counts.
const DefaultTallyWindow = 24 * time.Hour

// windowOr is w, or DefaultTallyWindow when w is not set.
func windowOr(w time.Duration) time.Duration {
	if w <= 0 {
		return DefaultTallyWindow
	}
	return w
}

// hourlyCalls are a user's CRM calls by the hour they were counted in, keyed
// by the Unix second the hour starts at. Stored as "hour:n,hour:n" (oldest
// first) on the lease row, which every session writes anyway, so that every
// session's calls count — an idle one's too, which saves no report — at no
// table write of their own.
type hourlyCalls map[int64]int64

// parseHourlyCalls reads the stored form; entries it cannot read are dropped
// (the budget then errs low for an hour or so, never blocks a user for good).
func parseHourlyCalls(s string) hourlyCalls {
	h := hourlyCalls{}
	for _, entry := range strings.Split(s, ",") {
		at, n, ok := strings.Cut(entry, ":")
		if !ok {
			continue
		}
		hour, err1 := strconv.ParseInt(at, 10, 64)
		calls, err2 := strconv.ParseInt(n, 10, 64)
		if err1 == nil && err2 == nil && calls > 0 {
			h[hour] += calls
		}
	}
	return h
}

// String is the stored form, oldest hour first.
func (h hourlyCalls) String() string {
	var b strings.Builder
	for _, hour := range slices.Sorted(maps.Keys(h)) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(hour, 10))
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(h[hour], 10))
	}
	return b.String()
}

// add returns a copy of h with n calls counted in the hour of at, without the
// hours that ended window or more before at: at most the current hour and
// the window's hours before it remain.
func (h hourlyCalls) add(at time.Time, n int64, window time.Duration) hourlyCalls {
	out := hourlyCalls{}
	for hour, calls := range h {
		if hourEnd(hour).After(at.Add(-window)) {
			out[hour] = calls
		}
	}
	if n > 0 {
		out[at.Truncate(time.Hour).Unix()] += n
	}
	return out
}

// within sums the calls of the hours that ended after now-window. The
// oldest of them began before the window did and counts whole, so the cap
// errs on the safe side; hours after now (an instance whose clock runs
// ahead) count too.
func (h hourlyCalls) within(now time.Time, window time.Duration) int {
	total := 0
	for hour, calls := range h {
		if hourEnd(hour).After(now.Add(-window)) {
			total += int(calls)
		}
	}
	return total
}

func hourEnd(hour int64) time.Time { return time.Unix(hour, 0).Add(time.Hour) }

// LeaseCounter counts one user's CRM API calls over the connector's rolling
// window (DefaultTallyWindow unless NewLeaseCounterOver names one) for a CRM
// connector's per-user budget (it implements side.CallCounter;
// the Salesforce connector's UserShare). Every session adds its CRM calls to the hourly
// tally on the user's lease row when it releases the lease (Lease.Release),
// whether or not it saves a report. The counter reads that row once, on the
// first Used, and adds the calls counted in this process since then; the
// session's Release persists those at its end, so a counter should live no
// longer than one session. It is safe for concurrent use.
type LeaseCounter struct {
	store  tablestore.Store
	user   string
	window time.Duration

	mu sync.Mutex
	// read is true once the lease row was read (or could not be).
	read bool
	// tallied is the CRM calls of the lease row's tally in the 24 hours
	// before the first Used; added are the calls counted by Add.
	tallied, added int
}

// NewLeaseCounter returns the counter of user's CRM calls in store over
// DefaultTallyWindow.
func NewLeaseCounter(store tablestore.Store, user string) *LeaseCounter {
	return NewLeaseCounterOver(store, user, DefaultTallyWindow)
}

// NewLeaseCounterOver returns the counter of user's CRM calls in store over
// window, the connector's (side.Connector.Budget.Window). The sessions'
// Runner must keep at least that window (Runner.TallyWindow).
func NewLeaseCounterOver(store tablestore.Store, user string, window time.Duration) *LeaseCounter {
	return &LeaseCounter{store: store, user: user, window: windowOr(window)}
}

// Used returns the CRM calls the user's sessions tallied in the window
// before now, as of the first Used, plus the calls added since. A read that
// fails is returned once; the counter then goes on with the calls added here
// alone, a lower bound, rather than read the table again before every call.
func (c *LeaseCounter) Used(ctx context.Context, now time.Time) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.read {
		c.read = true
		e, err := c.store.Get(ctx, LeaseTable, c.user, leaseKey)
		switch {
		case errors.Is(err, tablestore.ErrNotFound):
		case err != nil:
			return c.added, err
		default:
			raw, _ := e.Properties[crmCallsProp].(string)
			c.tallied = parseHourlyCalls(raw).within(now, c.window)
		}
	}
	return c.tallied + c.added, nil
}

// Add counts n calls made at now in memory; the session's Release stores them.
func (c *LeaseCounter) Add(_ context.Context, _ time.Time, n int) error {
	c.mu.Lock()
	c.added += n
	c.mu.Unlock()
	return nil
}
