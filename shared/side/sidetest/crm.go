// Package sidetest is the conformance suite of the connector contract
// (shared/side): every CRM side passes RunCRM and every mailbox side passes
// RunMailbox, as rclone's backends all pass fstests. Implementations run it
// against their local server always and against a real account when
// credentials are set:
//
//	func TestConformance(t *testing.T) { sidetest.RunCRM(t, newHarness) }
//
// Assertions look for the records a test made, never at exact totals, so the
// suite also runs against a shared real org.
package sidetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// CRMHarness gives the suite a CRM side plus a way to act on the CRM directly,
// as a user editing in the CRM's own UI would.
type CRMHarness interface {
	// CRM is the side under test, signed in as the sync user.
	CRM() side.CRM
	// Now is the CRM's current time.
	Now() time.Time
	// Advance lets time pass on the CRM (a local server moves its clock, a
	// real one waits).
	Advance(t *testing.T, d time.Duration)
	// CreateDirect creates a record owned by the sync user with canonical
	// fields and returns its id.
	CreateDirect(t *testing.T, kind item.Kind, fields map[string]string) string
	// UpdateDirect changes canonical fields of a record.
	UpdateDirect(t *testing.T, kind item.Kind, id string, fields map[string]string)
	// DeleteDirect deletes a record.
	DeleteDirect(t *testing.T, kind item.Kind, id string)
	// Account returns the id of an account (company) records may relate to.
	Account(t *testing.T) string
}

// RunCRM runs every CRM conformance test, each with a fresh harness.
func RunCRM(t *testing.T, newHarness func(t *testing.T) CRMHarness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h CRMHarness)
	}{
		{"FirstSyncIsFull", testFirstSyncIsFull},
		{"SettlesWithoutChanges", testSettles},
		{"DirectUpdateIsReported", testDirectUpdate},
		{"QuickUpdateIsReported", testQuickUpdate},
		{"DirectDeleteIsReported", testDirectDelete},
		{"CompletedOldTaskLeavesScope", testTaskLeavesScope},
		{"EventWindow", testEventWindow},
		{"EventsEnterWhenWindowMoves", testWindowMoves},
		{"CreateUpdateDelete", testCreateUpdateDelete},
		{"BadRecordDoesNotStopBatch", testPartialBatch},
		{"FindCreated", testFindCreated},
		{"FieldsRoundTrip", testFieldsRoundTrip},
		{"DamagedCursorReadsEverything", testDamagedCursor},
		{"FindPeopleAndLeads", testFindPeople},
		{"RecordCRMLookupAgrees", testRecordLookup},
		{"LogEmail", testLogEmail},
		{"AttachFile", testAttachFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newHarness(t))
		})
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

// scope returns the default scope of a kind around the CRM's now.
func scope(h CRMHarness, kind item.Kind) item.Scope {
	now := h.Now()
	day := func(d int) time.Time {
		t := now.UTC().AddDate(0, 0, d)
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	switch kind {
	case item.Task:
		return item.Scope{Kind: kind, From: day(-14)}
	case item.Event:
		return item.Scope{Kind: kind, From: day(-14), To: day(28)}
	}
	return item.Scope{Kind: kind}
}

func changes(t *testing.T, h CRMHarness, sc item.Scope, cursor string) item.Changes {
	t.Helper()
	ch, err := h.CRM().Changes(ctx(t), sc, cursor)
	if err != nil {
		t.Fatalf("Changes(%s): %v", sc.Kind, err)
	}
	if ch.Kind != sc.Kind {
		t.Errorf("Changes kind = %q, want %q", ch.Kind, sc.Kind)
	}
	if ch.Cursor == "" {
		t.Errorf("Changes(%s) returned no cursor", sc.Kind)
	}
	return ch
}

func find(ch item.Changes, id string) (item.Record, bool) {
	for _, r := range ch.Records {
		if r.ID == id {
			return r, true
		}
	}
	return item.Record{}, false
}

func removal(ch item.Changes, id string) (item.Removal, bool) {
	for _, r := range ch.Removed {
		if r.ID == id {
			return r, true
		}
	}
	return item.Removal{}, false
}

func unique(prefix string) string {
	return prefix + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
}

func testFirstSyncIsFull(t *testing.T, h CRMHarness) {
	last := unique("Conformance")
	a := h.CreateDirect(t, item.Contact, map[string]string{item.FirstName: "Ada", item.LastName: last, item.Email: "Ada." + last + "@Example.com"})
	b := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: last + "b"})
	ch := changes(t, h, scope(h, item.Contact), "")
	if !ch.Full {
		t.Error("first sync: Full = false, want true")
	}
	ra, okA := find(ch, a)
	_, okB := find(ch, b)
	if !okA || !okB {
		t.Fatalf("first sync misses created contacts (a %v, b %v)", okA, okB)
	}
	if got, want := ra.Fields[item.Email], strings.ToLower("Ada."+last+"@Example.com"); got != want {
		t.Errorf("Email = %q, want %q (lower case)", got, want)
	}
	if got := ra.Fields[item.FirstName]; got != "Ada" {
		t.Errorf("FirstName = %q, want Ada", got)
	}
	if ra.Version == "" || ra.Modified.IsZero() {
		t.Errorf("record lacks Version/Modified: %+v", ra)
	}
	if v, ok := ra.Fields[item.Phone]; !ok || v != "" {
		t.Errorf("empty Phone = %q (present %v), want present and empty", v, ok)
	}
}

func testSettles(t *testing.T, h CRMHarness) {
	id := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: unique("Settle")})
	sc := scope(h, item.Contact)
	ch := changes(t, h, sc, "")
	h.Advance(t, 3*time.Minute)
	ch = changes(t, h, sc, ch.Cursor)
	if ch.Full {
		t.Error("second sync is Full, want incremental")
	}
	h.Advance(t, 3*time.Minute)
	ch = changes(t, h, sc, ch.Cursor)
	if _, ok := find(ch, id); ok {
		t.Errorf("unchanged contact reported again after the change feeds caught up")
	}
	if _, ok := removal(ch, id); ok {
		t.Errorf("unchanged contact reported as removed")
	}
}

func testDirectUpdate(t *testing.T, h CRMHarness) {
	id := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: unique("Upd"), item.Title: "Engineer"})
	sc := scope(h, item.Contact)
	ch := changes(t, h, sc, "")
	h.Advance(t, 3*time.Minute)
	h.UpdateDirect(t, item.Contact, id, map[string]string{item.Title: "CTO"})
	h.Advance(t, 3*time.Minute)
	ch = changes(t, h, sc, ch.Cursor)
	r, ok := find(ch, id)
	if !ok {
		t.Fatalf("updated contact not reported; got %d records", len(ch.Records))
	}
	if r.Fields[item.Title] != "CTO" {
		t.Errorf("Title = %q, want CTO", r.Fields[item.Title])
	}
}

func testQuickUpdate(t *testing.T, h CRMHarness) {
	id := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: unique("Quick")})
	sc := scope(h, item.Contact)
	ch := changes(t, h, sc, "")
	h.Advance(t, 10*time.Second)
	h.UpdateDirect(t, item.Contact, id, map[string]string{item.Department: "Sales"})
	h.Advance(t, 10*time.Second)
	ch = changes(t, h, sc, ch.Cursor)
	r, ok := find(ch, id)
	if !ok || r.Fields[item.Department] != "Sales" {
		t.Errorf("change made seconds after a sync not reported (found %v, %q)", ok, r.Fields[item.Department])
	}
}

func testDirectDelete(t *testing.T, h CRMHarness) {
	id := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: unique("Del")})
	sc := scope(h, item.Contact)
	ch := changes(t, h, sc, "")
	h.Advance(t, 3*time.Minute)
	h.DeleteDirect(t, item.Contact, id)
	h.Advance(t, 3*time.Minute)
	ch = changes(t, h, sc, ch.Cursor)
	rm, ok := removal(ch, id)
	if !ok || rm.Reason != item.Deleted {
		t.Errorf("deleted contact: removal %+v (found %v), want reason Deleted", rm, ok)
	}
	if _, ok := find(ch, id); ok {
		t.Error("deleted contact still reported as a record")
	}
}

func testTaskLeavesScope(t *testing.T, h CRMHarness) {
	sc := scope(h, item.Task)
	today := h.Now().UTC().Format("2006-01-02")
	id := h.CreateDirect(t, item.Task, map[string]string{item.Subject: unique("Task"), item.DueDate: today, item.Status: "NotStarted"})
	ch := changes(t, h, sc, "")
	if _, ok := find(ch, id); !ok {
		t.Fatal("open task due today not in scope")
	}
	h.Advance(t, 3*time.Minute)
	old := sc.From.AddDate(0, 0, -5).Format("2006-01-02")
	h.UpdateDirect(t, item.Task, id, map[string]string{item.Status: "Completed", item.DueDate: old})
	h.Advance(t, 3*time.Minute)
	ch = changes(t, h, sc, ch.Cursor)
	rm, ok := removal(ch, id)
	if !ok || rm.Reason != item.LeftScope {
		t.Errorf("completed old task: removal %+v (found %v), want LeftScope", rm, ok)
	}
}

func instant(t time.Time) string { return t.UTC().Truncate(time.Minute).Format(time.RFC3339) }

func testEventWindow(t *testing.T, h CRMHarness) {
	sc := scope(h, item.Event)
	start := h.Now().Add(48 * time.Hour)
	in := h.CreateDirect(t, item.Event, map[string]string{item.Subject: unique("In"), item.Start: instant(start), item.End: instant(start.Add(time.Hour))})
	far := sc.To.Add(72 * time.Hour)
	out := h.CreateDirect(t, item.Event, map[string]string{item.Subject: unique("Out"), item.Start: instant(far), item.End: instant(far.Add(time.Hour))})
	ch := changes(t, h, sc, "")
	if _, ok := find(ch, in); !ok {
		t.Error("event inside the window not reported")
	}
	if _, ok := find(ch, out); ok {
		t.Error("event beyond the window reported")
	}
}

func testWindowMoves(t *testing.T, h CRMHarness) {
	sc := scope(h, item.Event)
	start := sc.To.Add(12 * time.Hour)
	id := h.CreateDirect(t, item.Event, map[string]string{item.Subject: unique("Later"), item.Start: instant(start), item.End: instant(start.Add(time.Hour))})
	ch := changes(t, h, sc, "")
	if _, ok := find(ch, id); ok {
		t.Fatal("event beyond the window reported")
	}
	h.Advance(t, 24*time.Hour)
	sc = scope(h, item.Event)
	ch = changes(t, h, sc, ch.Cursor)
	if _, ok := find(ch, id); !ok {
		t.Error("event that entered the moved window not reported")
	}
}

func testCreateUpdateDelete(t *testing.T, h CRMHarness) {
	crm := h.CRM()
	last := unique("Cud")
	res, err := crm.Create(ctx(t), item.Contact, []item.Record{
		{Kind: item.Contact, Fields: map[string]string{item.FirstName: "Grace", item.LastName: last, item.Title: "Admiral"}},
		{Kind: item.Contact, Fields: map[string]string{item.LastName: last + "2"}},
	}, []string{"m1", "m2"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if len(res) != 2 || res[0].Err != nil || res[1].Err != nil || res[0].ID == "" {
		t.Fatalf("Create results = %+v", res)
	}
	up, err := crm.Update(ctx(t), item.Contact, []item.Record{{Kind: item.Contact, ID: res[0].ID, Fields: map[string]string{item.Title: "Rear Admiral"}}})
	if err != nil || len(up) != 1 || up[0].Err != nil {
		t.Fatalf("Update = %+v, %v", up, err)
	}
	ch := changes(t, h, scope(h, item.Contact), "")
	r, ok := find(ch, res[0].ID)
	if !ok {
		t.Fatal("created contact not found")
	}
	if r.Fields[item.Title] != "Rear Admiral" || r.Fields[item.FirstName] != "Grace" || r.Fields[item.LastName] != last {
		t.Errorf("after a Title-only update: %v", r.Fields)
	}
	del, err := crm.Delete(ctx(t), item.Contact, []string{res[0].ID, res[1].ID})
	if err != nil || len(del) != 2 || del[0].Err != nil || del[1].Err != nil {
		t.Fatalf("Delete = %+v, %v", del, err)
	}
	again, err := crm.Delete(ctx(t), item.Contact, []string{res[0].ID})
	if err != nil || len(again) != 1 || again[0].Err != nil {
		t.Errorf("deleting an already-deleted record = %+v, %v; want success", again, err)
	}
}

func testPartialBatch(t *testing.T, h CRMHarness) {
	last := unique("Batch")
	res, err := h.CRM().Create(ctx(t), item.Contact, []item.Record{
		{Kind: item.Contact, Fields: map[string]string{item.LastName: last + "a"}},
		{Kind: item.Contact, Fields: map[string]string{item.FirstName: "NoLastName"}},
		{Kind: item.Contact, Fields: map[string]string{item.LastName: last + "c"}},
	}, nil)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if len(res) != 3 {
		t.Fatalf("got %d results, want 3", len(res))
	}
	if res[0].Err != nil || res[2].Err != nil || res[0].ID == "" || res[2].ID == "" {
		t.Errorf("valid records not written: %+v", res)
	}
	var fe *fault.Error
	if !errors.As(res[1].Err, &fe) || fe.Class != fault.Permanent || !slices.Contains(fe.Fields, item.LastName) {
		t.Errorf("record without LastName: err %v, want Permanent naming %s", res[1].Err, item.LastName)
	}
}

func testFindCreated(t *testing.T, h CRMHarness) {
	since := h.Now().Add(-time.Minute)
	rec := item.Record{Kind: item.Task, Fields: map[string]string{item.Subject: unique("Intent"), item.Priority: "High", item.Status: "InProgress"}}
	res, err := h.CRM().Create(ctx(t), item.Task, []item.Record{rec}, []string{"marker-1"})
	if err != nil || res[0].Err != nil {
		t.Fatalf("Create: %v %+v", err, res)
	}
	ghost := item.Record{Kind: item.Task, Fields: map[string]string{item.Subject: unique("Never")}}
	found, err := h.CRM().FindCreated(ctx(t), item.Task, []item.Intent{
		{Marker: "marker-1", Since: since, Record: rec},
		{Marker: "marker-2", Since: since, Record: ghost},
	})
	if err != nil {
		t.Fatalf("FindCreated: %v", err)
	}
	if found["marker-1"] != res[0].ID {
		t.Errorf("FindCreated[marker-1] = %q, want %q", found["marker-1"], res[0].ID)
	}
	if id, ok := found["marker-2"]; ok {
		t.Errorf("FindCreated found a record never created: %q", id)
	}
}

func testFieldsRoundTrip(t *testing.T, h CRMHarness) {
	due := h.Now().AddDate(0, 0, 3).UTC().Format("2006-01-02")
	task := map[string]string{item.Subject: unique("Round"), item.DueDate: due, item.Status: "Waiting", item.Priority: "High", item.Description: "line 1\nline 2"}
	day := h.Now().UTC().AddDate(0, 0, 2).Truncate(24 * time.Hour)
	meeting := h.Now().UTC().Add(26 * time.Hour).Truncate(time.Hour)
	events := []map[string]string{
		{item.Subject: unique("Meeting"), item.Start: instant(meeting), item.End: instant(meeting.Add(90 * time.Minute)), item.AllDay: "false", item.Location: "Room 1", item.Recurrence: ""},
		{item.Subject: unique("AllDay"), item.Start: instant(day), item.End: instant(day.Add(48 * time.Hour)), item.AllDay: "true", item.Recurrence: ""},
		{item.Subject: unique("Weekly"), item.Start: instant(meeting), item.End: instant(meeting.Add(time.Hour)), item.AllDay: "false",
			item.Recurrence: "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE;UNTIL=" + meeting.AddDate(0, 2, 0).Format("20060102") + "T235959Z"},
	}
	check := func(kind item.Kind, fields map[string]string) {
		t.Helper()
		res, err := h.CRM().Create(ctx(t), kind, []item.Record{{Kind: kind, Fields: fields}}, nil)
		if err != nil || res[0].Err != nil {
			t.Fatalf("Create %s: %v %+v", kind, err, res)
		}
		ch := changes(t, h, scope(h, kind), "")
		got, ok := find(ch, res[0].ID)
		if !ok {
			t.Fatalf("%s %s not read back", kind, fields[item.Subject])
		}
		for k, want := range fields {
			if got.Fields[k] != want {
				t.Errorf("%s %s: %s = %q, want %q", kind, fields[item.Subject], k, got.Fields[k], want)
			}
		}
	}
	check(item.Task, task)
	_, single := h.(SingleEventsOnly)
	for _, e := range events {
		if single && e[item.Recurrence] != "" {
			refused(t, h, e)
			continue
		}
		check(item.Event, e)
	}
}

// SingleEventsOnly is implemented by harnesses whose CRM has no recurring
// events (SAP Cloud for Customer): the suite then wants a series refused
// per record with a Permanent fault, and nothing created for it, in place
// of a round trip.
type SingleEventsOnly interface {
	SingleEventsOnly()
}

func refused(t *testing.T, h CRMHarness, fields map[string]string) {
	t.Helper()
	res, err := h.CRM().Create(ctx(t), item.Event, []item.Record{{Kind: item.Event, Fields: fields}}, nil)
	if err != nil {
		t.Fatalf("Create of a series: %v", err)
	}
	if !fault.Is(res[0].Err, fault.Permanent) || res[0].ID != "" {
		t.Errorf("series %s: result %+v, want a Permanent refusal and no record", fields[item.Subject], res[0])
	}
	for _, r := range changes(t, h, scope(h, item.Event), "").Records {
		if r.Fields[item.Subject] == fields[item.Subject] {
			t.Errorf("a refused series left a stray event %s", r.ID)
		}
	}
}

func testDamagedCursor(t *testing.T, h CRMHarness) {
	id := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: unique("Cursor")})
	ch := changes(t, h, scope(h, item.Contact), "not-a-cursor")
	if !ch.Full {
		t.Error("a damaged cursor did not lead to a full read")
	}
	if _, ok := find(ch, id); !ok {
		t.Error("full read after a damaged cursor misses a contact")
	}
}

func testFindPeople(t *testing.T, h CRMHarness) {
	tag := strings.ToLower(unique("p"))
	contact := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: "Person", item.Email: tag + "@contact.example"})
	leads, err := h.CRM().CreateLeads(ctx(t), []item.Record{
		{Fields: map[string]string{item.FirstName: "Lee", item.LastName: "Lead", item.Email: tag + "@lead.example", item.Company: "Leads Ltd"}},
		{Fields: map[string]string{item.FirstName: "No", item.LastName: "Company", item.Email: tag + "@nocompany.example"}},
	})
	if err != nil {
		t.Fatalf("CreateLeads: %v", err)
	}
	if leads[0].Err != nil || leads[0].ID == "" {
		t.Fatalf("lead not created: %+v", leads[0])
	}
	if !fault.Is(leads[1].Err, fault.Permanent) {
		t.Errorf("lead without company: err %v, want Permanent", leads[1].Err)
	}
	got, err := h.CRM().FindPeople(ctx(t), []string{strings.ToUpper(tag) + "@CONTACT.example", tag + "@lead.example", tag + "@nobody.example", "o'brien\\@x.example"})
	if err != nil {
		t.Fatalf("FindPeople: %v", err)
	}
	if p := got[tag+"@contact.example"]; p.ID != contact || p.Object != "Contact" {
		t.Errorf("contact address → %+v, want Contact %s", p, contact)
	}
	if p := got[tag+"@lead.example"]; p.ID != leads[0].ID || p.Object != "Lead" {
		t.Errorf("lead address → %+v, want Lead %s", p, leads[0].ID)
	}
	if p, ok := got[tag+"@nobody.example"]; ok {
		t.Errorf("unknown address → %+v, want absent", p)
	}
}

func testLogEmail(t *testing.T, h CRMHarness) {
	tag := strings.ToLower(unique("mail"))
	a := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: "A", item.Email: tag + "a@x.example"})
	b := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: "B", item.Email: tag + "b@x.example"})
	account := h.Account(t)
	sent := h.Now().UTC().Truncate(time.Second)
	email := item.Record{Kind: item.SharedEmail, Fields: map[string]string{item.Subject: "Email: " + tag, item.Description: "Hello,\nthe quote.", item.Sent: sent.Format(time.RFC3339)}}
	since := h.Now().Add(-time.Minute)
	id, err := h.CRM().LogEmail(ctx(t), email, []string{a, b}, account, "mail-marker")
	if err != nil || id == "" {
		t.Fatalf("LogEmail = %q, %v", id, err)
	}
	found, err := h.CRM().FindCreated(ctx(t), item.SharedEmail, []item.Intent{{Marker: "mail-marker", Since: since, Record: email}})
	if err != nil || found["mail-marker"] != id {
		t.Errorf("FindCreated(email) = %v, %v; want %s", found, err, id)
	}
	one, err := h.CRM().LogEmail(ctx(t), email, []string{a}, "", "")
	if err != nil || one == "" || one == id {
		t.Errorf("LogEmail with one person = %q, %v", one, err)
	}
	ch := changes(t, h, scope(h, item.Task), "")
	if _, ok := find(ch, id); ok {
		t.Error("a logged e-mail shows up among the tasks to sync")
	}
}

func testAttachFile(t *testing.T, h CRMHarness) {
	parent := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: unique("File")})
	content := bytes.Repeat([]byte("crmsync "), 1000)
	id, err := h.CRM().AttachFile(ctx(t), parent, "notes.txt", int64(len(content)), bytes.NewReader(content))
	if err != nil || id == "" {
		t.Fatalf("AttachFile = %q, %v", id, err)
	}
	if _, err := h.CRM().AttachFile(ctx(t), parent, "short.txt", 10, bytes.NewReader([]byte("abc"))); !fault.Is(err, fault.Permanent) {
		t.Errorf("AttachFile with a wrong size: err %v, want Permanent", err)
	}
}

// testRecordLookup checks the add-in's people lookup (side.RecordCRM, an
// optional ability) against the sync's FindPeople: every record FindPeople
// maps an address to is among those LookupPeople lists for it, with its
// object, and the objects describe.
func testRecordLookup(t *testing.T, h CRMHarness) {
	rc, ok := h.CRM().(side.RecordCRM)
	if !ok {
		t.Skip("the CRM has no add-in record operations (side.RecordCRM)")
	}
	tag := strings.ToLower(unique("r"))
	contact := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: "Looked", item.Email: tag + "@contact.example"})
	leads, err := h.CRM().CreateLeads(ctx(t), []item.Record{
		{Fields: map[string]string{item.FirstName: "Lee", item.LastName: "Looked", item.Email: tag + "@lead.example", item.Company: "Leads Ltd"}},
	})
	if err != nil || leads[0].Err != nil {
		t.Fatalf("CreateLeads: %v %+v", err, leads)
	}
	addrs := []string{tag + "@contact.example", tag + "@lead.example", tag + "@nobody.example"}
	found, err := h.CRM().FindPeople(ctx(t), addrs)
	if err != nil {
		t.Fatalf("FindPeople: %v", err)
	}
	listed, err := rc.LookupPeople(ctx(t), addrs)
	if err != nil {
		t.Fatalf("LookupPeople: %v", err)
	}
	byAddr := map[string][]side.Person{}
	for _, p := range listed {
		if p.Email != strings.ToLower(p.Email) {
			t.Errorf("LookupPeople answered address %q, want lower case", p.Email)
		}
		byAddr[p.Email] = append(byAddr[p.Email], p)
	}
	if len(byAddr[tag+"@nobody.example"]) != 0 {
		t.Errorf("unknown address listed %+v", byAddr[tag+"@nobody.example"])
	}
	want := map[string]string{tag + "@contact.example": contact, tag + "@lead.example": leads[0].ID}
	for addr, id := range want {
		p := found[addr]
		if p.ID != id {
			t.Errorf("FindPeople(%s) = %+v, want %s", addr, p, id)
		}
		agrees := false
		for _, l := range byAddr[addr] {
			agrees = agrees || (l.ID == p.ID && l.Object == p.Object)
		}
		if !agrees {
			t.Errorf("LookupPeople(%s) = %+v lacks FindPeople's %+v", addr, byAddr[addr], p)
		}
	}
	for _, object := range []string{found[tag+"@contact.example"].Object, found[tag+"@lead.example"].Object} {
		o, err := rc.Describe(ctx(t), object)
		if err != nil || o.Name == "" || len(o.Fields) == 0 {
			t.Errorf("Describe(%s) = %s with %d fields, %v", object, o.Name, len(o.Fields), err)
		}
	}
}
