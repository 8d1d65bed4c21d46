package fakegraph

import (
	"net/http"
	"strings"
	"testing"
)

// Sources: resources/event (organizer, isOrganizer, responseStatus,
// isOnlineMeeting, onlineMeeting.joinUrl), resources/responsestatus,
// api/event-cancel and outlook-calendar concepts (attendees get the
// organizer's updates; a cancelled meeting stays with isCancelled).
func TestMeetingsReachAttendeesAsInvitations(t *testing.T) {
	r := newRig(t, Options{})
	r.s.AddMailbox("ben@contoso.test", "Ben")
	id := r.create("me/events", map[string]any{"subject": "Review", "isOnlineMeeting": true,
		"start": map[string]any{"dateTime": "2026-07-01T09:00:00", "timeZone": "UTC"}, "end": map[string]any{"dateTime": "2026-07-01T10:00:00", "timeZone": "UTC"},
		"attendees": []any{map[string]any{"emailAddress": map[string]any{"address": "Ben@contoso.test"}, "type": "required"}}})
	st, own, _ := r.do(http.MethodGet, "me/events/"+id, nil, `IdType="ImmutableId"`)
	if st != 200 || own["isOrganizer"] != true || asMap(own["responseStatus"])["response"] != "organizer" {
		t.Fatalf("organizer's event: %d %v", st, own)
	}
	join := str(asMap(own["onlineMeeting"])["joinUrl"])
	if !strings.HasPrefix(join, "https://teams.microsoft.com/l/meetup-join/") {
		t.Errorf("joinUrl = %q", join)
	}
	ben := r.s.Token("ben@contoso.test")
	list := func() []map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, r.srv.URL+"/v1.0/me/events", nil)
		req.Header.Set("Authorization", "Bearer "+ben)
		st, out, _ := r.send(req)
		if st != 200 {
			t.Fatalf("Ben's events: %d %v", st, out)
		}
		return values(out)
	}
	got := list()
	if len(got) != 1 {
		t.Fatalf("Ben has %d events, want the invitation", len(got))
	}
	inv := got[0]
	if inv["isOrganizer"] != false || asMap(asMap(inv["organizer"])["emailAddress"])["address"] != r.upn ||
		asMap(inv["responseStatus"])["response"] != "notResponded" || str(asMap(inv["onlineMeeting"])["joinUrl"]) != join {
		t.Errorf("invitation = %v", inv)
	}
	if st, out, _ := r.do(http.MethodPatch, "me/events/"+id, map[string]any{"subject": "Review (moved)"}); st != 200 {
		t.Fatalf("organizer update: %d %v", st, out)
	}
	if got := list(); got[0]["subject"] != "Review (moved)" {
		t.Errorf("the organizer's change did not reach the invitation: %v", got[0]["subject"])
	}
	if st, _, _ := r.do(http.MethodDelete, "me/events/"+id, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if got := list(); got[0]["isCancelled"] != true {
		t.Errorf("after the organizer deleted the meeting the invitation is %v, want cancelled", got[0])
	}
}
