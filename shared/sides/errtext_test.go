package sides_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/session"
)

// TestSalesforceErrorTextReachesNoLogOrIssue: Salesforce's error messages
// quote what they refuse — a query error echoes the whole SOQL with its
// filter values and addresses, a refused e-mail address is printed back —
// and none of it may reach crmsync's logs, the user's issues or the session's
// report. A mailbox contact with an address Salesforce refuses, then a
// hostile query error on the session's reads, must leave only codes, field
// names and the item's own name.
func TestSalesforceErrorTextReachesNoLogOrIssue(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.session()
	const badAddress = "hostile victim@leak.example"
	if _, err := w.mailbox.Create(ctx, item.Contact, []item.Record{{Kind: item.Contact, Fields: map[string]string{
		item.FirstName: "Vic", item.LastName: "Tim", item.Email: badAddress}}}, []string{""}); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(5 * 60e9)
	rep, err := w.runner.Run(ctx, w.user, "test")
	if err != nil {
		t.Fatal(err)
	}
	issues, err := session.NewState(w.tables, w.user).Issues(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(issues) == 0 || !strings.Contains(fmt.Sprint(issues), "INVALID_EMAIL_ADDRESS") {
		t.Fatalf("issues = %+v (session %q %s), want the refused address as an issue", issues, rep.Outcome, rep.Detail)
	}

	// A query error as a real org writes it: the query echoed, values and all.
	const secretValue = "Ultra-Secret-Value-7731"
	const secretAddress = "secret.person@leak.example"
	w.sf.Inject(fakesalesforce.Fault{Resource: "", Times: 50, Status: 400, ErrorCode: "INVALID_FIELD", Message: "\nSELECT Id, Email FROM Contact WHERE Email IN ('" +
		secretAddress + "') AND LastName = '" + secretValue + "' AND Bogus__c = 1\n                                                             ^\nERROR at Row:1:Column:62\n" +
		"No such column 'Bogus__c' on entity 'Contact'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name."})
	w.now = w.now.Add(5 * 60e9)
	rep, _ = w.runner.Run(ctx, w.user, "test")
	issues, _ = session.NewState(w.tables, w.user).Issues(ctx)
	seen := w.logs.String() + "\n" + rep.Detail + "\n" + fmt.Sprintf("%+v", issues)
	if !strings.Contains(seen, "Bogus__c") {
		t.Errorf("the failed session names no field; logs, detail and issues:\n%s", seen)
	}
	for _, s := range []string{"hostile victim", "victim@leak.example", secretAddress, secretValue, "leak.example"} {
		if strings.Contains(seen, s) {
			t.Errorf("%q reached a log, an issue or the report:\n%s", s, seen)
		}
	}
}
