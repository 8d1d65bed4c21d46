package salesforce

import (
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

func TestDuplicateRuleNamesMatchingFields(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	l.srv.AddDuplicateRule(fakesalesforce.DuplicateRule{Object: "Contact", Field: "Email", Name: "Standard_Contact_Duplicate_Rule",
		Compared: []string{"LastName", "FirstName", "Phone"}})
	if _, err := l.srv.Insert(l.user, "Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@analytical.example"}); err != nil {
		t.Fatal(err)
	}
	recs := contacts(2, "Batch")
	recs[1].Fields[item.Email] = "ADA@analytical.example"
	recs[1].Fields[item.LastName] = "Lovelace"
	recs[1].Fields[item.FirstName] = "Augusta"
	res, err := l.side.Create(t.Context(), item.Contact, recs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].ID == "" {
		t.Errorf("the other record in the batch: %+v, want created", res[0])
	}
	// fieldDiffs: Email SAME, LastName SAME, FirstName DIFFERENT, Phone NULL.
	fe := wantFault(t, res[1].Err, fault.Permanent, "DUPLICATES_DETECTED")
	if got, want := fe.Fields, []string{item.Email, item.LastName}; !slices.Equal(got, want) {
		t.Errorf("collections duplicate: Fields = %v, want %v", got, want)
	}
	if !strings.Contains(fe.Message, "Standard_Contact_Duplicate_Rule") {
		t.Errorf("message %q does not name the rule", fe.Message)
	}
	// A single-record create answers with the REST error array, which
	// carries the same duplicateResult.
	_, err = l.client.CreateOne(t.Context(), "Contact", Record{"LastName": "Lovelace", "Email": "ada@analytical.example"})
	fe = wantFault(t, err, fault.Permanent, "DUPLICATES_DETECTED")
	if got, want := fe.Fields, []string{"Email", "LastName"}; !slices.Equal(got, want) {
		t.Errorf("single create duplicate: Fields = %v, want %v", got, want)
	}
}
