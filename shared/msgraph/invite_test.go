package msgraph

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/item"
)

// asUser sends a Graph request as another mailbox of the local Graph.
func asUser(t *testing.T, fg *fakegraph.Server, upn, method, path string, body any) map[string]any {
	t.Helper()
	fg.AddMailbox(upn, upn)
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, "http://graph.local/v1.0/"+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+fg.Token(upn))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Prefer", `IdType="ImmutableId"`)
	resp, err := fg.Transport().RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
	}
	return out
}

// patchRecorder notes the bodies of PATCH requests and batch parts.
type patchRecorder struct {
	next    http.RoundTripper
	mu      sync.Mutex
	patches []string
}

func (p *patchRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && (r.Method == http.MethodPatch || strings.HasSuffix(r.URL.Path, "$batch")) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		p.mu.Lock()
		if r.Method == http.MethodPatch {
			p.patches = append(p.patches, r.URL.Path+" "+string(b))
		} else {
			var wb wireBatch
			_ = json.Unmarshal(b, &wb)
			for _, part := range wb.Requests {
				if part.Method == http.MethodPatch {
					p.patches = append(p.patches, part.URL+" "+string(part.Body))
				}
			}
		}
		p.mu.Unlock()
	}
	return p.next.RoundTrip(r)
}

// TestInvitationsAreReadAndNeverRewritten: a meeting someone else organized
// reaches the user's calendar as an invitation; crmsync reads who organized
// it, the user's answer and the join link (to Location when empty, else
// Description), and never writes the organizer's fields back to it, while
// the user's own meetings are marked as theirs. The previous client read
// none of it and sent the CRM's changes to the invitation.
func TestInvitationsAreReadAndNeverRewritten(t *testing.T) {
	fg, side, upn := localGraph(t, fakegraph.Options{})
	rec := &patchRecorder{next: fg.Transport()}
	c, err := New(Options{BaseURL: "http://graph.local/v1.0", HTTPClient: &http.Client{Transport: rec}, TokenSource: side.c.src})
	if err != nil {
		t.Fatal(err)
	}
	side = NewSide(c, SideOptions{})
	ctx := t.Context()
	at := func(h int) map[string]any {
		return map[string]any{"dateTime": time.Date(2026, 7, 1, h, 0, 0, 0, time.UTC).Format("2006-01-02T15:04:05"), "timeZone": "UTC"}
	}
	attendees := []any{map[string]any{"emailAddress": map[string]any{"address": upn}, "type": "required"}}
	asUser(t, fg, "boss@contoso.test", http.MethodPost, "me/events", map[string]any{"subject": "Board call", "isOnlineMeeting": true,
		"start": at(9), "end": at(10), "attendees": attendees})
	asUser(t, fg, "boss@contoso.test", http.MethodPost, "me/events", map[string]any{"subject": "Offsite", "isOnlineMeeting": true,
		"location": map[string]any{"displayName": "Room 4"}, "body": map[string]any{"contentType": "text", "content": "Agenda"},
		"start": at(11), "end": at(12), "attendees": attendees})
	if err := c.sendJSON(ctx, http.MethodPost, "me/events", map[string]any{"subject": "Mine", "start": at(13), "end": at(14)}, nil); err != nil {
		t.Fatal(err)
	}
	scope := item.Scope{Kind: item.Event, From: time.Date(2026, 6, 28, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 7, 10, 0, 0, 0, 0, time.UTC)}
	ch, err := side.Changes(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]item.Record{}
	for _, r := range ch.Records {
		got[r.Fields[item.Subject]] = r
	}
	board, offsite, mine := got["Board call"], got["Offsite"], got["Mine"]
	if board.Fields[item.Invitation] != "true" || board.Fields[item.Organizer] != "boss@contoso.test" || board.Fields[item.Response] != "notResponded" {
		t.Errorf("invitation = %v, want marked, organized by boss, not answered", board.Fields)
	}
	if !strings.HasPrefix(board.Fields[item.Location], "https://teams.microsoft.com/l/meetup-join/") {
		t.Errorf("Location = %q, want the join link (the event had none)", board.Fields[item.Location])
	}
	if offsite.Fields[item.Location] != "Room 4" || !strings.Contains(offsite.Fields[item.Description], "https://teams.microsoft.com/l/meetup-join/") ||
		!strings.HasPrefix(offsite.Fields[item.Description], "Agenda") {
		t.Errorf("offsite = %v, want its room kept and the join link after the agenda", offsite.Fields)
	}
	if mine.Fields[item.Invitation] != "false" || mine.Fields[item.Response] != "organizer" {
		t.Errorf("own meeting = %v, want not an invitation", mine.Fields)
	}
	// The CRM changed both invitations and the user's own meeting.
	res, err := side.Update(ctx, item.Event, []item.Record{
		{Kind: item.Event, ID: board.ID, Fields: map[string]string{item.Subject: "Board call (moved)", item.Start: "2026-07-01T15:00:00Z", item.End: "2026-07-01T16:00:00Z"}},
		{Kind: item.Event, ID: mine.ID, Fields: map[string]string{item.Subject: "Mine (edited)"}},
	})
	if err != nil || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("update: %v %+v", err, res)
	}
	for _, p := range rec.patches {
		if strings.Contains(p, board.ID) {
			t.Errorf("crmsync wrote to the invitation: %s", p)
		}
	}
	if len(rec.patches) != 1 {
		t.Errorf("patches %v, want the one to the user's own meeting", rec.patches)
	}
	// A new session (nothing cached) still knows the invitation for what it is.
	fresh := NewSide(c, SideOptions{})
	if res, err := fresh.Update(ctx, item.Event, []item.Record{{Kind: item.Event, ID: offsite.ID, Fields: map[string]string{item.Location: "Room 5"}}}); err != nil || res[0].Err != nil {
		t.Fatalf("update: %v %+v", err, res)
	}
	for _, p := range rec.patches {
		if strings.Contains(p, offsite.ID) {
			t.Errorf("crmsync wrote to the invitation: %s", p)
		}
	}
}
