package fakec4c

import (
	"encoding/json"
	"net/http"
	"net/url"
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
}

// party finds a business partner by business ID: a contact (ContactID),
// an employee (BusinessPartnerID: an involved party names an employee by its
// business partner, as OwnerPartyID does) or an account (AccountID); it
// answers its e-mail address and name.
func (s *Server) party(id string) (email, name string, ok bool) {
	for coll, key := range map[string]string{"ContactCollection": "ContactID", "EmployeeCollection": "BusinessPartnerID", "CorporateAccountCollection": "AccountID"} {
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

// childSegment splits a child entity set path's first segment,
// "Name('key')" or "Name", into the set's name and the key ("" for none).
func childSegment(path string) (name, key string) {
	seg, _, _ := strings.Cut(path, "/")
	name = seg
	if i := strings.IndexByte(seg, '('); i >= 0 && strings.HasSuffix(seg, ")") {
		name, key = seg[:i], strings.Trim(seg[i+1:len(seg)-1], "'")
	}
	return name, key
}

// doChild answers requests on a child entity set; ok is
// false for every other path.
func (s *Server) doChild(method, path string, h http.Header, body []byte, base string) (reply, bool) {
	name, key := childSegment(path)
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
		for p, v := range props {
			if e := s.checkCode(name, p, v); e != nil {
				return errReply(e), true
			}
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
		rep := jsonReply(201, map[string]any{"d": s.render(nav, kid, base, nil)})
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
		rep := jsonReply(200, map[string]any{"d": s.render(nav, kid, base, nil)})
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
			if e := s.checkCode(name, k, v); e != nil {
				return errReply(e), true
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

// childSetOf names the child entity set of a collection's navigation.
func childSetOf(coll, nav string) string {
	for n, cs := range childSets {
		if cs.parent == coll && cs.nav == nav {
			return n
		}
	}
	return ""
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
	name, key := childSegment(path)
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
func (s *Server) expand(coll *collection, e *entity, out map[string]any, q url.Values, base string) *odataErr {
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
			kids = append(kids, s.render(nav, k, base, nil))
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
	// An account's files (c4c.md §9: AccountAttachmentCollection, the
	// same properties as a contact's ContactAttachmentFolder).
	collections["AccountAttachmentCollection"] = &collection{name: "AccountAttachmentCollection", typ: "c4codataapi.AccountAttachment",
		parent: "CorporateAccountCollection", props: collections["ContactAttachmentFolder"].props}
	// A contact's status (StatusCode with its …Text twin, c4c.md "Code
	// fields come with a …Text twin"), coded by ContactStatusCodeCollection
	// (valueHelp, DefaultCodeLists), which the add-in's Contact form offers
	// as a picklist.
	collections["ContactCollection"].props["StatusCode"] = f
	collections["ContactCollection"].props["StatusCodeText"] = prop{kind: str, readOnly: true}
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
