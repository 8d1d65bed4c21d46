package salesforce

import (
	"context"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// windowMargin keeps a cursor well inside the replication windows: a cursor
// closer than this to the edge triggers a full reconcile.
const windowMargin = time.Hour

// FullRereadEvery is how often a kind's whole scope is read again. The change
// feeds respect sharing: a record the user can no longer see (given to another
// owner, or shared no longer) vanishes from getUpdated instead of being
// reported, so only a full read, where linked records that are absent count as
// having left scope, takes its copy out of the mailbox.
const FullRereadEvery = time.Hour

// shortWindow is the span below which getUpdated/getDeleted are not used
// (they need start and end at least a minute apart, truncated to minutes);
// a SystemModstamp query picks up changes instead.
const shortWindow = 2 * time.Minute

// Changes reports what changed in scope since cursor. The first sync (or an
// expired cursor) reads the whole scope (Full). Later syncs ask getUpdated
// and getDeleted for the ids that changed, re-read those ids within the scope
// (ids that no longer match have left it), and read window edges when the
// scope window moved. A cursor older than the replication windows, or one
// whose delete log was purged, leads to a full read.
func (s *Side) Changes(ctx context.Context, scope item.Scope, cursor string) (item.Changes, error) {
	r, now, err := s.openReader(ctx, scope)
	if err != nil {
		return item.Changes{}, err
	}
	cur, ok := decodeCursor(cursor)
	if !ok || !r.compatible(cur, now) {
		return r.full(ctx, now)
	}
	if now.Sub(cur.F) > FullRereadEvery && now.Truncate(time.Minute).Sub(cur.D) >= shortWindow {
		return r.reread(ctx, cur, now)
	}
	ch, err := r.incremental(ctx, cur, now)
	if fault.Is(err, fault.Expired) {
		s.log.LogAttrs(ctx, 0, "salesforce change window expired; reading everything", slogKind(scope.Kind))
		return r.full(ctx, now)
	}
	return ch, err
}

// openReader starts a read of scope, for Changes and ListPages alike: the
// kind's mapping, the signed-in user, and the server's clock as the read's
// instant.
func (s *Side) openReader(ctx context.Context, scope item.Scope) (*reader, time.Time, error) {
	m, err := s.mapping(scope.Kind)
	if err != nil {
		return nil, time.Time{}, err
	}
	if scope.Kind == item.SharedEmail {
		return nil, time.Time{}, fault.New(fault.Permanent, "UNSUPPORTED_KIND", "shared e-mails flow from the mailbox only")
	}
	if err := s.resolveUser(ctx); err != nil {
		return nil, time.Time{}, err
	}
	now, err := s.c.ServerTime(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	return &reader{s: s, kind: scope.Kind, m: m, scope: scope}, now, nil
}

// reader reads one kind's scope.
type reader struct {
	s     *Side
	kind  item.Kind
	m     Mapping
	scope item.Scope
	view  *listViewFilter
}

func (r *reader) compatible(cur cursorState, now time.Time) bool {
	switch {
	case cur.Kind != string(r.kind) || cur.View != r.scope.ListView:
		return false
	case now.Sub(cur.U) > UpdatedWindow-windowMargin || now.Sub(cur.D) > DeletedWindow-windowMargin:
		return false
	// A window that grew backwards or shrank needs a full read; one that
	// moved forward is handled at its edges.
	case cur.From != "" && dateOf(r.scope.From) < cur.From:
		return false
	case cur.To != "" && dateOf(r.scope.To) < cur.To:
		return false
	case (cur.From == "") != r.scope.From.IsZero() || (cur.To == "") != r.scope.To.IsZero():
		return false
	}
	return true
}

func (r *reader) cursor(u, d, mod, full time.Time) string {
	return cursorState{Kind: string(r.kind), View: r.scope.ListView, From: dateOf(r.scope.From), To: dateOf(r.scope.To), U: u, D: d, M: mod, F: full}.encode()
}

func (r *reader) full(ctx context.Context, now time.Time) (item.Changes, error) {
	recs, err := r.inScope(ctx, nil, nil)
	if err != nil {
		return item.Changes{}, err
	}
	out := r.fullTail(now)
	for _, rec := range recs {
		out.Records = append(out.Records, r.s.toItem(r.kind, r.m, rec))
	}
	return out, nil
}

// fullTail is a full listing's Changes without its records: the cursor of
// a read that started at now.
func (r *reader) fullTail(now time.Time) item.Changes {
	// Start the feeds a minute before the read so nothing committed during it
	// is missed; re-reporting a record is harmless.
	start := now.Add(-time.Minute).Truncate(time.Minute)
	return item.Changes{Kind: r.kind, Full: true, Cursor: r.cursor(start, start, start, now)}
}

// reread is the periodic full read (FullRereadEvery): the whole scope, plus
// the deletes since the cursor reported as deletes, so that a record deleted
// since the last session is deleted in the mailbox too instead of counting as
// having left scope, as a record absent from a full listing does.
func (r *reader) reread(ctx context.Context, cur cursorState, now time.Time) (item.Changes, error) {
	dels, earliest, _, err := r.s.deletedSince(ctx, r.m.Object, cur.D, now.Truncate(time.Minute))
	if err != nil {
		return item.Changes{}, err
	}
	out, err := r.full(ctx, now)
	if err != nil || earliest.After(cur.D) {
		// A purged delete log cannot say what was deleted: absent records
		// then count as having left scope, as after any full read.
		return out, err
	}
	seen := make(map[string]bool, len(out.Records))
	for _, rec := range out.Records {
		seen[rec.ID] = true
	}
	for _, d := range dels {
		if !seen[d.ID] && !containsRemoval(out.Removed, d.ID) {
			out.Removed = append(out.Removed, item.Removal{ID: d.ID, Reason: item.Deleted})
		}
	}
	return out, nil
}

func (r *reader) incremental(ctx context.Context, cur cursorState, now time.Time) (item.Changes, error) {
	out := item.Changes{Kind: r.kind}
	seen := map[string]bool{}
	addRecs := func(recs []Record) {
		for _, rec := range recs {
			if !seen[rec.ID()] {
				seen[rec.ID()] = true
				out.Records = append(out.Records, r.s.toItem(r.kind, r.m, rec))
			}
		}
	}
	removed := map[string]bool{}
	remove := func(id string, why item.RemovalReason) {
		if !seen[id] && !removed[id] {
			removed[id] = true
			out.Removed = append(out.Removed, item.Removal{ID: id, Reason: why})
		}
	}
	end := now.Truncate(time.Minute)
	u, d, mod := cur.U, cur.D, cur.M
	if end.Sub(cur.U) < shortWindow || end.Sub(cur.D) < shortWindow {
		recs, err := r.inScope(ctx, Ge("SystemModstamp", cur.M), nil)
		if err != nil {
			return out, err
		}
		addRecs(recs)
		mod = now.Add(-5 * time.Second)
	} else {
		ids, latestU, err := r.s.updatedSince(ctx, r.m.Object, cur.U, end)
		if err != nil {
			return out, err
		}
		dels, earliest, latestD, err := r.s.deletedSince(ctx, r.m.Object, cur.D, end)
		if err != nil {
			return out, err
		}
		if earliest.After(cur.D) {
			return out, fault.New(fault.Expired, "DELETE_LOG_PURGED", "the delete log no longer reaches back to the cursor")
		}
		if len(ids) > 0 {
			// Many changed ids read faster as one scope query by SystemModstamp
			// (batches of up to 2,000) than as "Id IN" chunks of 300.
			var recs []Record
			var err error
			if len(ids) > idChunk {
				recs, err = r.inScope(ctx, Ge("SystemModstamp", cur.U), nil)
			} else {
				recs, err = r.inScope(ctx, nil, ids)
			}
			if err != nil {
				return out, err
			}
			addRecs(recs)
			for _, id := range ids {
				remove(id, item.LeftScope)
			}
		}
		for _, del := range dels {
			delete(removed, del.ID)
			for i := range out.Removed {
				if out.Removed[i].ID == del.ID {
					out.Removed[i].Reason = item.Deleted
				}
			}
			if !seen[del.ID] && !containsRemoval(out.Removed, del.ID) {
				out.Removed = append(out.Removed, item.Removal{ID: del.ID, Reason: item.Deleted})
			}
		}
		if len(dels) > 0 {
			ids := make([]string, len(dels))
			for i, del := range dels {
				ids[i] = del.ID
			}
			recs, err := r.seriesOfDeleted(ctx, ids)
			if err != nil {
				return out, err
			}
			addRecs(recs)
		}
		u, d = latestU, latestD
		if mod.Before(latestU) {
			mod = latestU
		}
	}
	if err := r.windowEdges(ctx, cur, addRecs, remove); err != nil {
		return out, err
	}
	out.Cursor = r.cursor(u, d, mod, cur.F)
	return out, nil
}

func containsRemoval(list []item.Removal, id string) bool {
	for _, r := range list {
		if r.ID == id {
			return true
		}
	}
	return false
}

// windowEdges reads what entered or left the scope because its window moved
// forward in time (no record changed, so no change feed reports it).
func (r *reader) windowEdges(ctx context.Context, cur cursorState, add func([]Record), remove func(string, item.RemovalReason)) error {
	oldFrom, _ := time.Parse("2006-01-02", cur.From)
	oldTo, _ := time.Parse("2006-01-02", cur.To)
	fromMoved := cur.From != "" && dateOf(r.scope.From) > cur.From
	toMoved := cur.To != "" && dateOf(r.scope.To) > cur.To
	switch r.kind {
	case item.Event:
		if toMoved {
			recs, err := r.inScope(ctx, Ge("StartDateTime", oldTo), nil)
			if err != nil {
				return err
			}
			add(recs)
		}
		if fromMoved {
			// A series record is dated by its first meeting: it leaves
			// scope with its last one, which a full read tells.
			fields, err := r.eventFields(ctx, []string{"Id", "IsRecurrence"})
			if err != nil {
				return err
			}
			q, err := r.s.c.Build(ctx, Select{Object: "Event", Fields: fields, Where: And(Ge("EndDateTime", oldFrom), Lt("EndDateTime", r.scope.From))})
			if err != nil {
				return err
			}
			err = r.s.c.Query(ctx, q, func(rec Record) error {
				if !isSeriesRecord(rec) {
					remove(rec.ID(), item.LeftScope)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	case item.Task:
		if fromMoved {
			ids, err := r.ids(ctx, "Task", And(Eq("OwnerId", r.s.user), Eq("IsClosed", true),
				Ge("ActivityDate", Date{oldFrom}), Lt("ActivityDate", Date{r.scope.From})))
			if err != nil {
				return err
			}
			for _, id := range ids {
				remove(id, item.LeftScope)
			}
		}
	}
	return nil
}

func (r *reader) ids(ctx context.Context, object string, where Cond) ([]string, error) {
	q, err := r.s.c.Build(ctx, Select{Object: object, Fields: []string{"Id"}, Where: where})
	if err != nil {
		return nil, err
	}
	var out []string
	err = r.s.c.Query(ctx, q, func(rec Record) error {
		out = append(out, rec.ID())
		return nil
	})
	return out, err
}

// scopeCond is the server-side filter of a kind's scope (events add the
// ones the user attends separately).
func (r *reader) scopeCond() Cond {
	me := r.s.user
	switch r.kind {
	case item.Task:
		conds := []Cond{Eq("OwnerId", me), Ne("TaskSubtype", "Email")}
		if !r.scope.From.IsZero() {
			conds = append(conds, Or(Eq("IsClosed", false), Ge("ActivityDate", Date{r.scope.From})))
		}
		return And(conds...)
	case item.Event:
		return And(r.eventWindow()...)
	}
	if r.scope.ListView != "" {
		return nil
	}
	return Eq("OwnerId", me)
}

func (r *reader) eventWindow() []Cond {
	var conds []Cond
	if !r.scope.To.IsZero() {
		conds = append(conds, Lt("StartDateTime", r.scope.To))
	}
	if !r.scope.From.IsZero() {
		conds = append(conds, Ge("EndDateTime", r.scope.From))
	}
	return conds
}

// inScope reads the records in scope, narrowed by extra and, when ids is not
// nil, to those ids.
func (r *reader) inScope(ctx context.Context, extra Cond, ids []string) ([]Record, error) {
	if ids != nil && len(ids) == 0 {
		return nil, nil
	}
	chunks := [][]string{nil}
	if ids != nil {
		chunks = nil
		for start := 0; start < len(ids); start += idChunk {
			chunks = append(chunks, ids[start:min(start+idChunk, len(ids))])
		}
	}
	var out []Record
	for _, chunk := range chunks {
		var recs []Record
		var err error
		if r.kind == item.Event {
			recs, err = r.events(ctx, extra, chunk)
		} else {
			recs, err = r.query(ctx, r.and(r.scopeCond(), extra, idsIn("Id", chunk)))
		}
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

func idsIn(field string, ids []string) Cond {
	if ids == nil {
		return nil
	}
	return In(field, ids)
}

func (r *reader) and(conds ...Cond) Cond {
	var live []Cond
	for _, c := range conds {
		if c != nil {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return nil
	}
	return And(live...)
}

// query runs a scope query of the reader's object, through the list view's
// filter when the scope is a list view.
func (r *reader) query(ctx context.Context, where Cond) ([]Record, error) {
	q, err := r.soql(ctx, where)
	if err != nil {
		return nil, err
	}
	return r.s.c.Collect(ctx, q)
}

// soql is the query of the reader's object narrowed by where (see query).
func (r *reader) soql(ctx context.Context, where Cond) (string, error) {
	fields := r.s.selectFields(r.kind, r.m)
	if r.kind == item.Event {
		var err error
		if fields, err = r.eventFields(ctx, fields); err != nil {
			return "", err
		}
	}
	q, err := r.s.c.Build(ctx, Select{Object: r.m.Object, Fields: fields, Where: where})
	if err != nil {
		return "", err
	}
	if r.kind == item.Contact && r.scope.ListView != "" {
		if q, err = r.throughView(ctx, q); err != nil {
			return "", err
		}
	}
	return q, nil
}

// throughView rewrites "SELECT f FROM Contact [WHERE x]" into "SELECT f FROM
// Contact USING SCOPE … WHERE (view condition) AND (x)". The view condition
// comes from Salesforce's own describe of the list view.
func (r *reader) throughView(ctx context.Context, q string) (string, error) {
	if r.view == nil {
		v, err := r.s.c.listViewFilter(ctx, r.m.Object, r.scope.ListView)
		if err != nil {
			return "", err
		}
		r.view = &v
	}
	from := " FROM " + r.m.Object
	i := strings.Index(q, from)
	if i < 0 {
		return "", fault.New(fault.Permanent, "MALFORMED_QUERY", "cannot apply the list view")
	}
	head, rest := q[:i], strings.TrimPrefix(q[i+len(from):], " WHERE ")
	var conds []string
	if r.view.where != "" {
		conds = append(conds, "("+r.view.where+")")
	}
	if strings.TrimSpace(rest) != "" {
		conds = append(conds, "("+rest+")")
	}
	out := head + " " + r.view.from
	if len(conds) > 0 {
		out += " WHERE " + strings.Join(conds, " AND ")
	}
	return out, nil
}

// events reads events the user owns or attends (EventRelation) within the
// window: owned ones in one query, attended ones by id.
func (r *reader) events(ctx context.Context, extra Cond, ids []string) ([]Record, error) {
	owned, err := r.query(ctx, r.and(append(r.eventWindow(), Eq("OwnerId", r.s.user), extra, idsIn("Id", ids))...))
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, rec := range owned {
		have[rec.ID()] = true
	}
	var relWhere []Cond
	relWhere = append(relWhere, Eq("RelationId", r.s.user))
	if !r.scope.To.IsZero() {
		relWhere = append(relWhere, Lt("Event.StartDateTime", r.scope.To))
	}
	if !r.scope.From.IsZero() {
		relWhere = append(relWhere, Ge("Event.EndDateTime", r.scope.From))
	}
	q, err := r.s.c.Build(ctx, Select{Object: "EventRelation", Fields: []string{"EventId"}, Where: r.and(append(relWhere, idsIn("EventId", ids))...)})
	if err != nil {
		return nil, err
	}
	var attended []string
	err = r.s.c.Query(ctx, q, func(rec Record) error {
		if id := rec.String("EventId"); !have[id] {
			have[id] = true
			attended = append(attended, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for start := 0; start < len(attended); start += idChunk {
		recs, err := r.query(ctx, r.and(In("Id", attended[start:min(start+idChunk, len(attended))]), extra))
		if err != nil {
			return nil, err
		}
		owned = append(owned, recs...)
	}
	return r.fold(ctx, owned)
}

// CountContacts counts the contacts of a session's contact scope: those the
// user owns, or those of listView through its own filter (throughView), with
// one COUNT() query (plus the list view's describe). The dashboard shows it
// as an estimate beside the scope setting.
func (s *Side) CountContacts(ctx context.Context, listView string) (int, error) {
	m, err := s.mapping(item.Contact)
	if err != nil {
		return 0, err
	}
	if listView == "" {
		if err := s.resolveUser(ctx); err != nil {
			return 0, err
		}
	}
	r := &reader{s: s, kind: item.Contact, m: m, scope: item.Scope{Kind: item.Contact, ListView: listView}}
	q, err := s.c.Build(ctx, Select{Object: m.Object, Count: true, Where: r.scopeCond()})
	if err != nil {
		return 0, err
	}
	if listView != "" {
		if q, err = r.throughView(ctx, q); err != nil {
			return 0, err
		}
	}
	return s.c.Count(ctx, q)
}
