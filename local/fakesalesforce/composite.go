package fakesalesforce

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"regexp"
	"strconv"
	"strings"
)

// maxCollection is the sObject Collections record limit per call.
const maxCollection = 200

// txLog remembers changes so an allOrNone request can be rolled back.
type txLog struct {
	created []string
	before  map[string]*record // snapshot of updated/deleted records
	deletes int                // len(s.deletes) at the start
}

func (s *Server) begin() *txLog { return &txLog{before: map[string]*record{}, deletes: len(s.deletes)} }

// snapshot keeps a record's state before its first change in tx.
func (tx *txLog) snapshot(r *record) {
	if tx == nil || r == nil {
		return
	}
	if _, ok := tx.before[r.id]; ok {
		return
	}
	cp := *r
	cp.f = make(map[string]any, len(r.f))
	for k, v := range r.f {
		cp.f[k] = v
	}
	tx.before[r.id] = &cp
}

// rollback undoes tx; s.mu is held.
func (s *Server) rollback(tx *txLog) {
	for id, old := range tx.before {
		if r := s.records[id]; r != nil {
			*r = *old
		}
	}
	gone := map[string]bool{}
	for _, id := range tx.created {
		if r := s.records[id]; r != nil {
			gone[id] = true
			delete(s.records, id)
			delete(s.blobs, id)
		}
	}
	if len(gone) > 0 {
		for name, list := range s.byObj {
			kept := list[:0]
			for _, r := range list {
				if !gone[r.id] {
					kept = append(kept, r)
				}
			}
			s.byObj[name] = kept
		}
	}
	s.deletes = s.deletes[:tx.deletes]
}

// push makes tx record every change until pop; s.mu is held.
func (s *Server) push(tx *txLog) { s.txs = append(s.txs, tx) }

func (s *Server) pop() { s.txs = s.txs[:len(s.txs)-1] }

// saveResult is one collections result.
type saveResult struct {
	ID      *string `json:"id"`
	Success bool    `json:"success"`
	Errors  []any   `json:"errors"`
}

func okResult(id string) saveResult { return saveResult{ID: &id, Success: true, Errors: []any{}} }

func failResult(id string, err error) saveResult {
	j, _ := recordErr(err)
	var p *string
	if id != "" {
		p = &id
	}
	return saveResult{ID: p, Errors: []any{j}}
}

// lockFault consumes one UNABLE_TO_LOCK_ROW injection; s.mu is held.
func (s *Server) lockFault(id string) error {
	if s.lockRows <= 0 {
		return nil
	}
	s.lockRows--
	return errf("UNABLE_TO_LOCK_ROW", nil, "unable to obtain exclusive access to this record or 1 records: %s", id)
}

type collectionBody struct {
	AllOrNone bool             `json:"allOrNone"`
	Records   []map[string]any `json:"records"`
}

func (s *Server) collections(c *reqCtx, rest []string) {
	switch c.r.Method {
	case http.MethodPost, http.MethodPatch:
		var body collectionBody
		if !decodeBody(c, &body) {
			return
		}
		if len(body.Records) > maxCollection {
			writeErrors(c.w, http.StatusBadRequest, apiError{"record limit reached. cannot submit more than 200 records into this call", "EXCEEDED_ID_LIMIT", nil})
			return
		}
		if msg := s.unknownColumn(body); msg != "" {
			writeErrors(c.w, http.StatusBadRequest, apiError{msg, "INVALID_FIELD", nil})
			return
		}
		s.mu.Lock()
		results := s.writeCollection(c, body, c.r.Method == http.MethodPost)
		s.mu.Unlock()
		writeJSON(c.w, http.StatusOK, results)
	case http.MethodDelete:
		q := c.r.URL.Query()
		ids := splitIDs(q.Get("ids"))
		if len(ids) == 0 || len(ids) > maxCollection {
			writeErrors(c.w, http.StatusBadRequest, apiError{"ids must list 1 to 200 record ids", "INVALID_FIELD", nil})
			return
		}
		allOrNone := q.Get("allOrNone") == "true"
		s.mu.Lock()
		tx := s.begin()
		s.push(tx)
		results := make([]saveResult, len(ids))
		failed := false
		for i, id := range ids {
			err := s.lockFault(id)
			if err == nil {
				if r := s.lookupID(id); r != nil {
					id = r.id
				}
				err = s.remove(c.user, id, "")
			}
			if err != nil {
				results[i], failed = failResult(id, err), true
			} else {
				results[i] = okResult(id)
			}
		}
		s.pop()
		if allOrNone && failed {
			s.rollback(tx)
			rolledBack(results)
		}
		s.mu.Unlock()
		writeJSON(c.w, http.StatusOK, results)
	case http.MethodGet:
		if len(rest) != 1 {
			writeErrors(c.w, http.StatusBadRequest, apiError{"sObject type required", "INVALID_TYPE", nil})
			return
		}
		obj := s.object(rest[0])
		q := c.r.URL.Query()
		if obj == nil {
			writeErrors(c.w, http.StatusNotFound, apiError{"The requested resource does not exist", "NOT_FOUND", nil})
			return
		}
		var fields []string
		for _, f := range strings.Split(q.Get("fields"), ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			fd := obj.field(f)
			if fd == nil {
				writeErrors(c.w, http.StatusBadRequest, apiError{fmt.Sprintf("No such column '%s' on sobject of type %s", f, obj.Name), "INVALID_FIELD", nil})
				return
			}
			fields = append(fields, fd.Name)
		}
		if len(fields) == 0 {
			writeErrors(c.w, http.StatusBadRequest, apiError{"fields must be specified", "INVALID_FIELD", nil})
			return
		}
		s.mu.Lock()
		out := []any{}
		for _, id := range splitIDs(q.Get("ids")) {
			r := s.lookupID(id)
			if r == nil || r.deleted || r.obj != obj || !s.canSee(c.user, r) {
				out = append(out, nil)
				continue
			}
			out = append(out, c.render(r, fields))
		}
		s.mu.Unlock()
		writeJSON(c.w, http.StatusOK, out)
	default:
		writeErrors(c.w, http.StatusMethodNotAllowed, apiError{"HTTP Method not allowed", "METHOD_NOT_ALLOWED", nil})
	}
}

// unknownColumn names the first field a record's object lacks. Salesforce
// reads a collections body into sObjects before writing any, so such a field
// fails the whole call (400), not just its record.
func (s *Server) unknownColumn(body collectionBody) string {
	for _, rec := range body.Records {
		attrs, _ := rec["attributes"].(map[string]any)
		typ, _ := attrs["type"].(string)
		obj := s.object(typ)
		if obj == nil {
			continue // refused per record (INVALID_TYPE)
		}
		for name := range rec {
			if name != "attributes" && !strings.EqualFold(name, "id") && obj.field(name) == nil {
				return fmt.Sprintf("No such column '%s' on sobject of type %s", name, obj.Name)
			}
		}
	}
	return ""
}

func splitIDs(s string) []string {
	var out []string
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

func rolledBack(results []saveResult) {
	for i := range results {
		if results[i].Success {
			results[i] = saveResult{ID: nil, Errors: []any{errf("ALL_OR_NONE_OPERATION_ROLLED_BACK", nil, "Record rolled back because not all records were valid and the request was using AllOrNone header")}}
		}
	}
}

// writeCollection creates or updates records in order; s.mu is held.
func (s *Server) writeCollection(c *reqCtx, body collectionBody, create bool) []saveResult {
	tx := s.begin()
	s.push(tx)
	defer s.pop()
	results := make([]saveResult, len(body.Records))
	failed := false
	for i, rec := range body.Records {
		attrs, _ := rec["attributes"].(map[string]any)
		typ, _ := attrs["type"].(string)
		obj := s.object(typ)
		var id string
		var err error
		switch {
		case obj == nil:
			err = errf("INVALID_TYPE", nil, "Must send a concrete entity type.")
		case create:
			if err = s.lockFault(""); err == nil {
				id, err = s.insert(c.user, obj, rec, "")
			}
		default:
			id, _ = rec["id"].(string)
			if id == "" {
				id, _ = rec["Id"].(string)
			}
			fields := make(map[string]any, len(rec))
			for k, v := range rec {
				if k != "id" {
					fields[k] = v
				}
			}
			r := s.lookupID(id)
			switch {
			case id == "":
				err = errf("MISSING_ARGUMENT", []string{"id"}, "Id not specified in an update call")
			case r == nil || r.obj != obj:
				err = errf("INVALID_CROSS_REFERENCE_KEY", nil, "invalid cross reference id")
			default:
				id = r.id
				if err = s.lockFault(id); err == nil {
					err = s.update(c.user, id, fields, "")
				}
			}
		}
		if err != nil {
			failed = true
			if create {
				id = ""
			}
			results[i] = failResult(id, err)
			continue
		}
		results[i] = okResult(id)
	}
	if body.AllOrNone && failed {
		s.rollback(tx)
		rolledBack(results)
	}
	return results
}

// compositeRequest is the body of POST /composite.
type compositeRequest struct {
	AllOrNone          bool `json:"allOrNone"`
	CollateSubrequests bool `json:"collateSubrequests"`
	CompositeRequest   []struct {
		Method      string          `json:"method"`
		URL         string          `json:"url"`
		ReferenceID string          `json:"referenceId"`
		Body        json.RawMessage `json:"body"`
	} `json:"compositeRequest"`
}

type subResponse struct {
	Body           json.RawMessage   `json:"body"`
	HTTPHeaders    map[string]string `json:"httpHeaders"`
	HTTPStatusCode int               `json:"httpStatusCode"`
	ReferenceID    string            `json:"referenceId"`
}

var reference = regexp.MustCompile(`@\{([A-Za-z0-9_]+)\.([^}]+)\}`)

// composite runs up to 25 dependent subrequests; references like @{t1.id}
// resolve against earlier results. With allOrNone a failure rolls back
// everything and every subrequest reports PROCESSING_HALTED.
func (s *Server) composite(c *reqCtx) {
	var req compositeRequest
	if !decodeBody(c, &req) {
		return
	}
	if len(req.CompositeRequest) > 25 {
		writeErrors(c.w, http.StatusBadRequest, apiError{"Too many subrequests: the limit is 25", "INVALID_INPUT", nil})
		return
	}
	// One composite runs alone: its rollback must not undo anyone else's work.
	s.compositeMu.Lock()
	defer s.compositeMu.Unlock()
	s.mu.Lock()
	tx := s.begin()
	s.push(tx)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.pop()
		s.mu.Unlock()
	}()
	results := map[string]any{}
	out := make([]subResponse, 0, len(req.CompositeRequest))
	failed := false
	halted := func(ref, msg string) subResponse {
		b, _ := json.Marshal([]apiError{{msg, "PROCESSING_HALTED", nil}})
		return subResponse{Body: b, HTTPHeaders: map[string]string{}, HTTPStatusCode: http.StatusBadRequest, ReferenceID: ref}
	}
	for _, sub := range req.CompositeRequest {
		if failed && req.AllOrNone {
			out = append(out, halted(sub.ReferenceID, "The transaction was rolled back since another operation in the same transaction failed."))
			continue
		}
		url, err1 := substitute(sub.URL, results, false)
		body, err2 := substitute(string(sub.Body), results, true)
		if err1 != nil || err2 != nil {
			failed = true
			out = append(out, halted(sub.ReferenceID, "Invalid reference specified. No value found: "+firstErr(err1, err2).Error()))
			continue
		}
		rec := s.internal(c, sub.Method, url, body)
		resp := subResponse{Body: json.RawMessage(bytes.TrimSpace(rec.Body.Bytes())), HTTPHeaders: map[string]string{}, HTTPStatusCode: rec.Code, ReferenceID: sub.ReferenceID}
		if loc := rec.Header().Get("Location"); loc != "" {
			resp.HTTPHeaders["Location"] = loc
		}
		if len(resp.Body) == 0 {
			resp.Body = json.RawMessage("null")
		}
		if rec.Code >= 400 || hasFailedRecord(resp.Body) && req.AllOrNone {
			failed = true
		}
		var parsed any
		_ = json.Unmarshal(resp.Body, &parsed)
		results[sub.ReferenceID] = parsed
		out = append(out, resp)
	}
	if failed && req.AllOrNone {
		s.mu.Lock()
		s.rollback(tx)
		s.mu.Unlock()
		for i := range out {
			if out[i].HTTPStatusCode < 400 {
				out[i] = halted(out[i].ReferenceID, "The transaction was rolled back since another operation in the same transaction failed.")
			}
		}
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"compositeResponse": out})
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// hasFailedRecord reports whether a collections result holds a failed record.
func hasFailedRecord(body json.RawMessage) bool {
	var results []saveResult
	if json.Unmarshal(body, &results) != nil {
		return false
	}
	for _, r := range results {
		if !r.Success {
			return true
		}
	}
	return false
}

// substitute replaces @{ref.path} references with values from earlier results.
func substitute(s string, results map[string]any, inJSON bool) (string, error) {
	var firstErr error
	out := reference.ReplaceAllStringFunc(s, func(m string) string {
		parts := reference.FindStringSubmatch(m)
		v, ok := lookupPath(results[parts[1]], parts[2])
		if !ok {
			if firstErr == nil {
				firstErr = fmt.Errorf("%s", m)
			}
			return m
		}
		str := fmt.Sprint(v)
		if inJSON {
			b, _ := json.Marshal(str)
			return string(b[1 : len(b)-1])
		}
		return str
	})
	return out, firstErr
}

var pathPart = regexp.MustCompile(`^([A-Za-z0-9_]+)(?:\[(\d+)\])?$`)

func lookupPath(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		m := pathPart.FindStringSubmatch(part)
		if m == nil {
			return nil, false
		}
		obj, ok := v.(map[string]any)
		if ok {
			v, ok = obj[m[1]]
		} else if list, isList := v.([]any); isList && m[1] != "" {
			// collections results are arrays: "@{ref[0].id}" is written ref.0? accept index on the ref itself
			_ = list
			return nil, false
		}
		if !ok {
			return nil, false
		}
		if m[2] != "" {
			list, isList := v.([]any)
			i, _ := strconv.Atoi(m[2])
			if !isList || i >= len(list) {
				return nil, false
			}
			v = list[i]
		}
	}
	return v, v != nil
}

// internal runs a subrequest through the normal handlers with the caller's
// identity, without counting it as another API call.
func (s *Server) internal(c *reqCtx, method, url, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	path := url
	if i := strings.Index(path, "?"); i >= 0 {
		path = path[:i]
	}
	rest, ok := strings.CutPrefix(path, c.dataPath()+"/")
	if !ok {
		rest, ok = strings.CutPrefix(path, "v"+c.version+"/")
	}
	if !ok {
		writeErrors(rec, http.StatusNotFound, apiError{"The requested resource does not exist", "NOT_FOUND", nil})
		return rec
	}
	full := url
	if !strings.HasPrefix(full, "/services/data/") {
		full = "/services/data/" + url
	}
	// Subrequest URLs arrive as written, and real orgs accept raw spaces in
	// them ("v66.0/query?q=SELECT Id FROM Contact"): escape those, and answer
	// any URL that still does not parse with an error, never a panic.
	u, err := neturl.Parse(strings.ReplaceAll(full, " ", "%20"))
	if err != nil {
		writeErrors(rec, http.StatusBadRequest, apiError{"Unable to parse the subrequest URL", "INVALID_URL", nil})
		return rec
	}
	r, err := http.NewRequestWithContext(c.r.Context(), method, u.RequestURI(), strings.NewReader(body))
	if err != nil {
		writeErrors(rec, http.StatusBadRequest, apiError{"Unable to parse the subrequest URL", "INVALID_URL", nil})
		return rec
	}
	r.RemoteAddr, r.Host = c.r.RemoteAddr, c.r.Host
	r.Header.Set("Content-Type", "application/json")
	sub := &reqCtx{w: rec, r: r, user: c.user, version: c.version, base: c.base, internal: true}
	s.dispatch(sub, rest)
	return rec
}

// batch runs up to 25 independent subrequests (composite/batch).
func (s *Server) batch(c *reqCtx) {
	var req struct {
		HaltOnError   bool `json:"haltOnError"`
		BatchRequests []struct {
			Method    string          `json:"method"`
			URL       string          `json:"url"`
			RichInput json.RawMessage `json:"richInput"`
		} `json:"batchRequests"`
	}
	if !decodeBody(c, &req) {
		return
	}
	if len(req.BatchRequests) > 25 {
		writeErrors(c.w, http.StatusBadRequest, apiError{"Too many subrequests: the limit is 25", "INVALID_INPUT", nil})
		return
	}
	type result struct {
		StatusCode int             `json:"statusCode"`
		Result     json.RawMessage `json:"result"`
	}
	out := []result{}
	hasErrors, halted := false, false
	for _, sub := range req.BatchRequests {
		if halted {
			b, _ := json.Marshal([]apiError{{"The transaction was rolled back since another operation in the same transaction failed.", "BATCH_PROCESSING_HALTED", nil}})
			out = append(out, result{http.StatusPreconditionFailed, b})
			continue
		}
		rec := s.internal(c, sub.Method, sub.URL, string(sub.RichInput))
		body := json.RawMessage(bytes.TrimSpace(rec.Body.Bytes()))
		if len(body) == 0 {
			body = json.RawMessage("null")
		}
		if rec.Code >= 400 {
			hasErrors = true
			halted = req.HaltOnError
		}
		out = append(out, result{rec.Code, body})
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"hasErrors": hasErrors, "results": out})
}
