// Package memside is an in-memory CRM and mailbox for testing the session
// runner: records by kind, a change log that cursors index into, markers,
// e-mails with attachments, and knobs to inject failures and crashes. It is a
// fake with real behaviour, not a mock: what a session writes is what the next
// Changes call reports. It passes the connectors' suite (shared/side/sidetest)
// like the Salesforce and Graph connectors do: scopes and their windows,
// every default field reported, lower-case e-mail addresses, and the
// per-record validation errors the vendors give.
package memside

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

type change struct {
	seq     int
	kind    item.Kind
	id      string
	removed bool
}

// Side is one in-memory side. The zero value is not usable; call New.
type Side struct {
	mu      sync.Mutex
	name    string
	prefix  string
	records map[item.Kind]map[string]item.Record
	// outOfScope hides records from Changes as if they left the scope.
	outOfScope map[string]bool
	log        []change
	seq        int
	nextID     int
	calls      int64
	// writes counts write calls, for the crash knob.
	writes int

	// CrashAtWrite, when > 0, makes write call number CrashAtWrite (counted
	// since New or ResetWrites) fail with ErrCrash, as if the session was killed
	// there. With CrashAfterApply the write is done first and only its answer is
	// lost — the worst case: the record exists but the session never learns its ID.
	CrashAtWrite    int
	CrashAfterApply bool
	crashPending    bool
	// FailRecord, when set, fails single records: return a non-nil error to
	// fail that record's write (op is create, update, delete or create-lead).
	FailRecord func(op string, rec item.Record) error
	// FailChanges, when set, fails Changes calls with its error.
	FailChanges error
	// ExpireCursors makes the next Changes call treat the cursor as expired.
	ExpireCursors bool
	// Now stamps Modified times.
	Now func() time.Time

	emails      map[string]email
	shared      map[string]string
	people      map[string]item.Person
	Files       map[string][]string // parent ID → file names
	Flags       map[string]bool     // "kind|id" → Sync Error category set
	LoggedMails map[string]item.Record
}

type email struct {
	// inbox is a message outside the share folder: shared only when it
	// carries the share category.
	inbox bool
	rec   item.Record
	atts  []item.Attachment
	bytes map[string][]byte
}

// ErrCrash is the error a crash knob returns; the session stops as if killed.
var ErrCrash = fault.New(fault.Temporary, "crash", "session killed by test")

// New returns an empty side; name is "crm" or "mailbox" and prefixes new IDs.
func New(name string) *Side {
	return &Side{
		name: name, prefix: strings.ToUpper(name[:1]),
		records: map[item.Kind]map[string]item.Record{}, outOfScope: map[string]bool{},
		Now:    func() time.Time { return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) },
		emails: map[string]email{}, shared: map[string]string{}, people: map[string]item.Person{},
		Files: map[string][]string{}, Flags: map[string]bool{}, LoggedMails: map[string]item.Record{},
	}
}

func (s *Side) touch(kind item.Kind, id string, removed bool) {
	s.seq++
	s.log = append(s.log, change{seq: s.seq, kind: kind, id: id, removed: removed})
}

func (s *Side) newID() string {
	s.nextID++
	return s.prefix + strconv.Itoa(s.nextID)
}

// Put creates or replaces a record as a user would, returning its ID.
func (s *Side) Put(rec item.Record) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put(rec)
}

func (s *Side) put(rec item.Record) string {
	if rec.ID == "" {
		rec.ID = s.newID()
	}
	if s.records[rec.Kind] == nil {
		s.records[rec.Kind] = map[string]item.Record{}
	}
	rec.Fields = clone(rec.Fields)
	rec.Modified = s.Now()
	rec.Version = strconv.Itoa(s.seq + 1)
	s.records[rec.Kind][rec.ID] = rec
	s.touch(rec.Kind, rec.ID, false)
	return rec.ID
}

// Edit changes some fields of a record as a user would.
func (s *Side) Edit(kind item.Kind, id string, fields map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[kind][id]
	if !ok {
		return
	}
	rec.Fields = clone(rec.Fields)
	for k, v := range fields {
		rec.Fields[k] = v
	}
	s.put(rec)
}

// Categorize sets a record's categories as a user would.
func (s *Side) Categorize(kind item.Kind, id string, cats ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[kind][id]
	if !ok {
		return
	}
	rec.Categories = cats
	s.put(rec)
}

// Remove deletes a record as a user would.
func (s *Side) Remove(kind item.Kind, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[kind][id]; ok {
		delete(s.records[kind], id)
		delete(s.outOfScope, id)
		s.touch(kind, id, true)
	}
}

// SetInScope moves a record in or out of the sync scope.
func (s *Side) SetInScope(kind item.Kind, id string, in bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[kind][id]; !ok {
		return
	}
	if in {
		delete(s.outOfScope, id)
	} else {
		s.outOfScope[id] = true
	}
	s.touch(kind, id, false)
}

// Records returns a kind's in-scope records sorted by ID.
func (s *Side) Records(kind item.Kind) []item.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []item.Record
	for _, r := range s.records[kind] {
		if !s.outOfScope[r.ID] {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b item.Record) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// All returns every record of a kind, in scope or not.
func (s *Side) All(kind item.Kind) map[string]item.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]item.Record{}
	for id, r := range s.records[kind] {
		out[id] = r
	}
	return out
}

// Calls reports the API calls made through the session interface.
func (s *Side) Calls() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// write counts a write call and decides whether it crashes: before applying
// (an error now) or after (crashPending, returned by the caller's done()).
func (s *Side) write() error {
	s.calls++
	s.writes++
	if s.CrashAtWrite > 0 && s.writes == s.CrashAtWrite {
		if !s.CrashAfterApply {
			return ErrCrash
		}
		s.crashPending = true
	}
	return nil
}

// done ends a write call: a pending crash-after-apply is reported now.
func (s *Side) done() error {
	if s.crashPending {
		s.crashPending = false
		return ErrCrash
	}
	return nil
}

// ResetWrites restarts the crash knob's count.
func (s *Side) ResetWrites() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = 0
}

// Changes implements side.Side. The cursor is the change-log sequence and,
// for windowed kinds, the window it was read with, so that records a moved
// window takes in or leaves out are reported though they did not change.
func (s *Side) Changes(ctx context.Context, scope item.Scope, cursor string) (item.Changes, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.FailChanges != nil {
		return item.Changes{}, s.FailChanges
	}
	ch := item.Changes{Kind: scope.Kind, Cursor: cursorOf(s.seq, scope)}
	since, old, err := parseCursor(cursor, scope.Kind)
	if cursor == "" || err != nil || s.ExpireCursors {
		s.ExpireCursors = false
		ch.Full = true
		for _, r := range s.records[scope.Kind] {
			if s.inScope(r, scope) {
				ch.Records = append(ch.Records, view(r))
			}
		}
		slices.SortFunc(ch.Records, func(a, b item.Record) int { return strings.Compare(a.ID, b.ID) })
		return ch, nil
	}
	seen := map[string]bool{}
	for i := len(s.log) - 1; i >= 0 && s.log[i].seq > since; i-- {
		c := s.log[i]
		if c.kind != scope.Kind || seen[c.id] {
			continue
		}
		seen[c.id] = true
		r, exists := s.records[c.kind][c.id]
		switch {
		case !exists:
			ch.Removed = append(ch.Removed, item.Removal{ID: c.id, Reason: item.Deleted})
		case !s.inScope(r, scope):
			ch.Removed = append(ch.Removed, item.Removal{ID: c.id, Reason: item.LeftScope})
		default:
			ch.Records = append(ch.Records, view(r))
		}
	}
	if old.From.Equal(scope.From) && old.To.Equal(scope.To) {
		return ch, nil
	}
	// The window moved: unchanged records it took in or left out.
	for _, id := range slices.Sorted(maps.Keys(s.records[scope.Kind])) {
		r := s.records[scope.Kind][id]
		if seen[id] {
			continue
		}
		was, is := s.inScope(r, old), s.inScope(r, scope)
		switch {
		case is && !was:
			ch.Records = append(ch.Records, view(r))
		case was && !is:
			ch.Removed = append(ch.Removed, item.Removal{ID: id, Reason: item.LeftScope})
		}
	}
	return ch, nil
}

// cursorOf is the cursor of a read at seq: the sequence, and the window of a
// windowed scope.
func cursorOf(seq int, scope item.Scope) string {
	c := strconv.Itoa(seq)
	if !scope.From.IsZero() || !scope.To.IsZero() {
		c += ";" + strconv.FormatInt(unix(scope.From), 10) + ";" + strconv.FormatInt(unix(scope.To), 10)
	}
	return c
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func fromUnix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// parseCursor reads a cursor back into its sequence and the scope it was
// read with.
func parseCursor(cursor string, kind item.Kind) (int, item.Scope, error) {
	parts := strings.Split(cursor, ";")
	seq, err := strconv.Atoi(parts[0])
	if err != nil {
		return 0, item.Scope{}, err
	}
	sc := item.Scope{Kind: kind}
	if len(parts) == 3 {
		from, err1 := strconv.ParseInt(parts[1], 10, 64)
		to, err2 := strconv.ParseInt(parts[2], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return 0, sc, err
		}
		sc.From, sc.To = fromUnix(from), fromUnix(to)
	}
	return seq, sc, nil
}

// inScope says whether a record takes part in a sync of scope (item.Scope:
// events overlapping [From, To); tasks open or due on or after From), and is
// not moved out of it by SetInScope.
func (s *Side) inScope(r item.Record, scope item.Scope) bool {
	if s.outOfScope[r.ID] {
		return false
	}
	switch r.Kind {
	case item.Task:
		if scope.From.IsZero() || r.Fields[item.Status] != "Completed" {
			return true
		}
		due, err := time.Parse(time.DateOnly, r.Fields[item.DueDate])
		return err == nil && !due.Before(scope.From.UTC().Truncate(24*time.Hour))
	case item.Event:
		start, err := time.Parse(time.RFC3339, r.Fields[item.Start])
		if err != nil {
			return true
		}
		end, err := time.Parse(time.RFC3339, r.Fields[item.End])
		if err != nil || end.Before(start) {
			end = start
		}
		if !scope.To.IsZero() && !start.Before(scope.To) {
			return false
		}
		// A series takes part while any occurrence may fall in the window.
		return scope.From.IsZero() || r.Fields[item.Recurrence] != "" || end.After(scope.From) || end.Equal(start) && !start.Before(scope.From)
	}
	return true
}

// view is a record as Changes reports it: every default field of its kind
// present (empty when unset), e-mail addresses in lower case.
func view(r item.Record) item.Record {
	r = copyRec(r)
	for _, f := range item.DefaultFields[r.Kind] {
		if _, ok := r.Fields[f]; !ok {
			r.Fields[f] = ""
		}
	}
	if e, ok := r.Fields[item.Email]; ok {
		r.Fields[item.Email] = strings.ToLower(e)
	}
	return r
}

// invalid says why the vendors would refuse a record, as a per-record
// Permanent error naming the field (nil: the record is fine).
func invalid(r item.Record) error {
	bad := func(field, code, why string) error {
		return &fault.Error{Class: fault.Permanent, Code: code, Message: why, Fields: []string{field}}
	}
	switch r.Kind {
	case item.Contact:
		if strings.TrimSpace(r.Fields[item.LastName]) == "" {
			return bad(item.LastName, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]")
		}
	case item.Task:
		if d := r.Fields[item.DueDate]; d != "" {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				return bad(item.DueDate, "INVALID_FIELD", "DueDate: want a date (YYYY-MM-DD)")
			}
		}
	case item.Event:
		for _, f := range []string{item.Start, item.End} {
			if v := r.Fields[f]; v != "" {
				if _, err := time.Parse(time.RFC3339, v); err != nil {
					return bad(f, "INVALID_FIELD", f+": want an RFC 3339 instant")
				}
			}
		}
	}
	return nil
}

func copyRec(r item.Record) item.Record {
	r.Fields = clone(r.Fields)
	r.Categories = slices.Clone(r.Categories)
	return r
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Create implements side.Side.
func (s *Side) Create(ctx context.Context, kind item.Kind, recs []item.Record, markers []string) ([]side.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.write(); err != nil {
		return nil, err
	}
	out := make([]side.Result, len(recs))
	for i, r := range recs {
		if s.FailRecord != nil {
			if err := s.FailRecord("create", r); err != nil {
				out[i].Err = err
				continue
			}
		}
		r.Kind, r.ID = kind, ""
		if err := invalid(r); err != nil {
			out[i].Err = err
			continue
		}
		if i < len(markers) {
			r.Marker = markers[i]
		}
		out[i].ID = s.put(r)
	}
	if err := s.done(); err != nil {
		return nil, err
	}
	return out, nil
}

// Update implements side.Side.
func (s *Side) Update(ctx context.Context, kind item.Kind, recs []item.Record) ([]side.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.write(); err != nil {
		return nil, err
	}
	out := make([]side.Result, len(recs))
	for i, r := range recs {
		cur, ok := s.records[kind][r.ID]
		if !ok {
			out[i].Err = fault.New(fault.Gone, "NOT_FOUND", "record deleted")
			continue
		}
		if s.FailRecord != nil {
			if err := s.FailRecord("update", cur); err != nil {
				out[i].Err = err
				continue
			}
		}
		cur.Fields = clone(cur.Fields)
		for k, v := range r.Fields {
			cur.Fields[k] = v
		}
		if err := invalid(cur); err != nil {
			out[i].Err = err
			continue
		}
		out[i].ID = s.put(cur)
	}
	if err := s.done(); err != nil {
		return nil, err
	}
	return out, nil
}

// Delete implements side.Side.
func (s *Side) Delete(ctx context.Context, kind item.Kind, ids []string) ([]side.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.write(); err != nil {
		return nil, err
	}
	out := make([]side.Result, len(ids))
	for i, id := range ids {
		out[i].ID = id
		if r, ok := s.records[kind][id]; ok {
			if s.FailRecord != nil {
				if err := s.FailRecord("delete", r); err != nil {
					out[i].Err = err
					continue
				}
			}
			delete(s.records[kind], id)
			delete(s.outOfScope, id)
			s.touch(kind, id, true)
		}
	}
	if err := s.done(); err != nil {
		return nil, err
	}
	return out, nil
}

// FindCreated implements side.Side by marker.
func (s *Side) FindCreated(ctx context.Context, kind item.Kind, intents []item.Intent) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	out := map[string]string{}
	for _, in := range intents {
		for id, r := range s.records[kind] {
			if r.Marker != "" && r.Marker == in.Marker {
				out[in.Marker] = id
			}
		}
		if kind == item.SharedEmail {
			for id, r := range s.LoggedMails {
				if r.Marker == in.Marker {
					out[in.Marker] = id
				}
			}
		}
	}
	return out, nil
}

// AddPerson registers a CRM person for an address.
func (s *Side) AddPerson(addr string, p item.Person) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.people[strings.ToLower(addr)] = p
}

// FindPeople implements side.CRM.
func (s *Side) FindPeople(ctx context.Context, addrs []string) (map[string]item.Person, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	out := map[string]item.Person{}
	for _, a := range addrs {
		a = strings.ToLower(a)
		if p, ok := s.people[a]; ok {
			out[a] = p
			continue
		}
		for id, r := range s.records[item.Contact] {
			if strings.EqualFold(r.Fields[item.Email], a) {
				out[a] = item.Person{ID: id, Object: "Contact"}
				break
			}
		}
	}
	return out, nil
}

// CreateLeads implements side.CRM.
func (s *Side) CreateLeads(ctx context.Context, leads []item.Record) ([]side.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.write(); err != nil {
		return nil, err
	}
	out := make([]side.Result, len(leads))
	for i, l := range leads {
		if s.FailRecord != nil {
			if err := s.FailRecord("create-lead", l); err != nil {
				out[i].Err = err
				continue
			}
		}
		if strings.TrimSpace(l.Fields[item.Company]) == "" {
			out[i].Err = &fault.Error{Class: fault.Permanent, Code: "REQUIRED_FIELD_MISSING", Message: "Required fields are missing: [Company]", Fields: []string{item.Company}}
			continue
		}
		id := s.newID()
		s.people[strings.ToLower(l.Fields[item.Email])] = item.Person{ID: id, Object: "Lead"}
		out[i].ID = id
	}
	if err := s.done(); err != nil {
		return nil, err
	}
	return out, nil
}

// LogEmail implements side.CRM.
func (s *Side) LogEmail(ctx context.Context, msg item.Record, who []string, what, marker string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.write(); err != nil {
		return "", err
	}
	id := s.newID()
	msg.Marker = marker
	msg.Fields = clone(msg.Fields)
	msg.Fields["Who"] = strings.Join(who, ",")
	msg.Fields["What"] = what
	s.LoggedMails[id] = msg
	if err := s.done(); err != nil {
		return "", err
	}
	return id, nil
}

// AttachFile implements side.CRM.
func (s *Side) AttachFile(ctx context.Context, parent, name string, size int64, content io.Reader) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.write(); err != nil {
		return "", err
	}
	b, err := io.ReadAll(content)
	if err != nil {
		return "", err
	}
	if int64(len(b)) != size {
		return "", fault.New(fault.Permanent, "SIZE", fmt.Sprintf("attachment %s: got %d bytes, want %d", name, len(b), size))
	}
	s.Files[parent] = append(s.Files[parent], name)
	if err := s.done(); err != nil {
		return "", err
	}
	return s.newID(), nil
}

// AddEmail puts a message to share into the mailbox's share folder, with
// attachments.
func (s *Side) AddEmail(rec item.Record, files map[string][]byte) string {
	return s.addEmail(rec, files, false)
}

// AddInboxEmail puts a message into the inbox, with attachments: it is
// shared only if it carries the share category.
func (s *Side) AddInboxEmail(rec item.Record, files map[string][]byte) string {
	return s.addEmail(rec, files, true)
}

func (s *Side) addEmail(rec item.Record, files map[string][]byte, inbox bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec.ID == "" {
		rec.ID = s.newID()
	}
	rec.Kind = item.SharedEmail
	e := email{rec: rec, inbox: inbox, bytes: map[string][]byte{}}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		id := s.newID()
		e.atts = append(e.atts, item.Attachment{ID: id, Name: n, Size: int64(len(files[n])), ContentType: "application/octet-stream"})
		e.bytes[id] = files[n]
	}
	s.emails[rec.ID] = e
	s.touch(item.SharedEmail, rec.ID, false)
	return rec.ID
}

// SharedEmails implements side.Mailbox: messages not yet marked shared.
func (s *Side) SharedEmails(ctx context.Context, scope item.Scope, cursor string) (item.Changes, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	ch := item.Changes{Kind: item.SharedEmail, Cursor: strconv.Itoa(s.seq), Full: cursor == ""}
	since, _ := strconv.Atoi(cursor)
	var ids []string
	for id := range s.emails {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if _, done := s.shared[id]; done {
			continue
		}
		if e := s.emails[id]; e.inbox && !e.rec.HasCategory(cmp.Or(scope.ShareCategory, "Salesforce")) {
			continue
		}
		changed := cursor == ""
		for _, c := range s.log {
			if c.seq > since && c.id == id {
				changed = true
			}
		}
		if changed {
			ch.Records = append(ch.Records, copyRec(s.emails[id].rec))
		}
	}
	return ch, nil
}

// Attachments implements side.Mailbox.
func (s *Side) Attachments(ctx context.Context, messageID string) ([]item.Attachment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return slices.Clone(s.emails[messageID].atts), nil
}

// OpenAttachment implements side.Mailbox.
func (s *Side) OpenAttachment(ctx context.Context, messageID, attachmentID string) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	b, ok := s.emails[messageID].bytes[attachmentID]
	if !ok {
		return nil, fault.New(fault.Gone, "ErrorItemNotFound", "attachment not found")
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// MarkShared implements side.Mailbox.
func (s *Side) MarkShared(ctx context.Context, messageID, crmID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.write(); err != nil {
		return err
	}
	s.shared[messageID] = crmID
	return s.done()
}

// SharedAs returns the CRM ID a message was marked shared with.
func (s *Side) SharedAs(messageID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.shared[messageID]
	return id, ok
}

// FlagIssue implements side.Mailbox.
func (s *Side) FlagIssue(ctx context.Context, kind item.Kind, id string, failing bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	_, isRecord := s.records[kind][id]
	_, isEmail := s.emails[id]
	if !isRecord && !(kind == item.SharedEmail && isEmail) {
		return fault.New(fault.Gone, "ErrorItemNotFound", "The specified object was not found in the store.")
	}
	s.Flags[string(kind)+"|"+id] = failing
	return nil
}

var (
	_ side.CRM     = (*Side)(nil)
	_ side.Mailbox = (*Side)(nil)
)
