package salesforce

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// maxWhos is how many contacts one activity can relate to (Shared Activities).
const maxWhos = 50

// emailChunk bounds the addresses in one "Email IN (…)" query.
const emailChunk = 200

func slogKind(k item.Kind) slog.Attr { return slog.String("kind", string(k)) }

// FindPeople maps addresses to Contacts (preferred) and unconverted Leads,
// with exact SOQL matches on Email (the search index lags behind writes).
func (s *Side) FindPeople(ctx context.Context, addresses []string) (map[string]item.Person, error) {
	seen := map[string]bool{}
	var list []string
	for _, a := range addresses {
		a = strings.ToLower(strings.TrimSpace(a))
		if a != "" && !seen[a] {
			seen[a] = true
			list = append(list, a)
		}
	}
	out := map[string]item.Person{}
	for start := 0; start < len(list); start += emailChunk {
		chunk := list[start:min(start+emailChunk, len(list))]
		q, err := s.c.Build(ctx, Select{Object: "Contact", Fields: []string{"Id", "Email", "AccountId"}, Where: In("Email", chunk), OrderBy: []string{"CreatedDate", "Id"}})
		if err != nil {
			return nil, err
		}
		err = s.c.Query(ctx, q, func(r Record) error {
			addr := strings.ToLower(r.String("Email"))
			if _, dup := out[addr]; !dup && seen[addr] {
				out[addr] = item.Person{ID: r.ID(), Object: "Contact", AccountID: r.String("AccountId")}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		var rest []string
		for _, a := range chunk {
			if _, ok := out[a]; !ok {
				rest = append(rest, a)
			}
		}
		if len(rest) == 0 {
			continue
		}
		q, err = s.c.Build(ctx, Select{Object: "Lead", Fields: []string{"Id", "Email"}, Where: And(In("Email", rest), Eq("IsConverted", false)), OrderBy: []string{"CreatedDate", "Id"}})
		if err != nil {
			return nil, err
		}
		err = s.c.Query(ctx, q, func(r Record) error {
			addr := strings.ToLower(r.String("Email"))
			if _, dup := out[addr]; !dup && seen[addr] {
				out[addr] = item.Person{ID: r.ID(), Object: "Lead"}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CreateLeads creates a Lead per record (FirstName, LastName, Email, Company).
func (s *Side) CreateLeads(ctx context.Context, leads []item.Record) ([]side.Result, error) {
	m := Mapping{Object: "Lead", Fields: []FieldMap{{item.FirstName, "FirstName", Text}, {item.LastName, "LastName", Text},
		{item.Email, "Email", Email}, {item.Company, "Company", Text}}}
	out := make([]side.Result, len(leads))
	var send []Record
	var at []int
	for i, l := range leads {
		r := NewRecord("Lead")
		for _, fm := range m.Fields {
			if v, ok := l.Fields[fm.Canonical]; ok {
				val, err := fm.write(v)
				if err != nil {
					out[i].Err = err
					break
				}
				r[fm.Salesforce] = val
			}
		}
		if out[i].Err == nil {
			send = append(send, r)
			at = append(at, i)
		}
	}
	res, err := s.c.Create(ctx, send)
	for j, r := range res {
		out[at[j]] = side.Result{ID: r.ID, Err: perRecord(m, r.Err)}
	}
	return out, err
}

// whos applies Shared Activities' rule: one lead, or up to 50 contacts.
func whos(ids []string) []string {
	var contacts []string
	for _, id := range ids {
		if strings.HasPrefix(id, "003") {
			contacts = append(contacts, id)
		}
	}
	if len(contacts) > 0 {
		return contacts[:min(len(contacts), maxWhos)]
	}
	if len(ids) > 0 {
		return ids[:1]
	}
	return nil
}

// LogEmail records a shared e-mail as a completed Task (TaskSubtype Email)
// related to every person: the Task and its extra TaskRelation rows go in
// one composite request, all or none.
func (s *Side) LogEmail(ctx context.Context, email item.Record, whoIDs []string, whatID, marker string) (string, error) {
	m, err := s.mapping(item.SharedEmail)
	if err != nil {
		return "", err
	}
	for _, id := range append(append([]string(nil), whoIDs...), whatID) {
		if id != "" && !validID(id) {
			return "", fault.New(fault.Permanent, "MALFORMED_ID", "not a record id")
		}
	}
	task, err := s.fromItem(item.SharedEmail, m, email, false)
	if err != nil {
		return "", err
	}
	if sent, err := time.Parse(time.RFC3339, email.Fields[item.Sent]); err == nil {
		task["ActivityDate"] = sent.UTC().Format("2006-01-02")
	}
	task["Description"] = emailDescription(email.Fields)
	task["Status"] = "Completed"
	task["TaskSubtype"] = "Email"
	people := whos(whoIDs)
	if len(people) > 0 {
		task["WhoId"] = people[0]
	}
	if whatID != "" {
		task["WhatId"] = whatID
	}
	if f := s.marker[item.SharedEmail]; f != "" && marker != "" {
		task[f] = marker
	}
	delete(task, "attributes")
	if len(people) <= 1 {
		id, err := s.c.CreateOne(ctx, "Task", task)
		return id, perRecord(m, err)
	}
	rels := make([]any, 0, len(people)-1)
	for _, p := range people[1:] {
		rels = append(rels, map[string]any{"attributes": map[string]string{"type": "TaskRelation"}, "TaskId": "@{task.id}", "RelationId": p, "IsWhat": false})
	}
	res, err := s.c.Composite(ctx, true, []Subrequest{
		{Method: http.MethodPost, URL: "sobjects/Task", ReferenceID: "task", Body: task},
		{Method: http.MethodPost, URL: "composite/sobjects", ReferenceID: "relations", Body: map[string]any{"allOrNone": true, "records": rels}},
	})
	if err != nil {
		return "", err
	}
	for _, r := range res {
		if r.Err != nil && !strings.Contains(r.Err.Error(), "PROCESSING_HALTED") {
			return "", perRecord(m, r.Err)
		}
	}
	for _, r := range res {
		if r.Err != nil {
			return "", r.Err
		}
	}
	var created wireSaveResult
	if err := json.Unmarshal(res[0].Body, &created); err != nil || created.ID == nil {
		return "", fault.New(fault.Temporary, "MALFORMED_RESPONSE", "composite answer without the task id")
	}
	var relResults []wireSaveResult
	if err := json.Unmarshal(res[1].Body, &relResults); err == nil {
		for _, rr := range relResults {
			if !rr.Success && len(rr.Errors) > 0 {
				return "", recordError(rr.Errors[0])
			}
		}
	}
	return *created.ID, nil
}

// AttachFile uploads content as a File linked to parentID.
func (s *Side) AttachFile(ctx context.Context, parentID, name string, size int64, content io.Reader) (string, error) {
	return s.c.UploadFile(ctx, parentID, name, size, content)
}

// taskDescriptionMax is the length of Task.Description (a 32,000-character
// long text area): a longer value fails the whole Task with STRING_TOO_LONG.
const taskDescriptionMax = 32000

// truncatedNote ends a body cut to fit Task.Description.
const truncatedNote = "\n[… truncated by crmsync]"

// emailDescription is a shared e-mail's Task.Description: a header with what
// Task has no field for — direction, sender and recipients, in the shape of
// Salesforce's own Email to Salesforce — then the body text, cut to fit the
// field so a long e-mail is shared shortened instead of failing.
//
// FindCreated compares what it finds with this same text, so a session killed
// after LogEmail adopts the Task instead of sharing the e-mail again.
func emailDescription(f map[string]string) string {
	var header []string
	for _, h := range []struct{ label, field string }{
		{"Direction", item.Direction}, {"From", item.From}, {"To", item.To}, {"CC", item.Cc},
	} {
		if v := strings.TrimSpace(f[h.field]); v != "" {
			header = append(header, h.label+": "+strings.ReplaceAll(v, ",", ", "))
		}
	}
	head := strings.Join(header, "\n")
	body := strings.TrimSpace(f[item.Description])
	if head != "" && body != "" {
		head += "\n\n"
	}
	room := taskDescriptionMax - utf8.RuneCountInString(head)
	if utf8.RuneCountInString(body) > room {
		runes := []rune(body)
		body = string(runes[:max(room-utf8.RuneCountInString(truncatedNote), 0)]) + truncatedNote
	}
	return head + body
}
