package fakec4c

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestMetadataAndCodeLists: $metadata is EDMX XML naming each coded
// property's code list with c4c:value-help; the code list entity set
// answers Code and Description; a write of a code not in the list is
// refused, naming the property.
func TestMetadataAndCodeLists(t *testing.T) {
	s, c := newT(t)
	s.opts.CodeLists = map[string][]Code{"TasksStatusCollection": {{"A", "Open"}, {"B", "Completed"}}}
	resp, body := c.do("GET", "$metadata", "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") {
		t.Fatalf("$metadata: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{`xmlns:c4c="http://www.sap.com/Protocols/C4CData"`, `Name="Status"`, `c4c:value-help="TasksStatusCollection"`,
		`<EntitySet Name="TasksStatusCollection" EntityType="c4codataapi.CodeList"`, `sap:filterable="false"`} {
		if !strings.Contains(body, want) {
			t.Errorf("$metadata lacks %s", want)
		}
	}
	resp, body = c.do("GET", "TasksStatusCollection?$format=json", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"Code":"B"`) || !strings.Contains(body, `"Description":"Completed"`) || strings.Contains(body, `"Code":"3"`) {
		t.Fatalf("code list: %d %s", resp.StatusCode, body)
	}
	c.fetch()
	h := map[string]string{"x-csrf-token": c.tok}
	resp, body = c.do("POST", "TasksCollection", `{"Subject":"x","Status":"3"}`, h)
	if resp.StatusCode != 400 || !strings.Contains(body, "Status") || !strings.Contains(body, "TasksStatusCollection") {
		t.Errorf("code not in the list: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.do("POST", "TasksCollection", `{"Subject":"x","Status":"B"}`, h); resp.StatusCode != 201 {
		t.Errorf("code in the list: %d %s", resp.StatusCode, body)
	}
}

// TestOneMetadataForChildSetsAndRoleCodes: the one $metadata declares the
// child entity sets with their types (involved parties, notes), marks
// mandatory properties Nullable="false", and names the party role code
// list as RoleCode's value help; that list is served like every code list
// (the tenant's own codes), and an involved party with a role code not in
// it is refused, deep-inserted or posted on its own set.
func TestOneMetadataForChildSetsAndRoleCodes(t *testing.T) {
	s, c := newT(t)
	s.opts.CodeLists = map[string][]Code{"AppointmentInvolvedPartiesRoleCodeCollection": {{"ORG", "Organizer"}, {"ATT", "Attendee"}}}
	_, body := c.do("GET", "$metadata", "", nil)
	for _, want := range []string{
		`<EntityType Name="AppointmentInvolvedParties">`, `<EntitySet Name="AppointmentInvolvedPartiesCollection" EntityType="c4codataapi.AppointmentInvolvedParties">`,
		`<EntitySet Name="TasksTextCollectionCollection" EntityType="c4codataapi.TasksTextCollection">`,
		`<Property Name="RoleCode" Type="Edm.String" Nullable="false" sap:creatable="true" sap:updatable="true" sap:filterable="false" c4c:value-help="AppointmentInvolvedPartiesRoleCodeCollection">`,
		`<Property Name="Subject" Type="Edm.String" Nullable="false"`,
		`<EntitySet Name="AppointmentInvolvedPartiesRoleCodeCollection" EntityType="c4codataapi.CodeList"`,
		`<EntitySet Name="ServiceRequestServiceRequestLifeCycleStatusCodeCollection" EntityType="c4codataapi.CodeList"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("$metadata lacks %s", want)
		}
	}
	if strings.Count(body, "<edmx:Edmx") != 1 {
		t.Error("$metadata is not one document")
	}
	resp, body := c.do("GET", "AppointmentInvolvedPartiesRoleCodeCollection?$format=json", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"Code":"ATT"`) || strings.Contains(body, `"Code":"27"`) {
		t.Fatalf("role codes: %d %s", resp.StatusCode, body)
	}
	c.fetch()
	h := map[string]string{"x-csrf-token": c.tok}
	field := func(body, name string) string {
		var v struct{ D map[string]any }
		_ = json.Unmarshal([]byte(body), &v)
		s, _ := v.D[name].(string)
		return s
	}
	resp, body = c.do("POST", "ContactCollection", `{"LastName":"Anders","Email":"a@acme.example"}`, h)
	party := field(body, "ContactID")
	if resp.StatusCode != 201 || party == "" {
		t.Fatalf("contact: %d %s", resp.StatusCode, body)
	}
	const appt = `{"Subject":"x","StartDate":"/Date(1778500000000)/","EndDate":"/Date(1778503600000)/"`
	resp, body = c.do("POST", "AppointmentCollection", appt+`,"AppointmentInvolvedParties":[{"PartyID":"`+party+`","RoleCode":"27"}]}`, h)
	if resp.StatusCode != 400 || !strings.Contains(body, "RoleCode") {
		t.Errorf("deep insert with a role code not in the list: %d %s", resp.StatusCode, body)
	}
	resp, body = c.do("POST", "AppointmentCollection", appt+`,"AppointmentInvolvedParties":[{"PartyID":"`+party+`","RoleCode":"ATT"}]}`, h)
	if resp.StatusCode != 201 {
		t.Fatalf("deep insert with the tenant's role code: %d %s", resp.StatusCode, body)
	}
	id := field(body, "ObjectID")
	resp, body = c.do("POST", "AppointmentInvolvedPartiesCollection", `{"ParentObjectID":"`+id+`","PartyID":"`+party+`","RoleCode":"27"}`, h)
	if resp.StatusCode != 400 || !strings.Contains(body, "RoleCode") {
		t.Errorf("party posted with a role code not in the list: %d %s", resp.StatusCode, body)
	}
}

// TestCodeTextFromTenantList: a code field's …Text twin is the description
// of its code in the tenant's own list — the list $metadata names as the
// field's c4c:value-help and serves like every code list — and a write of
// a code outside it is refused (opportunity life cycle, contact status).
func TestCodeTextFromTenantList(t *testing.T) {
	s, c := newT(t)
	s.opts.CodeLists = map[string][]Code{"OpportunityLifeCycleStatusCodeCollection": {{"Q", "Qualifying"}, {"W", "Won"}}}
	_, body := c.do("GET", "$metadata", "", nil)
	for _, want := range []string{`c4c:value-help="OpportunityLifeCycleStatusCodeCollection"`, `c4c:value-help="ContactStatusCodeCollection"`,
		`<EntitySet Name="ContactStatusCodeCollection" EntityType="c4codataapi.CodeList"`} {
		if !strings.Contains(body, want) {
			t.Errorf("$metadata lacks %s", want)
		}
	}
	c.fetch()
	h := map[string]string{"x-csrf-token": c.tok}
	if resp, body := c.do("POST", "OpportunityCollection", `{"Name":"Deal","LifeCycleStatusCode":"2"}`, h); resp.StatusCode != 400 || !strings.Contains(body, "LifeCycleStatusCode") {
		t.Errorf("a code not in the tenant's list: %d %s", resp.StatusCode, body)
	}
	resp, body := c.do("POST", "OpportunityCollection", `{"Name":"Deal","LifeCycleStatusCode":"Q"}`, h)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var got struct {
		D map[string]any `json:"d"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.D["LifeCycleStatusCodeText"] != "Qualifying" {
		t.Errorf("LifeCycleStatusCodeText = %v, want the tenant's Qualifying", got.D["LifeCycleStatusCodeText"])
	}
	resp, body = c.do("POST", "ContactCollection", `{"FirstName":"Ann","LastName":"Lee","StatusCode":"3"}`, h)
	if resp.StatusCode != 201 || !strings.Contains(body, `"StatusCodeText":"Blocked"`) {
		t.Errorf("contact with the default status list: %d %s", resp.StatusCode, body)
	}
}
