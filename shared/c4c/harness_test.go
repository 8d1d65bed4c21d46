package c4c

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/side/sidetest"
	"github.com/crmsync/crmsync/shared/testenv"
)

// clock is the settable test clock shared by the local servers and the code
// under test.
type clock = testenv.Clock

// local is an in-process local C4C with a client and side for the demo
// communication user.
type local struct {
	srv    *fakec4c.Server
	http   *httptest.Server
	clock  *clock
	client *Client
	side   *Side
}

func newLocal(t testing.TB, opts fakec4c.Options) *local {
	t.Helper()
	clk := testenv.NewClock(time.Date(2026, 5, 11, 12, 0, 0, 0, time.UTC))
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	srv := fakec4c.New(opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c, err := New(Options{Host: hs.URL, User: fakec4c.DemoUser, Password: fakec4c.DemoPassword})
	if err != nil {
		t.Fatal(err)
	}
	return &local{srv: srv, http: hs, clock: clk, client: c, side: NewSide(c, SideOptions{Now: clk.Now, Owner: syncOwner})}
}

// notBuilt are the suite's tests that need abilities this connector lacks,
// with what is missing.
var notBuilt = map[string]string{}

// fakeHarness runs the conformance suite against the local C4C.
type fakeHarness struct{ *local }

// SingleEventsOnly: C4C has no recurring appointments (recurrence.go).
func (h fakeHarness) SingleEventsOnly() {}

func (h fakeHarness) CRM() side.CRM                         { return h.side }
func (h fakeHarness) Now() time.Time                        { return h.clock.Now() }
func (h fakeHarness) Advance(t *testing.T, d time.Duration) { h.clock.Add(d) }

// syncOwner is the employee (business partner ID) of the sync user; the
// local tenant also holds records of otherOwner, which the side must not see.
const syncOwner, otherOwner = "8000000001", "8000000002"

func direct(t *testing.T, kind item.Kind, fields map[string]string) map[string]any {
	t.Helper()
	props, err := fromItem(kind, item.Record{Kind: kind, Fields: fields}, defaultCodes())
	if err != nil {
		t.Fatalf("direct %s: %v", kind, err)
	}
	return props
}

// owned is direct plus the record's owner.
func owned(t *testing.T, kind item.Kind, fields map[string]string, owner string) map[string]any {
	props := direct(t, kind, fields)
	props[ownerProps[kind]] = owner
	return props
}

func (h fakeHarness) CreateDirect(t *testing.T, kind item.Kind, fields map[string]string) string {
	t.Helper()
	id, err := h.srv.Insert(maps[kind].coll, owned(t, kind, fields, syncOwner))
	if err != nil {
		t.Fatalf("CreateDirect %s: %v", kind, err)
	}
	return id
}

func (h fakeHarness) UpdateDirect(t *testing.T, kind item.Kind, id string, fields map[string]string) {
	t.Helper()
	if err := h.srv.Update(maps[kind].coll, id, direct(t, kind, fields)); err != nil {
		t.Fatalf("UpdateDirect %s: %v", kind, err)
	}
}

func (h fakeHarness) DeleteDirect(t *testing.T, kind item.Kind, id string) {
	t.Helper()
	if err := h.srv.Delete(maps[kind].coll, id); err != nil {
		t.Fatalf("DeleteDirect %s: %v", kind, err)
	}
}

func (h fakeHarness) Account(t *testing.T) string {
	id, err := h.srv.Insert("CorporateAccountCollection", map[string]any{"Name": "Conformance Inc."})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func skipNotBuilt(t *testing.T) {
	name := t.Name()[strings.LastIndex(t.Name(), "/")+1:]
	if why, ok := notBuilt[name]; ok && os.Getenv("C4C_TRY_ALL") == "" {
		t.Skipf("not built in the C4C connector: %s", why)
	}
}

func TestConformanceLocal(t *testing.T) {
	sidetest.RunCRM(t, func(t *testing.T) sidetest.CRMHarness {
		skipNotBuilt(t)
		l := newLocal(t, fakec4c.Options{})
		// A colleague's records in the same tenant, which the suite's
		// assertions must never meet.
		start := l.clock.Now().Add(24 * time.Hour)
		for kind, fields := range map[item.Kind]map[string]string{
			item.Contact: {item.LastName: "Colleague"},
			item.Task:    {item.Subject: "Colleague task"},
			item.Event:   {item.Subject: "Colleague meeting", item.Start: start.Format(time.RFC3339), item.End: start.Add(time.Hour).Format(time.RFC3339)},
		} {
			if _, err := l.srv.Insert(maps[kind].coll, owned(t, kind, fields, otherOwner)); err != nil {
				t.Fatal(err)
			}
		}
		return fakeHarness{local: l}
	})
}

// realEnv are the settings of a real-tenant run: the tenant's URL and a
// communication user allowed to read and write contacts, tasks and
// appointments. The run deletes what it creates.
var realEnv = []string{"C4C_HOST", "C4C_USER", "C4C_PASSWORD"}

// realHarness runs the suite against a real tenant.
type realHarness struct {
	client *Client
	side   *Side
}

func TestConformanceRealTenant(t *testing.T) {
	var missing []string
	for _, name := range realEnv {
		if os.Getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Skipf("real-tenant conformance skipped: set %s", strings.Join(missing, ", "))
	}
	sidetest.RunCRM(t, func(t *testing.T) sidetest.CRMHarness {
		skipNotBuilt(t)
		c, err := New(Options{Host: os.Getenv("C4C_HOST"), User: os.Getenv("C4C_USER"), Password: os.Getenv("C4C_PASSWORD")})
		if err != nil {
			t.Fatal(err)
		}
		return &realHarness{client: c, side: NewSide(c, SideOptions{})}
	})
}

// SingleEventsOnly: C4C has no recurring appointments (recurrence.go).
func (h *realHarness) SingleEventsOnly() {}

func (h *realHarness) CRM() side.CRM  { return h.side }
func (h *realHarness) Now() time.Time { return time.Now().UTC() }

func (h *realHarness) Advance(t *testing.T, d time.Duration) {
	if d > 5*time.Minute {
		t.Skipf("needs %s to pass on a real tenant", d)
	}
	time.Sleep(d)
}

func (h *realHarness) write(t *testing.T, kind item.Kind, recs []item.Record, fn func([]item.Record) ([]side.Result, error)) []side.Result {
	t.Helper()
	res, err := fn(recs)
	if err != nil || res[0].Err != nil {
		t.Fatalf("direct %s: %v %+v", kind, err, res)
	}
	return res
}

func (h *realHarness) CreateDirect(t *testing.T, kind item.Kind, fields map[string]string) string {
	t.Helper()
	res := h.write(t, kind, []item.Record{{Kind: kind, Fields: fields}}, func(r []item.Record) ([]side.Result, error) {
		return h.side.Create(t.Context(), kind, r, nil)
	})
	id := res[0].ID
	t.Cleanup(func() { _, _ = h.side.Delete(context.Background(), kind, []string{id}) })
	return id
}

func (h *realHarness) UpdateDirect(t *testing.T, kind item.Kind, id string, fields map[string]string) {
	t.Helper()
	h.write(t, kind, []item.Record{{Kind: kind, ID: id, Fields: fields}}, func(r []item.Record) ([]side.Result, error) {
		return h.side.Update(t.Context(), kind, r)
	})
}

func (h *realHarness) DeleteDirect(t *testing.T, kind item.Kind, id string) {
	t.Helper()
	if res, err := h.side.Delete(t.Context(), kind, []string{id}); err != nil || res[0].Err != nil {
		t.Fatalf("DeleteDirect: %v %+v", err, res)
	}
}

func (h *realHarness) Account(t *testing.T) string {
	res, err := h.client.Batch(t.Context(), []Op{{Method: "POST", Path: "CorporateAccountCollection", Body: map[string]any{"Name": "crmsync conformance"}}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("Account: %v %+v", err, res)
	}
	id := res[0].Entity.ID()
	t.Cleanup(func() {
		_, _ = h.client.Batch(context.Background(), []Op{{Method: "DELETE", Path: "CorporateAccountCollection('" + id + "')"}})
	})
	return id
}
