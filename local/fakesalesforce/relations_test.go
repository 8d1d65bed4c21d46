package fakesalesforce

import (
	"net/url"
	"testing"
)

func TestEventRelations(t *testing.T) {
	f := newFixture(t, Options{})
	contact, _ := f.srv.Insert(f.user, "Contact", map[string]any{"LastName": "Guest", "Email": "guest@example.com"})
	mine, _ := f.srv.Insert(f.user, "Event", map[string]any{"Subject": "Mine", "StartDateTime": "2026-05-12T09:00:00Z", "DurationInMinutes": 30})
	other, err := f.srv.AddUser(User{Username: "o@example.com", Password: "pw", Email: "o@example.com", LastName: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := f.srv.Insert(other, "Event", map[string]any{"Subject": "Theirs", "StartDateTime": "2026-05-12T09:00:00Z", "DurationInMinutes": 30})
	if err != nil {
		t.Fatal(err)
	}
	// A well-formed id of a record that does not exist.
	missing := "003" + contact[3:14] + "ZZZZ"
	rel := func(event, relation string) map[string]any {
		return map[string]any{"attributes": map[string]string{"type": "EventRelation"}, "EventId": event, "RelationId": relation, "IsInvitee": true}
	}
	var res []struct {
		Success bool `json:"success"`
		Errors  []struct {
			StatusCode string   `json:"statusCode"`
			Fields     []string `json:"fields"`
		} `json:"errors"`
	}
	f.do("POST", v+"/composite/sobjects", map[string]any{"allOrNone": false, "records": []any{
		rel(mine, contact), rel(mine, missing), rel(theirs, contact), rel(mine, contact),
	}}, &res)
	if len(res) != 4 {
		t.Fatalf("results = %d, want 4", len(res))
	}
	tests := []struct {
		name, code, field string
	}{
		{"valid invitee", "", ""},
		{"unknown RelationId", "INVALID_CROSS_REFERENCE_KEY", "RelationId"},
		{"event the user cannot edit", "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", ""},
		{"same person twice", "DUPLICATE_VALUE", "RelationId"},
	}
	for i, tt := range tests {
		r := res[i]
		if tt.code == "" {
			if !r.Success {
				t.Errorf("%s: refused: %+v", tt.name, r.Errors)
			}
			continue
		}
		if r.Success || len(r.Errors) == 0 || r.Errors[0].StatusCode != tt.code {
			t.Errorf("%s: got %+v, want %s", tt.name, r, tt.code)
			continue
		}
		if tt.field != "" && (len(r.Errors[0].Fields) != 1 || r.Errors[0].Fields[0] != tt.field) {
			t.Errorf("%s: fields = %v, want [%s]", tt.name, r.Errors[0].Fields, tt.field)
		}
	}
	var page struct {
		Records []map[string]any `json:"records"`
	}
	f.do("GET", v+"/query?q="+url.QueryEscape("SELECT RelationId, IsInvitee FROM EventRelation WHERE EventId = '"+mine+"'"), nil, &page)
	if len(page.Records) != 1 || page.Records[0]["RelationId"] != contact || page.Records[0]["IsInvitee"] != true {
		t.Errorf("EventRelation rows = %v, want the one invitee", page.Records)
	}
}
