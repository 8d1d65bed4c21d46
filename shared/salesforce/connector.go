package salesforce

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// Connector is the Salesforce CRM connector: what generic packages know of
// Salesforce (side.Connector).
var Connector = side.Connector{
	Provider: string(connection.Salesforce),
	Name:     "Salesforce",
	Role:     side.CRMRole,
	Custom:   customFields{},
	Flows:    []string{string(connection.FlowAuthCode), string(connection.FlowPassword), string(connection.FlowJWTBearer)},
	// Salesforce measures the org's daily API allowance over the last 24
	// hours ("API Requests, Last 24 Hours").
	Budget: side.Budget{Window: 24 * time.Hour},
	Link:   recordLink,
}

// recordLink opens a record in Lightning Experience (the Task a shared
// e-mail became for "email").
func recordLink(instanceURL, kind, id string) string {
	obj := map[string]string{"contact": "Contact", "task": "Task", "event": "Event", "lead": "Lead", "email": "Task"}[kind]
	instanceURL = strings.TrimRight(instanceURL, "/")
	if obj == "" || !strings.HasPrefix(instanceURL, "https://") && !strings.HasPrefix(instanceURL, "http://") {
		return ""
	}
	return instanceURL + "/lightning/r/" + obj + "/" + url.PathEscape(id) + "/view"
}

// fieldName is a Salesforce API name: standard ("Department") or custom
// ("Region__c"). Whether the org has it is checked against describe in the
// first session (Side.CheckFields), since saving settings opens no CRM.
var fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)

// customFields checks the Salesforce half of custom field mappings.
type customFields struct{}

// Check accepts field API names that the default tables do not sync already.
func (customFields) Check(kind item.Kind, field string) error {
	switch {
	case !fieldName.MatchString(field):
		return fmt.Errorf("%q is not a Salesforce field API name (letters, digits and _, such as Region__c)", field)
	case StandardField(kind, field):
		return fmt.Errorf("field %s is one Salesforce syncs by default already", field)
	}
	return nil
}

// Offered is nil: any field of the org may be mapped; describe decides.
func (customFields) Offered(item.Kind) []string { return nil }

// ContactViews implements side.ContactViews: the user's Contact list views.
func (s *Side) ContactViews(ctx context.Context) ([]side.Choice, error) {
	views, err := s.c.ListViews(ctx, "Contact")
	if err != nil {
		return nil, err
	}
	out := make([]side.Choice, len(views))
	for i, v := range views {
		out[i] = side.Choice{ID: v.ID, Name: v.Label}
	}
	return out, nil
}

var _ side.ContactViews = (*Side)(nil)
