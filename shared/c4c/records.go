package c4c

// The add-in's record operations (side.RecordCRM) over C4C. Reads that need
// several queries go as GETs in one $batch, so a reading pane costs one
// call per chunk of addresses plus one for the accounts (and the CSRF
// token fetch of the side's first $batch).

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/side"
)

var _ side.RecordCRM = (*Side)(nil)

// recordObject is an object the add-in works with and the collection that
// serves it; name is the property Search matches and a hit shows.
type recordObject struct {
	coll, label, name string
}

// recordObjects are the objects of the add-in, by the names it uses.
var recordObjects = map[string]recordObject{
	"Contact":     {"ContactCollection", "Contact", "LastName"},
	"Lead":        {"LeadCollection", "Lead", "Name"},
	"Account":     {"CorporateAccountCollection", "Account", "Name"},
	"Opportunity": {"OpportunityCollection", "Opportunity", "Name"},
	"Task":        {"TasksCollection", "Task", "Subject"},
	"Appointment": {"AppointmentCollection", "Appointment", "Subject"},
	// The pane lists an account's open service tickets as its Cases
	// (Accounts) and opens them by that name.
	"Case": {"ServiceRequestCollection", "Ticket", "Name"},
}

func objectOf(name string) (recordObject, error) {
	o, ok := recordObjects[name]
	if !ok {
		return recordObject{}, fault.New(fault.Permanent, "NOT_FOUND", fmt.Sprintf("SAP Cloud for Customer has no object %q for the add-in", name))
	}
	return o, nil
}

// queries runs collection reads as GETs of one $batch and returns each one's
// entities (the first page: callers bound them with $top).
func (s *Side) queries(ctx context.Context, colls []string, qs []url.Values) ([][]Entity, error) {
	ops := make([]Op, len(colls))
	for i, c := range colls {
		ops[i] = Op{Method: http.MethodGet, Path: c + "?" + encode(qs[i])}
	}
	res, err := s.c.Batch(ctx, ops)
	if err != nil {
		return nil, err
	}
	out := make([][]Entity, len(res))
	for i, r := range res {
		if r.Err != nil {
			return nil, r.Err
		}
		out[i] = children(r.Entity, "results")
	}
	return out, nil
}

// orEq is "p eq 'a' or p eq 'b'…": C4C allows or across one property.
func orEq(prop string, vals []string) string {
	terms := make([]string, len(vals))
	for i, v := range vals {
		terms[i] = prop + " eq " + Quote(v)
	}
	return strings.Join(terms, " or ")
}

// LookupPeople implements side.RecordCRM: contacts by Email and leads by
// ContactEMail, then the contacts' accounts for their names: two $batch
// calls per 40 addresses. A contact's AccountID is the account's business
// ID, which Accounts takes.
func (s *Side) LookupPeople(ctx context.Context, emails []string) ([]side.Person, error) {
	var out []side.Person
	for start := 0; start < len(emails); start += chunk {
		part := emails[start:min(start+chunk, len(emails))]
		res, err := s.queries(ctx, []string{"ContactCollection", "LeadCollection"}, []url.Values{
			{"$filter": {orEq("Email", part)}, "$select": {"ObjectID,FirstName,LastName,Email,JobTitle,Phone,AccountID"}, "$top": {strconv.Itoa(2 * len(part))}},
			{"$filter": {orEq("ContactEMail", part)}, "$select": {"ObjectID,Name,ContactFirstName,ContactLastName,ContactEMail,Company"}, "$top": {strconv.Itoa(2 * len(part))}},
		})
		if err != nil {
			return nil, err
		}
		var accounts []string
		for _, e := range res[0] {
			out = append(out, side.Person{Object: "Contact", ID: e.ID(), Name: strings.TrimSpace(e.String("FirstName") + " " + e.String("LastName")),
				Email: strings.ToLower(e.String("Email")), Title: e.String("JobTitle"), Phone: e.String("Phone"), AccountID: e.String("AccountID")})
			if a := e.String("AccountID"); a != "" && !slices.Contains(accounts, a) {
				accounts = append(accounts, a)
			}
		}
		for _, e := range res[1] {
			name := strings.TrimSpace(e.String("ContactFirstName") + " " + e.String("ContactLastName"))
			if name == "" {
				name = e.String("Name")
			}
			out = append(out, side.Person{Object: "Lead", ID: e.ID(), Name: name, Email: strings.ToLower(e.String("ContactEMail")), Company: e.String("Company")})
		}
		if len(accounts) == 0 {
			continue
		}
		names, err := s.queries(ctx, []string{"CorporateAccountCollection"}, []url.Values{
			{"$filter": {orEq("AccountID", accounts)}, "$select": {"AccountID,Name"}, "$top": {strconv.Itoa(len(accounts))}}})
		if err != nil {
			return nil, err
		}
		byID := map[string]string{}
		for _, a := range names[0] {
			byID[a.String("AccountID")] = a.String("Name")
		}
		for i := range out {
			if out[i].Object == "Contact" && out[i].Company == "" {
				out[i].Company = byID[out[i].AccountID]
			}
		}
	}
	return out, nil
}

// openOpportunity are the opportunity life cycle codes of an open one:
// Open and In Process (C4C's codes 1–5: Open, In Process, Won, Lost,
// Stopped).
var openOpportunity = []string{"1", "2"}

// ticketStatuses is the code list of service request life cycle statuses;
// closedTickets are the descriptions of the ones that are not open.
const ticketStatuses = "ServiceRequestServiceRequestLifeCycleStatusCodeCollection"

var closedTickets = []string{"Completed", "Closed"}

// Accounts implements side.RecordCRM: the accounts (by business ID), their
// open opportunities (OpportunityCollection, ProspectPartyID the account),
// soonest expected close first, and their open service tickets as Cases
// (ServiceRequestCollection, BuyerPartyID the account), newest first, in
// one $batch. A ticket is open unless its status code's description is
// Completed or Closed; the status code list comes in the same $batch, and
// the tickets are read three per wanted one, so an account with many
// recently closed tickets may show fewer open ones than it has.
func (s *Side) Accounts(ctx context.Context, ids []string, perAccount int) ([]side.Account, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	res, err := s.queries(ctx, []string{"CorporateAccountCollection", "OpportunityCollection", "ServiceRequestCollection", ticketStatuses}, []url.Values{
		{"$filter": {orEq("AccountID", ids)}, "$select": {"ObjectID,AccountID,Name"}, "$top": {strconv.Itoa(len(ids))}},
		{"$filter": {"(" + orEq("ProspectPartyID", ids) + ") and (" + orEq("LifeCycleStatusCode", openOpportunity) + ")"},
			"$select":  {"ObjectID,Name,ProspectPartyID,LifeCycleStatusCodeText,ExpectedProcessingEndDate,ExpectedRevenueAmount"},
			"$orderby": {"ExpectedProcessingEndDate"}, "$top": {strconv.Itoa(perAccount * len(ids))}},
		{"$filter": {orEq("BuyerPartyID", ids)}, "$select": {"ObjectID,ID,Name,BuyerPartyID,ServiceRequestLifeCycleStatusCode,ServiceRequestLifeCycleStatusCodeText,CreationDateTime"},
			"$orderby": {"CreationDateTime desc"}, "$top": {strconv.Itoa(3 * perAccount * len(ids))}},
		{},
	})
	if err != nil {
		return nil, err
	}
	var out []side.Account
	idx := map[string]int{}
	for _, a := range res[0] {
		idx[a.String("AccountID")] = len(out)
		out = append(out, side.Account{ID: a.String("AccountID"), Name: a.String("Name"), Opportunities: []side.Summary{}, Cases: []side.Summary{}})
	}
	for _, o := range res[1] {
		i, ok := idx[o.String("ProspectPartyID")]
		if !ok || len(out[i].Opportunities) >= perAccount {
			continue
		}
		date := ""
		if t := o.Time("ExpectedProcessingEndDate"); !t.IsZero() {
			date = t.UTC().Format("2006-01-02")
		}
		out[i].Opportunities = append(out[i].Opportunities, side.Summary{ID: o.ID(), Name: o.String("Name"),
			Status: o.String("LifeCycleStatusCodeText"), Date: date, Amount: o.String("ExpectedRevenueAmount")})
	}
	closed, text := map[string]bool{}, map[string]string{}
	for _, c := range res[3] {
		text[c.String("Code")] = c.String("Description")
		if slices.Contains(closedTickets, c.String("Description")) {
			closed[c.String("Code")] = true
		}
	}
	for _, tk := range res[2] {
		i, ok := idx[tk.String("BuyerPartyID")]
		if !ok || closed[tk.String("ServiceRequestLifeCycleStatusCode")] || len(out[i].Cases) >= perAccount {
			continue
		}
		date := ""
		if t := tk.Time("CreationDateTime"); !t.IsZero() {
			date = t.UTC().Format("2006-01-02")
		}
		status := tk.String("ServiceRequestLifeCycleStatusCodeText")
		if status == "" { // the header odata-no-codedescs, or a tenant that sends none
			status = text[tk.String("ServiceRequestLifeCycleStatusCode")]
		}
		out[i].Cases = append(out[i].Cases, side.Summary{ID: tk.ID(), Name: strings.TrimSpace(tk.String("ID") + " " + tk.String("Name")),
			Status: status, Date: date})
	}
	return out, nil
}

// Search implements side.RecordCRM: c4codataapi has no $search, so each
// object's name property is matched with startswith (the one string
// function C4C filters allow, property first), all objects in one $batch.
// The text enters the filter only as a quoted literal (Quote doubles its
// quotes), so it cannot change the query.
func (s *Side) Search(ctx context.Context, text string, objects []string, limit int) ([]side.Hit, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	var colls, names []string
	var qs []url.Values
	for _, name := range objects {
		o, err := objectOf(name)
		if err != nil {
			return nil, err
		}
		colls, names = append(colls, o.coll), append(names, name)
		qs = append(qs, url.Values{"$filter": {"startswith(" + o.name + "," + Quote(text) + ")"}, "$select": {"ObjectID," + o.name}, "$top": {strconv.Itoa(limit)}})
	}
	res, err := s.queries(ctx, colls, qs)
	if err != nil {
		return nil, err
	}
	var hits []side.Hit
	for i, es := range res {
		for _, e := range es {
			if len(hits) < limit {
				hits = append(hits, side.Hit{Object: names[i], ID: e.ID(), Name: e.String(recordObjects[names[i]].name)})
			}
		}
	}
	return hits, nil
}

// Objects implements side.RecordCRM: the objects the add-in works with;
// C4C has no global describe of "createable" per user, so the metadata's
// entity sets decide (sap:creatable / sap:updatable on the set).
func (s *Side) Objects(ctx context.Context) ([]side.ObjectInfo, error) {
	md, err := s.metadata(ctx)
	if err != nil {
		return nil, err
	}
	var out []side.ObjectInfo
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range recordObjects {
			if !yield(k) {
				return
			}
		}
	}) {
		o := recordObjects[name]
		set, ok := md.set(o.coll)
		if !ok {
			continue
		}
		out = append(out, side.ObjectInfo{Name: name, Label: o.label, Createable: set.Creatable != "false", Updateable: set.Updatable != "false"})
	}
	return out, nil
}

// metadata returns the service's $metadata, read with the tenant's code
// lists (loadCodes: once per connection with a CodeCache, once per side
// without).
func (s *Side) metadata(ctx context.Context) (*Metadata, error) {
	cs, err := s.loadCodes(ctx)
	if err != nil {
		return nil, err
	}
	return cs.md, nil
}

// edmTypes maps EDM types to the add-in's field types.
var edmTypes = map[string]string{
	"Edm.String": "string", "Edm.Boolean": "boolean", "Edm.DateTime": "datetime", "Edm.DateTimeOffset": "datetime",
	"Edm.Decimal": "double", "Edm.Int32": "int", "Edm.Guid": "string", "Edm.Binary": "base64", "Edm.Time": "time",
}

// Describe implements side.RecordCRM from $metadata: a property is
// createable and updateable unless sap:creatable / sap:updatable say
// "false", required when Nullable="false" and creatable. A writable property
// with a c4c:value-help is a restricted picklist of the codes of that code
// list, the tenant's own, read like the sync's code lists and cached with
// them (one $batch for the lists not yet held), each code labelled with its
// description.
func (s *Side) Describe(ctx context.Context, object string) (side.Object, error) {
	o, err := objectOf(object)
	if err != nil {
		return side.Object{}, err
	}
	cs, err := s.loadCodes(ctx)
	if err != nil {
		return side.Object{}, err
	}
	md := cs.md
	set, ok := md.set(o.coll)
	if !ok {
		return side.Object{}, fault.New(fault.Permanent, "NOT_FOUND", fmt.Sprintf("the tenant's $metadata has no %s", o.coll))
	}
	out := side.Object{ObjectInfo: side.ObjectInfo{Name: object, Label: o.label, Createable: set.Creatable != "false", Updateable: set.Updatable != "false"}}
	var lists []string
	var listProps []int
	for _, p := range md.props(set) {
		if p.Name == "ObjectID" || p.Name == "ETag" {
			continue
		}
		f := side.Field{Name: p.Name, Label: p.Label, Type: edmTypes[p.Type], Createable: p.Creatable != "false",
			Updateable: p.Updatable != "false", Nillable: p.Nullable != "false"}
		if f.Label == "" {
			f.Label = p.Name
		}
		if f.Type == "" {
			f.Type = "string"
		}
		f.Length, _ = strconv.Atoi(p.MaxLength)
		if p.ValueHelp != "" && (f.Createable || f.Updateable) {
			lists = append(lists, p.ValueHelp)
			listProps = append(listProps, len(out.Fields))
			f.Type = "picklist"
			f.Restricted = true
		}
		out.Fields = append(out.Fields, f)
	}
	if len(out.Fields) == 0 {
		return side.Object{}, fault.New(fault.Permanent, "NOT_FOUND", fmt.Sprintf("the tenant's $metadata has no entity type %s", set.EntityType))
	}
	if err := cs.readLists(ctx, s.c, lists); err != nil {
		return side.Object{}, err
	}
	for i, l := range lists {
		codes, _ := cs.list(l)
		f := &out.Fields[listProps[i]]
		for _, c := range codes {
			f.Picklist = append(f.Picklist, c.Code)
			if c.Description != "" {
				if f.PicklistLabels == nil {
					f.PicklistLabels = map[string]string{}
				}
				f.PicklistLabels[c.Code] = c.Description
			}
		}
	}
	return out, nil
}

// GetRecord implements side.RecordCRM. An account may be named by its
// business ID (AccountID), as the account pane names it.
func (s *Side) GetRecord(ctx context.Context, object, id string, fields []string) (map[string]any, error) {
	var sel []string
	if len(fields) > 0 {
		sel = append([]string{"ObjectID"}, fields...)
	}
	e, err := s.readRecord(ctx, object, id, sel)
	if err != nil {
		return nil, err
	}
	out := map[string]any(e)
	delete(out, "__metadata")
	return out, nil
}

// businessKeys are the properties by which the add-in may name a record
// instead of its ObjectID: the account pane names accounts by AccountID.
var businessKeys = map[string]string{"Account": "AccountID"}

// readRecord reads one record by ObjectID, or by its business ID where the
// object has one (businessKeys), in one $batch; sel limits the properties
// (nil: all). A record that is not there is a Gone fault.
func (s *Side) readRecord(ctx context.Context, object, id string, sel []string) (Entity, error) {
	o, err := objectOf(object)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if len(sel) > 0 {
		q.Set("$select", strings.Join(sel, ","))
	}
	path := o.coll + "('" + id + "')"
	key, byKey := businessKeys[object]
	byKey = byKey && !isObjectID(id)
	if byKey {
		q.Set("$filter", key+" eq "+Quote(id))
		q.Set("$top", "1")
		path = o.coll
	}
	if len(q) > 0 {
		path += "?" + encode(q)
	}
	res, err := s.c.Batch(ctx, []Op{{Method: http.MethodGet, Path: path}})
	if err != nil {
		return nil, err
	}
	if res[0].Err != nil {
		return nil, res[0].Err
	}
	if !byKey {
		return res[0].Entity, nil
	}
	found := children(res[0].Entity, "results")
	if len(found) == 0 {
		return nil, fault.New(fault.Gone, "NOT_FOUND", fmt.Sprintf("no %s with %s %s", o.label, key, id))
	}
	return found[0], nil
}

// isObjectID says whether id looks like an ObjectID (32 hex digits).
func isObjectID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, r := range id {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// CreateRecord implements side.RecordCRM: the server assigns the ObjectID,
// read back from the answer.
func (s *Side) CreateRecord(ctx context.Context, object string, fields map[string]any) (string, error) {
	o, err := objectOf(object)
	if err != nil {
		return "", err
	}
	res, err := s.c.Batch(ctx, []Op{{Method: http.MethodPost, Path: o.coll, Body: fields}})
	if err != nil {
		return "", err
	}
	if res[0].Err != nil {
		return "", propFields(res[0].Err)
	}
	if res[0].Entity.ID() == "" {
		return "", fault.New(fault.Temporary, "no_object_id", "C4C created the record but its answer carried no ObjectID")
	}
	return res[0].Entity.ID(), nil
}

// UpdateRecord implements side.RecordCRM (an account named by its business
// ID as in GetRecord): the ETag is read and sent back in
// If-Match with the change in one $batch; a change by someone else in
// between answers 412, which the pane shows as a failed save.
func (s *Side) UpdateRecord(ctx context.Context, object, id string, fields map[string]any) error {
	o, err := objectOf(object)
	if err != nil {
		return err
	}
	got, err := s.readRecord(ctx, object, id, []string{"ObjectID"})
	if err != nil {
		return err
	}
	res, err := s.c.Batch(ctx, []Op{{Method: http.MethodPatch, Path: o.coll + "('" + got.ID() + "')", IfMatch: got.ETag(), Body: fields}})
	if err != nil {
		return err
	}
	return propFields(res[0].Err)
}

// propFields names the property a C4C error message is about as the
// error's field.
func propFields(err error) error {
	if err == nil {
		return nil
	}
	fe, ok := err.(*fault.Error)
	if !ok {
		return err
	}
	if m := propInMessage.FindStringSubmatch(fe.Message); m != nil {
		fe.Fields = append(fe.Fields, m[1])
	}
	return fe
}

// CodeNoChatter is the fault code of a Chatter post to C4C.
const CodeNoChatter = "NOT_SUPPORTED"

// PostChatter implements side.RecordCRM: C4C has no Chatter. The answer is
// a Permanent fault whose message the pane shows as it is.
func (s *Side) PostChatter(ctx context.Context, subjectID, text string) (string, error) {
	return "", fault.New(fault.Permanent, CodeNoChatter, "SAP Cloud for Customer has no Chatter feed; add a note to the record in C4C instead")
}

// HasFeed tells the add-in that C4C has no record feed to post to, so the
// pane offers no Chatter post (addin.FeedTeller).
func (s *Side) HasFeed() bool { return false }

// RelatesShares tells the add-in that a shared e-mail cannot be related to
// a record the user picks: C4C's e-mail activity names its account
// (MainAccountPartyID, set by LogEmail) and parties, and has no "what" to
// point at an opportunity or ticket (addin.RelateTeller).
func (s *Side) RelatesShares() bool { return false }

// FileObjects are the objects AttachFile files on (addin.FileTeller):
// contacts and accounts keep attachments (e-mails' go to their main
// contact).
func (s *Side) FileObjects() []string { return []string{"Contact", "Account"} }

// ObjectLabels are C4C's words for the add-in's objects where they differ
// from the object names: its Cases are service tickets (addin.Labeler).
func (s *Side) ObjectLabels() map[string]string {
	out := map[string]string{}
	for name, o := range recordObjects {
		if o.label != name {
			out[name] = o.label
		}
	}
	return out
}
