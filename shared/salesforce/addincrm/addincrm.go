// Package addincrm is the Outlook add-in's CRM (addin.CRM) over a user's
// Salesforce: the add-in's lookups, record reads and writes, files, Chatter
// and e-mail logging, with the Salesforce client and side. It is the
// vendor's own glue, so shared/addin names no vendor.
package addincrm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/addin"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/salesforce"
)

// Salesforce is the CRM interface over a user's Salesforce connection.
// Lookups that need several queries send them in one composite/batch
// request, so a reading pane costs one API call per PeopleChunk addresses
// plus one per PeopleChunk accounts.
type Salesforce struct {
	side   *salesforce.Side
	client *salesforce.Client
}

// NewSalesforce returns the CRM over a Salesforce side (its client is used
// for everything but LogEmail).
func NewSalesforce(side *salesforce.Side) *Salesforce {
	return &Salesforce{side: side, client: side.Client()}
}

// SalesforceOpener opens a user's Salesforce side with the user's own
// credentials; it adapts such a function to CRMOpener.
type SalesforceOpener func(ctx context.Context, user string) (*salesforce.Side, error)

// OpenCRM implements CRMOpener.
func (f SalesforceOpener) OpenCRM(ctx context.Context, user string) (addin.CRM, error) {
	side, err := f(ctx, user)
	if err != nil {
		return nil, err
	}
	return NewSalesforce(side), nil
}

// batchQueries runs up to 25 SOQL queries in one composite/batch call and
// returns each one's records. Each query's first batch only (up to 2,000
// rows) is read, which the LIMIT clauses here stay within.
func (s *Salesforce) batchQueries(ctx context.Context, soql ...string) ([][]salesforce.Record, error) {
	subs := make([]salesforce.Subrequest, len(soql))
	for i, q := range soql {
		subs[i] = salesforce.Subrequest{Method: http.MethodGet, URL: "query?q=" + url.QueryEscape(q)}
	}
	res, err := s.client.Batch(ctx, false, subs)
	if err != nil {
		return nil, err
	}
	if len(res) != len(soql) {
		return nil, fault.New(fault.Temporary, "MALFORMED_RESPONSE", "batch answered a different number of queries")
	}
	out := make([][]salesforce.Record, len(res))
	for i, r := range res {
		if r.Err != nil {
			return nil, r.Err
		}
		var w struct {
			Records []salesforce.Record `json:"records"`
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

// FindPeople implements CRM: Contacts and unconverted Leads with one of the
// addresses, in one batch call. Addresses enter the query only through the
// SOQL builder, which escapes them.
func (s *Salesforce) FindPeople(ctx context.Context, emails []string) ([]addin.Person, error) {
	if len(emails) == 0 {
		return nil, nil
	}
	contacts, err := s.client.Build(ctx, salesforce.Select{Object: "Contact",
		Fields: []string{"Id", "Name", "Email", "Title", "Phone", "AccountId", "Account.Name"},
		Where:  salesforce.In("Email", emails), Limit: 2 * addin.PeopleChunk})
	if err != nil {
		return nil, err
	}
	leads, err := s.client.Build(ctx, salesforce.Select{Object: "Lead",
		Fields: []string{"Id", "Name", "Email", "Title", "Phone", "Company"},
		Where:  salesforce.And(salesforce.In("Email", emails), salesforce.Eq("IsConverted", false)), Limit: 2 * addin.PeopleChunk})
	if err != nil {
		return nil, err
	}
	res, err := s.batchQueries(ctx, contacts, leads)
	if err != nil {
		return nil, err
	}
	var out []addin.Person
	for _, r := range res[0] {
		out = append(out, addin.Person{Object: "Contact", ID: r.ID(), Name: r.String("Name"), Email: strings.ToLower(r.String("Email")),
			Title: r.String("Title"), Phone: r.String("Phone"), Company: r.String("Account.Name"), AccountID: r.String("AccountId")})
	}
	for _, r := range res[1] {
		out = append(out, addin.Person{Object: "Lead", ID: r.ID(), Name: r.String("Name"), Email: strings.ToLower(r.String("Email")),
			Title: r.String("Title"), Phone: r.String("Phone"), Company: r.String("Company")})
	}
	return out, nil
}

// Accounts implements CRM: the accounts, their open Opportunities (soonest
// close first) and open Cases (newest first), three queries in one batch
// call. Each list is capped at perAccount per account; the queries are
// capped at perAccount × accounts rows, so one busy account can crowd out
// another's oldest entries but never make the answer unbounded. (Parent-child
// subqueries would bound each account exactly, but the local Salesforce does
// not run them.)
func (s *Salesforce) Accounts(ctx context.Context, ids []string, perAccount int) ([]addin.Account, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	limit := perAccount * len(ids)
	accounts, err := s.client.Build(ctx, salesforce.Select{Object: "Account", Fields: []string{"Id", "Name"},
		Where: salesforce.In("Id", ids)})
	if err != nil {
		return nil, err
	}
	opps, err := s.openQuery(ctx, "Opportunity", []string{"Id", "Name", "StageName", "CloseDate", "Amount", "AccountId"},
		salesforce.NotIn("StageName", []string{"Closed Won", "Closed Lost"}), "CloseDate", ids, limit)
	if err != nil {
		return nil, err
	}
	cases, err := s.openQuery(ctx, "Case", []string{"Id", "CaseNumber", "Subject", "Status", "CreatedDate", "AccountId"},
		salesforce.Ne("Status", "Closed"), "CreatedDate DESC", ids, limit)
	if err != nil {
		return nil, err
	}
	res, err := s.batchQueries(ctx, accounts, opps, cases)
	if err != nil {
		return nil, err
	}
	byID := map[string]*addin.Account{}
	out := make([]addin.Account, len(res[0]))
	for i, r := range res[0] {
		out[i] = addin.Account{ID: r.ID(), Name: r.String("Name"), Opportunities: []addin.Summary{}, Cases: []addin.Summary{}}
		byID[r.ID()] = &out[i]
	}
	for _, o := range res[1] {
		if a := byID[o.String("AccountId")]; a != nil && len(a.Opportunities) < perAccount {
			a.Opportunities = append(a.Opportunities, addin.Summary{ID: o.ID(), Name: o.String("Name"), Status: o.String("StageName"),
				Date: o.String("CloseDate"), Amount: o.String("Amount")})
		}
	}
	for _, c := range res[2] {
		if a := byID[c.String("AccountId")]; a != nil && len(a.Cases) < perAccount {
			name := c.String("CaseNumber")
			if subj := c.String("Subject"); subj != "" {
				name += " " + subj
			}
			a.Cases = append(a.Cases, addin.Summary{ID: c.ID(), Name: name, Status: c.String("Status"), Date: c.String("CreatedDate")})
		}
	}
	return out, nil
}

// openQuery builds a query for the open records of object related to
// accounts. "Open" is IsClosed = false where the org has that field (every
// real org does) and the given fallback otherwise; fields the object lacks
// are left out, so a reduced schema (the local Salesforce) still answers.
func (s *Salesforce) openQuery(ctx context.Context, object string, fields []string, fallback salesforce.Cond, order string, accounts []string, limit int) (string, error) {
	obj, err := s.client.Describe(ctx, object)
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
		open = salesforce.Eq("IsClosed", false)
	}
	var orderBy []string
	if name, _, _ := strings.Cut(order, " "); obj.Field(name) != nil {
		orderBy = []string{order}
	}
	return s.client.Build(ctx, salesforce.Select{Object: object, Fields: have,
		Where: salesforce.And(salesforce.In("AccountId", accounts), open), OrderBy: orderBy, Limit: limit})
}

// nameFields are the fields that name a record of objects without Name.
var nameFields = map[string][]string{
	"Case": {"Id", "CaseNumber", "Subject"}, "Task": {"Id", "Subject"}, "Event": {"Id", "Subject"},
	"Contract": {"Id", "ContractNumber"}, "Order": {"Id", "OrderNumber"}, "Solution": {"Id", "SolutionName"},
}

// Search implements CRM with a parameterized search: the text is escaped
// by the client (SOSLTerm) and sent as a value, never as SOSL.
func (s *Salesforce) Search(ctx context.Context, text string, objects []string, limit int) ([]addin.Hit, error) {
	var objs []salesforce.SearchObject
	for _, o := range objects {
		fields, ok := nameFields[o]
		if !ok {
			fields = []string{"Id", "Name"}
		}
		objs = append(objs, salesforce.SearchObject{Name: o, Fields: fields, Limit: limit})
	}
	recs, err := s.client.FindText(ctx, text, objs, limit)
	if err != nil {
		return nil, err
	}
	hits := make([]addin.Hit, 0, len(recs))
	for _, r := range recs {
		name := r.String("Name")
		if name == "" {
			name = strings.TrimSpace(r.String("CaseNumber") + " " + r.String("Subject") + r.String("ContractNumber") + r.String("OrderNumber") + r.String("SolutionName"))
		}
		hits = append(hits, addin.Hit{Object: r.Type(), ID: r.ID(), Name: name})
	}
	return hits, nil
}

// Objects implements CRM with a global describe, sent through a one-step
// batch because the client's Objects returns names only.
func (s *Salesforce) Objects(ctx context.Context) ([]addin.ObjectInfo, error) {
	res, err := s.client.Batch(ctx, false, []salesforce.Subrequest{{Method: http.MethodGet, URL: "sobjects/"}})
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
		SObjects []addin.ObjectInfo `json:"sobjects"`
	}
	if err := json.Unmarshal(res[0].Body, &w); err != nil {
		return nil, fault.New(fault.Temporary, "MALFORMED_RESPONSE", "describe global answer is not JSON")
	}
	return w.SObjects, nil
}

// Describe implements CRM.
func (s *Salesforce) Describe(ctx context.Context, object string) (addin.Object, error) {
	o, err := s.client.Describe(ctx, object)
	if err != nil {
		return addin.Object{}, err
	}
	out := addin.Object{ObjectInfo: addin.ObjectInfo{Name: o.Name, Label: o.Label, Custom: o.Custom, Createable: o.Createable, Updateable: o.Updateable}}
	for _, f := range o.Fields() {
		out.Fields = append(out.Fields, addin.Field{Name: f.Name, Label: f.Label, Type: f.Type, Length: f.Length, Createable: f.Createable,
			Updateable: f.Updateable, Nillable: f.Nillable, Custom: f.Custom, Picklist: f.Picklist, Restricted: f.Restricted,
			ReferenceTo: f.ReferenceTo})
	}
	return out, nil
}

// Get implements CRM.
func (s *Salesforce) Get(ctx context.Context, object, id string, fields []string) (map[string]any, error) {
	r, err := s.client.Get(ctx, object, id, fields...)
	if err != nil {
		return nil, err
	}
	delete(r, "attributes")
	return r, nil
}

// Create implements CRM.
func (s *Salesforce) Create(ctx context.Context, object string, fields map[string]any) (string, error) {
	return s.client.CreateOne(ctx, object, salesforce.Record(fields))
}

// Update implements CRM.
func (s *Salesforce) Update(ctx context.Context, object, id string, fields map[string]any) error {
	return s.client.UpdateOne(ctx, object, id, salesforce.Record(fields))
}

// UploadFile implements CRM (a ContentVersion linked to the record).
func (s *Salesforce) UploadFile(ctx context.Context, parentID, name string, size int64, content io.Reader) (string, error) {
	return s.client.UploadFile(ctx, parentID, name, size, content)
}

// PostChatter implements CRM.
func (s *Salesforce) PostChatter(ctx context.Context, subjectID, text string) (string, error) {
	return s.client.PostFeedItem(ctx, subjectID, text, nil)
}

// maxDescription is the Task Description limit (32k characters).
const maxDescription = 32000

// LogEmail implements CRM through the sync's own e-mail logging, so an
// e-mail shared from the add-in becomes the same Task (TaskSubtype Email,
// completed, related to every person) as one shared by folder or category.
func (s *Salesforce) LogEmail(ctx context.Context, e addin.Email, whoIDs []string, whatID string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\nTo: %s\n", e.From, strings.Join(e.To, ", "))
	if len(e.Cc) > 0 {
		fmt.Fprintf(&b, "Cc: %s\n", strings.Join(e.Cc, ", "))
	}
	if !e.Sent.IsZero() {
		fmt.Fprintf(&b, "Date: %s\n", e.Sent.UTC().Format(time.RFC1123Z))
	}
	b.WriteString("\n")
	b.WriteString(e.Body)
	desc := b.String()
	if r := []rune(desc); len(r) > maxDescription {
		desc = string(r[:maxDescription])
	}
	rec := item.Record{Kind: item.SharedEmail, Fields: map[string]string{
		item.Subject: e.Subject, item.Description: desc, item.From: e.From, item.To: strings.Join(e.To, ","),
		item.Cc: strings.Join(e.Cc, ","), item.Direction: e.Direction,
	}}
	if !e.Sent.IsZero() {
		rec.Fields[item.Sent] = e.Sent.UTC().Format(time.RFC3339)
	}
	return s.side.LogEmail(ctx, rec, whoIDs, whatID, "")
}
