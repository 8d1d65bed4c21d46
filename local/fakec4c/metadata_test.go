package fakec4c

import (
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
