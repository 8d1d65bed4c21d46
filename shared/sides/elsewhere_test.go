package sides_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestContactSharedFromAnotherFolderReachesSalesforce: a contact in the
// default Contacts folder (not the synced "Business Contacts") given the
// share category is created in Salesforce and kept in sync, like a meeting.
func TestContactSharedFromAnotherFolderReachesSalesforce(t *testing.T) {
	w := newWorld(t)
	w.session()
	var created struct {
		ID string `json:"id"`
	}
	graphPost(t, w.gURL+"/v1.0/users/"+upn+"/contacts", w.graph.Token(upn),
		`{"givenName":"Gina","surname":"Gomez","emailAddresses":[{"address":"gina@globex.example"}],"categories":["Salesforce"]}`, &created)
	graphPost(t, w.gURL+"/v1.0/users/"+upn+"/contacts", w.graph.Token(upn),
		`{"givenName":"Pat","surname":"Private","emailAddresses":[{"address":"pat@home.example"}]}`, nil)
	rep := w.session()
	if rep.Counts["contact|to-crm|create"] != 1 {
		t.Fatalf("counts %v, want Gina created in Salesforce", rep.Counts)
	}
	rep = w.session()
	if n := rep.Counts["contact|to-crm|create"]; n != 0 {
		t.Errorf("the contact was created again: %v", rep.Counts)
	}
}

// TestChosenCalendarsSync: with the user's choice of the default calendar
// and "Sales", a meeting in Sales reaches Salesforce; a calendar not chosen
// stays out.
func TestChosenCalendarsSync(t *testing.T) {
	w := newWorld(t)
	tok := w.graph.Token(upn)
	var sales, private struct {
		ID string `json:"id"`
	}
	graphPost(t, w.gURL+"/v1.0/users/"+upn+"/calendars", tok, `{"name":"Sales"}`, &sales)
	graphPost(t, w.gURL+"/v1.0/users/"+upn+"/calendars", tok, `{"name":"Private"}`, &private)
	var def struct {
		ID string `json:"id"`
	}
	graphGet(t, w.gURL+"/v1.0/users/"+upn+"/calendar", tok, &def)
	src := w.runner.Settings.(settingsFor)
	us := src[w.user]
	us.Calendars = []string{def.ID, sales.ID}
	src[w.user] = us
	start := w.now.Add(48 * time.Hour).UTC().Truncate(time.Hour)
	ev := func(subject string) string {
		return `{"subject":"` + subject + `","categories":["Salesforce"],"start":{"dateTime":"` + start.Format("2006-01-02T15:04:05") +
			`","timeZone":"UTC"},"end":{"dateTime":"` + start.Add(time.Hour).Format("2006-01-02T15:04:05") + `","timeZone":"UTC"}}`
	}
	graphPost(t, w.gURL+"/v1.0/users/"+upn+"/calendars/"+sales.ID+"/events", tok, ev("Sales review"), nil)
	graphPost(t, w.gURL+"/v1.0/users/"+upn+"/calendars/"+private.ID+"/events", tok, ev("Dentist"), nil)
	graphPost(t, w.gURL+"/v1.0/users/"+upn+"/events", tok, ev("Team lunch"), nil)
	w.session()
	got := querySalesforceEvents(t, w)
	if _, ok := got["Sales review"]; !ok {
		t.Errorf("the Sales calendar's meeting did not reach Salesforce: %v", got)
	}
	if _, ok := got["Team lunch"]; !ok {
		t.Errorf("the default calendar's meeting did not reach Salesforce: %v", got)
	}
	if _, ok := got["Dentist"]; ok {
		t.Errorf("a meeting of a calendar not chosen reached Salesforce")
	}
}

func graphGet(t *testing.T, url, token string, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
}
