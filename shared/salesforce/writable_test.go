package salesforce

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// writeRecorder is a transport that notes, for every record the client
// writes, its object, its fields and whether it was a create or an update.
type writeRecorder struct {
	mu     sync.Mutex
	writes []recordedWrite
}

type recordedWrite struct {
	object string
	create bool
	fields []string
}

func (w *writeRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && (r.Method == http.MethodPost || r.Method == http.MethodPatch) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			w.note(r.Method, r.URL.Path, body)
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// note reads a write body by the resource it goes to.
func (w *writeRecorder) note(method, path string, body []byte) {
	path = path[strings.Index(path, "/v")+1:]
	path = path[strings.Index(path, "/")+1:] // drop "vNN.N/"
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case path == "composite":
		var c struct {
			CompositeRequest []struct {
				Method string          `json:"method"`
				URL    string          `json:"url"`
				Body   json.RawMessage `json:"body"`
			} `json:"compositeRequest"`
		}
		if json.Unmarshal(body, &c) == nil {
			for _, s := range c.CompositeRequest {
				u := s.URL[strings.Index(s.URL, "/v")+1:]
				w.mu.Unlock()
				w.note(s.Method, "/services/data/"+u, s.Body)
				w.mu.Lock()
			}
		}
	case path == "composite/sobjects":
		var c struct {
			Records []map[string]any `json:"records"`
		}
		if json.Unmarshal(body, &c) == nil {
			for _, rec := range c.Records {
				typ, _ := rec["attributes"].(map[string]any)["type"].(string)
				w.add(typ, method == http.MethodPost, rec)
			}
		}
	case strings.HasPrefix(path, "sobjects/"):
		parts := strings.Split(path, "/")
		var rec map[string]any
		if json.Unmarshal(body, &rec) == nil {
			w.add(parts[1], method == http.MethodPost, rec)
		}
	}
}

func (w *writeRecorder) add(object string, create bool, rec map[string]any) {
	var fields []string
	for k := range rec {
		if k != "attributes" && k != "id" && k != "Id" {
			fields = append(fields, k)
		}
	}
	sort.Strings(fields)
	w.writes = append(w.writes, recordedWrite{object: object, create: create, fields: fields})
}

// TestEveryWrittenFieldIsWritablePerDescribe writes every kind the side
// writes — contacts, tasks, single, all-day and recurring events (created and
// updated with every mapped field), invitees, leads, shared e-mails with one
// and several people, a file — and checks each field of each record sent
// against the local Salesforce's describe: createable on a create, updateable
// on an update. Before writable, every Event update carried IsRecurrence
// (createable only), which a real org refuses.
func TestEveryWrittenFieldIsWritablePerDescribe(t *testing.T) {
	rec := &writeRecorder{}
	l := newLocal(t, fakesalesforce.Options{}, Options{HTTPClient: &http.Client{Transport: rec}})
	ctx := t.Context()
	s := l.side
	contact, err := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Lovelace", "Email": "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	mustWrite := func(what string, res []side.Result, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var ids []string
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("%s: %v", what, r.Err)
			}
			ids = append(ids, r.ID)
		}
		return ids
	}
	contactFields := map[string]string{item.FirstName: "Ada", item.LastName: "Byron", item.Email: "ada.b@example.com", item.Phone: "1",
		item.MobilePhone: "2", item.Title: "Countess", item.Department: "Math", item.MailingStreet: "St James's Square",
		item.MailingCity: "London", item.MailingState: "LDN", item.MailingPostalCode: "SW1", item.MailingCountry: "UK"}
	res, err := s.Create(ctx, item.Contact, []item.Record{{Kind: item.Contact, Fields: contactFields}}, nil)
	ids := mustWrite("create contact", res, err)
	res, err = s.Update(ctx, item.Contact, []item.Record{{Kind: item.Contact, ID: ids[0], Fields: contactFields}})
	mustWrite("update contact", res, err)

	taskFields := map[string]string{item.Subject: "Call", item.DueDate: "2026-05-12", item.Status: "InProgress", item.Priority: "High", item.Description: "d"}
	res, err = s.Create(ctx, item.Task, []item.Record{{Kind: item.Task, Fields: taskFields}}, nil)
	ids = mustWrite("create task", res, err)
	res, err = s.Update(ctx, item.Task, []item.Record{{Kind: item.Task, ID: ids[0], Fields: taskFields}})
	mustWrite("update task", res, err)

	single := map[string]string{item.Subject: "Sync", item.Start: "2026-05-12T09:00:00Z", item.End: "2026-05-12T10:00:00Z",
		item.AllDay: "false", item.Location: "Room", item.Description: "d", item.Attendees: "ada@example.com", item.Recurrence: ""}
	allDay := map[string]string{item.Subject: "Offsite", item.Start: "2026-05-13T00:00:00Z", item.End: "2026-05-14T00:00:00Z", item.AllDay: "true", item.Recurrence: ""}
	series := map[string]string{item.Subject: "Weekly", item.Start: "2026-05-12T09:00:00Z", item.End: "2026-05-12T09:30:00Z",
		item.AllDay: "false", item.Recurrence: "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;UNTIL=20260630T235959Z"}
	res, err = s.Create(ctx, item.Event, []item.Record{{Kind: item.Event, Fields: single}, {Kind: item.Event, Fields: allDay}, {Kind: item.Event, Fields: series}}, nil)
	ids = mustWrite("create events", res, err)
	var ups []item.Record
	for i, f := range []map[string]string{single, allDay, series} {
		ups = append(ups, item.Record{Kind: item.Event, ID: ids[i], Fields: f})
	}
	// Times alone (no AllDay among the fields) take the all-day path through
	// allDayFlags.
	ups = append(ups, item.Record{Kind: item.Event, ID: ids[0], Fields: map[string]string{item.Start: "2026-05-12T11:00:00Z", item.End: "2026-05-12T12:00:00Z"}})
	res, err = s.Update(ctx, item.Event, ups)
	mustWrite("update events", res, err)

	res, err = s.CreateLeads(ctx, []item.Record{{Fields: map[string]string{item.FirstName: "Grace", item.LastName: "Hopper", item.Email: "grace@example.com", item.Company: "Navy"}}})
	leads := mustWrite("create lead", res, err)
	email := item.Record{Kind: item.SharedEmail, Fields: map[string]string{item.Subject: "Email: hi", item.Description: "body", item.Sent: "2026-05-11T10:00:00Z", item.From: "me@example.com", item.To: "ada@example.com"}}
	if _, err := s.LogEmail(ctx, email, []string{contact}, "", ""); err != nil {
		t.Fatal(err)
	}
	other, _ := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Babbage"})
	task, err := s.LogEmail(ctx, email, []string{contact, other, leads[0]}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AttachFile(ctx, task, "notes.txt", 5, strings.NewReader("notes")); err != nil {
		t.Fatal(err)
	}

	objects := map[string]bool{}
	for _, w := range rec.writes {
		objects[w.object] = true
		obj, err := l.client.Describe(ctx, w.object)
		if err != nil {
			t.Fatalf("describe %s: %v", w.object, err)
		}
		for _, name := range w.fields {
			f := obj.Field(name)
			switch {
			case f == nil:
				t.Errorf("%s.%s written but not in the describe", w.object, name)
			case w.create && !f.Createable:
				t.Errorf("%s.%s sent on a create but not createable", w.object, name)
			case !w.create && !f.Updateable:
				t.Errorf("%s.%s sent on an update but not updateable", w.object, name)
			}
		}
	}
	for _, want := range []string{"Contact", "Task", "Event", "EventRelation", "Lead", "TaskRelation"} {
		if !objects[want] {
			t.Errorf("no %s write seen (seen %v): the test no longer covers it", want, objects)
		}
	}
}
