// Package orgwatch is the organisation-level Salesforce change detector: once
// a minute per organisation it asks Salesforce, through the organisation's
// integration connection (an integration user with "View All Data",
// authorised with the JWT bearer flow), which records of each synced object
// changed since it last looked — one query per object — and starts sessions
// for the owners of those records alone. A user whose Salesforce records did
// not change is not synced by it; the users' scheduled sessions stay as the
// safety net for whatever it cannot see (see Directory.Any, and when the
// detector is down).
//
// The query reads queryAll (deleted records too) for OwnerId and
// SystemModstamp, the field Salesforce recommends for replication because
// system changes update it as well (Salesforce's SOQL and SOAP API guides:
// "SystemModstamp … is indexed"; getUpdated works from it). A watermark per
// object, stored per organisation, is where the next query starts; it moves
// only after the sessions of a poll were requested, and each query starts
// Overlap before it, because a transaction's SystemModstamp is its start and
// it may commit after a later one was read.
package orgwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Table holds the watermarks: PartitionKey = organisation, RowKey = object.
const Table = "orgwatch"

// CRMChange is the reason of a session the detector requests.
const CRMChange = schedule.CRMChange

// Objects are the Salesforce objects crmsync syncs, watched by default.
var Objects = []string{"Contact", "Task", "Event"}

// Querier runs a SOQL query over queryAll (deleted records included) through
// the organisation's integration connection; fn sees each row. A revoked or
// expired connection is a fault.Reconnect error.
type Querier interface {
	QueryAll(ctx context.Context, soql string, fn func(row map[string]any) error) error
}

// Directory says which crmsync users an organisation's changes concern.
type Directory interface {
	// Users returns the organisation's users by their Salesforce user ID
	// (the OwnerId of their records), and the users whose scope is not
	// their own records (a list view), who are requested on any change of
	// an object.
	Users(ctx context.Context, org string) (byOwner map[string][]string, any []string, err error)
}

// Requester starts a session for a user now (schedule.Scheduler).
type Requester interface {
	RequestNow(ctx context.Context, user string, reason schedule.Reason, now time.Time) error
}

// Watcher stretches a user's scheduled sessions to the plan's safety net
// while the detector is up, and brings them back when it is down
// (schedule.Scheduler).
type Watcher interface {
	SetWatched(ctx context.Context, user string, watched bool, now time.Time) error
}

// TickOffset is when in each minute the detector's timer fires (the
// detector function's NCRONTAB schedule says the same): as the minute turns.
// A poll requests the changes made before the minute it runs in, so a
// change waits at most a minute to be requested — 60 s for one made as a
// minute began — and the session requested reads a getUpdated window ending
// at that same minute, which holds it. It was second 5 (worst case 65 s),
// a margin for a few seconds between our clock and Salesforce's that
// correctness does not need: a change Salesforce stamps in a minute the
// poll has not closed is read by a later poll (the overlap and Seen), so a
// clock difference of k seconds delays such a change by at most k more,
// and loses none. TestDetectionLatency measures it.
const TickOffset = 0 * time.Second

// Detector polls organisations. Set Store, Directory and Requester.
type Detector struct {
	Store     tablestore.Store
	Directory Directory
	Requester Requester
	// Watcher, when set, is told when the organisation's detector comes up
	// or goes down, for each of its users.
	Watcher Watcher
	Log     *slog.Logger
	// Objects to watch (default Objects).
	Objects []string
	// Overlap is how far before its watermark each query starts (default 2
	// minutes).
	Overlap time.Duration
	// MaxRows is the most rows one object's query reads (one batch: default
	// 2,000). More changes than that in one poll — a mass update, or a
	// detector that fell far behind — request every user of the
	// organisation instead, and the next query starts at this poll.
	MaxRows int
}

// Report is what one poll did.
type Report struct {
	// Queries is the number of SOQL queries made (one per object).
	Queries int
	// Changed counts the changed records seen per object.
	Changed map[string]int
	// Requested are the users whose sessions were requested.
	Requested []string
	// Behind is true when a query had more than MaxRows rows and every user
	// was requested.
	Behind bool
}

// ErrDown wraps the error of a poll whose integration connection failed
// (revoked, expired): nothing moved, and the users' scheduled sessions are
// all that syncs the organisation until it is reconnected; the next poll
// after that catches up from the watermarks.
var ErrDown = errors.New("orgwatch: the organisation's integration connection failed")

func (d *Detector) defaults() (objects []string, overlap time.Duration, maxRows int) {
	objects, overlap, maxRows = d.Objects, d.Overlap, d.MaxRows
	if len(objects) == 0 {
		objects = Objects
	}
	if overlap == 0 {
		overlap = 2 * time.Minute
	}
	if maxRows == 0 {
		maxRows = 2000
	}
	return objects, overlap, maxRows
}

// Poll looks once at org's changes since its watermarks (a first poll starts
// them at now, seeing nothing) and requests the sessions of the users they
// concern, at now.
func (d *Detector) Poll(ctx context.Context, org string, q Querier, now time.Time) (Report, error) {
	objects, overlap, maxRows := d.defaults()
	rep := Report{Changed: map[string]int{}}
	marks, seen, up, err := d.watermarks(ctx, org)
	if err != nil {
		return rep, err
	}
	byOwner, anyUser, err := d.Directory.Users(ctx, org)
	if err != nil {
		return rep, err
	}
	everyone := func() []string {
		var out []string
		for _, us := range byOwner {
			out = append(out, us...)
		}
		out = append(out, anyUser...)
		slices.Sort(out)
		return slices.Compact(out)
	}
	// Changes of the current minute wait for the next poll: the session a
	// change requests reads its user's feed with getUpdated, whose window
	// ends at the last whole minute (the session's clock, truncated, as
	// getUpdated truncates seconds), so a session requested for a change of
	// this minute would not see it (and the watermark would have passed
	// it). The poll's window ends where that session's will: the same
	// clock, the same minute or a later one. The timer runs at TickOffset,
	// second 0, as the minute turns: a change waits at most 60 s to be
	// requested (see TickOffset for what a clock difference with
	// Salesforce adds).
	ripe := now.UTC().Truncate(time.Minute)
	want := map[string]bool{}
	next := map[string]time.Time{}
	nextSeen := map[string][]string{}
	for _, obj := range objects {
		since, ok := marks[obj]
		if !ok {
			next[obj] = now.UTC()
			continue
		}
		soql := fmt.Sprintf("SELECT Id, OwnerId, SystemModstamp FROM %s WHERE SystemModstamp > %s AND SystemModstamp < %s ORDER BY SystemModstamp LIMIT %d",
			obj, since.Add(-overlap).UTC().Format("2006-01-02T15:04:05Z"), ripe.Format("2006-01-02T15:04:05Z"), maxRows+1)
		rows, latest := 0, since
		owners := map[string]bool{}
		type change struct {
			key string
			at  time.Time
		}
		var changes []change
		rep.Queries++
		err := q.QueryAll(ctx, soql, func(row map[string]any) error {
			rows++
			t, _ := modstamp(row["SystemModstamp"])
			key := seenKey(row["Id"], t)
			changes = append(changes, change{key, t})
			if seen[obj][key] {
				return nil // reported by an earlier poll, read again in the overlap
			}
			if o, _ := row["OwnerId"].(string); o != "" {
				owners[o] = true
			}
			if t.After(latest) {
				latest = t
			}
			return nil
		})
		if err != nil {
			if fault.Is(err, fault.Reconnect) {
				if werr := d.setUp(ctx, org, false, up, everyone(), now); werr != nil {
					return rep, fmt.Errorf("%w: %w (and the users' schedules: %v)", ErrDown, err, werr)
				}
				return rep, fmt.Errorf("%w: %w", ErrDown, err)
			}
			return rep, fmt.Errorf("orgwatch: %s changes of %s: %w", obj, org, err)
		}
		rep.Changed[obj] = len(owners)
		if rows > maxRows {
			// Every user is requested at now, and their sessions read their
			// own feeds from their own cursors, late commits included: the
			// next query may start at now itself, not Overlap before it.
			rep.Behind = true
			next[obj] = ripe.Add(overlap)
			continue
		}
		for o := range owners {
			for _, u := range byOwner[o] {
				want[u] = true
			}
		}
		if len(owners) > 0 {
			for _, u := range anyUser {
				want[u] = true
			}
		}
		if latest.After(since) {
			next[obj] = latest
		}
		// What the next poll reads again in its overlap, it skips.
		mark := since
		if latest.After(mark) {
			mark = latest
		}
		mark = mark.Add(-overlap)
		for _, c := range changes {
			if c.at.After(mark) {
				nextSeen[obj] = append(nextSeen[obj], c.key)
			}
		}
		slices.Sort(nextSeen[obj])
		if _, moved := next[obj]; !moved && !slices.Equal(nextSeen[obj], seenList(seen[obj])) {
			next[obj] = since
		}
	}
	if rep.Behind {
		for _, u := range everyone() {
			want[u] = true
		}
		if d.Log != nil {
			d.Log.Warn("change detector behind: every user of the organisation requested", "org", org)
		}
	}
	for u := range want {
		rep.Requested = append(rep.Requested, u)
	}
	slices.Sort(rep.Requested)
	for _, u := range rep.Requested {
		err := d.Requester.RequestNow(ctx, u, CRMChange, now)
		if errors.Is(err, tablestore.ErrNotFound) {
			continue // a user deleted since the directory named them
		}
		if err != nil && !errors.Is(err, schedule.ErrDebounced) {
			// The watermarks stay: the next poll requests them again.
			return rep, fmt.Errorf("orgwatch: session of %s not requested: %w", u, err)
		}
	}
	if err := d.saveWatermarks(ctx, org, next, nextSeen, polled{at: now.UTC(), covered: ripe}); err != nil {
		return rep, err
	}
	return rep, d.setUp(ctx, org, true, up, everyone(), now)
}

// stateKey is the row of an organisation's detector state (Up), after the
// objects' watermark rows.
const stateKey = "~state"

// setUp records whether org's detector is up and, when that changed (or was
// never recorded), tells the Watcher for each of its users: their scheduled
// sessions stretch to the safety net, or come back to their plan's interval.
func (d *Detector) setUp(ctx context.Context, org string, up bool, was *bool, users []string, now time.Time) error {
	if was != nil && *was == up {
		return nil
	}
	if d.Watcher != nil {
		for _, u := range users {
			if err := d.Watcher.SetWatched(ctx, u, up, now); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
				return fmt.Errorf("orgwatch: schedule of %s: %w", u, err)
			}
		}
	}
	if d.Log != nil {
		d.Log.Info("change detector state", "org", org, "up", up)
	}
	// Recorded after the users were told: a failure part-way tells them all
	// again next time.
	// Merged: the row's last poll (see polled) stays.
	_, err := d.Store.Batch(ctx, Table, []tablestore.Op{{Kind: tablestore.OpMerge,
		Entity: tablestore.Entity{PartitionKey: org, RowKey: stateKey, Properties: map[string]any{"Up": up}}}})
	return err
}

func modstamp(v any) (time.Time, bool) {
	s, _ := v.(string)
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05.000Z0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// seenKey names one change of one record.
func seenKey(id any, at time.Time) string {
	s, _ := id.(string)
	return s + "@" + strconv.FormatInt(at.UnixMilli(), 36)
}

func seenList(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// maxSeenBytes keeps the Seen property under Azure's 64 KiB string limit; a
// longer list is not kept (the overlap's owners are then requested again).
const maxSeenBytes = 30_000

func (d *Detector) watermarks(ctx context.Context, org string) (map[string]time.Time, map[string]map[string]bool, *bool, error) {
	out, seen := map[string]time.Time{}, map[string]map[string]bool{}
	var up *bool
	page, err := d.Store.Query(ctx, Table, tablestore.Query{PartitionKey: org})
	if err != nil {
		return nil, nil, nil, err
	}
	for _, e := range page.Entities {
		if e.RowKey == stateKey {
			u, _ := e.Properties["Up"].(bool)
			up = &u
			continue
		}
		if t, ok := e.Properties["Since"].(time.Time); ok {
			out[e.RowKey] = t
		}
		seen[e.RowKey] = map[string]bool{}
		if s, _ := e.Properties["Seen"].(string); s != "" {
			for _, k := range strings.Split(s, ",") {
				seen[e.RowKey][k] = true
			}
		}
	}
	return out, seen, up, nil
}

// polled is what a successful poll records in the state row, for the org
// admin's page: when it ran, and up to when it saw changes.
type polled struct{ at, covered time.Time }

func (d *Detector) saveWatermarks(ctx context.Context, org string, next map[string]time.Time, seen map[string][]string, p polled) error {
	// In the same batch as the watermarks: one write a poll.
	ops := []tablestore.Op{{Kind: tablestore.OpMerge, Entity: tablestore.Entity{PartitionKey: org, RowKey: stateKey,
		Properties: map[string]any{"LastPoll": p.at, "Covered": p.covered}}}}
	for _, obj := range slices.Sorted(maps.Keys(next)) {
		props := map[string]any{"Since": next[obj].UTC()}
		keys := slices.Sorted(slices.Values(seen[obj]))
		if s := strings.Join(keys, ","); len(s) <= maxSeenBytes {
			props["Seen"] = s
		}
		ops = append(ops, tablestore.Op{Kind: tablestore.OpUpsert, Entity: tablestore.Entity{PartitionKey: org, RowKey: obj, Properties: props}})
	}
	_, err := d.Store.Batch(ctx, Table, ops)
	return err
}
