package insight_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/insight"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/session/memside"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

type settings map[string]session.UserSettings

func (s settings) UserSettings(ctx context.Context, user string) (session.UserSettings, error) {
	us, ok := s[user]
	if !ok {
		return us, fault.New(fault.Permanent, "no-settings", "unknown user")
	}
	return us, nil
}

type opener struct{ sides side.Sides }

func (o opener) Open(context.Context, string) (side.Sides, error) { return o.sides, nil }

// recorder keeps every progress report it sees and passes it on.
type recorder struct {
	*insight.Store
	mu       sync.Mutex
	progress []session.Progress
}

func (r *recorder) Progress(ctx context.Context, p session.Progress) {
	r.mu.Lock()
	r.progress = append(r.progress, p)
	r.mu.Unlock()
	r.Store.Progress(ctx, p)
}

// world is one user syncing two in-memory sides through a runner whose
// clock moves a second each time it is read, so that a session of a few
// hundred records spans minutes of simulated time.
type world struct {
	tables *tablestore.Embedded
	crm    *memside.Side
	mbx    *memside.Side
	store  *insight.Store
	rec    *recorder
	r      *session.Runner
	mu     sync.Mutex
	now    time.Time
}

func (w *world) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(time.Second)
	return w.now
}

func newWorld(t testing.TB) *world {
	t.Helper()
	tables, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tables.Close() })
	w := &world{tables: tables, crm: memside.New("crm"), mbx: memside.New("mailbox"), now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	w.crm.Now, w.mbx.Now = w.clock, w.clock
	w.store = insight.New(tables, func(context.Context, string) (string, error) { return "org-a", nil }, nil, w.clock)
	w.rec = &recorder{Store: w.store}
	w.r = &session.Runner{Store: tables, Opener: opener{side.Sides{CRM: w.crm, Mailbox: w.mbx}},
		Settings: settings{"u1": {FingerprintKey: []byte("0123456789abcdef0123456789abcdef")}},
		Log:      slog.New(slog.DiscardHandler), Now: w.clock, Observer: w.rec}
	return w
}

func (w *world) run(t testing.TB) session.Report {
	t.Helper()
	rep, err := w.r.Run(context.Background(), "u1", "test")
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func contact(first, last, email string) item.Record {
	return item.Record{Kind: item.Contact, Fields: map[string]string{item.FirstName: first, item.LastName: last, item.Email: email}}
}

// TestProgressMovesDuringALongSync seeds 300 contacts: the first sync
// reports its progress from the start, several times while it writes (the
// simulated clock passes ProgressEvery many times), never going backwards,
// and ends done with every planned action written; the stored row then reads
// as done at 100%.
func TestProgressMovesDuringALongSync(t *testing.T) {
	w := newWorld(t)
	for i := range 300 {
		w.crm.Put(contact("P", fmt.Sprintf("Person%03d", i), fmt.Sprintf("p%d@acme.example", i)))
	}
	w.run(t)
	ps := w.rec.progress
	if len(ps) < 5 {
		t.Fatalf("%d progress reports, want several during the sync", len(ps))
	}
	if ps[0].Read != 0 || ps[0].Done {
		t.Errorf("first report %+v, want one before anything was read", ps[0])
	}
	moving := 0
	for i := 1; i < len(ps); i++ {
		if ps[i].Written < ps[i-1].Written || ps[i].Read < ps[i-1].Read || ps[i].At.Before(ps[i-1].At) {
			t.Errorf("report %d went backwards: %+v after %+v", i, ps[i], ps[i-1])
		}
		if ps[i].Written > ps[i-1].Written && ps[i].Written < 300 {
			moving++
		}
		if gap := ps[i].At.Sub(ps[i-1].At); !ps[i].Done && gap < session.ProgressEvery {
			t.Errorf("report %d came %v after the one before, want at least %v", i, gap, session.ProgressEvery)
		}
	}
	if moving < 3 {
		t.Errorf("only %d reports showed writes in between; progress did not move visibly", moving)
	}
	last := ps[len(ps)-1]
	if !last.Done || last.Written != 300 || last.Planned != 300 || last.Read != 300 {
		t.Errorf("last report %+v, want done with 300 read, planned and written", last)
	}
	live, ok, err := w.store.ReadProgress(context.Background(), "u1")
	if err != nil || !ok {
		t.Fatalf("ReadProgress: %v %v", ok, err)
	}
	if !live.Done || live.Percent != 100 || live.Written != 300 {
		t.Errorf("stored progress %+v, want done at 100%%", live)
	}
}

// TestProgressEstimate: halfway through after 60 s, about 60 s remain; a
// session silent for longer than StaleAfter reads as stale.
func TestProgressEstimate(t *testing.T) {
	tables, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer tables.Close()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := start.Add(60 * time.Second)
	s := insight.New(tables, nil, nil, func() time.Time { return now })
	s.Progress(context.Background(), session.Progress{User: "u", SessionID: "s", Started: start, At: now, Read: 200, Planned: 200, Written: 100})
	live, _, err := s.ReadProgress(context.Background(), "u")
	if err != nil {
		t.Fatal(err)
	}
	if live.Percent != 50 || live.RemainingSeconds != 60 || live.Stale {
		t.Errorf("got %+v, want 50%%, 60 s left, not stale", live)
	}
	now = now.Add(insight.StaleAfter + time.Second)
	if live, _, _ = s.ReadProgress(context.Background(), "u"); !live.Stale {
		t.Errorf("got %+v after a long silence, want stale", live)
	}
}

// TestHistoryRollsUpSessions: sessions of one day land in one row for the
// user and one shard row for the org, counted by object and direction, with
// outcomes and problems; idle sessions write nothing; a conflict is logged
// without names; and nothing seeded (names, addresses) reaches any insight
// table (the privacy scan of this package's tables).
func TestHistoryRollsUpSessions(t *testing.T) {
	w := newWorld(t)
	ada := contact("Ada", "Lovelace", "ada@acme.example")
	id := w.crm.Put(ada)
	w.mbx.Put(contact("Grace", "Hopper", "grace@navy.example"))
	w.run(t)
	before := len(storetest.Rows(t, w.tables, insight.HistoryTable))
	w.run(t) // idle
	if got := len(storetest.Rows(t, w.tables, insight.HistoryTable)); got != before || before != 1 {
		t.Errorf("history rows: %d after the first session, %d after an idle one; want 1 and 1", before, got)
	}
	// Both sides change the same field: the newer (mailbox) wins, logged.
	w.crm.Edit(item.Contact, id, map[string]string{item.Title: "Countess"})
	var mbxID string
	for mid, r := range w.mbx.All(item.Contact) {
		if r.Fields[item.LastName] == "Lovelace" {
			mbxID = mid
		}
	}
	w.mbx.Edit(item.Contact, mbxID, map[string]string{item.Title: "Analyst Engine"})
	w.run(t)

	ctx := context.Background()
	h, err := w.store.UserHistory(ctx, "u1", 7)
	if err != nil {
		t.Fatal(err)
	}
	today := h.Days[len(h.Days)-1]
	if len(h.Days) != 7 || today.Moved["contact|to-mailbox"] != 1 || today.Moved["contact|to-crm"] < 1 || today.Outcomes["ok"] != 2 || today.Conflicts != 1 {
		t.Errorf("today's history %+v (%d days), want 1 to the mailbox, some to the CRM, 2 ok sessions, 1 conflict", today, len(h.Days))
	}
	org, err := w.store.OrgHistory(ctx, "org-a", 7)
	if err != nil {
		t.Fatal(err)
	}
	if o := org.Days[6]; o.MovedTotal() != today.MovedTotal() || o.Sessions() != 2 {
		t.Errorf("org history today %+v, want the user's counts", o)
	}
	cs, err := w.store.Conflicts(ctx, "u1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Field != item.Title || cs[0].Kind != "contact" || cs[0].CRMID != id {
		t.Errorf("conflicts %+v, want one on the contact's title", cs)
	}
	seeded := []string{"Ada", "Lovelace", "ada@acme.example", "Grace", "Hopper", "grace@navy.example", "Countess", "Analyst"}
	for _, table := range []string{insight.HistoryTable, insight.OrgHistoryTable, insight.ProgressTable, insight.ConflictsTable} {
		rows := storetest.Rows(t, w.tables, table)
		if len(rows) == 0 {
			t.Errorf("table %s has no rows: nothing to scan", table)
		}
		for _, e := range rows {
			text := e.PartitionKey + " " + e.RowKey + " " + fmt.Sprint(e.Properties)
			for _, s := range seeded {
				if strings.Contains(text, s) {
					t.Errorf("table %s row %s holds %q", table, e.RowKey, s)
				}
			}
		}
	}
}

// TestHistoryBoundsAndRetention: a huge range reads the 90 days kept; a
// new day's row deletes rows older than 90 days.
func TestHistoryBoundsAndRetention(t *testing.T) {
	tables, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer tables.Close()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s := insight.New(tables, nil, nil, func() time.Time { return now })
	ctx := context.Background()
	for _, back := range []int{200, 91, 90, 89, 1} {
		started := now.AddDate(0, 0, -back)
		s.Ended(ctx, session.Ended{User: "u", Report: session.Report{Started: started, Outcome: "partial", Issues: back}})
	}
	// Each new day pruned what lay before the 90 days: 200, 91 and 90
	// days back are gone.
	if got := len(storetest.Rows(t, tables, insight.HistoryTable)); got != 2 {
		t.Fatalf("%d rows before today's, want 2", got)
	}
	s.Ended(ctx, session.Ended{User: "u", Report: session.Report{Started: now, Outcome: "error"}})
	rows := storetest.Rows(t, tables, insight.HistoryTable)
	if len(rows) != 3 {
		t.Errorf("%d rows after today's first session, want 3 (89 and 1 days back, today)", len(rows))
	}
	h, err := s.UserHistory(ctx, "u", 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	problems := 0
	for _, d := range h.Days {
		problems += d.Problems
	}
	if len(h.Days) != insight.Days || problems != 89+1 || h.Days[0].Day != now.Truncate(24*time.Hour).AddDate(0, 0, -89) {
		t.Errorf("history of a huge range: %d days from %v, %d problems; want 90 days, 90 problems", len(h.Days), h.Days[0].Day, problems)
	}
}
