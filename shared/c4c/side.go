package c4c

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// SideOptions configure a Side.
type SideOptions struct {
	// Overlap is how far before the last change seen a change read starts
	// again, for changes committed late within the same instant (default 2
	// minutes, a guess: SAP states no commit delay); what was already
	// reported is dropped by ObjectID and ETag.
	Overlap time.Duration
	// ReconcileEvery is how often the ObjectIDs in scope are listed to find
	// deletions, which C4C never reports (default 5 minutes).
	ReconcileEvery time.Duration
	// Owner is the business partner ID of the user's employee: contacts,
	// tasks and appointments are those it owns (ListView "" of the
	// contract), and records the side creates are given to it. "" reads
	// every record the communication user sees.
	Owner string
	// OwnerEmployee is the same employee's employee ID, the owner of
	// contacts (ContactOwnerID); "" = Owner.
	OwnerEmployee string
	// CodeCache keeps the tenant's code lists between sides, under
	// CodeKey (nil: each side reads them, 2 calls, when a coded kind is
	// first read or written).
	CodeCache *CodeCache
	CodeKey   string
	// Known keeps the records reported per kind (nil = in memory, for one
	// process: tests and the demo).
	Known KnownStore
	// Now is the clock of the reconciliation interval (nil = time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Side is the C4C CRM side (side.CRM).
type Side struct {
	c     *Client
	known KnownStore
	opts  SideOptions
	log   *slog.Logger

	// gens are, per kind, the known-set generations the last Changes read
	// and wrote: the stored cursor's and the new one's. Records the side
	// creates go into both (Create), so a record that leaves the scope or
	// is deleted before any change read saw it is still found missing.
	mu   sync.Mutex
	gens map[item.Kind][]string
	// emailContact maps the e-mails LogEmail created to their main
	// contact's ObjectID, where AttachFile puts their files.
	emailContact map[string]string
	// codes are the tenant's $metadata and code lists (loadCodes).
	codes *Codes
}

var _ side.CRM = (*Side)(nil)

// NewSide returns the side of a client.
func NewSide(c *Client, o SideOptions) *Side {
	if o.Overlap == 0 {
		o.Overlap = 2 * time.Minute
	}
	if o.ReconcileEvery == 0 {
		o.ReconcileEvery = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Known == nil {
		o.Known = &MemKnown{}
	}
	return &Side{c: c, known: o.Known, opts: o, log: o.Logger}
}

// Calls implements side.CallReporter.
func (s *Side) Calls() int64 { return s.c.Calls() }

// cursorState is what a change cursor carries. C4C has no delta token: the
// side keeps its own high-water mark, and names the generation of the set
// of records it has reported (KnownStore), which a cursor of one table
// property could not hold for 10,000 records.
type cursorState struct {
	V     int       `json:"v"`
	Since time.Time `json:"since"` // latest EntityLastChangedOn seen
	Read  time.Time `json:"read"`  // when the last change read began
	Recon time.Time `json:"recon"` // last reconciliation
	Gen   string    `json:"gen"`   // generation of the Known set
	From  time.Time `json:"from,omitzero"`
	To    time.Time `json:"to,omitzero"`
}

const cursorVersion = 2

func encodeCursor(st cursorState) string {
	st.V = cursorVersion
	b, _ := json.Marshal(st)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursorState, bool) {
	var st cursorState
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &st) != nil || st.V != cursorVersion || st.Gen == "" {
		return cursorState{}, false
	}
	return st, true
}

// inScope says whether a record belongs to the sync of scope.
func (s *Side) inScope(sc item.Scope, e Entity) bool {
	if prop, owner := ownerProps[sc.Kind], s.owner(sc.Kind); owner != "" && e.String(prop) != owner && !(sc.Kind == item.Event && s.involved(e)) {
		return false
	}
	switch sc.Kind {
	case item.Task:
		// Open, or due on or after From.
		if done := s.tenantCodes().completed(); done == "" || e.String("Status") != done {
			return true
		}
		due := e.Time("DueDateTime")
		return sc.From.IsZero() || !due.IsZero() && !due.Before(sc.From)
	case item.Event:
		start, end := e.Time("StartDate"), e.Time("EndDate")
		return (sc.To.IsZero() || start.Before(sc.To)) && (sc.From.IsZero() || end.After(sc.From))
	}
	return true
}

// scopeFilter is the server-side part of the scope: the owner, and the
// window of appointments. Tasks' "open or due after" stays client-side: it
// is an or across two properties, which C4C refuses.
func (s *Side) scopeFilter(sc item.Scope) string {
	f := s.ownerFilter(sc.Kind)
	if sc.Kind == item.Event && !sc.From.IsZero() && !sc.To.IsZero() {
		f += " and StartDate lt " + Literal(sc.To) + " and EndDate gt " + Literal(sc.From)
	}
	return strings.TrimPrefix(f, " and ")
}

// ownerProps are the properties naming a record's owner: Contact
// ContactOwnerID (the employee ID: String(20) like other …EmployeeID
// properties, with the navigation ContactOwnerEmployeeBasicData), Task
// ProcessorPartyID (LATONA Tasks), Appointment OwnerPartyID (LATONA sandbox
// payload); the last two are business partner IDs.
var ownerProps = map[item.Kind]string{item.Contact: "ContactOwnerID", item.Task: "ProcessorPartyID", item.Event: "OwnerPartyID"}

// owner is the value of kind's owner property for the side's employee.
func (s *Side) owner(kind item.Kind) string {
	if kind == item.Contact && s.opts.OwnerEmployee != "" {
		return s.opts.OwnerEmployee
	}
	return s.opts.Owner
}

// ownerFilter is " and <owner> eq '<Owner>'", or "" when the side reads
// every record the communication user sees.
func (s *Side) ownerFilter(kind item.Kind) string {
	if s.opts.Owner == "" {
		return ""
	}
	return " and " + ownerProps[kind] + " eq " + Quote(s.owner(kind))
}

// scopeSelect are the properties inScope reads.
func (s *Side) scopeSelect(kind item.Kind) string {
	sel := "ObjectID"
	switch kind {
	case item.Task:
		sel += ",Status,DueDateTime"
	case item.Event:
		sel += ",StartDate,EndDate"
	}
	if s.opts.Owner != "" {
		sel += "," + ownerProps[kind]
	}
	return sel
}

// Changes implements side.Side: changes by EntityLastChangedOn since the
// cursor's mark (less an overlap while the last read is recent), each
// reported once per ObjectID and ETag, plus a periodic reconciliation of
// ObjectIDs for deletions and scope moves. A cursor that cannot be read, or
// whose Known set is gone, leads to a full read.
func (s *Side) Changes(ctx context.Context, sc item.Scope, cursor string) (item.Changes, error) {
	m, err := kindMapOf(sc.Kind)
	if err != nil {
		return item.Changes{}, err
	}
	if err := s.needCodes(ctx, sc.Kind); err != nil {
		return item.Changes{}, err
	}
	st, ok := decodeCursor(cursor)
	if !ok {
		return s.full(ctx, sc, m, "")
	}
	loaded := st.Gen
	known, err := s.known.Load(ctx, sc.Kind, st.Gen)
	if err != nil {
		s.log.Warn("c4c: the cursor's known set is unreadable; reading everything", "kind", sc.Kind, "err", err)
		return s.full(ctx, sc, m, st.Gen)
	}
	out := item.Changes{Kind: sc.Kind}
	now := s.opts.Now()
	// A change committed late carries a time at most Overlap before the
	// read that missed it; once that read is older than Overlap past the
	// mark, everything within the mark's millisecond (EntityLastChangedOn
	// has no finer resolution) has settled and the read starts after it.
	start := st.Read.Add(-s.opts.Overlap)
	if start.After(st.Since) {
		start = st.Since.Truncate(time.Millisecond).Add(time.Millisecond)
	}
	q := url.Values{"$filter": {"EntityLastChangedOn ge " + Literal(start) + s.ownerFilter(sc.Kind)}}
	if x := expandOf(sc.Kind); x != "" {
		q.Set("$expand", x)
	}
	since := st.Since
	dirty := false
	reported := map[string]bool{}
	err = s.c.List(ctx, m.coll, q, func(e Entity) error {
		id, h := e.ID(), etagHash(e.ETag())
		if changed := e.Time("EntityLastChangedOn"); changed.After(since) {
			since = changed
		}
		old, isKnown := known[id]
		if !s.inScope(sc, e) {
			if isKnown {
				out.Removed = append(out.Removed, item.Removal{ID: id, Reason: item.LeftScope})
				delete(known, id)
				dirty = true
			}
			return nil
		}
		if isKnown && old == h {
			return nil // reported already (the overlap reads it again)
		}
		s.report(ctx, &out, sc.Kind, e)
		known[id] = h
		reported[id] = true
		dirty = true
		return nil
	})
	if err != nil {
		return item.Changes{}, err
	}
	st.Since, st.Read = since, now
	if !st.From.Equal(sc.From) || !st.To.Equal(sc.To) || now.Sub(st.Recon) >= s.opts.ReconcileEvery {
		changed, err := s.reconcile(ctx, sc, m, known, reported, &out)
		if err != nil {
			// A failed listing is never a deletion: keep what is known and
			// reconcile again next time.
			s.log.Warn("c4c: reconciliation failed; deletions are looked for next time", "kind", sc.Kind, "err", err)
		} else {
			st.Recon, st.From, st.To = now, sc.From, sc.To
		}
		dirty = dirty || changed
	}
	if dirty {
		if st.Gen, err = s.known.Save(ctx, sc.Kind, known, st.Gen); err != nil {
			return item.Changes{}, err
		}
	}
	out.Cursor = encodeCursor(st)
	s.noteGens(sc.Kind, loaded, st.Gen)
	return out, nil
}

// noteGens remembers the generations a Changes of kind read and wrote.
func (s *Side) noteGens(kind item.Kind, gens ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gens == nil {
		s.gens = map[item.Kind][]string{}
	}
	s.gens[kind] = slices.Compact(slices.DeleteFunc(gens, func(g string) bool { return g == "" }))
}

// etagTime reads the time of a weak timestamp ETag
// W/"datetimeoffset'2016-04-27T23%3A07%3A31.6809330Z'".
func etagTime(et string) (time.Time, bool) {
	v, ok := strings.CutPrefix(et, `W/"datetimeoffset'`)
	v, ok2 := strings.CutSuffix(v, `'"`)
	if !ok || !ok2 {
		return time.Time{}, false
	}
	v, err := url.QueryUnescape(v)
	if err != nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

func (s *Side) report(ctx context.Context, out *item.Changes, kind item.Kind, e Entity) {
	rec, err := toItem(kind, e, s.tenantCodes())
	if err != nil {
		code := "unreadable"
		switch {
		case strings.Contains(err.Error(), "time zone"):
			code = "unknown-time-zone"
		case strings.Contains(err.Error(), "code list"):
			code = "unknown-code"
			s.staleCodes()
		}
		out.Problems = append(out.Problems, item.Problem{ID: e.ID(), Name: rec.Name(), Code: code, Reason: err.Error()})
		return
	}
	readNote(kind, e, &rec)
	if kind == item.Event {
		rec.Fields[item.Recurrence] = "" // C4C has no recurring appointments (recurrence.go)
		s.readAttendees(ctx, e, &rec)
	}
	out.Records = append(out.Records, rec)
}

// full reads every record in scope (first sync or a damaged cursor); keep
// is the generation a stored cursor may still name.
func (s *Side) full(ctx context.Context, sc item.Scope, m kindMap, keep string) (item.Changes, error) {
	out := item.Changes{Kind: sc.Kind, Full: true}
	st := cursorState{Read: s.opts.Now()}
	known := Known{}
	q := url.Values{}
	if f := s.scopeFilter(sc); f != "" {
		q.Set("$filter", f)
	}
	if x := expandOf(sc.Kind); x != "" {
		q.Set("$expand", x)
	}
	err := s.c.List(ctx, m.coll, q, func(e Entity) error {
		if changed := e.Time("EntityLastChangedOn"); changed.After(st.Since) {
			st.Since = changed
		}
		if !s.inScope(sc, e) {
			return nil
		}
		known[e.ID()] = etagHash(e.ETag())
		s.report(ctx, &out, sc.Kind, e)
		return nil
	})
	if err != nil {
		return item.Changes{}, err
	}
	if st.Since.IsZero() {
		st.Since = st.Read.UTC()
	}
	st.Recon, st.From, st.To = st.Read, sc.From, sc.To
	if st.Gen, err = s.known.Save(ctx, sc.Kind, known, keep); err != nil {
		return item.Changes{}, err
	}
	out.Cursor = encodeCursor(st)
	s.noteGens(sc.Kind, keep, st.Gen)
	return out, nil
}

// reconcile lists the ObjectIDs in scope ($select keeps it cheap: 1 call per
// 1000 records). Known records missing from the list are read one by one in
// a $batch: 404 is a deletion, found but out of scope is LeftScope, any
// other answer is no verdict. Records in scope not known yet (the window
// moved) are read and reported. It says whether known changed.
func (s *Side) reconcile(ctx context.Context, sc item.Scope, m kindMap, known Known, reported map[string]bool, out *item.Changes) (bool, error) {
	q := url.Values{"$select": {s.scopeSelect(sc.Kind)}}
	if f := s.scopeFilter(sc); f != "" {
		q.Set("$filter", f)
	}
	current := map[string]bool{}
	if err := s.c.List(ctx, m.coll, q, func(e Entity) error {
		if s.inScope(sc, e) {
			current[e.ID()] = true
		}
		return nil
	}); err != nil {
		return false, err
	}
	var missing, added []string
	for id := range known {
		if !current[id] && !reported[id] {
			missing = append(missing, id)
		}
	}
	for id := range current {
		if _, ok := known[id]; !ok {
			added = append(added, id)
		}
	}
	sort.Strings(missing)
	sort.Strings(added)
	var ops []Op
	expand := ""
	if x := expandOf(sc.Kind); x != "" {
		expand = "?$expand=" + x
	}
	for _, id := range missing {
		// Expanded too: a colleague's appointment stays in scope while the
		// user's employee is one of its parties (meeting_copies.go).
		ops = append(ops, Op{Method: http.MethodGet, Path: m.coll + "('" + id + "')" + expand})
	}
	for _, id := range added {
		ops = append(ops, Op{Method: http.MethodGet, Path: m.coll + "('" + id + "')" + expand})
	}
	if len(ops) == 0 {
		return false, nil
	}
	res, err := s.c.Batch(ctx, ops)
	if err != nil {
		return false, err
	}
	changed := false
	for i, id := range missing {
		switch r := res[i]; {
		case r.Status == http.StatusNotFound:
			out.Removed = append(out.Removed, item.Removal{ID: id, Reason: item.Deleted})
			delete(known, id)
			changed = true
		case r.Err == nil && !s.inScope(sc, r.Entity):
			out.Removed = append(out.Removed, item.Removal{ID: id, Reason: item.LeftScope})
			delete(known, id)
			changed = true
		}
	}
	for i, id := range added {
		if r := res[len(missing)+i]; r.Err == nil && r.Entity != nil && s.inScope(sc, r.Entity) {
			s.report(ctx, out, sc.Kind, r.Entity)
			known[id] = etagHash(r.Entity.ETag())
			changed = true
		}
	}
	return changed, nil
}

// fieldsOf names the canonical fields an error message of C4C is about
// ("Property 'LastName' is mandatory").
var propInMessage = regexp.MustCompile(`Property '([A-Za-z0-9_]+)'`)

func withFields(kind item.Kind, err error) error {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return err
	}
	if m := propInMessage.FindStringSubmatch(fe.Message); m != nil {
		if c := canonicalOf(kind, m[1]); c != "" {
			fe.Fields = append(fe.Fields, c)
		}
	}
	return fe
}

// Create implements side.Side: one $batch, each record its own changeset,
// the ObjectID read back from the answer. C4C has no field for the marker
// on every kind; FindCreated matches on fields instead.
func (s *Side) Create(ctx context.Context, kind item.Kind, recs []item.Record, markers []string) ([]side.Result, error) {
	m, err := kindMapOf(kind)
	if err != nil {
		return nil, err
	}
	if err := s.needCodes(ctx, kind); err != nil {
		return nil, err
	}
	results := make([]side.Result, len(recs))
	bodies := make([]map[string]any, len(recs))
	for i, r := range recs {
		if err := refuseSeries(kind, r); err != nil {
			results[i].Err = err
			continue
		}
		body, err := fromItem(kind, r, s.tenantCodes())
		if err != nil {
			results[i].Err = fault.Wrap(fault.Permanent, err)
			continue
		}
		if s.opts.Owner != "" {
			body[ownerProps[kind]] = s.owner(kind)
		}
		insertNote(kind, r, body)
		bodies[i] = body
	}
	if kind == item.Event {
		s.adoptMeetings(ctx, recs, bodies, results)
		s.insertParties(ctx, recs, bodies)
	}
	var ops []Op
	var idx []int
	for i, body := range bodies {
		if body != nil {
			ops = append(ops, Op{Method: http.MethodPost, Path: m.coll, Body: body})
			idx = append(idx, i)
		}
	}
	res, err := s.c.Batch(ctx, ops)
	if err != nil {
		return nil, err
	}
	for j, r := range res {
		i := idx[j]
		switch {
		case r.Err != nil:
			results[i].Err = withFields(kind, r.Err)
		case r.Entity.ID() == "":
			results[i].Err = fault.New(fault.Temporary, "no_object_id", "C4C created the record but its answer carried no ObjectID")
		default:
			results[i].ID = r.Entity.ID()
		}
	}
	s.remember(ctx, kind, results)
	return results, nil
}

// remember adds the records just created to the known sets of kind's last
// Changes. Without it a record created here and moved to another owner (or
// deleted) before the next change read is in no known set, so neither the
// change read (its owner filter hides it) nor the reconciliation (it
// compares with the known set) would ever report it: its mailbox copy would
// stay linked to a record out of scope. A failure only logs: the records
// exist, and failing the create would make the runner create them again.
func (s *Side) remember(ctx context.Context, kind item.Kind, results []side.Result) {
	var ids []string
	for _, r := range results {
		if r.Err == nil && r.ID != "" {
			ids = append(ids, r.ID)
		}
	}
	s.mu.Lock()
	gens := slices.Clone(s.gens[kind])
	s.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	for _, g := range gens {
		if err := s.known.Add(ctx, kind, g, ids); err != nil {
			s.log.Warn("c4c: created records not added to the known set; a scope change before their next read goes unseen", "kind", kind, "err", err)
		}
	}
}

// Update implements side.Side: the current ETags are read in one $batch,
// then each change is a PATCH with If-Match carrying the ETag byte for byte.
// A 412 (changed meanwhile) reads the ETag again and applies the same
// fields once more: only the fields in rec are written, so the other
// party's change to other fields is kept.
func (s *Side) Update(ctx context.Context, kind item.Kind, recs []item.Record) ([]side.Result, error) {
	m, err := kindMapOf(kind)
	if err != nil {
		return nil, err
	}
	if err := s.needCodes(ctx, kind); err != nil {
		return nil, err
	}
	results := make([]side.Result, len(recs))
	bodies := make([]map[string]any, len(recs))
	pending := []int{}
	for i, r := range recs {
		results[i].ID = r.ID
		if err := refuseSeries(kind, item.Record{Fields: map[string]string{item.Subject: r.Fields[item.Subject], item.Recurrence: r.Fields[item.Recurrence]}}); err != nil {
			results[i].Err = err
			continue
		}
		b, err := fromItem(kind, r, s.tenantCodes())
		if err != nil {
			results[i].Err = fault.Wrap(fault.Permanent, err)
			continue
		}
		bodies[i] = b
		pending = append(pending, i)
	}
	for attempt := 0; attempt < 3 && len(pending) > 0; attempt++ {
		reads := make([]Op, len(pending))
		for j, i := range pending {
			reads[j] = Op{Method: http.MethodGet, Path: m.coll + "('" + recs[i].ID + "')?$select=ObjectID"}
			if _, ok := recs[i].Fields[item.Description]; ok && textNavs[kind] != "" {
				// The note is its own entity: read it with the header.
				reads[j].Path = m.coll + "('" + recs[i].ID + "')?$expand=" + textNavs[kind]
			}
		}
		got, err := s.c.Batch(ctx, reads)
		if err != nil {
			return nil, err
		}
		var writes []Op
		var widx []int
		var notes []Op
		var nidx []int
		for j, i := range pending {
			results[i].Err = nil
			if got[j].Err != nil {
				results[i].Err = got[j].Err // 404: Gone
				continue
			}
			if len(bodies[i]) > 0 { // a change of the note alone leaves the header be
				writes = append(writes, Op{Method: http.MethodPatch, Path: m.coll + "('" + recs[i].ID + "')", IfMatch: got[j].Entity.ETag(), Body: bodies[i]})
				widx = append(widx, i)
			}
			if op, ok := noteOp(kind, got[j].Entity, recs[i]); ok {
				notes = append(notes, op)
				nidx = append(nidx, i)
			}
		}
		// The notes go after the headers, in the same $batch: a note
		// written bumps the header's ETag, which the header's If-Match
		// must not see.
		writes = append(writes, notes...)
		res, err := s.c.Batch(ctx, writes)
		if err != nil {
			return nil, err
		}
		// A 412 of the header or of the note (changed meanwhile) reads
		// again and writes again; any other failure is the record's.
		again := map[int]bool{}
		for j, r := range res {
			var i int
			if j < len(widx) {
				i = widx[j]
			} else {
				i = nidx[j-len(widx)]
			}
			if r.Err == nil || results[i].Err != nil {
				continue
			}
			results[i].Err = withFields(kind, r.Err)
			if r.Status == http.StatusPreconditionFailed {
				again[i] = true
			}
		}
		pending = pending[:0]
		for i := range recs {
			if again[i] {
				pending = append(pending, i)
			}
		}
	}
	return results, nil
}

// Delete implements side.Side; a record already gone is a success.
func (s *Side) Delete(ctx context.Context, kind item.Kind, ids []string) ([]side.Result, error) {
	m, err := kindMapOf(kind)
	if err != nil {
		return nil, err
	}
	out := make([]side.Result, len(ids))
	keep := map[string]bool{}
	if kind == item.Event {
		// A colleague's appointment only unlinks (meeting_copies.go).
		var err error
		if keep, err = s.othersAppointments(ctx, ids); err != nil {
			return nil, err
		}
	}
	var ops []Op
	var idx []int
	for i, id := range ids {
		out[i].ID = id
		if keep[id] {
			continue
		}
		idx = append(idx, i)
		// If-Match "*": the ETag property is ConcurrencyMode="Fixed" (KBA
		// 2789959), so a tenant may require the header; any version goes.
		ops = append(ops, Op{Method: http.MethodDelete, Path: m.coll + "('" + id + "')", IfMatch: "*"})
	}
	res, err := s.c.Batch(ctx, ops)
	if err != nil {
		return nil, err
	}
	for j, r := range res {
		if r.Err != nil && r.Status != http.StatusNotFound {
			out[idx[j]].Err = r.Err
		}
	}
	return out, nil
}

// FindCreated implements side.Side by matching an intent's name field among
// records changed since the intent (C4C has no field to stamp a marker on
// contacts and tasks); logged e-mails carry their marker.
func (s *Side) FindCreated(ctx context.Context, kind item.Kind, intents []item.Intent) (map[string]string, error) {
	if kind == item.SharedEmail {
		return s.findEmails(ctx, intents)
	}
	m, ok := maps[kind]
	if !ok {
		return nil, fault.New(fault.Permanent, "kind", fmt.Sprintf("C4C side cannot find created %s records", kind))
	}
	prop := ""
	for _, f := range m.fields {
		if f.canonical == m.matchOn {
			prop = f.prop
		}
	}
	out := map[string]string{}
	for _, in := range intents {
		v := in.Record.Fields[m.matchOn]
		if v == "" {
			continue
		}
		q := url.Values{"$filter": {prop + " eq " + Quote(v) + " and EntityLastChangedOn ge " + Literal(in.Since)}, "$top": {"2"}}
		var ids []string
		if err := s.c.List(ctx, m.coll, q, func(e Entity) error { ids = append(ids, e.ID()); return nil }); err != nil {
			return nil, err
		}
		if len(ids) == 1 {
			out[in.Marker] = ids[0]
		}
	}
	return out, nil
}
