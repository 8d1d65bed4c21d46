package sides_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/c4c"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/sides"
)

// c4cHost is the local C4C's host inside a property world.
const c4cHost = "c4c.test"

// The employees (business partner IDs) of the scenario's user and of a
// colleague, to move records out of the user's scope.
const c4cDana, c4cWalter = "8000000001", "8000000002"

// c4cReconcile is how often the C4C side lists ObjectIDs to find deletions.
const c4cReconcile = 5 * time.Minute

// newC4CPWorld is newPWorld with SAP Cloud for Customer as the CRM: the
// runner opens the user's C4C side with c4c.Opener from a stored
// communication-user connection, against the local C4C in process.
func newC4CPWorld(t testing.TB) *pworld {
	t.Helper()
	w := newPWorld(t)
	srv := fakec4c.New(fakec4c.Options{Now: time.Now})
	w.kill.next.(inProcess)[c4cHost] = srv
	op := w.runner.Opener.(*sides.Opener)
	if _, err := op.Connections.Save(context.Background(), connection.Connection{User: w.user, Provider: c4c.Provider, Tenant: "my000001",
		InstanceURL: "http://" + c4cHost, Flow: connection.FlowPassword},
		connection.Credentials{Username: fakec4c.DemoUser, Password: fakec4c.DemoPassword}); err != nil {
		t.Fatal(err)
	}
	op.CRM = &c4c.Opener{Tables: w.tables, HTTPClient: &http.Client{Transport: w.kill}, ReconcileEvery: c4cReconcile,
		Owner: func(context.Context, string) (string, error) { return c4cDana, nil },
		Log:   slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	admin, err := c4c.New(c4c.Options{Host: "http://" + c4cHost, User: fakec4c.DemoUser, Password: fakec4c.DemoPassword, HTTPClient: w.userHC})
	if err != nil {
		t.Fatal(err)
	}
	w.crm = &c4cAdmin{srv: srv, client: admin, side: c4c.NewSide(admin, c4c.SideOptions{Owner: c4cDana})}
	return w
}

// c4cAdmin is crmAdmin for the local C4C.
type c4cAdmin struct {
	srv    *fakec4c.Server
	client *c4c.Client // the communication user: sees every record
	side   *c4c.Side   // the scenario user's records
}

var c4cColl = map[item.Kind]string{item.Contact: "ContactCollection", item.Task: "TasksCollection", item.Event: "AppointmentCollection"}

// c4cPriority are the task priority codes of a standard tenant.
var c4cPriority = map[string]string{"High": "2", "Normal": "3", "Low": "7"}

func (a *c4cAdmin) create(kind item.Kind, f map[string]string) (string, error) {
	var in map[string]any
	switch kind {
	case item.Contact:
		in = map[string]any{"FirstName": f[item.FirstName], "LastName": f[item.LastName], "Email": f[item.Email],
			"JobTitle": f[item.Title], "Department": f[item.Department], "ContactOwnerID": c4cDana}
	case item.Task:
		due, err := time.Parse(time.DateOnly, f[item.DueDate])
		if err != nil {
			return "", err
		}
		in = map[string]any{"Subject": f[item.Subject], "DueDateTime": c4c.FormatDate(due), "PriorityCode": c4cPriority[f[item.Priority]],
			"Status": "1", "ProcessorPartyID": c4cDana}
		if d := f[item.Description]; d != "" {
			in["TasksTextCollection"] = []map[string]any{{"Text": d, "TypeCode": c4c.NoteTypeCode}}
		}
	default:
		start, err := time.Parse(time.RFC3339, f[item.Start])
		if err != nil {
			return "", err
		}
		end, err := time.Parse(time.RFC3339, f[item.End])
		if err != nil {
			return "", err
		}
		in = map[string]any{"Subject": f[item.Subject], "StartDate": c4c.FormatDate(start), "EndDate": c4c.FormatDate(end),
			"StartDatetimeZoneCode": "UTC", "EnddatetimeZoneCode": "UTC", "Location": f[item.Location], "OwnerPartyID": c4cDana}
		if d := f[item.Description]; d != "" {
			in["AppointmentTextCollection"] = []map[string]any{{"Text": d, "TypeCode": c4c.NoteTypeCode}}
		}
	}
	return a.srv.Insert(c4cColl[kind], in)
}

func (a *c4cAdmin) edit(kind item.Kind, id, field, v string) error {
	if field == item.Description {
		return a.editNote(kind, id, v)
	}
	prop := map[string]string{item.Title: "JobTitle", item.Department: "Department", item.Priority: "PriorityCode", item.Location: "Location"}[field]
	if field == item.Priority {
		v = c4cPriority[v]
	}
	if prop == "" || v == "" {
		return fmt.Errorf("no C4C property for %s %s=%q", kind, field, v)
	}
	return a.srv.Update(c4cColl[kind], id, map[string]any{prop: v})
}

// editNote changes a task's or appointment's note as a user in C4C would:
// the body-text entry of its text collection, changed in place or added.
func (a *c4cAdmin) editNote(kind item.Kind, id, v string) error {
	nav := map[item.Kind]string{item.Task: "TasksTextCollection", item.Event: "AppointmentTextCollection"}[kind]
	ctx := context.Background()
	res, err := a.client.Batch(ctx, []c4c.Op{{Method: "GET", Path: c4cColl[kind] + "('" + id + "')?$expand=" + nav}})
	if err != nil {
		return err
	}
	if res[0].Err != nil {
		return res[0].Err
	}
	var op c4c.Op
	list, _ := res[0].Entity[nav].(map[string]any)
	entries, _ := list["results"].([]any)
	for _, x := range entries {
		if n, _ := x.(map[string]any); n["TypeCode"] == c4c.NoteTypeCode && op.Method == "" {
			op = c4c.Op{Method: "PATCH", Path: nav + "Collection('" + n["ObjectID"].(string) + "')", Body: map[string]any{"Text": v}}
		}
	}
	if op.Method == "" {
		op = c4c.Op{Method: "POST", Path: nav + "Collection", Body: map[string]any{"ParentObjectID": id, "Text": v, "TypeCode": c4c.NoteTypeCode}}
	}
	res, err = a.client.Batch(ctx, []c4c.Op{op})
	if err != nil {
		return err
	}
	return res[0].Err
}

// c4cUnreported counts the deletions and owner changes the scenarios made
// in C4C, which its API never reports: the reconciliation had to find each.
var c4cUnreported atomic.Int64

// remove: C4C reports no deletion; the side's reconciliation finds it.
func (a *c4cAdmin) remove(kind item.Kind, id string) (bool, error) {
	c4cUnreported.Add(1)
	return true, a.srv.Delete(c4cColl[kind], id)
}

func (a *c4cAdmin) leaveScope(kind item.Kind, id string, completed bool, day time.Time) (bool, error) {
	if completed {
		return true, a.srv.Update(c4cColl[kind], id, map[string]any{"Status": "3", "DueDateTime": c4c.FormatDate(day.AddDate(0, 0, -30))})
	}
	c4cUnreported.Add(1)
	owner := map[item.Kind]string{item.Contact: "ContactOwnerID", item.Task: "ProcessorPartyID", item.Event: "OwnerPartyID"}[kind]
	return true, a.srv.Update(c4cColl[kind], id, map[string]any{owner: c4cWalter})
}

func (a *c4cAdmin) revealAfter() time.Duration { return c4cReconcile + time.Minute }

func (a *c4cAdmin) list(coll, prop string) ([]string, error) {
	var out []string
	err := a.client.List(context.Background(), coll, nil, func(e c4c.Entity) error {
		out = append(out, e.String(prop))
		return nil
	})
	return out, err
}

func (a *c4cAdmin) counts(kind item.Kind) (map[string]int, error) {
	prop := "Subject"
	if kind == item.Contact {
		prop = "Email"
	}
	vals, err := a.list(c4cColl[kind], prop)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, v := range vals {
		var tok string
		if kind == item.Contact {
			tok, _, _ = strings.Cut(strings.ToLower(v), "@")
		} else {
			_, tok, _ = strings.Cut(v, " ")
		}
		out[tok]++
	}
	return out, nil
}

func (a *c4cAdmin) emails() (map[string]int, error) {
	vals, err := a.list("EMailCollection", "Subject")
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, v := range vals {
		_, tok, _ := strings.Cut(v, " ")
		out[tok]++
	}
	return out, nil
}

func (a *c4cAdmin) leads() ([]string, error) {
	vals, err := a.list("LeadCollection", "ContactEMail")
	for i := range vals {
		vals[i] = strings.ToLower(vals[i])
	}
	return vals, err
}

func (a *c4cAdmin) fault(rng *rand.Rand) string {
	if rng.IntN(3) == 0 {
		a.srv.ExpireTokens()
		return "c4c CSRF tokens expired"
	}
	// Only collections every session reads: a fault no session meets would
	// fall on the scenario's own checks.
	coll := []string{"ContactCollection", "TasksCollection", "AppointmentCollection"}[rng.IntN(3)]
	status := []int{500, 503}[rng.IntN(2)]
	a.srv.FailNextRead(coll, status)
	return fmt.Sprintf("c4c %s read %d", coll, status)
}

func (a *c4cAdmin) user() side.CRM { return a.side }

// editable and checked include task and appointment notes, which live in
// their own text collections (edited there, as a user does in C4C).
func (a *c4cAdmin) editable(kind item.Kind) []string {
	return map[item.Kind][]string{item.Contact: {item.Title, item.Department}, item.Task: {item.Priority, item.Description}, item.Event: {item.Location, item.Description}}[kind]
}

func (a *c4cAdmin) checked(kind item.Kind) []string {
	return map[item.Kind][]string{
		item.Contact: {item.FirstName, item.LastName, item.Email, item.Title, item.Department},
		item.Task:    {item.Subject, item.DueDate, item.Priority, item.Description},
		item.Event:   {item.Subject, item.Start, item.End, item.Location, item.Description},
	}[kind]
}

// series: the C4C connector maps no recurrence.
func (a *c4cAdmin) series() bool { return false }

func (a *c4cAdmin) moveOccurrence(string, time.Time) (bool, error) { return false, nil }

// TestPropertySessionsC4C is TestPropertySessionsAgainstLocalServers with
// SAP Cloud for Customer as the CRM: the real runner with the C4C connector
// against the local C4C and the local Graph, sessions killed and redelivered,
// CSRF tokens expired and failed reads. Deletions and owner changes in C4C
// are never reported by its API; after each round, a session past the
// reconciliation interval must have found them (0 lost), and nothing may be
// duplicated on either side.
func TestPropertySessionsC4C(t *testing.T) {
	n := *sidesPropN
	if n == 0 {
		n = defaultScenarios / 5
		if testing.Short() {
			n = 10
		}
	}
	first := *sidesPropSeed
	start, before := time.Now(), sessions.Load()
	t.Run("scenarios", func(t *testing.T) {
		for i := 0; i < n; i++ {
			seed := first + uint64(i)
			t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
				t.Parallel()
				runScenarioIn(t, seed, func(tb testing.TB) (*pworld, mailboxAdmin) { w := newC4CPWorld(tb); return w, graphAdmin{w} })
			})
		}
	})
	found := c4cUnreported.Load()
	t.Logf("%d scenarios, %d sessions, %d C4C deletions and owner changes found by reconciliation, in %s",
		n, sessions.Load()-before, found, time.Since(start).Round(time.Millisecond))
	if n >= 20 && found == 0 {
		t.Errorf("%d scenarios made no deletion or owner change in C4C: the reconciliation went untested", n)
	}
}
