// The mailbox suite (RunMailbox) is the conformance suite every mailbox side
// (side.Mailbox) must pass. It drives the side as the sync engine does and
// acts in the mailbox directly, as its user would, through a MailboxHarness. The
// suite works on a mailbox that holds other items too (a real test tenant):
// it recognises its own items by unique subjects and names.

package sidetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// MailboxHarness gives the suite a mailbox side and a way to act in the mailbox
// directly, bypassing the side.
type MailboxHarness interface {
	// Mailbox is the side under test.
	Mailbox() side.Mailbox
	// Create makes an item in the kind's sync container (contact folder,
	// task list, calendar) with canonical fields and categories; it returns
	// the item's id as the side reports it.
	Create(ctx context.Context, kind item.Kind, fields map[string]string, categories []string) (string, error)
	// Update changes fields of an item.
	Update(ctx context.Context, kind item.Kind, id string, fields map[string]string) error
	// Delete deletes an item.
	Delete(ctx context.Context, kind item.Kind, id string) error
	// SetCategories replaces an item's categories.
	SetCategories(ctx context.Context, kind item.Kind, id string, categories []string) error
	// Categories reads an item's categories.
	Categories(ctx context.Context, kind item.Kind, id string) ([]string, error)
	// Email puts a message in the share folder (inShareFolder) or the inbox,
	// with categories and one attachment; it returns the message id.
	Email(ctx context.Context, subject string, inShareFolder bool, categories []string, attachName string, attachment []byte) (string, error)
}

// Expirer is an optional MailboxHarness ability: invalidate every change cursor of
// the mailbox, as when the service drops its sync state.
type Expirer interface {
	ExpireCursors()
}

// RunMailbox runs the mailbox suite; newHarness is called once per test.
func RunMailbox(t *testing.T, newHarness func(t *testing.T) MailboxHarness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h MailboxHarness)
	}{
		{"ContactsUserChanges", testContactsUserChanges},
		{"ContactsEngineWrites", testContactsEngineWrites},
		{"TasksRoundTrip", testTasks},
		{"EventsAndSeries", testEvents},
		{"ExpiredCursorReadsAgain", testExpired},
		{"SharedEmails", testSharedEmails},
		{"FlagIssue", testFlagIssue},
		{"BadRecordFailsAlone", testBadRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newHarness(t)) })
	}
}

func uniqueName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + " " + hex.EncodeToString(b[:])
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func fatalIf(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func findRecord(recs []item.Record, id string) (item.Record, bool) {
	for _, r := range recs {
		if r.ID == id {
			return r, true
		}
	}
	return item.Record{}, false
}

func findRemoval(rs []item.Removal, id string) (item.Removal, bool) {
	for _, r := range rs {
		if r.ID == id {
			return r, true
		}
	}
	return item.Removal{}, false
}

func window() item.Scope {
	now := time.Now().UTC().Truncate(time.Hour)
	return item.Scope{Kind: item.Event, From: now.AddDate(0, 0, -14), To: now.AddDate(0, 0, 28)}
}

func checkResults(t *testing.T, what string, res []side.Result, err error, n int) []string {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(res) != n {
		t.Fatalf("%s: got %d results, want %d", what, len(res), n)
	}
	ids := make([]string, n)
	for i, r := range res {
		if r.Err != nil || r.ID == "" {
			t.Fatalf("%s: result %d = %+v, want an id and no error", what, i, r)
		}
		ids[i] = r.ID
	}
	return ids
}

func testContactsUserChanges(t *testing.T, h MailboxHarness) {
	ctx, mb := ctxFor(t), h.Mailbox()
	scope := item.Scope{Kind: item.Contact}
	first, err := mb.Changes(ctx, scope, "")
	fatalIf(t, err)
	if !first.Full || first.Cursor == "" {
		t.Fatalf("first Changes: Full=%v cursor=%q, want Full and a cursor", first.Full, first.Cursor)
	}
	last := uniqueName("Lovelace")
	id, err := h.Create(ctx, item.Contact, map[string]string{item.FirstName: "Ada", item.LastName: last, item.Email: "Ada@Example.com", item.Phone: "+44 20 7946 0018"}, nil)
	fatalIf(t, err)
	ch, err := mb.Changes(ctx, scope, first.Cursor)
	fatalIf(t, err)
	got, ok := findRecord(ch.Records, id)
	if !ok || ch.Full {
		t.Fatalf("after create: record found=%v Full=%v, want found and incremental", ok, ch.Full)
	}
	for k, want := range map[string]string{item.FirstName: "Ada", item.LastName: last, item.Email: "ada@example.com", item.Phone: "+44 20 7946 0018", item.Title: ""} {
		if got.Fields[k] != want {
			t.Errorf("field %s = %q, want %q", k, got.Fields[k], want)
		}
	}
	if err := h.Update(ctx, item.Contact, id, map[string]string{item.Title: "Countess"}); err != nil {
		t.Fatal(err)
	}
	ch2, err := mb.Changes(ctx, scope, ch.Cursor)
	fatalIf(t, err)
	if got, ok := findRecord(ch2.Records, id); !ok || got.Fields[item.Title] != "Countess" || got.Fields[item.LastName] != last {
		t.Fatalf("after update: %+v (found %v), want Title Countess and LastName kept", got.Fields, ok)
	}
	idle, err := mb.Changes(ctx, scope, ch2.Cursor)
	fatalIf(t, err)
	if _, ok := findRecord(idle.Records, id); ok {
		t.Errorf("no change: the contact was reported again")
	}
	if err := h.Delete(ctx, item.Contact, id); err != nil {
		t.Fatal(err)
	}
	ch3, err := mb.Changes(ctx, scope, idle.Cursor)
	fatalIf(t, err)
	if r, ok := findRemoval(ch3.Removed, id); !ok || r.Reason != item.Deleted {
		t.Fatalf("after delete: removal %+v found=%v, want Deleted", r, ok)
	}
}

func testContactsEngineWrites(t *testing.T, h MailboxHarness) {
	ctx, mb := ctxFor(t), h.Mailbox()
	scope := item.Scope{Kind: item.Contact}
	start, err := mb.Changes(ctx, scope, "")
	fatalIf(t, err)
	var recs []item.Record
	var markers []string
	for i := range 3 {
		recs = append(recs, item.Record{Kind: item.Contact, Fields: map[string]string{
			item.FirstName: "Grace", item.LastName: uniqueName("Hopper"), item.Email: "grace@example.com",
			item.MailingStreet: "1 Navy Way", item.MailingCity: "Arlington", item.MailingCountry: "USA",
		}})
		markers = append(markers, uniqueName("m")+string(rune('a'+i)))
	}
	res, err := mb.Create(ctx, item.Contact, recs, markers)
	ids := checkResults(t, "Create", res, err, 3)
	var intents []item.Intent
	for _, m := range markers {
		intents = append(intents, item.Intent{Marker: m, Since: time.Now().Add(-time.Hour)})
	}
	found, err := mb.FindCreated(ctx, item.Contact, intents)
	fatalIf(t, err)
	for i, m := range markers {
		if found[m] != ids[i] {
			t.Errorf("FindCreated[%s] = %q, want %q", m, found[m], ids[i])
		}
	}
	if none, err := mb.FindCreated(ctx, item.Contact, []item.Intent{{Marker: uniqueName("absent")}}); err != nil || len(none) != 0 {
		t.Errorf("FindCreated of an unknown marker = %v, want empty", none)
	}
	ch, err := mb.Changes(ctx, scope, start.Cursor)
	fatalIf(t, err)
	for i, id := range ids {
		got, ok := findRecord(ch.Records, id)
		if !ok || got.Fields[item.LastName] != recs[i].Fields[item.LastName] || got.Fields[item.MailingCity] != "Arlington" {
			t.Fatalf("created contact %d: %+v found=%v", i, got.Fields, ok)
		}
	}
	// A partial address update keeps the other address fields.
	res, err = mb.Update(ctx, item.Contact, []item.Record{{ID: ids[0], Fields: map[string]string{item.MailingCity: "Washington"}}})
	checkResults(t, "Update", res, err, 1)
	ch2, err := mb.Changes(ctx, scope, ch.Cursor)
	fatalIf(t, err)
	got, _ := findRecord(ch2.Records, ids[0])
	if got.Fields[item.MailingCity] != "Washington" || got.Fields[item.MailingStreet] != "1 Navy Way" {
		t.Errorf("after partial address update: %+v", got.Fields)
	}
	res, err = mb.Delete(ctx, item.Contact, ids)
	checkResults(t, "Delete", res, err, 3)
	res, err = mb.Delete(ctx, item.Contact, ids[:1])
	checkResults(t, "Delete again (already gone)", res, err, 1)
}

func testTasks(t *testing.T, h MailboxHarness) {
	ctx, mb := ctxFor(t), h.Mailbox()
	scope := item.Scope{Kind: item.Task, From: time.Now().AddDate(0, 0, -14)}
	start, err := mb.Changes(ctx, scope, "")
	fatalIf(t, err)
	subject := uniqueName("Send proposal")
	due := time.Now().AddDate(0, 0, 3).Format(time.DateOnly)
	marker := uniqueName("task")
	res, err := mb.Create(ctx, item.Task, []item.Record{{Kind: item.Task, Fields: map[string]string{
		item.Subject: subject, item.DueDate: due, item.Status: "InProgress", item.Priority: "High", item.Description: "Figures attached.",
	}}}, []string{marker})
	id := checkResults(t, "Create", res, err, 1)[0]
	found, err := mb.FindCreated(ctx, item.Task, []item.Intent{{Marker: marker}})
	fatalIf(t, err)
	if found[marker] != id {
		t.Errorf("FindCreated = %v, want %s → %s", found, marker, id)
	}
	userTask, err := h.Create(ctx, item.Task, map[string]string{item.Subject: uniqueName("Call back"), item.Status: "NotStarted"}, nil)
	fatalIf(t, err)
	ch, err := mb.Changes(ctx, scope, start.Cursor)
	fatalIf(t, err)
	got, ok := findRecord(ch.Records, id)
	want := map[string]string{item.Subject: subject, item.DueDate: due, item.Status: "InProgress", item.Priority: "High", item.Description: "Figures attached."}
	for k, v := range want {
		if got.Fields[k] != v {
			t.Errorf("task field %s = %q, want %q (found %v)", k, got.Fields[k], v, ok)
		}
	}
	if got.Marker != marker {
		t.Errorf("task marker = %q, want %q", got.Marker, marker)
	}
	if _, ok := findRecord(ch.Records, userTask); !ok {
		t.Errorf("the user's task was not reported")
	}
	res, err = mb.Update(ctx, item.Task, []item.Record{{ID: id, Fields: map[string]string{item.Status: "Completed", item.DueDate: ""}}})
	checkResults(t, "Update", res, err, 1)
	res, err = mb.Delete(ctx, item.Task, []string{id, userTask})
	checkResults(t, "Delete", res, err, 2)
}

func testEvents(t *testing.T, h MailboxHarness) {
	ctx, mb := ctxFor(t), h.Mailbox()
	scope := window()
	start, err := mb.Changes(ctx, scope, "")
	fatalIf(t, err)
	if !start.Full {
		t.Fatalf("first events read not Full")
	}
	at := scope.From.AddDate(0, 0, 15).Truncate(24 * time.Hour).Add(10 * time.Hour)
	single := item.Record{Kind: item.Event, Fields: map[string]string{
		item.Subject: uniqueName("Review"), item.Start: at.Format(time.RFC3339), item.End: at.Add(time.Hour).Format(time.RFC3339),
		item.Location: "Room 4", item.AllDay: "false",
	}}
	weekly := "FREQ=WEEKLY;INTERVAL=1;BYDAY=" + [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}[at.Weekday()] + ";COUNT=4"
	series := item.Record{Kind: item.Event, Fields: map[string]string{
		item.Subject: uniqueName("Pipeline call"), item.Start: at.Add(2 * time.Hour).Format(time.RFC3339),
		item.End: at.Add(150 * time.Minute).Format(time.RFC3339), item.Recurrence: weekly,
	}}
	res, err := mb.Create(ctx, item.Event, []item.Record{single, series}, []string{uniqueName("ev"), uniqueName("ev")})
	ids := checkResults(t, "Create", res, err, 2)
	ch, err := mb.Changes(ctx, scope, start.Cursor)
	fatalIf(t, err)
	if got, ok := findRecord(ch.Records, ids[0]); !ok || got.Fields[item.Subject] != single.Fields[item.Subject] || got.Fields[item.Start] != single.Fields[item.Start] {
		t.Errorf("single event: %+v found=%v", got.Fields, ok)
	}
	got, ok := findRecord(ch.Records, ids[1])
	if !ok || got.Fields[item.Recurrence] != weekly {
		t.Fatalf("series master: recurrence %q found=%v, want %q", got.Fields[item.Recurrence], ok, weekly)
	}
	n := 0
	for _, r := range ch.Records {
		if r.ID == ids[1] {
			n++
		}
	}
	if n != 1 {
		t.Errorf("series reported %d times, want once (occurrences fold into the master)", n)
	}
	// An exception: the second occurrence moves an hour later.
	orig := at.Add(2*time.Hour).AddDate(0, 0, 7)
	exc := item.Record{Kind: item.Event, Fields: map[string]string{
		item.Subject: series.Fields[item.Subject] + " (moved)", item.Start: orig.Add(time.Hour).Format(time.RFC3339),
		item.End: orig.Add(90 * time.Minute).Format(time.RFC3339), item.SeriesID: ids[1], item.OriginalStart: orig.Format(time.RFC3339),
	}}
	res, err = mb.Create(ctx, item.Event, []item.Record{exc}, []string{""})
	excID := checkResults(t, "Create exception", res, err, 1)[0]
	ch2, err := mb.Changes(ctx, scope, ch.Cursor)
	fatalIf(t, err)
	if got, ok := findRecord(ch2.Records, excID); !ok || got.Fields[item.SeriesID] != ids[1] || got.Fields[item.OriginalStart] != orig.Format(time.RFC3339) {
		t.Errorf("exception: %+v found=%v", got.Fields, ok)
	}
	// Moving the single event out of the window is not a deletion.
	out := scope.To.AddDate(0, 0, 10)
	if err := h.Update(ctx, item.Event, ids[0], map[string]string{item.Start: out.Format(time.RFC3339), item.End: out.Add(time.Hour).Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
	ch3, err := mb.Changes(ctx, scope, ch2.Cursor)
	fatalIf(t, err)
	if r, ok := findRemoval(ch3.Removed, ids[0]); !ok || r.Reason != item.LeftScope {
		t.Errorf("event moved out of the window: removal %+v found=%v, want LeftScope", r, ok)
	}
	// Deleting the series reports the series as deleted.
	if err := h.Delete(ctx, item.Event, ids[1]); err != nil {
		t.Fatal(err)
	}
	ch4, err := mb.Changes(ctx, scope, ch3.Cursor)
	fatalIf(t, err)
	if r, ok := findRemoval(ch4.Removed, ids[1]); !ok || r.Reason != item.Deleted {
		t.Errorf("series deleted: removal %+v found=%v, want Deleted; removed=%+v", r, ok, ch4.Removed)
	}
	_, _ = mb.Delete(ctx, item.Event, []string{ids[0]})
}

func testExpired(t *testing.T, h MailboxHarness) {
	ex, ok := h.(Expirer)
	if !ok {
		t.Skip("the harness cannot expire cursors")
	}
	ctx, mb := ctxFor(t), h.Mailbox()
	scope := item.Scope{Kind: item.Contact}
	id, err := h.Create(ctx, item.Contact, map[string]string{item.FirstName: "Alan", item.LastName: uniqueName("Turing")}, nil)
	fatalIf(t, err)
	first, err := mb.Changes(ctx, scope, "")
	fatalIf(t, err)
	ex.ExpireCursors()
	again, err := mb.Changes(ctx, scope, first.Cursor)
	fatalIf(t, err)
	if !again.Full {
		t.Fatalf("expired cursor: Full=false, want a full read")
	}
	n := 0
	for _, r := range again.Records {
		if r.ID == id {
			n++
		}
	}
	if n != 1 {
		t.Errorf("expired cursor: contact reported %d times, want once", n)
	}
	if next, err := mb.Changes(ctx, scope, again.Cursor); err != nil || next.Full {
		t.Errorf("the cursor after a full read is not incremental")
	}
}

func testSharedEmails(t *testing.T, h MailboxHarness) {
	ctx, mb := ctxFor(t), h.Mailbox()
	scope := item.Scope{Kind: item.SharedEmail, ShareCategory: "Salesforce"}
	start, err := mb.SharedEmails(ctx, scope, "")
	fatalIf(t, err)
	content := []byte("quarter,amount\nQ1,1200\n")
	inFolder, err := h.Email(ctx, uniqueName("Proposal"), true, nil, "figures.csv", content)
	fatalIf(t, err)
	tagged, err := h.Email(ctx, uniqueName("Contract"), false, []string{"Salesforce"}, "contract.txt", []byte("signed"))
	fatalIf(t, err)
	plain, err := h.Email(ctx, uniqueName("Lunch"), false, nil, "menu.txt", []byte("soup"))
	fatalIf(t, err)
	ch, err := mb.SharedEmails(ctx, scope, start.Cursor)
	fatalIf(t, err)
	for _, id := range []string{inFolder, tagged} {
		if _, ok := findRecord(ch.Records, id); !ok {
			t.Errorf("shared message %s not reported", id)
		}
	}
	if _, ok := findRecord(ch.Records, plain); ok {
		t.Errorf("an unshared message was reported")
	}
	atts, err := mb.Attachments(ctx, inFolder)
	fatalIf(t, err)
	if len(atts) != 1 || atts[0].Name != "figures.csv" || atts[0].Size != int64(len(content)) {
		t.Fatalf("attachments = %+v", atts)
	}
	rc, err := mb.OpenAttachment(ctx, inFolder, atts[0].ID)
	fatalIf(t, err)
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(got) != string(content) {
		t.Errorf("attachment content = %q, %v; want %q", got, err, content)
	}
	for _, id := range []string{inFolder, tagged} {
		if err := mb.MarkShared(ctx, id, "00T000000000001"); err != nil {
			t.Fatal(err)
		}
	}
	again, err := mb.SharedEmails(ctx, scope, ch.Cursor)
	fatalIf(t, err)
	for _, id := range []string{inFolder, tagged} {
		if _, ok := findRecord(again.Records, id); ok {
			t.Errorf("message %s reported again after MarkShared", id)
		}
	}
	fresh, err := mb.SharedEmails(ctx, scope, "")
	fatalIf(t, err)
	for _, id := range []string{inFolder, tagged} {
		if _, ok := findRecord(fresh.Records, id); ok {
			t.Errorf("message %s reported by a full read after MarkShared", id)
		}
	}
}

func testFlagIssue(t *testing.T, h MailboxHarness) {
	ctx, mb := ctxFor(t), h.Mailbox()
	id, err := h.Create(ctx, item.Contact, map[string]string{item.FirstName: "Flag", item.LastName: uniqueName("Test")}, []string{"Blue"})
	fatalIf(t, err)
	if err := mb.FlagIssue(ctx, item.Contact, id, true); err != nil {
		t.Fatal(err)
	}
	cats, err := h.Categories(ctx, item.Contact, id)
	fatalIf(t, err)
	if !slices.Contains(cats, "Sync Error") || !slices.Contains(cats, "Blue") {
		t.Errorf("after flag: categories %v, want Sync Error added and Blue kept", cats)
	}
	if err := mb.FlagIssue(ctx, item.Contact, id, false); err != nil {
		t.Fatal(err)
	}
	cats, err = h.Categories(ctx, item.Contact, id)
	fatalIf(t, err)
	if slices.Contains(cats, "Sync Error") || !slices.Contains(cats, "Blue") {
		t.Errorf("after clear: categories %v, want Sync Error gone and Blue kept", cats)
	}
	if err := mb.FlagIssue(ctx, item.Contact, "AAMkdoesnotexist", true); !fault.Is(err, fault.Gone) {
		t.Errorf("FlagIssue on a missing item: %v, want a Gone error", err)
	}
	_ = h.Delete(ctx, item.Contact, id)
}

func testBadRecord(t *testing.T, h MailboxHarness) {
	ctx, mb := ctxFor(t), h.Mailbox()
	recs := []item.Record{
		{Kind: item.Task, Fields: map[string]string{item.Subject: uniqueName("good")}},
		{Kind: item.Task, Fields: map[string]string{item.Subject: uniqueName("bad"), item.DueDate: "next week"}},
		{Kind: item.Task, Fields: map[string]string{item.Subject: uniqueName("good too")}},
	}
	res, err := mb.Create(ctx, item.Task, recs, []string{"", "", ""})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if res[0].Err != nil || res[2].Err != nil || res[0].ID == "" || res[2].ID == "" {
		t.Errorf("good records failed: %+v", res)
	}
	if !fault.Is(res[1].Err, fault.Permanent) {
		t.Errorf("bad record: %v, want a Permanent error", res[1].Err)
	}
	_, _ = mb.Delete(ctx, item.Task, []string{res[0].ID, res[2].ID})
}
