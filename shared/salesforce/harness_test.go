package salesforce

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/side/sidetest"
	"github.com/crmsync/crmsync/shared/testenv"
)

// clock is the settable test clock shared by the local servers and the code
// under test.
type clock = testenv.Clock

// local is an in-process local Salesforce with one signed-in user.
type local struct {
	srv    *fakesalesforce.Server
	http   *httptest.Server
	clock  *clock
	user   string
	token  *oauth2.Token
	client *Client
	side   *Side
}

func newLocal(t testing.TB, opts fakesalesforce.Options, copts Options) *local {
	t.Helper()
	clk := testenv.NewClock(time.Date(2026, 5, 11, 12, 0, 0, 0, time.UTC))
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	srv, err := fakesalesforce.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	user, err := srv.AddUser(fakesalesforce.User{Username: "sync@example.com", Password: "pw", Email: "sync@example.com", FirstName: "Sync", LastName: "User"})
	if err != nil {
		t.Fatal(err)
	}
	l := &local{srv: srv, http: hs, clock: clk, user: user}
	l.token = l.tokenFor(user)
	if copts.Tokens == nil {
		copts.Tokens = Static(l.token)
	}
	if copts.RetryBase == 0 {
		copts.RetryBase = time.Millisecond
	}
	if l.client, err = New(copts); err != nil {
		t.Fatal(err)
	}
	if l.side, err = NewSide(l.client, SideOptions{}); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *local) tokenFor(user string) *oauth2.Token {
	return (&oauth2.Token{AccessToken: l.srv.IssueToken(user), TokenType: "Bearer"}).WithExtra(map[string]any{
		"instance_url": l.http.URL, "id": l.http.URL + "/id/" + l.srv.OrgID() + "/" + user,
	})
}

// fakeHarness runs the conformance suite against the local Salesforce.
type fakeHarness struct {
	*local
	t *testing.T
}

func (h fakeHarness) CRM() side.CRM                         { return h.side }
func (h fakeHarness) Now() time.Time                        { return h.clock.Now() }
func (h fakeHarness) Advance(t *testing.T, d time.Duration) { h.clock.Add(d) }

func (h fakeHarness) direct(t *testing.T, kind item.Kind, fields map[string]string) (string, map[string]any) {
	t.Helper()
	m := h.side.maps[kind]
	rec, err := h.side.fromItem(kind, m, item.Record{Kind: kind, Fields: fields}, false)
	if err != nil {
		t.Fatalf("direct %s: %v", kind, err)
	}
	delete(rec, "attributes")
	return m.Object, rec
}

func (h fakeHarness) CreateDirect(t *testing.T, kind item.Kind, fields map[string]string) string {
	t.Helper()
	obj, rec := h.direct(t, kind, fields)
	id, err := h.srv.Insert(h.user, obj, rec)
	if err != nil {
		t.Fatalf("CreateDirect %s: %v", kind, err)
	}
	return id
}

func (h fakeHarness) UpdateDirect(t *testing.T, kind item.Kind, id string, fields map[string]string) {
	t.Helper()
	obj, rec := h.direct(t, kind, fields)
	if err := h.side.writable(t.Context(), obj, rec, false); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Update(h.user, id, rec); err != nil {
		t.Fatalf("UpdateDirect %s: %v", kind, err)
	}
}

func (h fakeHarness) DeleteDirect(t *testing.T, kind item.Kind, id string) {
	t.Helper()
	if err := h.srv.Delete(h.user, id); err != nil {
		t.Fatalf("DeleteDirect %s: %v", kind, err)
	}
}

func (h fakeHarness) Account(t *testing.T) string {
	id, err := h.srv.Insert(h.user, "Account", map[string]any{"Name": "Conformance Inc."})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestConformanceLocal(t *testing.T) {
	sidetest.RunCRM(t, func(t *testing.T) sidetest.CRMHarness {
		return fakeHarness{local: newLocal(t, fakesalesforce.Options{MaxBatchSize: 200}, Options{}), t: t}
	})
}

// realHarness runs the suite against a real org. It needs
// SALESFORCE_INSTANCE_URL and SALESFORCE_ACCESS_TOKEN (a user's session with
// the api scope); it deletes what it creates.
type realHarness struct {
	client *Client
	side   *Side
	user   string
}

var realEnv = []string{"SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN"}

func TestConformanceRealOrg(t *testing.T) {
	var missing []string
	for _, name := range realEnv {
		if os.Getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Skipf("real-org conformance skipped: set %s", strings.Join(missing, " and "))
	}
	sidetest.RunCRM(t, func(t *testing.T) sidetest.CRMHarness {
		tok := (&oauth2.Token{AccessToken: os.Getenv("SALESFORCE_ACCESS_TOKEN")}).WithExtra(map[string]any{"instance_url": os.Getenv("SALESFORCE_INSTANCE_URL")})
		c, err := New(Options{Tokens: Static(tok)})
		if err != nil {
			t.Fatal(err)
		}
		user, err := c.WhoAmI(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		side, err := NewSide(c, SideOptions{UserID: user})
		if err != nil {
			t.Fatal(err)
		}
		return &realHarness{client: c, side: side, user: user}
	})
}

func (h *realHarness) CRM() side.CRM { return h.side }
func (h *realHarness) Now() time.Time {
	now, err := h.client.ServerTime(context.Background())
	if err != nil {
		return time.Now().UTC()
	}
	return now
}

func (h *realHarness) Advance(t *testing.T, d time.Duration) {
	if d > 5*time.Minute {
		t.Skipf("needs %s to pass on a real org", d)
	}
	time.Sleep(d)
}

func (h *realHarness) cleanup(t *testing.T, object, id string) {
	t.Cleanup(func() { _ = h.client.DeleteOne(context.Background(), object, id) })
}

func (h *realHarness) CreateDirect(t *testing.T, kind item.Kind, fields map[string]string) string {
	t.Helper()
	m := h.side.maps[kind]
	rec, err := h.side.fromItem(kind, m, item.Record{Kind: kind, Fields: fields}, false)
	if err != nil {
		t.Fatal(err)
	}
	delete(rec, "attributes")
	id, err := h.client.CreateOne(t.Context(), m.Object, rec)
	if err != nil {
		t.Fatalf("CreateDirect: %v", err)
	}
	h.cleanup(t, m.Object, id)
	return id
}

func (h *realHarness) UpdateDirect(t *testing.T, kind item.Kind, id string, fields map[string]string) {
	t.Helper()
	m := h.side.maps[kind]
	rec, err := h.side.fromItem(kind, m, item.Record{Kind: kind, Fields: fields}, false)
	if err != nil {
		t.Fatal(err)
	}
	delete(rec, "attributes")
	if err := h.side.writable(t.Context(), m.Object, rec, false); err != nil {
		t.Fatal(err)
	}
	if err := h.client.UpdateOne(t.Context(), m.Object, id, rec); err != nil {
		t.Fatalf("UpdateDirect: %v", err)
	}
}

func (h *realHarness) DeleteDirect(t *testing.T, kind item.Kind, id string) {
	if err := h.client.DeleteOne(t.Context(), h.side.maps[kind].Object, id); err != nil {
		t.Fatalf("DeleteDirect: %v", err)
	}
}

func (h *realHarness) Account(t *testing.T) string {
	id, err := h.client.CreateOne(t.Context(), "Account", Record{"Name": "crmsync conformance"})
	if err != nil {
		t.Fatal(err)
	}
	h.cleanup(t, "Account", id)
	return id
}
