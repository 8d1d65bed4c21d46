package salesforce

// The add-in's record operations (side.RecordCRM) over the user's own
// Salesforce. Lookups that need several queries send them in one
// composite/batch request, so a reading pane costs one API call per
// chunk of addresses plus one per chunk of accounts.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/side"
)

// maxLookup is the most addresses (or account ids) the add-in asks about in
// one LookupPeople or Accounts call (addin.PeopleChunk); each query's limit
// leaves room for two records per address.
const maxLookup = 100

var _ side.RecordCRM = (*Side)(nil)

// batchQueries runs up to 25 SOQL queries in one composite/batch call and
// returns each one's records. Each query's first batch only (up to 2,000
// rows) is read, which the LIMIT clauses here stay within.
func (s *Side) batchQueries(ctx context.Context, soql ...string) ([][]Record, error) {
	subs := make([]Subrequest, len(soql))
	for i, q := range soql {
		subs[i] = Subrequest{Method: http.MethodGet, URL: "query?q=" + url.QueryEscape(q)}
	}
	res, err := s.c.Batch(ctx, false, subs)
	if err != nil {
		return nil, err
	}
	if len(res) != len(soql) {
		return nil, fault.New(fault.Temporary, "MALFORMED_RESPONSE", "batch answered a different number of queries")
	}
	out := make([][]Record, len(res))
	for i, r := range res {
		if r.Err != nil {
			return nil, r.Err
		}
		var w struct {
			Records []Record `json:"records"`
		}
		dec := json.NewDecoder(strings.NewReader(string(r.Body)))
		dec.UseNumber()
		if err := dec.Decode(&w); err != nil {
			return nil, fault.New(fault.Temporary, "MALFORMED_RESPONSE", "query answer is not JSON")
		}
		out[i] = w.Records
	}
	return out, nil
}

// LookupPeople implements side.RecordCRM: Contacts and unconverted Leads with one of the
// addresses, in one batch call. Addresses enter the query only through the
// SOQL builder, which escapes them.
func (s *Side) LookupPeople(ctx context.Context, emails []string) ([]side.Person, error) {
	if len(emails) == 0 {
		return nil, nil
	}
	contacts, err := s.c.Build(ctx, Select{Object: "Contact",
		Fields: []string{"Id", "Name", "Email", "Title", "Phone", "AccountId", "Account.Name"},
		Where:  In("Email", emails), Limit: 2 * maxLookup})
	if err != nil {
		return nil, err
	}
	leads, err := s.c.Build(ctx, Select{Object: "Lead",
		Fields: []string{"Id", "Name", "Email", "Title", "Phone", "Company"},
		Where:  And(In("Email", emails), Eq("IsConverted", false)), Limit: 2 * maxLookup})
	if err != nil {
		return nil, err
	}
	res, err := s.batchQueries(ctx, contacts, leads)
	if err != nil {
		return nil, err
	}
	var out []side.Person
	for _, r := range res[0] {
		out = append(out, side.Person{Object: "Contact", ID: r.ID(), Name: r.String("Name"), Email: strings.ToLower(r.String("Email")),
			Title: r.String("Title"), Phone: r.String("Phone"), Company: r.String("Account.Name"), AccountID: r.String("AccountId")})
	}
	for _, r := range res[1] {
		out = append(out, side.Person{Object: "Lead", ID: r.ID(), Name: r.String("Name"), Email: strings.ToLower(r.String("Email")),
			Title: r.String("Title"), Phone: r.String("Phone"), Company: r.String("Company")})
	}
	return out, nil
}

// Accounts implements side.RecordCRM: the accounts, their open Opportunities (soonest
// close first) and open Cases (newest first), three queries in one batch
// call. Each list is capped at perAccount per account; the queries are
// capped at perAccount × accounts rows, so one busy account can crowd out
// another's oldest entries but never make the answer unbounded. (Parent-child
// subqueries would bound each account exactly, but the local Salesforce does
// not run them.)
func (s *Side) Accounts(ctx context.Context, ids []string, perAccount int) ([]side.Account, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	limit := perAccount * len(ids)
	accounts, err := s.c.Build(ctx, Select{Object: "Account", Fields: []string{"Id", "Name"},
		Where: In("Id", ids)})
	if err != nil {
		return nil, err
	}
	opps, err := s.openQuery(ctx, "Opportunity", []string{"Id", "Name", "StageName", "CloseDate", "Amount", "AccountId"},
		NotIn("StageName", []string{"Closed Won", "Closed Lost"}), "CloseDate", ids, limit)
	if err != nil {
		return nil, err
	}
	cases, err := s.openQuery(ctx, "Case", []string{"Id", "CaseNumber", "Subject", "Status", "CreatedDate", "AccountId"},
		Ne("Status", "Closed"), "CreatedDate DESC", ids, limit)
	if err != nil {
		return nil, err
	}
	res, err := s.batchQueries(ctx, accounts, opps, cases)
	if err != nil {
		return nil, err
	}
	byID := map[string]*side.Account{}
	out := make([]side.Account, len(res[0]))
	for i, r := range res[0] {
		out[i] = side.Account{ID: r.ID(), Name: r.String("Name"), Opportunities: []side.Summary{}, Cases: []side.Summary{}}
		byID[r.ID()] = &out[i]
	}
	for _, o := range res[1] {
		if a := byID[o.String("AccountId")]; a != nil && len(a.Opportunities) < perAccount {
			a.Opportunities = append(a.Opportunities, side.Summary{ID: o.ID(), Name: o.String("Name"), Status: o.String("StageName"),
				Date: o.String("CloseDate"), Amount: o.String("Amount")})
		}
	}
	for _, c := range res[2] {
		if a := byID[c.String("AccountId")]; a != nil && len(a.Cases) < perAccount {
			name := c.String("CaseNumber")
			if subj := c.String("Subject"); subj != "" {
				name += " " + subj
			}
			a.Cases = append(a.Cases, side.Summary{ID: c.ID(), Name: name, Status: c.String("Status"), Date: c.String("CreatedDate")})
		}
	}
	return out, nil
}

// openQuery builds a query for the open records of object related to
// accounts. "Open" is IsClosed = false where the org has that field (every
// real org does) and the given fallback otherwise; fields the object lacks
// are left out, so a reduced schema (the local Salesforce) still answers.
func (s *Side) openQuery(ctx context.Context, object string, fields []string, fallback Cond, order string, accounts []string, limit int) (string, error) {
	obj, err := s.c.Describe(ctx, object)
	if err != nil {
		return "", err
	}
	var have []string
	for _, f := range fields {
		if obj.Field(f) != nil || f == "Id" {
			have = append(have, f)
		}
	}
	open := fallback
	if obj.Field("IsClosed") != nil {
		open = Eq("IsClosed", false)
	}
	var orderBy []string
	if name, _, _ := strings.Cut(order, " "); obj.Field(name) != nil {
		orderBy = []string{order}
	}
	return s.c.Build(ctx, Select{Object: object, Fields: have,
		Where: And(In("AccountId", accounts), open), OrderBy: orderBy, Limit: limit})
}

// recordNameFields are the fields that name a record of objects without Name.
var recordNameFields = map[string][]string{
	"Case": {"Id", "CaseNumber", "Subject"}, "Task": {"Id", "Subject"}, "Event": {"Id", "Subject"},
	"Contract": {"Id", "ContractNumber"}, "Order": {"Id", "OrderNumber"}, "Solution": {"Id", "SolutionName"},
}

// Search implements side.RecordCRM with a parameterized search: the text is escaped
// by the client (SOSLTerm) and sent as a value, never as SOSL.
func (s *Side) Search(ctx context.Context, text string, objects []string, limit int) ([]side.Hit, error) {
	var objs []SearchObject
	for _, o := range objects {
		fields, ok := recordNameFields[o]
		if !ok {
			fields = []string{"Id", "Name"}
		}
		objs = append(objs, SearchObject{Name: o, Fields: fields, Limit: limit})
	}
	recs, err := s.c.FindText(ctx, text, objs, limit)
	if err != nil {
		return nil, err
	}
	hits := make([]side.Hit, 0, len(recs))
	for _, r := range recs {
		name := r.String("Name")
		if name == "" {
			name = strings.TrimSpace(r.String("CaseNumber") + " " + r.String("Subject") + r.String("ContractNumber") + r.String("OrderNumber") + r.String("SolutionName"))
		}
		hits = append(hits, side.Hit{Object: r.Type(), ID: r.ID(), Name: name})
	}
	return hits, nil
}

// Objects implements side.RecordCRM with a global describe, sent through a one-step
// batch because the client's Objects returns names only.
func (s *Side) Objects(ctx context.Context) ([]side.ObjectInfo, error) {
	res, err := s.c.Batch(ctx, false, []Subrequest{{Method: http.MethodGet, URL: "sobjects/"}})
	if err != nil {
		return nil, err
	}
	if len(res) != 1 {
		return nil, fault.New(fault.Temporary, "MALFORMED_RESPONSE", "batch answered a different number of requests")
	}
	if res[0].Err != nil {
		return nil, res[0].Err
	}
	var w struct {
		SObjects []side.ObjectInfo `json:"sobjects"`
	}
	if err := json.Unmarshal(res[0].Body, &w); err != nil {
		return nil, fault.New(fault.Temporary, "MALFORMED_RESPONSE", "describe global answer is not JSON")
	}
	return w.SObjects, nil
}

// Describe implements side.RecordCRM.
func (s *Side) Describe(ctx context.Context, object string) (side.Object, error) {
	o, err := s.c.Describe(ctx, object)
	if err != nil {
		return side.Object{}, err
	}
	out := side.Object{ObjectInfo: side.ObjectInfo{Name: o.Name, Label: o.Label, Custom: o.Custom, Createable: o.Createable, Updateable: o.Updateable}}
	for _, f := range o.Fields() {
		out.Fields = append(out.Fields, side.Field{Name: f.Name, Label: f.Label, Type: f.Type, Length: f.Length, Createable: f.Createable,
			Updateable: f.Updateable, Nillable: f.Nillable, Custom: f.Custom, Picklist: f.Picklist, Restricted: f.Restricted,
			ReferenceTo: f.ReferenceTo, DefaultedOnCreate: f.DefaultedOnCreate, Default: f.Default, ControllerName: f.ControllerName, ValidFor: f.ValidFor})
	}
	return out, nil
}

// GetRecord implements side.RecordCRM.
func (s *Side) GetRecord(ctx context.Context, object, id string, fields []string) (map[string]any, error) {
	r, err := s.c.Get(ctx, object, id, fields...)
	if err != nil {
		return nil, err
	}
	delete(r, "attributes")
	return r, nil
}

// CreateRecord implements side.RecordCRM.
func (s *Side) CreateRecord(ctx context.Context, object string, fields map[string]any) (string, error) {
	return s.c.CreateOne(ctx, object, Record(fields))
}

// UpdateRecord implements side.RecordCRM.
func (s *Side) UpdateRecord(ctx context.Context, object, id string, fields map[string]any) error {
	return s.c.UpdateOne(ctx, object, id, Record(fields))
}

// PostChatter implements side.RecordCRM.
func (s *Side) PostChatter(ctx context.Context, subjectID, text string) (string, error) {
	return s.c.PostFeedItem(ctx, subjectID, text, nil)
}
