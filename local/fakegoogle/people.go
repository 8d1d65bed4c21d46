//lint:file-ignore ST1005 these errors carry the People API's own messages, which the local Google sends to clients as Google words them (FIDELITY.md)

package fakegoogle

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// personFieldNames are the person fields connections.list and the mutate
// methods accept in personFields and updatePersonFields.
var personFieldNames = map[string]bool{
	"addresses": true, "biographies": true, "birthdays": true, "clientData": true, "emailAddresses": true,
	"memberships": true, "metadata": true, "names": true, "nicknames": true, "organizations": true,
	"phoneNumbers": true, "urls": true, "userDefined": true, "externalIds": true, "relations": true,
}

// singletons may hold at most one value on a contact source.
var singletons = []string{"biographies", "birthdays", "genders", "names"}

type person struct {
	name    string
	etag    string
	seq     int64
	updated string
	deleted bool
	// fields are the person's field lists by name, as JSON.
	fields map[string]json.RawMessage
}

type group struct {
	ResourceName string `json:"resourceName"`
	Etag         string `json:"etag"`
	Name         string `json:"name"`
	Formatted    string `json:"formattedName"`
	GroupType    string `json:"groupType"`
}

func (p *person) view(mask map[string]bool) map[string]any {
	out := map[string]any{"resourceName": p.name, "etag": p.etag}
	meta := map[string]any{"sources": []map[string]any{{"type": "CONTACT", "id": strings.TrimPrefix(p.name, "people/"), "etag": p.etag, "updateTime": p.updated}}, "objectType": "PERSON"}
	if p.deleted {
		meta["deleted"] = true
		out["metadata"] = meta
		return out
	}
	if mask["metadata"] {
		out["metadata"] = meta
	}
	for k, v := range p.fields {
		if mask[k] {
			out[k] = v
		}
	}
	return out
}

func parseMask(v string) (map[string]bool, error) {
	if strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("personFields mask is required. Please specify one or more valid paths. Valid paths are documented at https://developers.google.com/people/api/rest/v1/people.connections/list.")
	}
	mask := map[string]bool{}
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(f), "person."))
		if !personFieldNames[f] {
			return nil, fmt.Errorf("Invalid personFields mask path: %q. Valid paths are documented at https://developers.google.com/people/api/rest/v1/people.connections/list.", f)
		}
		mask[f] = true
	}
	return mask, nil
}

func (s *Server) listConnections(w http.ResponseWriter, r *http.Request, u *user) {
	q := r.URL.Query()
	mask, err := parseMask(q.Get("personFields"))
	if err != nil {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", err.Error())
		return
	}
	size := DefaultPeoplePage
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxPeoplePage {
			rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "Invalid pageSize: must be between 1 and 1000.")
			return
		}
		if n > 0 {
			size = n
		}
	}
	// The parameters every page and every sync run must repeat.
	params := strings.Join([]string{q.Get("personFields"), q.Get("pageSize"), q.Get("requestSyncToken"), q.Get("sortOrder"), strings.Join(q["sources"], ",")}, "|")
	if pt := q.Get("pageToken"); pt != "" {
		st := s.pages[pt]
		if st == nil || st.api != "people" || st.params != params {
			rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "Request contains an invalid argument: the page token does not match the request's parameters.")
			return
		}
		delete(s.pages, pt)
		s.writeConnections(w, st, size)
		return
	}
	st := &pageState{api: "people", params: params}
	var since int64 = -1
	if tok := q.Get("syncToken"); tok != "" {
		epoch, seq, tp, ok := parseSyncToken(tok)
		if !ok || tp != hashParams(params) {
			rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "Request contains an invalid argument: the sync token does not match the request's parameters.")
			return
		}
		if epoch != u.epoch["people"] {
			rpcError(w, http.StatusBadRequest, "FAILED_PRECONDITION", "EXPIRED_SYNC_TOKEN", "Sync token is expired. Clear local cache and retry call without the sync token.")
			return
		}
		since = seq
	}
	names := make([]string, 0, len(u.people))
	for n, p := range u.people {
		if since < 0 && p.deleted || since >= 0 && p.seq <= since {
			continue
		}
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		st.items = append(st.items, u.people[n].view(mask))
	}
	if q.Get("requestSyncToken") == "true" || since >= 0 {
		st.syncTok = syncToken(u.epoch["people"], s.seq, hashParams(params))
	}
	s.writeConnections(w, st, size)
}

func (s *Server) writeConnections(w http.ResponseWriter, st *pageState, size int) {
	total := len(st.items)
	items, next := s.page(st, size)
	resp := map[string]any{"connections": items, "totalItems": total, "totalPeople": total}
	if len(items) == 0 {
		delete(resp, "connections")
	}
	if next != "" {
		resp["nextPageToken"] = next
	} else if st.syncTok != "" {
		resp["nextSyncToken"] = st.syncTok
	}
	writeJSON(w, http.StatusOK, resp)
}

func syncToken(epoch int, seq int64, params uint32) string {
	return fmt.Sprintf("S%d.%d.%x", epoch, seq, params)
}

func parseSyncToken(t string) (epoch int, seq int64, params uint32, ok bool) {
	parts := strings.Split(strings.TrimPrefix(t, "S"), ".")
	if len(parts) != 3 || !strings.HasPrefix(t, "S") {
		return 0, 0, 0, false
	}
	e, err1 := strconv.Atoi(parts[0])
	n, err2 := strconv.ParseInt(parts[1], 10, 64)
	p, err3 := strconv.ParseUint(parts[2], 16, 32)
	return e, n, uint32(p), err1 == nil && err2 == nil && err3 == nil
}

func hashParams(p string) uint32 {
	var h uint32 = 2166136261
	for i := 0; i < len(p); i++ {
		h ^= uint32(p[i])
		h *= 16777619
	}
	return h
}

// personBody decodes a Person request body into its field lists, checking
// singleton fields and field names.
func personBody(r *http.Request) (map[string]json.RawMessage, string, string, error) {
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		return nil, "", "", fmt.Errorf("Invalid JSON payload received. %v", err)
	}
	var etag, sourceEtag string
	_ = json.Unmarshal(raw["etag"], &etag)
	var meta struct {
		Sources []struct {
			Type string `json:"type"`
			Etag string `json:"etag"`
		} `json:"sources"`
	}
	_ = json.Unmarshal(raw["metadata"], &meta)
	for _, src := range meta.Sources {
		if src.Type == "CONTACT" {
			sourceEtag = src.Etag
		}
	}
	if sourceEtag != "" {
		etag = sourceEtag
	}
	fields := map[string]json.RawMessage{}
	for k, v := range raw {
		if k == "etag" || k == "metadata" || k == "resourceName" {
			continue
		}
		if !personFieldNames[k] {
			return nil, "", "", fmt.Errorf("Invalid JSON payload received. Unknown name %q at 'person': Cannot find field.", k)
		}
		fields[k] = v
	}
	for _, f := range singletons {
		var vals []json.RawMessage
		if json.Unmarshal(fields[f], &vals) == nil && len(vals) > 1 {
			return nil, "", "", fmt.Errorf("Invalid person.%s: only one value may be set on a contact source.", f)
		}
	}
	return fields, etag, sourceEtag, nil
}

func hasGroupMembership(raw json.RawMessage) bool {
	var ms []struct {
		CG *struct {
			Name string `json:"contactGroupResourceName"`
		} `json:"contactGroupMembership"`
	}
	_ = json.Unmarshal(raw, &ms)
	for _, m := range ms {
		if m.CG != nil && m.CG.Name != "" {
			return true
		}
	}
	return false
}

func (s *Server) touch(p *person) {
	p.seq = s.next()
	p.etag = fmt.Sprintf("%%Eg%s", strconv.FormatInt(p.seq*7919, 36))
	p.updated = s.now().Format("2006-01-02T15:04:05.000Z")
}

func maskOrAll(v string) map[string]bool {
	if v == "" {
		return personFieldNames
	}
	m, err := parseMask(v)
	if err != nil {
		return personFieldNames
	}
	return m
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request, u *user) {
	fields, _, _, err := personBody(r)
	if err != nil {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", err.Error())
		return
	}
	if _, ok := fields["memberships"]; !ok {
		fields["memberships"] = json.RawMessage(`[{"contactGroupMembership":{"contactGroupResourceName":"contactGroups/myContacts"}}]`)
	} else if !hasGroupMembership(fields["memberships"]) {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "Request must include a contact group membership.")
		return
	}
	if msg := s.checkGroups(u, fields["memberships"]); msg != "" {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", msg)
		return
	}
	p := &person{name: fmt.Sprintf("people/c%d", 1000000000+s.seq*104729), fields: fields}
	s.touch(p)
	u.people[p.name] = p
	writeJSON(w, http.StatusOK, p.view(maskOrAll(r.URL.Query().Get("personFields"))))
}

func (s *Server) checkGroups(u *user, raw json.RawMessage) string {
	var ms []struct {
		CG *struct {
			Name string `json:"contactGroupResourceName"`
		} `json:"contactGroupMembership"`
	}
	_ = json.Unmarshal(raw, &ms)
	for _, m := range ms {
		if m.CG != nil && u.groups[m.CG.Name] == nil {
			return fmt.Sprintf("Contact group %q not found.", m.CG.Name)
		}
	}
	return ""
}

func (s *Server) livePerson(u *user, id string) *person {
	p := u.people["people/"+id]
	if p == nil || p.deleted {
		return nil
	}
	return p
}

func (s *Server) getPerson(w http.ResponseWriter, r *http.Request, u *user) {
	mask, err := parseMask(r.URL.Query().Get("personFields"))
	if err != nil {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", err.Error())
		return
	}
	p := s.livePerson(u, r.PathValue("id"))
	if p == nil {
		rpcError(w, http.StatusNotFound, "NOT_FOUND", "", "Requested entity was not found.")
		return
	}
	writeJSON(w, http.StatusOK, p.view(mask))
}

func (s *Server) updateContact(w http.ResponseWriter, r *http.Request, u *user) {
	id, ok := strings.CutSuffix(r.PathValue("op"), ":updateContact")
	if !ok {
		rpcError(w, http.StatusNotFound, "NOT_FOUND", "", "Method not found.")
		return
	}
	upd := r.URL.Query().Get("updatePersonFields")
	if upd == "" {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "updatePersonFields mask is required. Please specify one or more valid paths.")
		return
	}
	mask, err := parseMask(upd)
	if err != nil || mask["metadata"] {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "Invalid updatePersonFields mask.")
		return
	}
	fields, etag, _, err := personBody(r)
	if err != nil {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", err.Error())
		return
	}
	p := s.livePerson(u, id)
	if p == nil {
		rpcError(w, http.StatusNotFound, "NOT_FOUND", "", "Requested entity was not found.")
		return
	}
	if etag == "" {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "Request must set person.etag or person.metadata.sources.etag for the source that is being updated.")
		return
	}
	if etag != p.etag {
		rpcError(w, http.StatusBadRequest, "FAILED_PRECONDITION", "failedPrecondition", "Request person.etag is different than the current person.etag. Clear local cache and get the latest person.")
		return
	}
	if mask["memberships"] {
		if !hasGroupMembership(fields["memberships"]) {
			rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "Request must include a contact group membership.")
			return
		}
		if msg := s.checkGroups(u, fields["memberships"]); msg != "" {
			rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", msg)
			return
		}
	}
	// Every field named is replaced wholesale; absent in the body = cleared.
	for f := range mask {
		if v, ok := fields[f]; ok {
			p.fields[f] = v
		} else {
			delete(p.fields, f)
		}
	}
	s.touch(p)
	writeJSON(w, http.StatusOK, p.view(maskOrAll(r.URL.Query().Get("personFields"))))
}

func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request, u *user) {
	id, ok := strings.CutSuffix(r.PathValue("op"), ":deleteContact")
	if !ok {
		rpcError(w, http.StatusNotFound, "NOT_FOUND", "", "Method not found.")
		return
	}
	p := s.livePerson(u, id)
	if p == nil {
		rpcError(w, http.StatusNotFound, "NOT_FOUND", "", "Requested entity was not found.")
		return
	}
	p.deleted = true
	p.fields = nil
	s.touch(p)
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request, u *user) {
	out := make([]*group, 0, len(u.groupSeq))
	for _, n := range u.groupSeq {
		out = append(out, u.groups[n])
	}
	writeJSON(w, http.StatusOK, map[string]any{"contactGroups": out, "totalItems": len(out)})
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, u *user) {
	var body struct {
		ContactGroup struct {
			Name string `json:"name"`
		} `json:"contactGroup"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || strings.TrimSpace(body.ContactGroup.Name) == "" {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "contactGroup.name is required.")
		return
	}
	for _, g := range u.groups {
		if g.GroupType == "USER_CONTACT_GROUP" && g.Name == body.ContactGroup.Name {
			rpcError(w, http.StatusConflict, "ALREADY_EXISTS", "", "Contact group name already exists.")
			return
		}
	}
	g := &group{ResourceName: fmt.Sprintf("contactGroups/%x", s.next()*2654435761), Name: body.ContactGroup.Name,
		Formatted: body.ContactGroup.Name, GroupType: "USER_CONTACT_GROUP", Etag: randomID("")}
	u.groups[g.ResourceName] = g
	u.groupSeq = append(u.groupSeq, g.ResourceName)
	writeJSON(w, http.StatusOK, g)
}

// Batch bounds of the People API.
const (
	// MaxBatchCreate is the most contacts one batchCreateContacts takes.
	MaxBatchCreate = 200
	// MaxBatchDelete is the most resource names one batchDeleteContacts takes.
	MaxBatchDelete = 500
)

// batchCreateContacts creates all the contacts or none: one invalid contact
// fails the request with an error per invalid contact.
func (s *Server) batchCreateContacts(w http.ResponseWriter, r *http.Request, u *user) {
	var body struct {
		Contacts []struct {
			ContactPerson map[string]json.RawMessage `json:"contactPerson"`
		} `json:"contacts"`
		ReadMask string `json:"readMask"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "Invalid JSON payload received.")
		return
	}
	if len(body.Contacts) == 0 || len(body.Contacts) > MaxBatchCreate {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", fmt.Sprintf("contacts: between 1 and %d contacts are allowed.", MaxBatchCreate))
		return
	}
	var made []*person
	var bad []string
	for i, c := range body.Contacts {
		b, _ := json.Marshal(c.ContactPerson)
		req, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(string(b)))
		fields, _, _, err := personBody(req)
		if err == nil {
			if _, ok := fields["memberships"]; !ok {
				fields["memberships"] = json.RawMessage(`[{"contactGroupMembership":{"contactGroupResourceName":"contactGroups/myContacts"}}]`)
			} else if msg := s.checkGroups(u, fields["memberships"]); msg != "" {
				err = fmt.Errorf("%s", msg)
			}
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("contacts[%d]: %v", i, err))
			continue
		}
		made = append(made, &person{fields: fields})
	}
	if len(bad) > 0 {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", strings.Join(bad, "; "))
		return
	}
	mask := personFieldNames
	if body.ReadMask != "" {
		mask = maskOrAll(body.ReadMask)
	}
	out := make([]map[string]any, len(made))
	for i, p := range made {
		p.name = fmt.Sprintf("people/c%d", 1000000000+s.seq*104729)
		s.touch(p)
		u.people[p.name] = p
		out[i] = map[string]any{"httpStatusCode": 200, "requestedResourceName": p.name}
		if body.ReadMask != "" {
			out[i]["person"] = p.view(mask)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"createdPeople": out})
}

// batchDeleteContacts deletes all the contacts named or none.
func (s *Server) batchDeleteContacts(w http.ResponseWriter, r *http.Request, u *user) {
	var body struct {
		ResourceNames []string `json:"resourceNames"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.ResourceNames) == 0 || len(body.ResourceNames) > MaxBatchDelete {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", fmt.Sprintf("resourceNames: between 1 and %d are allowed.", MaxBatchDelete))
		return
	}
	for _, n := range body.ResourceNames {
		if s.livePerson(u, strings.TrimPrefix(n, "people/")) == nil {
			rpcError(w, http.StatusNotFound, "NOT_FOUND", "", "Requested entity was not found.")
			return
		}
	}
	for _, n := range body.ResourceNames {
		p := u.people[n]
		p.deleted, p.fields = true, nil
		s.touch(p)
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
