package google

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// personFields and pageSize are the same on every page and every run of
// connections.list: with a pageToken or syncToken "all other request
// parameters must match the first call" (trap 1).
const (
	personFields = "names,emailAddresses,phoneNumbers,organizations,addresses,memberships,clientData,metadata"
	// PeoplePage is connections.list's largest page.
	PeoplePage = 1000
)

type membership struct {
	ContactGroupMembership *struct {
		ContactGroupResourceName string `json:"contactGroupResourceName"`
	} `json:"contactGroupMembership,omitempty"`
}

type clientData struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// wirePerson keeps the field lists as maps, so an update writes back the
// sub-fields crmsync does not map (types, labels) as they were.
type wirePerson struct {
	ResourceName string `json:"resourceName,omitempty"`
	Etag         string `json:"etag,omitempty"`
	Metadata     *struct {
		Deleted bool `json:"deleted,omitempty"`
		Sources []struct {
			Type       string `json:"type"`
			UpdateTime string `json:"updateTime"`
		} `json:"sources,omitempty"`
	} `json:"metadata,omitempty"`
	Names          []map[string]any `json:"names,omitempty"`
	EmailAddresses []map[string]any `json:"emailAddresses,omitempty"`
	PhoneNumbers   []map[string]any `json:"phoneNumbers,omitempty"`
	Organizations  []map[string]any `json:"organizations,omitempty"`
	Addresses      []map[string]any `json:"addresses,omitempty"`
	Memberships    []membership     `json:"memberships,omitempty"`
	ClientData     []clientData     `json:"clientData,omitempty"`
}

type wireConnections struct {
	Connections   []wirePerson `json:"connections"`
	NextPageToken string       `json:"nextPageToken"`
	NextSyncToken string       `json:"nextSyncToken"`
}

type wireGroup struct {
	ResourceName string `json:"resourceName"`
	Name         string `json:"name"`
	GroupType    string `json:"groupType"`
}

func personPath(id string) string {
	if !strings.HasPrefix(id, "people/") {
		id = "people/" + id
	}
	return id
}

// groups reads the user's contact groups (name → resourceName, and back).
func (s *Side) groupsByName(ctx context.Context) (map[string]string, map[string]string, error) {
	var w struct {
		ContactGroups []wireGroup `json:"contactGroups"`
	}
	if err := s.c.do(ctx, "GET", s.c.people+"/v1/contactGroups?pageSize=1000", nil, &w); err != nil {
		return nil, nil, err
	}
	byName, byRes := map[string]string{}, map[string]string{}
	for _, g := range w.ContactGroups {
		byRes[g.ResourceName] = g.Name
		if g.GroupType == "USER_CONTACT_GROUP" {
			byName[g.Name] = g.ResourceName
		}
	}
	return byName, byRes, nil
}

// group returns the resourceName of the user contact group name, creating it
// when missing.
func (s *Side) group(ctx context.Context, name string) (string, error) {
	s.mu.Lock()
	res := s.groups[name]
	s.mu.Unlock()
	if res != "" {
		return res, nil
	}
	byName, _, err := s.groupsByName(ctx)
	if err != nil {
		return "", err
	}
	if res = byName[name]; res == "" {
		var g wireGroup
		s.c.writes.Lock()
		err = s.c.do(ctx, "POST", s.c.people+"/v1/contactGroups", map[string]any{"contactGroup": map[string]string{"name": name}}, &g)
		s.c.writes.Unlock()
		if err != nil {
			return "", err
		}
		res = g.ResourceName
	}
	s.mu.Lock()
	s.groups[name] = res
	s.mu.Unlock()
	return res, nil
}

func containerGroup(scope item.Scope) string {
	if scope.Container != "" {
		return scope.Container
	}
	return DefaultGroup
}

// listPeople reads connections.list to the end, from syncToken ("" = full).
func (s *Side) listPeople(ctx context.Context, syncToken string) ([]wirePerson, string, error) {
	q := url.Values{"personFields": {personFields}, "pageSize": {"1000"}, "requestSyncToken": {"true"}}
	if syncToken != "" {
		q.Set("syncToken", syncToken)
	}
	var all []wirePerson
	for {
		var w wireConnections
		if err := s.c.do(ctx, "GET", s.c.people+"/v1/people/me/connections?"+q.Encode(), nil, &w); err != nil {
			return nil, "", err
		}
		all = append(all, w.Connections...)
		if w.NextPageToken == "" {
			return all, w.NextSyncToken, nil
		}
		q.Set("pageToken", w.NextPageToken)
	}
}

// A contacts cursor carries the synced group's resourceName beside the sync
// token, so an idle session costs one request.
const contactCursorPrefix = "people1|"

func (s *Side) contactChanges(ctx context.Context, scope item.Scope, cursor string) (item.Changes, error) {
	gname := containerGroup(scope)
	var token string
	if rest, ok := strings.CutPrefix(cursor, contactCursorPrefix); ok {
		if res, tok, ok := strings.Cut(rest, "|"); ok && res != "" {
			s.mu.Lock()
			if s.groups[gname] == "" {
				s.groups[gname] = res
			}
			s.mu.Unlock()
			token = tok
		}
	}
	gres, err := s.group(ctx, gname)
	if err != nil {
		return item.Changes{}, err
	}
	people, next, err := s.listPeople(ctx, token)
	full := token == ""
	if !full && fault.Is(err, fault.Expired) {
		// The token outlived its 7 days (trap 2): read everything again;
		// Full tells the planner to match on links, so nothing doubles.
		people, next, err = s.listPeople(ctx, "")
		full = true
	}
	if err != nil {
		return item.Changes{}, err
	}
	ch := item.Changes{Kind: item.Contact, Cursor: contactCursorPrefix + gres + "|" + next, Full: full}
	var names map[string]string
	for _, p := range people {
		switch {
		case p.Metadata != nil && p.Metadata.Deleted:
			if !full {
				ch.Removed = append(ch.Removed, item.Removal{ID: p.ResourceName, Reason: item.Deleted})
			}
		case !p.inGroup(gres):
			if !full {
				ch.Removed = append(ch.Removed, item.Removal{ID: p.ResourceName, Reason: item.LeftScope})
			}
		default:
			if names == nil {
				// Group names only when a record needs its categories.
				if _, names, err = s.groupsByName(ctx); err != nil {
					return item.Changes{}, err
				}
			}
			ch.Records = append(ch.Records, p.record(names, gres))
		}
	}
	return ch, nil
}

func (p wirePerson) inGroup(res string) bool {
	for _, m := range p.Memberships {
		if m.ContactGroupMembership != nil && m.ContactGroupMembership.ContactGroupResourceName == res {
			return true
		}
	}
	return false
}

func str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

func first(list []map[string]any) map[string]any {
	if len(list) == 0 {
		return map[string]any{}
	}
	return list[0]
}

// phoneIndex finds the phone of a kind: the mobile one for MobilePhone, the
// first other for Phone.
func phoneIndex(list []map[string]any, mobile bool) int {
	for i, p := range list {
		if (strings.EqualFold(str(p, "type"), "mobile")) == mobile {
			return i
		}
	}
	return -1
}

func (p wirePerson) record(groupNames map[string]string, container string) item.Record {
	n, o, a := first(p.Names), first(p.Organizations), first(p.Addresses)
	f := map[string]string{
		item.FirstName: str(n, "givenName"), item.LastName: str(n, "familyName"),
		item.Email: strings.ToLower(str(first(p.EmailAddresses), "value")),
		item.Title: str(o, "title"), item.Department: str(o, "department"),
		item.MailingStreet: str(a, "streetAddress"), item.MailingCity: str(a, "city"), item.MailingState: str(a, "region"),
		item.MailingPostalCode: str(a, "postalCode"), item.MailingCountry: str(a, "country"),
		item.Phone: "", item.MobilePhone: "",
	}
	if i := phoneIndex(p.PhoneNumbers, false); i >= 0 {
		f[item.Phone] = str(p.PhoneNumbers[i], "value")
	}
	if i := phoneIndex(p.PhoneNumbers, true); i >= 0 {
		f[item.MobilePhone] = str(p.PhoneNumbers[i], "value")
	}
	r := item.Record{Kind: item.Contact, ID: p.ResourceName, Version: p.Etag, Fields: f}
	if p.Metadata != nil {
		for _, src := range p.Metadata.Sources {
			if t, err := time.Parse(time.RFC3339, src.UpdateTime); err == nil && src.Type == "CONTACT" {
				r.Modified = t
			}
		}
	}
	r.Categories = p.categories(groupNames, container)
	for _, d := range p.ClientData {
		if d.Key == markerKey {
			r.Marker = d.Value
		}
	}
	return r
}

// categories are the user groups the contact is in, other than the synced one.
func (p wirePerson) categories(groupNames map[string]string, container string) []string {
	var out []string
	for _, m := range p.Memberships {
		if m.ContactGroupMembership == nil {
			continue
		}
		res := m.ContactGroupMembership.ContactGroupResourceName
		if res == container || res == "contactGroups/myContacts" || res == "contactGroups/starred" {
			continue
		}
		if n := groupNames[res]; n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// apply writes canonical fields into the person's lists, keeping what
// crmsync does not map; it returns the person fields it touched.
func (p *wirePerson) apply(f map[string]string) []string {
	touched := map[string]bool{}
	set := func(list *[]map[string]any, idx int, key, v string, field string) {
		touched[field] = true
		if idx < 0 || idx >= len(*list) {
			if v == "" {
				return
			}
			*list = append(*list, map[string]any{})
			idx = len(*list) - 1
		}
		(*list)[idx][key] = v
	}
	for k, v := range f {
		switch k {
		case item.FirstName:
			set(&p.Names, 0, "givenName", v, "names")
		case item.LastName:
			set(&p.Names, 0, "familyName", v, "names")
		case item.Email:
			set(&p.EmailAddresses, 0, "value", v, "emailAddresses")
		case item.Title:
			set(&p.Organizations, 0, "title", v, "organizations")
		case item.Department:
			set(&p.Organizations, 0, "department", v, "organizations")
		case item.MailingStreet:
			set(&p.Addresses, 0, "streetAddress", v, "addresses")
		case item.MailingCity:
			set(&p.Addresses, 0, "city", v, "addresses")
		case item.MailingState:
			set(&p.Addresses, 0, "region", v, "addresses")
		case item.MailingPostalCode:
			set(&p.Addresses, 0, "postalCode", v, "addresses")
		case item.MailingCountry:
			set(&p.Addresses, 0, "country", v, "addresses")
		case item.Phone, item.MobilePhone:
			mobile := k == item.MobilePhone
			i := phoneIndex(p.PhoneNumbers, mobile)
			touched["phoneNumbers"] = true
			switch {
			case i >= 0 && v == "":
				p.PhoneNumbers = slices.Delete(p.PhoneNumbers, i, i+1)
			case i >= 0:
				p.PhoneNumbers[i]["value"] = v
			case v != "":
				typ := "work"
				if mobile {
					typ = "mobile"
				}
				p.PhoneNumbers = append(p.PhoneNumbers, map[string]any{"value": v, "type": typ})
			}
		}
	}
	// Emptied entries go: an all-empty address or e-mail is no value.
	p.EmailAddresses = slices.DeleteFunc(p.EmailAddresses, func(m map[string]any) bool { return str(m, "value") == "" })
	out := make([]string, 0, len(touched))
	for k := range touched {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// createPerson creates a contact in the container group and the groups of cats.
func (s *Side) createPerson(ctx context.Context, f map[string]string, marker, container string, cats []string) (string, error) {
	var p wirePerson
	p.apply(f)
	for _, g := range append([]string{container}, cats...) {
		res, err := s.group(ctx, g)
		if err != nil {
			return "", err
		}
		p.addGroup(res)
	}
	p.addGroup("contactGroups/myContacts")
	if marker != "" {
		p.ClientData = []clientData{{Key: markerKey, Value: marker}}
	}
	var got wirePerson
	s.c.writes.Lock()
	defer s.c.writes.Unlock()
	err := s.c.do(ctx, "POST", s.c.people+"/v1/people:createContact?personFields=metadata", p, &got)
	return got.ResourceName, err
}

func (p *wirePerson) addGroup(res string) {
	if p.inGroup(res) {
		return
	}
	m := membership{ContactGroupMembership: &struct {
		ContactGroupResourceName string `json:"contactGroupResourceName"`
	}{res}}
	p.Memberships = append(p.Memberships, m)
}

func (p *wirePerson) dropGroup(res string) {
	p.Memberships = slices.DeleteFunc(p.Memberships, func(m membership) bool {
		return m.ContactGroupMembership != nil && m.ContactGroupMembership.ContactGroupResourceName == res
	})
}

func (s *Side) getPerson(ctx context.Context, id string) (wirePerson, error) {
	var p wirePerson
	err := s.c.do(ctx, "GET", s.c.people+"/v1/"+personPath(id)+"?personFields="+personFields, nil, &p)
	return p, err
}

// modifyPerson reads the contact, lets change edit it and writes the fields
// it names with the etag just read; a contact changed meanwhile (400
// failedPrecondition) is read again and merged, up to three times. Writes of
// one user are serialized (trap 4).
func (s *Side) modifyPerson(ctx context.Context, id string, change func(p *wirePerson) []string) error {
	s.c.writes.Lock()
	defer s.c.writes.Unlock()
	var err error
	for range 3 {
		var p wirePerson
		if p, err = s.getPerson(ctx, id); err != nil {
			return err
		}
		fields := change(&p)
		if len(fields) == 0 {
			return nil
		}
		body := p
		body.Metadata = nil
		q := url.Values{"updatePersonFields": {strings.Join(fields, ",")}, "personFields": {"metadata"}}
		err = s.c.do(ctx, "PATCH", s.c.people+"/v1/"+personPath(id)+":updateContact?"+q.Encode(), body, nil)
		if !isCode(err, codeConflict) {
			return err
		}
	}
	return err
}

func (s *Side) updateContact(ctx context.Context, id string, f map[string]string) error {
	return s.modifyPerson(ctx, id, func(p *wirePerson) []string { return p.apply(f) })
}

func (s *Side) deleteContact(ctx context.Context, id string) error {
	s.c.writes.Lock()
	defer s.c.writes.Unlock()
	return s.c.do(ctx, "DELETE", s.c.people+"/v1/"+personPath(id)+":deleteContact", nil, nil)
}

// setGroups adds and removes the contact's user groups by name.
func (s *Side) setGroups(ctx context.Context, id string, add, remove []string) error {
	resAdd, resRemove := make([]string, 0, len(add)), make([]string, 0, len(remove))
	for _, n := range add {
		res, err := s.group(ctx, n)
		if err != nil {
			return err
		}
		resAdd = append(resAdd, res)
	}
	for _, n := range remove {
		res, err := s.group(ctx, n)
		if err != nil {
			return err
		}
		resRemove = append(resRemove, res)
	}
	return s.modifyPerson(ctx, id, func(p *wirePerson) []string {
		for _, r := range resAdd {
			p.addGroup(r)
		}
		for _, r := range resRemove {
			p.dropGroup(r)
		}
		return []string{"memberships"}
	})
}

func (s *Side) flagContact(ctx context.Context, id string, failing bool) error {
	if failing {
		return s.setGroups(ctx, id, []string{IssueCategory}, nil)
	}
	return s.setGroups(ctx, id, nil, []string{IssueCategory})
}

// findContacts reads every contact (a full read: FindCreated runs only after
// a crash) and matches crmsync's markers in clientData.
func (s *Side) findContacts(ctx context.Context, want map[string]bool) (map[string]string, error) {
	people, _, err := s.listPeople(ctx, "")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range people {
		for _, d := range p.ClientData {
			if d.Key == markerKey && want[d.Value] {
				out[d.Value] = p.ResourceName
			}
		}
	}
	return out, nil
}

// People's batch bounds.
const (
	// BatchCreate is the most contacts one batchCreateContacts takes.
	BatchCreate = 200
	// BatchDelete is the most contacts one batchDeleteContacts takes.
	BatchDelete = 500
)

// createContacts creates contacts BatchCreate at a time. A batch is all or
// nothing: one that fails on a record's content is retried one contact at
// a time, so the bad record fails alone.
func (s *Side) createContacts(ctx context.Context, recs []item.Record, markers []string) ([]side.Result, error) {
	out := make([]side.Result, len(recs))
	container := containerGroup(s.scopeOf(item.Contact))
	res, err := s.group(ctx, container)
	if err != nil {
		return nil, err
	}
	for lo := 0; lo < len(recs); lo += BatchCreate {
		hi := min(lo+BatchCreate, len(recs))
		var body struct {
			Contacts []map[string]wirePerson `json:"contacts"`
			ReadMask string                  `json:"readMask"`
		}
		body.ReadMask = "metadata"
		for i := lo; i < hi; i++ {
			var p wirePerson
			p.apply(recs[i].Fields)
			p.addGroup(res)
			p.addGroup("contactGroups/myContacts")
			if i < len(markers) && markers[i] != "" {
				p.ClientData = []clientData{{Key: markerKey, Value: markers[i]}}
			}
			body.Contacts = append(body.Contacts, map[string]wirePerson{"contactPerson": p})
		}
		var w struct {
			CreatedPeople []struct {
				RequestedResourceName string      `json:"requestedResourceName"`
				Person                *wirePerson `json:"person"`
			} `json:"createdPeople"`
		}
		s.c.writes.Lock()
		err := s.c.do(ctx, "POST", s.c.people+"/v1/people:batchCreateContacts", body, &w)
		s.c.writes.Unlock()
		if err == nil && len(w.CreatedPeople) == hi-lo {
			for i, cp := range w.CreatedPeople {
				id := cp.RequestedResourceName
				if cp.Person != nil && cp.Person.ResourceName != "" {
					id = cp.Person.ResourceName
				}
				out[lo+i] = side.Result{ID: id}
			}
			continue
		}
		if err != nil && !fault.Is(err, fault.Permanent) {
			return nil, err
		}
		for i := lo; i < hi; i++ {
			var m string
			if i < len(markers) {
				m = markers[i]
			}
			id, err := s.createPerson(ctx, recs[i].Fields, m, container, nil)
			if wholeCall(err) {
				return nil, err
			}
			out[i] = side.Result{ID: id, Err: err}
		}
	}
	return out, nil
}

// deleteContacts deletes contacts BatchDelete at a time; a batch refused
// (one contact already gone fails it) is retried one contact at a time.
func (s *Side) deleteContacts(ctx context.Context, ids []string) ([]side.Result, error) {
	out := make([]side.Result, len(ids))
	for lo := 0; lo < len(ids); lo += BatchDelete {
		hi := min(lo+BatchDelete, len(ids))
		names := make([]string, 0, hi-lo)
		for _, id := range ids[lo:hi] {
			names = append(names, personPath(id))
		}
		s.c.writes.Lock()
		err := s.c.do(ctx, "POST", s.c.people+"/v1/people:batchDeleteContacts", map[string][]string{"resourceNames": names}, nil)
		s.c.writes.Unlock()
		if err == nil {
			for i := lo; i < hi; i++ {
				out[i] = side.Result{ID: ids[i]}
			}
			continue
		}
		if wholeCall(err) {
			return nil, err
		}
		for i := lo; i < hi; i++ {
			err := s.deleteContact(ctx, ids[i])
			if fault.Is(err, fault.Gone) {
				err = nil
			}
			if wholeCall(err) {
				return nil, err
			}
			out[i] = side.Result{ID: ids[i], Err: err}
		}
	}
	return out, nil
}
