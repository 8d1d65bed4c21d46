package fakec4c

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The child entities of activities (FIDELITY.md "Activity parties and
// notes"): text collections (notes) of tasks and appointments and the
// involved parties of appointments, as the tenant's c4codataapi $metadata
// names them: navigation TasksTextCollection → entity set
// TasksTextCollectionCollection, AppointmentTextCollection →
// AppointmentTextCollectionCollection, AppointmentInvolvedParties →
// AppointmentInvolvedPartiesCollection.

// textProps are the properties of a text collection entry.
func textProps() map[string]prop {
	return map[string]prop{
		"ObjectID": {kind: str, readOnly: true}, "ParentObjectID": {kind: str, readOnly: true},
		"Text": {kind: str, required: true}, "TypeCode": {kind: str, required: true}, "LanguageCode": nf,
		"ETag": {kind: date, readOnly: true},
	}
}

// childSet is the entity set of one navigation's child entities: they are
// read, changed and deleted by key, and created with a ParentObjectID.
type childSet struct {
	parent, nav string
}

var childSets = map[string]childSet{
	"TasksTextCollectionCollection":        {parent: "TasksCollection", nav: "TasksTextCollection"},
	"AppointmentTextCollectionCollection":  {parent: "AppointmentCollection", nav: "AppointmentTextCollection"},
	"AppointmentInvolvedPartiesCollection": {parent: "AppointmentCollection", nav: "AppointmentInvolvedParties"},
}

// codeLists are the code list entity sets served ({Code, Description}).
var codeLists = map[string][][2]string{
	// Role codes of appointment parties; the codes are this fake's, a
	// client must find them by their description.
	"AppointmentInvolvedPartiesRoleCodeCollection": {{"22", "Organizer"}, {"27", "Attendee"}, {"55", "Employee Responsible"}},
}

func init() {
	collections["TasksCollection"].navs = map[string]*collection{
		"TasksTextCollection": {name: "TasksTextCollection", typ: "c4codataapi.TasksTextCollection", props: textProps()},
	}
	appt := collections["AppointmentCollection"]
	appt.navs = map[string]*collection{
		"AppointmentTextCollection": {name: "AppointmentTextCollection", typ: "c4codataapi.AppointmentTextCollection", props: textProps()},
		"AppointmentInvolvedParties": {name: "AppointmentInvolvedParties", typ: "c4codataapi.AppointmentInvolvedParties", props: map[string]prop{
			"ObjectID": {kind: str, readOnly: true}, "ParentObjectID": {kind: str, readOnly: true},
			"PartyID": {kind: str, required: true}, "RoleCode": {kind: str, required: true}, "PartyTypeCode": nf,
			"MainIndicator": {kind: boolean},
			// Derived from the party: read only.
			"EMail": {kind: str, readOnly: true}, "PartyName": {kind: str, readOnly: true}, "ETag": {kind: date, readOnly: true},
		}},
	}
	for k, p := range map[string]prop{"OrganizerPartyID": f, "OccurrenceDate": {kind: date}, "RecurrenceActGroupwareID": f} {
		appt.props[k] = p
	}
	if _, ok := collections["EmployeeCollection"]; !ok {
		collections["EmployeeCollection"] = &collection{name: "EmployeeCollection", typ: "c4codataapi.Employee", props: with(map[string]prop{
			"EmployeeID": {kind: str, filterable: true, readOnly: true}, "FirstName": f, "LastName": {kind: str, filterable: true, required: true},
			"Email": f,
		})}
	}
	for k, p := range map[string]prop{"EmployeeID": {kind: str, filterable: true, readOnly: true}, "Email": f} {
		if _, ok := collections["EmployeeCollection"].props[k]; !ok {
			collections["EmployeeCollection"].props[k] = p
		}
	}
}

// party finds a business partner by business ID: a contact (ContactID),
// an employee (EmployeeID) or an account (AccountID); it answers its e-mail
// address and name.
func (s *Server) party(id string) (email, name string, ok bool) {
	for coll, key := range map[string]string{"ContactCollection": "ContactID", "EmployeeCollection": "EmployeeID", "CorporateAccountCollection": "AccountID"} {
		for _, e := range s.data[coll] {
			if e.props[key] == id {
				email, _ = e.props["Email"].(string)
				first, _ := e.props["FirstName"].(string)
				last, _ := e.props["LastName"].(string)
				name = strings.TrimSpace(first + " " + last)
				if n, _ := e.props["Name"].(string); n != "" {
					name = n
				}
				return email, name, true
			}
		}
	}
	return "", "", false
}

// fillChild completes a child entity as C4C derives it: an involved party
// gets the e-mail address and name of its business partner.
func (s *Server) fillChild(nav string, c *entity) {
	if nav != "AppointmentInvolvedParties" {
		return
	}
	if email, name, ok := s.party(c.props["PartyID"].(string)); ok {
		c.props["EMail"], c.props["PartyName"] = email, name
	}
}

// doChild answers requests on a child entity set or a code list; ok is
// false for every other path.
func (s *Server) doChild(method, path string, h http.Header, body []byte, base string) (reply, bool) {
	seg, _, _ := strings.Cut(path, "/")
	name, key := seg, ""
	if i := strings.IndexByte(seg, '('); i >= 0 && strings.HasSuffix(seg, ")") {
		name, key = seg[:i], strings.Trim(seg[i+1:len(seg)-1], "'")
	}
	if codes, ok := codeLists[name]; ok {
		s.calls[method+" "+name]++
		if method != http.MethodGet || key != "" {
			return errReply(errf(405, "", "code lists are read only")), true
		}
		var results []any
		for _, c := range codes {
			results = append(results, map[string]any{"__metadata": map[string]any{"type": "c4codataapi.CodeList"}, "Code": c[0], "Description": c[1]})
		}
		return jsonReply(200, map[string]any{"d": map[string]any{"results": results}}), true
	}
	cs, ok := childSets[name]
	if !ok {
		return reply{}, false
	}
	s.calls[method+" "+name]++
	nav := collections[cs.parent].navs[cs.nav]
	if key == "" {
		if method != http.MethodPost {
			return errReply(errf(405, "", "method %s not allowed on %s", method, name)), true
		}
		var raw map[string]any
		if err := json.Unmarshal(body, &raw); err != nil {
			return errReply(errf(400, "", "The request body is not valid JSON: %v", err)), true
		}
		parentID, _ := raw["ParentObjectID"].(string)
		delete(raw, "ParentObjectID")
		b, _ := json.Marshal(raw)
		props, e := decodeProps(nav, b)
		if e != nil {
			return errReply(e), true
		}
		for p, pr := range nav.props {
			if v, ok := props[p]; pr.required && (!ok || v == nil || v == "") {
				return errReply(errf(400, "", "Property '%s' is mandatory", p)), true
			}
		}
		parent, ok := s.data[cs.parent][parentID]
		if !ok {
			return errReply(errf(400, "", "Parent object %s does not exist", parentID)), true
		}
		if id, _ := props["PartyID"].(string); id != "" {
			if _, _, ok := s.party(id); !ok {
				return errReply(errf(400, "", "Party %s does not exist", id)), true
			}
		}
		kid := &entity{id: newObjectID(), props: props}
		kid.props["ParentObjectID"] = parentID
		s.fillChild(cs.nav, kid)
		p := s.touch(cs.parent, parent)
		kid.changed = p.changed
		p.children[cs.nav] = append(p.children[cs.nav], kid)
		rep := jsonReply(201, map[string]any{"d": render(nav, kid, base, nil)})
		rep.header.Set("location", base+name+"('"+kid.id+"')")
		return rep, true
	}
	parent, i := s.findChild(cs, key)
	if parent == nil {
		return errReply(errf(404, "", "Resource not found for segment '%s('%s')'", name, key)), true
	}
	kid := parent.children[cs.nav][i]
	switch method {
	case http.MethodGet:
		rep := jsonReply(200, map[string]any{"d": render(nav, kid, base, nil)})
		rep.header.Set("etag", etag(kid.changed))
		return rep, true
	case http.MethodPatch, "MERGE", http.MethodPut:
		if m := h.Get("If-Match"); m != "" && m != "*" && m != etag(kid.changed) {
			return errReply(errf(412, "", "Entity has been modified; ETag mismatch")), true
		}
		props, e := decodeProps(nav, body)
		if e != nil {
			return errReply(e), true
		}
		next := &entity{id: kid.id, props: map[string]any{}}
		for k, v := range kid.props {
			next.props[k] = v
		}
		for k, v := range props {
			if nav.props[k].required && (v == nil || v == "") {
				return errReply(errf(400, "", "Property '%s' is mandatory", k)), true
			}
			next.props[k] = v
		}
		p := s.touch(cs.parent, parent)
		next.changed = p.changed
		p.children[cs.nav][i] = next
		return reply{status: 204, header: http.Header{}}, true
	case http.MethodDelete:
		if m := h.Get("If-Match"); m != "" && m != "*" && m != etag(kid.changed) {
			return errReply(errf(412, "", "Entity has been modified; ETag mismatch")), true
		}
		p := s.touch(cs.parent, parent)
		p.children[cs.nav] = append(p.children[cs.nav][:i:i], p.children[cs.nav][i+1:]...)
		return reply{status: 204, header: http.Header{}}, true
	}
	return errReply(errf(405, "", "method %s not allowed on %s", method, name)), true
}

// findChild finds the parent holding child key of a child set, and its index.
func (s *Server) findChild(cs childSet, key string) (*entity, int) {
	for _, p := range s.data[cs.parent] {
		for i, k := range p.children[cs.nav] {
			if k.id == key {
				return p, i
			}
		}
	}
	return nil, 0
}

// touch replaces a header by a copy (its child lists copied too, so a
// changeset's undo still holds the old one) changed now: a change of a
// child is a change of the business object, whose header carries the
// object's change time (KBA 2789959: ChangedOn is the same for all entities
// of the business object).
func (s *Server) touch(coll string, old *entity) *entity {
	ent := &entity{id: old.id, props: old.props, seq: old.seq, children: map[string][]*entity{}}
	for k, v := range old.children {
		ent.children[k] = append([]*entity(nil), v...)
	}
	ent.changed = s.stamp()
	s.data[coll][ent.id] = ent
	return ent
}

// undoFor says what a changeset must restore if it fails after req: the
// record the request writes, or for a child entity set its header.
func (s *Server) undoFor(method, path string, body []byte) (undo, bool) {
	seg, _, _ := strings.Cut(path, "/")
	name, key := seg, ""
	if i := strings.IndexByte(seg, '('); i >= 0 && strings.HasSuffix(seg, ")") {
		name, key = seg[:i], strings.Trim(seg[i+1:len(seg)-1], "'")
	}
	cs, ok := childSets[name]
	if !ok {
		return undo{}, false
	}
	if key != "" {
		if p, _ := s.findChild(cs, key); p != nil {
			return undo{coll: cs.parent, id: p.id, prev: p}, true
		}
		return undo{}, false
	}
	var raw struct {
		ParentObjectID string
	}
	_ = json.Unmarshal(body, &raw)
	if p, ok := s.data[cs.parent][raw.ParentObjectID]; ok {
		return undo{coll: cs.parent, id: p.id, prev: p}, true
	}
	return undo{}, false
}

// expand renders the navigations named in $expand inline, as
// {"results": [...]} (OData v2 JSON); an unknown one is refused.
func expand(coll *collection, e *entity, out map[string]any, q url.Values, base string) *odataErr {
	x := q.Get("$expand")
	if x == "" {
		return nil
	}
	for _, name := range strings.Split(x, ",") {
		name = strings.TrimSpace(name)
		nav, ok := coll.navs[name]
		if !ok {
			return errf(400, "", "Property '%s' is not a navigation property of %s", name, coll.typ)
		}
		kids := make([]any, 0, len(e.children[name]))
		for _, k := range e.children[name] {
			kids = append(kids, render(nav, k, base, nil))
		}
		out[name] = map[string]any{"results": kids}
	}
	return nil
}

// Children returns the properties of a record's child entities under nav,
// for tests.
func (s *Server) Children(coll, id, nav string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.data[coll][id]
	if !ok {
		return nil
	}
	var out []map[string]any
	for _, k := range e.children[nav] {
		m := map[string]any{"ObjectID": k.id}
		for p, v := range k.props {
			m[p] = v
		}
		out = append(out, m)
	}
	return out
}

func init() {
	// Opportunities for the add-in's account pane (c4codataapi
	// OpportunityCollection as public clients read it: ProspectPartyID is
	// the account's business ID, LifeCycleStatusCode 1–5 Open, In Process,
	// Won, Lost, Stopped).
	collections["OpportunityCollection"] = &collection{name: "OpportunityCollection", typ: "c4codataapi.Opportunity", props: with(map[string]prop{
		"ID": {kind: str, filterable: true, readOnly: true}, "Name": {kind: str, filterable: true, required: true},
		"ProspectPartyID": f, "LifeCycleStatusCode": f, "LifeCycleStatusCodeText": {kind: str, readOnly: true},
		"ExpectedProcessingEndDate": {kind: date, filterable: true}, "ExpectedRevenueAmount": nf,
	})}
	// Service tickets (ServiceRequestCollection as public clients read it:
	// Name, BuyerPartyID the account, ServiceRequestLifeCycleStatusCode with
	// its code list ServiceRequestServiceRequestLifeCycleStatusCodeCollection,
	// CreationDateTime); the fake's status codes are its own.
	collections["ServiceRequestCollection"] = &collection{name: "ServiceRequestCollection", typ: "c4codataapi.ServiceRequest", props: with(map[string]prop{
		"ID": {kind: str, filterable: true, readOnly: true}, "Name": {kind: str, filterable: true, required: true},
		"BuyerPartyID": f, "ServiceRequestLifeCycleStatusCode": f, "ServiceRequestLifeCycleStatusCodeText": {kind: str, readOnly: true},
		"CreationDateTime": {kind: date, filterable: true},
	})}
	codeLists["OpportunityLifeCycleStatusCodeCollection"] = [][2]string{{"1", "Open"}, {"2", "In Process"}, {"3", "Won"}, {"4", "Lost"}, {"5", "Stopped"}}
	codeLists["ServiceRequestServiceRequestLifeCycleStatusCodeCollection"] = [][2]string{{"1", "Open"}, {"2", "In Process"}, {"3", "Customer Action"}, {"5", "Completed"}, {"6", "Closed"}}
	// The code lists of task status and priority, named as the service
	// names code list sets: <EntityType><Property>Collection.
	codeLists["TasksStatusCollection"] = [][2]string{{"1", "Open"}, {"2", "In Process"}, {"3", "Completed"}, {"4", "Waiting"}, {"5", "Deferred"}}
	codeLists["TasksPriorityCodeCollection"] = [][2]string{{"1", "Immediate"}, {"2", "Urgent"}, {"3", "Normal"}, {"7", "Low"}}
	// A contact's status (StatusCode with its …Text twin, c4c.md "Code
	// fields come with a …Text twin"), a code list the add-in's Contact form
	// offers as a picklist; the codes are the business partner life cycle's
	// (1 In Preparation, 2 Active, 3 Blocked), the fake's own choice.
	// An account's files (c4c.md §9: AccountAttachmentCollection, the
	// same properties as a contact's ContactAttachmentFolder).
	collections["AccountAttachmentCollection"] = &collection{name: "AccountAttachmentCollection", typ: "c4codataapi.AccountAttachment",
		parent: "CorporateAccountCollection", props: collections["ContactAttachmentFolder"].props}
	collections["ContactCollection"].props["StatusCode"] = f
	collections["ContactCollection"].props["StatusCodeText"] = prop{kind: str, readOnly: true}
	codeLists["ContactStatusCodeCollection"] = [][2]string{{"1", "In Preparation"}, {"2", "Active"}, {"3", "Blocked"}}
}

// metadataXML is the service's $metadata: an EDMX document with SAP's
// annotations (sap:creatable, sap:updatable, sap:filterable on properties;
// Nullable="false" on mandatory ones), entity sets for the collections and
// the code lists (DEVGUIDE: the metadata carries these annotations).
func metadataXML() []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" xmlns:sap="http://www.sap.com/Protocols/SAPData"><edmx:DataServices m:DataServiceVersion="2.0"><Schema Namespace="c4codataapi" xmlns="http://schemas.microsoft.com/ado/2008/09/edm">`)
	names := make([]string, 0, len(collections))
	for n := range collections {
		names = append(names, n)
	}
	slices.Sort(names)
	edm := map[propKind]string{str: "Edm.String", date: "Edm.DateTimeOffset", boolean: "Edm.Boolean"}
	for _, n := range names {
		c := collections[n]
		typ := strings.TrimPrefix(c.typ, "c4codataapi.")
		fmt.Fprintf(&b, `<EntityType Name="%s"><Key><PropertyRef Name="ObjectID"/></Key>`, typ)
		props := make([]string, 0, len(c.props))
		for p := range c.props {
			props = append(props, p)
		}
		slices.Sort(props)
		for _, p := range props {
			pr := c.props[p]
			nullable := "true"
			if pr.required || p == "ObjectID" {
				nullable = "false"
			}
			fmt.Fprintf(&b, `<Property Name="%s" Type="%s" Nullable="%s" sap:creatable="%t" sap:updatable="%t" sap:filterable="%t"/>`,
				p, edm[pr.kind], nullable, !pr.readOnly, !pr.readOnly, pr.filterable)
		}
		b.WriteString(`</EntityType>`)
	}
	b.WriteString(`<EntityType Name="CodeList"><Key><PropertyRef Name="Code"/></Key><Property Name="Code" Type="Edm.String" Nullable="false"/><Property Name="Description" Type="Edm.String"/></EntityType>`)
	b.WriteString(`<EntityContainer Name="c4codataapi" m:IsDefaultEntityContainer="true">`)
	for _, n := range names {
		fmt.Fprintf(&b, `<EntitySet Name="%s" EntityType="%s"/>`, n, collections[n].typ)
	}
	lists := make([]string, 0, len(codeLists))
	for n := range codeLists {
		lists = append(lists, n)
	}
	slices.Sort(lists)
	for _, n := range lists {
		fmt.Fprintf(&b, `<EntitySet Name="%s" EntityType="c4codataapi.CodeList" sap:creatable="false" sap:updatable="false"/>`, n)
	}
	b.WriteString(`</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`)
	return []byte(b.String())
}

// csrfFetch counts requests that fetched a CSRF token (in Server.calls).
const csrfFetch = "x-csrf-token fetch"

// CSRFFetches returns how many requests fetched a CSRF token, for call
// counts: a fetch rides on a GET that may do nothing else.
func (s *Server) CSRFFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[csrfFetch]
}
