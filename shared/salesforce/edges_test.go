package salesforce

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

func TestQueryAllPagesThroughDeleted(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{MaxBatchSize: 200}, Options{QueryBatch: 200})
	for i := range 450 {
		id, err := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": fmt.Sprintf("C%03d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if i%3 != 0 {
			if err := l.srv.Delete(l.user, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	l.srv.ResetCalls()
	seen := map[string]bool{}
	deleted := 0
	err := l.client.QueryAll(t.Context(), "SELECT Id, IsDeleted FROM Contact ORDER BY LastName", func(r Record) error {
		if seen[r.ID()] {
			t.Errorf("record %s reported twice", r.ID())
		}
		seen[r.ID()] = true
		if r.String("IsDeleted") == "true" {
			deleted++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 450 || deleted != 300 {
		t.Errorf("queryAll: %d records, %d deleted; want 450, 300", len(seen), deleted)
	}
	// The first batch from queryAll, the other two through the locator,
	// which says /query/ even for queryAll.
	if calls := l.srv.Calls(); calls["queryAll"] != 1 || calls["query"] != 2 {
		t.Errorf("calls = %v, want 1 queryAll and 2 query (more) calls", calls)
	}
	live, err := l.client.Collect(t.Context(), "SELECT Id FROM Contact")
	if err != nil || len(live) != 150 {
		t.Errorf("query without deleted rows: %d, %v; want 150", len(live), err)
	}
}

func TestExceededIDLimitFallsBackToFullRead(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	sc := item.Scope{Kind: item.Contact}
	kept, _ := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Kept"})
	changed, _ := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Before"})
	gone, _ := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Gone"})
	ch, err := l.side.Changes(t.Context(), sc, "")
	if err != nil || !ch.Full {
		t.Fatalf("first read: Full %v, %v", ch.Full, err)
	}
	l.clock.Add(10 * time.Minute)
	added, _ := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Added"})
	if err := l.srv.Update(l.user, changed, map[string]any{"LastName": "After"}); err != nil {
		t.Fatal(err)
	}
	if err := l.srv.Delete(l.user, gone); err != nil {
		t.Fatal(err)
	}
	l.clock.Add(5 * time.Minute)
	// More than 600,000 changed ids in the window.
	l.srv.Inject(fakesalesforce.Fault{Resource: "updated", Status: 400, ErrorCode: "EXCEEDED_ID_LIMIT", Message: "Exceeded id limit; narrow the window"})
	ch, err = l.side.Changes(t.Context(), sc, ch.Cursor)
	if err != nil || !ch.Full {
		t.Fatalf("EXCEEDED_ID_LIMIT: Full = %v, %v; want a full read", ch.Full, err)
	}
	want := map[string]string{kept: "Kept", changed: "After", added: "Added"}
	for id, name := range want {
		if r, ok := findRec(ch, id); !ok || r.Fields[item.LastName] != name {
			t.Errorf("full read: %s = %+v (found %v), want LastName %s", id, r.Fields, ok, name)
		}
	}
	if _, ok := findRec(ch, gone); ok || len(ch.Records) != len(want) {
		t.Errorf("full read has %d records (deleted one present: %v), want %d", len(ch.Records), ok, len(want))
	}
	// The new cursor reads changes again.
	l.clock.Add(5 * time.Minute)
	if err := l.srv.Update(l.user, kept, map[string]any{"Title": "CTO"}); err != nil {
		t.Fatal(err)
	}
	l.clock.Add(5 * time.Minute)
	ch, err = l.side.Changes(t.Context(), sc, ch.Cursor)
	if err != nil || ch.Full {
		t.Fatalf("after the fallback: Full = %v, %v; want incremental", ch.Full, err)
	}
	if r, ok := findRec(ch, kept); !ok || r.Fields[item.Title] != "CTO" {
		t.Errorf("incremental after the fallback: %+v, want the Title change", ch.Records)
	}
}

func TestUnknownFieldIsPerRecord(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	// A custom field the mapping names but the org does not have.
	side, err := NewSide(l.client, SideOptions{UserID: l.user, Extra: map[item.Kind][]FieldMap{item.Contact: {{"Nickname", "Nickname__c", Text}}}})
	if err != nil {
		t.Fatal(err)
	}
	recs := contacts(3, "Field")
	recs[1].Fields["Nickname"] = "Bobby"
	l.srv.ResetCalls()
	res, err := side.Create(t.Context(), item.Contact, recs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2} {
		if res[i].Err != nil || l.srv.Record(res[i].ID) == nil {
			t.Errorf("record %d: %+v, want written", i, res[i])
		}
	}
	fe := wantFault(t, res[1].Err, fault.Permanent, "INVALID_FIELD")
	if len(fe.Fields) != 1 || fe.Fields[0] != "Nickname" {
		t.Errorf("Fields = %v, want [Nickname]", fe.Fields)
	}
	// The refused call, then the others again.
	if got, want := l.srv.Calls()["collections"], 2; got != want {
		t.Errorf("collections calls = %d, want %d", got, want)
	}
	upd := []item.Record{
		{Kind: item.Contact, ID: res[0].ID, Fields: map[string]string{item.Title: "CEO", "Nickname": "Boss"}},
		{Kind: item.Contact, ID: res[2].ID, Fields: map[string]string{item.Title: "CFO"}},
	}
	res, err = side.Update(t.Context(), item.Contact, upd)
	if err != nil {
		t.Fatal(err)
	}
	wantFault(t, res[0].Err, fault.Permanent, "INVALID_FIELD")
	if res[1].Err != nil || l.srv.Record(upd[1].ID)["Title"] != "CFO" {
		t.Errorf("update beside the bad field: %+v, Title %v; want written", res[1], l.srv.Record(upd[1].ID)["Title"])
	}
}

func TestVersionDiscoveryFailureUsesPinnedVersion(t *testing.T) {
	var logs bytes.Buffer
	l := newLocal(t, fakesalesforce.Options{}, Options{MaxAttempts: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	// Every attempt at /services/data/ fails.
	l.srv.Inject(fakesalesforce.Fault{Resource: "versions", Status: 503, Times: 2})
	v, err := l.client.Version(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v != FallbackVersion {
		t.Errorf("version = %s, want the pinned %s", v, FallbackVersion)
	}
	if !strings.Contains(logs.String(), "using the pinned version") {
		t.Errorf("no warning logged; logs: %q", logs.String())
	}
	if _, err := l.client.Count(t.Context(), "SELECT COUNT() FROM Contact"); err != nil {
		t.Errorf("query on the pinned version: %v", err)
	}
	logs.Reset()
	if v, err := l.client.Version(t.Context()); err != nil || v != FallbackVersion || logs.Len() != 0 {
		t.Errorf("second Version = %s, %v (logs %q); want the pinned version kept without asking again", v, err, logs.String())
	}
}
