package memside_test

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/session/memside"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/side/sidetest"
)

// harness drives one in-memory side as the suites' CRM and mailbox: what a
// user does in the CRM's or the mailbox's own UI is done on the side directly.
type harness struct {
	s   *memside.Side
	crm side.CRM
	mbx side.Mailbox
	now time.Time
}

func newHarness(wrap func(*memside.Side) side.Mailbox) *harness {
	h := &harness{s: memside.New("side"), now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	h.s.Now = func() time.Time { return h.now }
	h.crm, h.mbx = h.s, h.s
	if wrap != nil {
		w := wrap(h.s)
		h.mbx = w
		h.crm = w.(side.CRM)
	}
	return h
}

func (h *harness) CRM() side.CRM         { return h.crm }
func (h *harness) Mailbox() side.Mailbox { return h.mbx }
func (h *harness) Now() time.Time        { return h.now }

func (h *harness) Advance(t *testing.T, d time.Duration) { h.now = h.now.Add(d) }

func (h *harness) CreateDirect(t *testing.T, kind item.Kind, fields map[string]string) string {
	return h.s.Put(item.Record{Kind: kind, Fields: fields})
}

func (h *harness) UpdateDirect(t *testing.T, kind item.Kind, id string, fields map[string]string) {
	h.s.Edit(kind, id, fields)
}

func (h *harness) DeleteDirect(t *testing.T, kind item.Kind, id string) { h.s.Remove(kind, id) }

// Account is a company record; the in-memory CRM keeps it beside the synced
// kinds, as Salesforce keeps Accounts.
func (h *harness) Account(t *testing.T) string {
	return h.s.Put(item.Record{Kind: "Account", Fields: map[string]string{"Name": "Example Ltd"}})
}

func (h *harness) Create(ctx context.Context, kind item.Kind, fields map[string]string, categories []string) (string, error) {
	return h.s.Put(item.Record{Kind: kind, Fields: fields, Categories: categories}), nil
}

func (h *harness) Update(ctx context.Context, kind item.Kind, id string, fields map[string]string) error {
	h.s.Edit(kind, id, fields)
	return nil
}

func (h *harness) Delete(ctx context.Context, kind item.Kind, id string) error {
	h.s.Remove(kind, id)
	return nil
}

func (h *harness) SetCategories(ctx context.Context, kind item.Kind, id string, categories []string) error {
	h.s.Categorize(kind, id, categories...)
	return nil
}

// Categories are the item's own categories plus "Sync Error" while the side
// has it flagged (memside keeps its flags apart, in Flags).
func (h *harness) Categories(ctx context.Context, kind item.Kind, id string) ([]string, error) {
	cats := slices.Clone(h.s.All(kind)[id].Categories)
	if h.s.Flags[string(kind)+"|"+id] {
		cats = append(cats, "Sync Error")
	}
	return cats, nil
}

func (h *harness) Email(ctx context.Context, subject string, inShareFolder bool, categories []string, attachName string, attachment []byte) (string, error) {
	rec := item.Record{Fields: map[string]string{item.Subject: subject}, Categories: categories}
	files := map[string][]byte{attachName: attachment}
	if inShareFolder {
		return h.s.AddEmail(rec, files), nil
	}
	return h.s.AddInboxEmail(rec, files), nil
}

func (h *harness) ExpireCursors() { h.s.ExpireCursors = true }

var (
	_ sidetest.CRMHarness     = (*harness)(nil)
	_ sidetest.MailboxHarness = (*harness)(nil)
	_ sidetest.Expirer        = (*harness)(nil)
)

// TestConformance runs the connectors' suite on the in-memory side, so the
// side the runner's tests use behaves as the real connectors do.
func TestConformance(t *testing.T) {
	t.Run("CRM", func(t *testing.T) {
		sidetest.RunCRM(t, func(t *testing.T) sidetest.CRMHarness { return newHarness(nil) })
	})
	t.Run("Mailbox", func(t *testing.T) {
		sidetest.RunMailbox(t, func(t *testing.T) sidetest.MailboxHarness { return newHarness(nil) })
	})
}

// forgetful is a broken side: its change feed never reports deletions.
type forgetful struct{ *memside.Side }

func (f forgetful) Changes(ctx context.Context, scope item.Scope, cursor string) (item.Changes, error) {
	ch, err := f.Side.Changes(ctx, scope, cursor)
	ch.Removed = slices.DeleteFunc(ch.Removed, func(r item.Removal) bool { return r.Reason == item.Deleted })
	return ch, err
}

// brokenEnv marks the child process of TestBrokenSideFailsSuite.
const brokenEnv = "MEMSIDE_BROKEN_SUITE"

// TestBrokenSideUnderSuite runs the suite on the forgetful side. It runs
// only as TestBrokenSideFailsSuite's child, which expects it to fail.
func TestBrokenSideUnderSuite(t *testing.T) {
	if os.Getenv(brokenEnv) == "" {
		t.Skip("runs only as TestBrokenSideFailsSuite's child process")
	}
	broken := func(t *testing.T) *harness {
		return newHarness(func(s *memside.Side) side.Mailbox { return forgetful{s} })
	}
	t.Run("CRM", func(t *testing.T) {
		sidetest.RunCRM(t, func(t *testing.T) sidetest.CRMHarness { return broken(t) })
	})
	t.Run("Mailbox", func(t *testing.T) {
		sidetest.RunMailbox(t, func(t *testing.T) sidetest.MailboxHarness { return broken(t) })
	})
}

// TestBrokenSideFailsSuite shows the suite catches a side that drifts: the
// forgetful side fails exactly the tests about deletions, in both suites,
// and passes the rest.
func TestBrokenSideFailsSuite(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run", "^TestBrokenSideUnderSuite$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), brokenEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suite passed a side that never reports deletions:\n%s", out)
	}
	for _, want := range []string{
		"--- FAIL: TestBrokenSideUnderSuite/CRM/DirectDeleteIsReported",
		"--- FAIL: TestBrokenSideUnderSuite/Mailbox/ContactsUserChanges",
		"--- PASS: TestBrokenSideUnderSuite/CRM/CreateUpdateDelete",
		"--- PASS: TestBrokenSideUnderSuite/Mailbox/SharedEmails",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("suite output lacks %q:\n%s", want, out)
		}
	}
}
