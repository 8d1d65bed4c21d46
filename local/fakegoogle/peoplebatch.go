package fakegoogle

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

const (
	// MaxBatchUpdate is the most contacts one batchUpdateContacts takes.
	MaxBatchUpdate = 200
	// MaxBatchGet is the most resource names one people:batchGet takes.
	MaxBatchGet = 200
)

// batchGetPeople is people.getBatchGet: up to 200 resourceNames, each
// answered in order with its person or its own status.
func (s *Server) batchGetPeople(w http.ResponseWriter, r *http.Request, u *user) {
	q := r.URL.Query()
	mask, err := parseMask(q.Get("personFields"))
	if err != nil {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", err.Error())
		return
	}
	names := q["resourceNames"]
	if len(names) == 0 || len(names) > MaxBatchGet {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", fmt.Sprintf("resourceNames: between 1 and %d resource names are allowed.", MaxBatchGet))
		return
	}
	out := make([]map[string]any, len(names))
	for i, n := range names {
		p := s.livePerson(u, strings.TrimPrefix(n, "people/"))
		if p == nil {
			out[i] = map[string]any{"requestedResourceName": n, "httpStatusCode": 404,
				"status": map[string]any{"code": 5, "message": "Requested entity was not found."}}
			continue
		}
		out[i] = map[string]any{"requestedResourceName": n, "httpStatusCode": 200, "person": p.view(mask), "status": map[string]any{}}
	}
	writeJSON(w, http.StatusOK, map[string]any{"responses": out})
}

// batchUpdateContacts is people.batchUpdateContacts: a map of resource
// names to persons (up to 200), each carrying its etag, updateMask fields
// replaced wholesale. The fake checks every contact first and writes all or
// none: a failure answers 400 with the per-contact errors
// (BatchUpdateContactsErrorDetails).
func (s *Server) batchUpdateContacts(w http.ResponseWriter, r *http.Request, u *user) {
	var body struct {
		Contacts   map[string]json.RawMessage `json:"contacts"`
		UpdateMask string                     `json:"updateMask"`
		ReadMask   string                     `json:"readMask"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "Invalid JSON payload received.")
		return
	}
	if len(body.Contacts) == 0 || len(body.Contacts) > MaxBatchUpdate {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", fmt.Sprintf("contacts: between 1 and %d contacts are allowed.", MaxBatchUpdate))
		return
	}
	mask, err := parseMask(body.UpdateMask)
	if err != nil || body.UpdateMask == "" || mask["metadata"] {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "updateMask is required. Please specify one or more valid paths.")
		return
	}
	type change struct {
		p      *person
		fields map[string]json.RawMessage
	}
	names := make([]string, 0, len(body.Contacts))
	for n := range body.Contacts {
		names = append(names, n)
	}
	sort.Strings(names)
	var changes []change
	var errs []map[string]any
	failed := ""
	for _, n := range names {
		req, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(string(body.Contacts[n])))
		fields, etag, _, err := personBody(req)
		p := s.livePerson(u, strings.TrimPrefix(n, "people/"))
		switch {
		case err != nil:
			failed = "INVALID_ARGUMENT"
			errs = append(errs, map[string]any{"code": 3, "message": n + ": " + err.Error()})
		case p == nil:
			failed = "NOT_FOUND"
			errs = append(errs, map[string]any{"code": 5, "message": n + ": Requested entity was not found."})
		case etag == "":
			failed = "INVALID_ARGUMENT"
			errs = append(errs, map[string]any{"code": 3, "message": n + ": Request must set person.etag or person.metadata.sources.etag for the source that is being updated."})
		case etag != p.etag:
			failed = "FAILED_PRECONDITION"
			errs = append(errs, map[string]any{"code": 9, "message": n + ": Request person.etag is different than the current person.etag. Clear local cache and get the latest person."})
		case mask["memberships"] && !hasGroupMembership(fields["memberships"]):
			failed = "INVALID_ARGUMENT"
			errs = append(errs, map[string]any{"code": 3, "message": n + ": Request must include a contact group membership."})
		default:
			if mask["memberships"] {
				if msg := s.checkGroups(u, fields["memberships"]); msg != "" {
					failed = "INVALID_ARGUMENT"
					errs = append(errs, map[string]any{"code": 3, "message": n + ": " + msg})
					continue
				}
			}
			changes = append(changes, change{p, fields})
		}
	}
	if failed != "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": 400, "status": failed,
			"message": "Some contacts could not be updated.", "details": []map[string]any{{
				"@type": "type.googleapis.com/google.apps.people.v1.BatchUpdateContactsErrorDetails", "errors": errs}}}})
		return
	}
	read := maskOrAll(body.ReadMask)
	result := map[string]any{}
	for _, c := range changes {
		for f := range mask {
			if v, ok := c.fields[f]; ok {
				c.p.fields[f] = v
			} else {
				delete(c.p.fields, f)
			}
		}
		s.touch(c.p)
		res := map[string]any{"httpStatusCode": 200, "requestedResourceName": c.p.name}
		if body.ReadMask != "" {
			res["person"] = c.p.view(read)
		}
		result[c.p.name] = res
	}
	writeJSON(w, http.StatusOK, map[string]any{"updateResult": result})
}
