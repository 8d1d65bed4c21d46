package salesforce

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/fakesalesforce"
)

func TestCleanMessage(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"query echo (apache/camel-quarkus#3022)",
			"\nLastReferencedDate, Jigsaw, JigsawCompanyId, CleanStatus, AccountSource, DunsNumber\n                                             ^\nERROR at Row:1:Column:687\nNo such column 'CleanStatus' on entity 'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
			"No such column 'CleanStatus' on entity 'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."},
		{"query echo with a filter value",
			"\nSELECT Id FROM Contact WHERE Email = 'ada@example.com' AND Bogus__c = 1\n                                                       ^\nERROR at Row:1:Column:56\nNo such column 'Bogus__c' on entity 'Contact'.",
			"No such column 'Bogus__c' on entity 'Contact'."},
		{"malformed query token", "\nSELECT Id FROM Contact WHERE Name = 'Ada' AND\n ^\nERROR at Row:1:Column:40\nunexpected token: 'Ada'", "unexpected token: [value]"},
		{"echo without its ERROR line", "SELECT Id FROM Lead WHERE Email = 'x@y.z'", "the query was refused (Salesforce's message quotes it and is not kept)"},
		{"refused address", "Email: invalid email address: ada@@example.com", "Email: invalid email address: [value]"},
		{"too long", "Subject: data value too large: Quarterly board minutes (max length=255)", "Subject: data value too large: [value] (max length=255)"},
		{"restricted picklist", "ShowAs: bad value for restricted picklist field: Tentative", "ShowAs: bad value for restricted picklist field: [value]"},
		{"address in a validation rule", "Use a company address, not bob@gmail.com", "Use a company address, not [address]"},
		{"validation rule kept", "Please select a value from the list", "Please select a value from the list"},
		{"sobject type kept", "sObject type 'Foo__c' is not supported.", "sObject type 'Foo__c' is not supported."},
		{"required fields", "Required fields are missing: [LastName]", "Required fields are missing: [LastName]"},
	} {
		if got := cleanMessage(c.in); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

// TestQueryErrorKeepsNoFilterValues sends a query the local Salesforce
// refuses — which, like a real org, echoes it, filter values included — and
// checks that neither the error nor the client's log carries them.
func TestQueryErrorKeepsNoFilterValues(t *testing.T) {
	var logs strings.Builder
	l := newLocal(t, fakesalesforce.Options{}, Options{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	const addr, value = "ada.lovelace@example.org", "Lovelace-Private-9"
	q := "SELECT Id, Bogus__c FROM Contact WHERE Email = '" + addr + "' AND LastName = '" + value + "'"
	// The local Salesforce echoes the query as a real org does
	// (fakesalesforce TestQueryErrorsEchoTheQuery).
	_, err := l.client.Collect(t.Context(), q)
	if err == nil {
		t.Fatal("the query was accepted")
	}
	text := err.Error() + "\n" + logs.String()
	if !strings.Contains(err.Error(), "INVALID_FIELD") || !strings.Contains(err.Error(), "Bogus__c") {
		t.Errorf("error %q names neither the code nor the field", err)
	}
	for _, s := range []string{addr, value, "example.org"} {
		if strings.Contains(text, s) {
			t.Errorf("%q reached the error or the log:\n%s", s, text)
		}
	}
}
