package sides_test

import (
	"testing"
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
