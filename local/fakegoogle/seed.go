package fakegoogle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// SeedDemo gives the Workspace user email (added when new) a small demo
// mailbox through the APIs, as a user would fill it: two contacts in the
// "crmsync" contact group (the synced folder), a meeting tomorrow in the
// primary calendar and a task in the "crmsync" task list. It returns the
// user's refresh token, for the demo's stored connection.
func SeedDemo(s *Server, email string, now time.Time) (refresh string, err error) {
	access, refresh := s.AddUser(email)
	call := func(method, path string, body, out any) error {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r, err := http.NewRequest(method, "http://google.local"+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		r.Header.Set("Authorization", "Bearer "+access)
		r.Header.Set("Content-Type", "application/json")
		resp, err := s.Transport().RoundTrip(r)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("seeding the local Google: %s %s answered %s", method, path, resp.Status)
		}
		if out == nil {
			return nil
		}
		return json.NewDecoder(resp.Body).Decode(out)
	}
	var group struct {
		ResourceName string `json:"resourceName"`
	}
	if err := call("POST", "/v1/contactGroups", map[string]any{"contactGroup": map[string]string{"name": "crmsync"}}, &group); err != nil {
		return "", err
	}
	for _, c := range []struct{ given, family, mail, org string }{
		{"Gail", "Gmailer", "gail@northwind.example", "Northwind Traders"},
		{"Pat", "Peoples", "pat@fabrikam.example", "Fabrikam"},
	} {
		body := map[string]any{
			"names":          []map[string]string{{"givenName": c.given, "familyName": c.family}},
			"emailAddresses": []map[string]string{{"value": c.mail}},
			"organizations":  []map[string]string{{"name": c.org}},
			"memberships":    []map[string]any{{"contactGroupMembership": map[string]string{"contactGroupResourceName": group.ResourceName}}},
		}
		if err := call("POST", "/v1/people:createContact", body, nil); err != nil {
			return "", err
		}
	}
	start := now.UTC().Truncate(time.Hour).Add(24 * time.Hour)
	if err := call("POST", "/calendar/v3/calendars/primary/events", map[string]any{"summary": "Quarterly review with Northwind",
		"start": map[string]string{"dateTime": start.Format(time.RFC3339), "timeZone": "UTC"},
		"end":   map[string]string{"dateTime": start.Add(time.Hour).Format(time.RFC3339), "timeZone": "UTC"}}, nil); err != nil {
		return "", err
	}
	var list struct {
		ID string `json:"id"`
	}
	if err := call("POST", "/tasks/v1/users/@me/lists", map[string]string{"title": "crmsync"}, &list); err != nil {
		return "", err
	}
	if err := call("POST", "/tasks/v1/lists/"+list.ID+"/tasks", map[string]string{"title": "Send Fabrikam the proposal",
		"due": start.Format("2006-01-02") + "T00:00:00.000Z"}, nil); err != nil {
		return "", err
	}
	return refresh, nil
}
