package session_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/session/memside"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

type staticSettings map[string]session.UserSettings

func (s staticSettings) UserSettings(ctx context.Context, user string) (session.UserSettings, error) {
	us, ok := s[user]
	if !ok {
		return us, fault.New(fault.Permanent, "no-settings", "unknown user")
	}
	return us, nil
}

type staticOpener struct{ sides side.Sides }

func (o staticOpener) Open(ctx context.Context, user string) (side.Sides, error) {
	return o.sides, nil
}

// fastTempDir returns a temporary directory in memory (/dev/shm) where there
// is one: the randomized tests run thousands of sessions, and fsync on a disk
// would dominate their time without testing anything more.
func fastTempDir(t testing.TB) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		dir, err := os.MkdirTemp("/dev/shm", "crmsync-test-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

type fixture struct {
	store *tablestore.Embedded
	crm   *memside.Side
	mbx   *memside.Side
	r     *session.Runner
	now   time.Time
	set   staticSettings
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	st, err := tablestore.OpenEmbedded(filepath.Join(fastTempDir(t), "state.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st, crm: memside.New("crm"), mbx: memside.New("mailbox"),
		now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	f.set = staticSettings{"u1": {FingerprintKey: []byte("0123456789abcdef0123456789abcdef"),
		Email: session.EmailSettings{Enabled: true, CreateLeads: true, OwnAddress: "me@ourco.com", SkipFreeMail: true}}}
	f.crm.Now = func() time.Time { return f.now }
	f.mbx.Now = func() time.Time { return f.now }
	f.r = &session.Runner{Store: st, Opener: staticOpener{side.Sides{CRM: f.crm, Mailbox: f.mbx}},
		Settings: f.set, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return f.now }}
	return f
}

func (f *fixture) run(t testing.TB) session.Report {
	t.Helper()
	f.now = f.now.Add(time.Minute)
	rep, err := f.r.Run(context.Background(), "u1", "test")
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	return rep
}

func contact(first, last, email string) item.Record {
	return item.Record{Kind: item.Contact, Fields: map[string]string{item.FirstName: first, item.LastName: last, item.Email: email}}
}

func byEmail(recs []item.Record) map[string]item.Record {
	out := map[string]item.Record{}
	for _, r := range recs {
		out[r.Fields[item.Email]] = r
	}
	return out
}

func TestSessionCopiesBothWaysAndSecondSessionDoesNothing(t *testing.T) {
	f := newFixture(t)
	f.crm.Put(contact("Ada", "Lovelace", "ada@acme.com"))
	f.crm.Put(contact("Alan", "Turing", "alan@acme.com"))
	f.mbx.Put(contact("Grace", "Hopper", "grace@navy.mil"))
	rep := f.run(t)
	if rep.Outcome != "ok" {
		t.Fatalf("outcome %q (%s)", rep.Outcome, rep.Detail)
	}
	for _, side := range []*memside.Side{f.crm, f.mbx} {
		got := byEmail(side.Records(item.Contact))
		if len(got) != 3 {
			t.Fatalf("a side holds %d contacts, want 3: %v", len(got), got)
		}
		if got["grace@navy.mil"].Fields[item.LastName] != "Hopper" {
			t.Errorf("Grace not copied: %+v", got["grace@navy.mil"])
		}
	}
	if got := rep.Counts["contact|to-mailbox|create"]; got != 2 {
		t.Errorf("to-mailbox creates = %d, want 2", got)
	}
	second := f.run(t)
	if len(second.Counts) != 0 {
		t.Errorf("second session changed things: %v", second.Counts)
	}
	// The second session reads back its own writes and stores the cursors that
	// follow them; from then on an idle session writes only its lease.
	crmCalls, mbxCalls := f.crm.Calls(), f.mbx.Calls()
	idle := f.run(t)
	if len(idle.Counts) != 0 || idle.TableWrites != 2 {
		t.Errorf("idle session: counts %v, %d table writes; want none and 2 (the lease)", idle.Counts, idle.TableWrites)
	}
	// One changes call per kind and side, plus one shared-e-mail read.
	if got, want := f.crm.Calls()-crmCalls, int64(len(item.Kinds)); got != want {
		t.Errorf("CRM calls in an idle session = %d, want %d", got, want)
	}
	if got, want := f.mbx.Calls()-mbxCalls, int64(len(item.Kinds)+1); got != want {
		t.Errorf("mailbox calls in an idle session = %d, want %d", got, want)
	}
}

func TestSessionMergesFieldsChangedOnBothSides(t *testing.T) {
	f := newFixture(t)
	id := f.crm.Put(contact("Ada", "Lovelace", "ada@acme.com"))
	f.run(t)
	mid := byEmail(f.mbx.Records(item.Contact))["ada@acme.com"].ID
	f.crm.Edit(item.Contact, id, map[string]string{item.Title: "Countess"})
	f.mbx.Edit(item.Contact, mid, map[string]string{item.Phone: "+44 20 7946 0000"})
	f.run(t)
	for name, side := range map[string]*memside.Side{"crm": f.crm, "mailbox": f.mbx} {
		r := byEmail(side.Records(item.Contact))["ada@acme.com"]
		if r.Fields[item.Title] != "Countess" || r.Fields[item.Phone] != "+44 20 7946 0000" {
			t.Errorf("%s after merge: %v, want both changes", name, r.Fields)
		}
	}
}

func TestFailedItemBecomesIssueAndClearsWhenItSyncs(t *testing.T) {
	f := newFixture(t)
	mid := f.mbx.Put(contact("Bad", "Record", "bad@acme.com"))
	f.crm.FailRecord = func(op string, r item.Record) error {
		if r.Fields[item.Email] == "bad@acme.com" {
			e := fault.New(fault.Permanent, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Phone is required")
			e.Fields = []string{"Phone"}
			return e
		}
		return nil
	}
	rep := f.run(t)
	if rep.Outcome != "partial" || rep.Issues != 1 {
		t.Fatalf("report %+v, want partial with one issue", rep)
	}
	issues, err := session.NewState(f.store, "u1").Issues(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(issues) != 1 || issues[0].Name != "Bad Record" || issues[0].Side != reconcile.Mailbox || issues[0].RecordID != mid {
		t.Fatalf("issues = %+v, want one naming Bad Record in the mailbox", issues)
	}
	if !strings.Contains(issues[0].Reason, "Phone") {
		t.Errorf("reason %q does not name the field", issues[0].Reason)
	}
	if !f.mbx.Flags["contact|"+mid] {
		t.Errorf("mailbox item not flagged with the Sync Error category")
	}
	// The user fixes the record; it syncs and the issue goes away.
	f.crm.FailRecord = nil
	f.mbx.Edit(item.Contact, mid, map[string]string{item.Phone: "123"})
	f.run(t)
	issues, _ = session.NewState(f.store, "u1").Issues(context.Background())
	if len(issues) != 0 {
		t.Errorf("issue not cleared after the item synced: %+v", issues)
	}
	if f.mbx.Flags["contact|"+mid] {
		t.Errorf("Sync Error category not cleared")
	}
	if len(f.crm.Records(item.Contact)) != 1 {
		t.Errorf("CRM holds %d contacts, want 1", len(f.crm.Records(item.Contact)))
	}
}

func TestKilledSessionIsFinishedWithoutDuplicates(t *testing.T) {
	for _, side := range []string{"crm", "mailbox"} {
		for crashAt := 1; crashAt <= 3; crashAt++ {
			for _, after := range []bool{false, true} {
				f := newFixture(t)
				for i := 0; i < 5; i++ {
					f.crm.Put(contact("C", string(rune('a'+i)), string(rune('a'+i))+"@acme.com"))
					f.mbx.Put(contact("M", string(rune('a'+i)), string(rune('a'+i))+"@other.com"))
				}
				victim := f.crm
				if side == "mailbox" {
					victim = f.mbx
				}
				victim.CrashAtWrite, victim.CrashAfterApply = crashAt, after
				f.now = f.now.Add(time.Minute)
				_, err := f.r.Run(context.Background(), "u1", "test")
				crashed := errors.Is(err, session.ErrRetryLater)
				if err != nil && !crashed {
					t.Fatalf("%s crash at write %d: err = %v", side, crashAt, err)
				}
				victim.CrashAtWrite = 0
				// The queue redelivers after the lease expired.
				f.now = f.now.Add(11 * time.Minute)
				f.run(t)
				f.run(t)
				for name, s := range map[string]*memside.Side{"crm": f.crm, "mailbox": f.mbx} {
					if n := len(s.Records(item.Contact)); n != 10 {
						t.Errorf("%s crash at write %d (after apply %v, crashed %v): %s holds %d contacts, want 10",
							side, crashAt, after, crashed, name, n)
					}
				}
			}
		}
	}
}

func TestCreateAfterCrashIsAdoptedNotRepeated(t *testing.T) {
	f := newFixture(t)
	f.crm.Put(contact("Alan", "Turing", "alan@acme.com"))
	f.run(t)
	f.run(t) // cursors settled: the next session is incremental
	f.crm.Put(contact("Ada", "Lovelace", "ada@acme.com"))
	// The create reaches the mailbox, then the session dies before it learns the ID.
	f.mbx.ResetWrites()
	f.mbx.CrashAtWrite, f.mbx.CrashAfterApply = 1, true
	f.now = f.now.Add(time.Minute)
	if _, err := f.r.Run(context.Background(), "u1", "test"); !errors.Is(err, session.ErrRetryLater) {
		t.Fatalf("err = %v, want a retry", err)
	}
	f.mbx.CrashAtWrite = 0
	f.now = f.now.Add(11 * time.Minute)
	rep := f.run(t)
	if n := len(f.mbx.Records(item.Contact)); n != 2 {
		t.Fatalf("mailbox holds %d contacts, want 2 (Ada adopted, not created again)", n)
	}
	if rep.Counts["contact|to-mailbox|create"] != 0 {
		t.Errorf("counts %v: Ada was created again", rep.Counts)
	}
	left, _ := session.NewState(f.store, "u1").PendingIntents(context.Background())
	if len(left) != 0 {
		t.Errorf("intents left: %+v", left)
	}
}

func TestEmailIsSharedOnceWithPeopleLeadsAndFiles(t *testing.T) {
	f := newFixture(t)
	f.crm.AddPerson("ada@acme.com", item.Person{ID: "003ADA", Object: "Contact", AccountID: "001ACME"})
	msg := f.mbx.AddEmail(item.Record{Fields: map[string]string{
		item.Subject: "Proposal", item.From: "me@ourco.com", item.To: "ada@acme.com,new.person@prospect.io",
		item.Cc: "noreply@acme.com,someone@gmail.com", item.Description: "secret body text", item.Direction: "Outbound",
	}}, map[string][]byte{"quote.pdf": []byte("%PDF-1.7 quote")})
	rep := f.run(t)
	task, ok := f.mbx.SharedAs(msg)
	if !ok {
		t.Fatalf("message not marked shared; report %+v", rep)
	}
	logged := f.crm.LoggedMails[task]
	who := strings.Split(logged.Fields["Who"], ",")
	if len(who) != 2 || who[0] != "003ADA" {
		t.Errorf("task related to %v, want Ada and the new lead", who)
	}
	if logged.Fields["What"] != "001ACME" {
		t.Errorf("task what = %q, want Ada's account", logged.Fields["What"])
	}
	if got := f.crm.Files[task]; len(got) != 1 || got[0] != "quote.pdf" {
		t.Errorf("files on the task = %v, want quote.pdf", got)
	}
	if rep.Counts["lead|to-crm|create"] != 1 {
		t.Errorf("leads created = %d, want 1 (not noreply@, not gmail, not our own domain)", rep.Counts["lead|to-crm|create"])
	}
	f.run(t)
	if n := len(f.crm.LoggedMails); n != 1 {
		t.Errorf("the e-mail was shared %d times, want once", n)
	}
}

func TestEmailSharedBeforeCrashIsNotSharedAgain(t *testing.T) {
	for _, at := range []string{"log", "mark"} {
		f := newFixture(t)
		f.mbx.AddEmail(item.Record{Fields: map[string]string{item.Subject: "Hi", item.From: "x@client.com", item.To: "me@ourco.com"}}, nil)
		if at == "log" {
			// The Task is created, the answer is lost.
			f.crm.CrashAtWrite, f.crm.CrashAfterApply = 2, true // 1: the lead for x@client.com
		} else {
			// The Task exists, the session dies before the message is marked.
			f.mbx.CrashAtWrite = 1
		}
		f.now = f.now.Add(time.Minute)
		if _, err := f.r.Run(context.Background(), "u1", "test"); !errors.Is(err, session.ErrRetryLater) {
			t.Fatalf("%s: err = %v, want a retry", at, err)
		}
		f.crm.CrashAtWrite, f.mbx.CrashAtWrite = 0, 0
		f.now = f.now.Add(11 * time.Minute)
		f.run(t)
		f.run(t)
		if n := len(f.crm.LoggedMails); n != 1 {
			t.Errorf("crash at %s: e-mail logged %d times, want 1", at, n)
		}
	}
}

func TestEmptiedSideDoesNotWipeTheOther(t *testing.T) {
	f := newFixture(t)
	var ids []string
	for i := 0; i < 20; i++ {
		ids = append(ids, f.crm.Put(contact("C", string(rune('a'+i)), string(rune('a'+i))+"@acme.com")))
	}
	f.run(t)
	for _, id := range ids {
		f.crm.Remove(item.Contact, id)
	}
	rep := f.run(t)
	if n := len(f.mbx.Records(item.Contact)); n != 20 {
		t.Errorf("mailbox holds %d contacts after the CRM emptied, want all 20 kept", n)
	}
	if rep.Issues == 0 {
		t.Errorf("no issue raised for the tripped guard: %+v", rep)
	}
}

func TestLeaseHeldSkipsSession(t *testing.T) {
	f := newFixture(t)
	if _, err := session.AcquireLease(context.Background(), f.store, "u1", "other", time.Hour, f.now); err != nil {
		t.Fatal(err)
	}
	rep := f.run(t)
	if rep.Outcome != "busy" {
		t.Errorf("outcome %q, want busy", rep.Outcome)
	}
}

func TestQuotaStopsSessionCleanly(t *testing.T) {
	f := newFixture(t)
	f.crm.FailChanges = fault.New(fault.Quota, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
	rep := f.run(t)
	if rep.Outcome != "quota" || !strings.Contains(rep.Detail, "limit") {
		t.Errorf("report %+v, want quota outcome", rep)
	}
	ls, err := session.ReadLastSession(context.Background(), f.store, "u1", f.now)
	if err != nil {
		t.Fatal(err)
	}
	if ls.Outcome != "quota" || ls.Running {
		t.Errorf("last session %+v, want quota and not running", ls)
	}
}

// TestNoContentInStorage syncs records and e-mails (one of whose Leads the
// CRM refuses, so an issue is stored too), then reads every row of every
// table, across all pages: no key and no value of any type may contain a
// seeded name, address, phone, subject or body. Every table that a sync
// writes must have rows, so the test cannot pass by looking at nothing.
func TestNoContentInStorage(t *testing.T) {
	f := newFixture(t)
	seeded := []string{"Lovelace", "ada@acme.com", "+44 20 7946 0000", "Countess", "Hopper", "grace@navy.mil",
		"Quarterly review", "confidential body", "prospect.io"}
	a := contact("Ada", "Lovelace", "ada@acme.com")
	a.Fields[item.Phone], a.Fields[item.Title] = "+44 20 7946 0000", "Countess"
	f.crm.Put(a)
	f.mbx.Put(contact("Grace", "Hopper", "grace@navy.mil"))
	f.crm.FailRecord = func(op string, r item.Record) error {
		if op == "create-lead" && r.Fields[item.Email] == "refused@prospect.io" {
			return fault.New(fault.Permanent, "DUPLICATES_DETECTED", "refused@prospect.io is a duplicate")
		}
		return nil
	}
	f.mbx.AddEmail(item.Record{Fields: map[string]string{item.Subject: "Quarterly review", item.From: "me@ourco.com",
		item.To: "lead@prospect.io,refused@prospect.io", item.Description: "confidential body", item.Direction: "Outbound"}}, nil)
	f.run(t)
	f.run(t)
	mustHaveRows := []string{session.LinksTable, session.CursorsTable, session.IssuesTable, session.SessionsTable, session.LeaseTable}
	for _, table := range append(mustHaveRows, session.IntentsTable) {
		rows := storetest.Rows(t, f.store, table)
		if len(rows) == 0 && slices.Contains(mustHaveRows, table) {
			t.Errorf("table %s has no rows: the sync stored nothing there to check", table)
		}
		for _, e := range rows {
			values := map[string]string{"PartitionKey": e.PartitionKey, "RowKey": e.RowKey}
			for k, v := range e.Properties {
				if b, ok := v.([]byte); ok {
					values[k] = string(b)
				} else {
					values[k] = fmt.Sprint(v)
				}
			}
			for k, v := range values {
				for _, bad := range seeded {
					if strings.Contains(v, bad) {
						t.Errorf("table %s row %s: %s holds %q", table, e.RowKey, k, bad)
					}
				}
			}
		}
	}
}
