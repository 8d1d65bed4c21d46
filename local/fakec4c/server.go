package fakec4c

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// odataErr is an SAP OData error answer (SAP Gateway error format).
type odataErr struct {
	status    int
	code, msg string
}

func errf(status int, code, format string, a ...any) *odataErr {
	return &odataErr{status: status, code: code, msg: fmt.Sprintf(format, a...)}
}

func (e *odataErr) body() []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": e.code, "message": map[string]string{"lang": "en", "value": e.msg}}})
	return b
}

// reply is one answer of the service, written to the wire or into a $batch part.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func jsonReply(status int, v any) reply {
	b, _ := json.Marshal(v)
	return reply{status: status, header: http.Header{"Content-Type": {"application/json"}}, body: b}
}

func errReply(e *odataErr) reply {
	return reply{status: e.status, header: http.Header{"Content-Type": {"application/json"}}, body: e.body()}
}

const xsrfCookie = "sap-XSRF_FAK_100" // KBA 3339155's cookie name shape; clients must not rely on it

// ServeHTTP serves the OData API: Basic auth, CSRF, then one route table.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == TokenPath {
		write(w, s.token(r))
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="SAP NetWeaver Application Server"`)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	if !strings.HasPrefix(r.URL.Path, Root) && r.URL.Path+"/" != Root {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.EqualFold(r.Header.Get("x-csrf-token"), "fetch") {
		s.calls[csrfFetch]++
		tok, cookie := randToken(), randToken()
		s.tokens[cookie] = tok
		w.Header().Set("x-csrf-token", tok)
		http.SetCookie(w, &http.Cookie{Name: xsrfCookie, Value: cookie, Path: "/sap/c4c/odata", HttpOnly: true})
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !s.opts.NoCSRF {
		// KBA 3048103: "a simple compare of a XSRF header towards a XSRF
		// cookie"; without the cookie the token is from another session.
		c, err := r.Cookie(xsrfCookie)
		if err != nil || s.tokens[c.Value] == "" || s.tokens[c.Value] != r.Header.Get("x-csrf-token") {
			w.Header().Set("x-csrf-token", "Required")
			e := errf(http.StatusForbidden, "", "CSRF token validation failed")
			write(w, errReply(e))
			return
		}
	}
	path := strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(Root, "/"))
	path = strings.TrimPrefix(path, "/")
	if path == "$batch" && r.Method == http.MethodPost {
		s.calls["POST $batch"]++
		write(w, s.batch(r))
		return
	}
	body, err := readBody(r)
	if err != nil {
		write(w, errReply(errf(400, "", "%v", err)))
		return
	}
	write(w, s.do(r.Method, path, r.URL.Query(), r.Header, body, "http://"+r.Host+Root))
}

func write(w http.ResponseWriter, rep reply) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

func randToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// do runs one request against the store (lock held): the route table.
func (s *Server) do(method, path string, q url.Values, h http.Header, body []byte, base string) reply {
	if path == "$metadata" || isCodeList(path) {
		if method != http.MethodGet {
			return errReply(errf(405, "", "method not allowed"))
		}
		s.calls[method+" "+path]++
		if path == "$metadata" {
			return s.metadata()
		}
		return s.serveCodeList(path, q, base)
	}
	if path == "" {
		if method != http.MethodGet {
			return errReply(errf(405, "", "method not allowed"))
		}
		names := make([]string, 0, len(collections))
		for n := range collections {
			names = append(names, n)
		}
		sort.Strings(names)
		return jsonReply(200, map[string]any{"d": map[string]any{"EntitySets": names}})
	}
	if rep, ok := s.doChild(method, path, h, body, base); ok {
		return rep
	}
	coll, key, rest, e := parsePath(path)
	if e != nil {
		return errReply(e)
	}
	s.calls[method+" "+coll.name]++
	switch {
	case key == "" && rest == "$count" && method == http.MethodGet:
		rows, e := s.query(coll, q)
		if e != nil {
			return errReply(e)
		}
		return reply{status: 200, header: http.Header{"Content-Type": {"text/plain"}}, body: []byte(strconv.Itoa(len(rows)))}
	case key != "" && coll.navs[rest] != nil && method == http.MethodGet:
		ent, ok := s.data[coll.name][key]
		if !ok {
			return errReply(errf(404, "", "Resource not found for segment '%s('%s')'", coll.name, key))
		}
		var results []any
		for _, kid := range ent.children[rest] {
			results = append(results, s.render(coll.navs[rest], kid, base, nil))
		}
		return jsonReply(200, map[string]any{"d": map[string]any{"results": results}})
	case rest != "":
		return errReply(errf(404, "", "Resource not found for segment '%s'", rest))
	case key == "" && method == http.MethodGet:
		return s.list(coll, q, base)
	case key == "" && method == http.MethodPost:
		props, e := decodeProps(coll, body)
		if e != nil {
			return errReply(e)
		}
		ent, e := s.create(coll.name, props)
		if e != nil {
			return errReply(e)
		}
		rep := jsonReply(201, map[string]any{"d": s.render(coll, ent, base, nil)})
		rep.header.Set("location", base+coll.name+"('"+ent.id+"')")
		return rep
	case key != "" && method == http.MethodGet:
		ent, ok := s.data[coll.name][key]
		if !ok {
			return errReply(errf(404, "", "Resource not found for segment '%s('%s')'", coll.name, key))
		}
		d := s.render(coll, ent, base, selected(q))
		if e := s.expand(coll, ent, d, q, base); e != nil {
			return errReply(e)
		}
		rep := jsonReply(200, map[string]any{"d": d})
		rep.header.Set("etag", etag(ent.changed))
		return rep
	case key != "" && (method == http.MethodPatch || method == "MERGE" || method == http.MethodPut):
		props, e := decodeProps(coll, body)
		if e != nil {
			return errReply(e)
		}
		if e := s.patch(coll.name, key, props, h.Get("If-Match")); e != nil {
			return errReply(e)
		}
		return reply{status: 204, header: http.Header{}}
	case key != "" && method == http.MethodDelete:
		ent, ok := s.data[coll.name][key]
		if !ok {
			return errReply(errf(404, "", "Resource not found for segment '%s('%s')'", coll.name, key))
		}
		if m := h.Get("If-Match"); m != "" && m != "*" && m != etag(ent.changed) {
			return errReply(errf(412, "", "Entity has been modified; ETag mismatch"))
		}
		delete(s.data[coll.name], key) // no tombstone: C4C reports no deletions
		return reply{status: 204, header: http.Header{}}
	}
	return errReply(errf(405, "", "method %s not allowed on %s", method, path))
}

// parsePath splits "Coll('id')/rest".
func parsePath(path string) (*collection, string, string, *odataErr) {
	seg, rest, _ := strings.Cut(path, "/")
	name, key := seg, ""
	if i := strings.IndexByte(seg, '('); i >= 0 && strings.HasSuffix(seg, ")") {
		name, key = seg[:i], seg[i+1:len(seg)-1]
		if len(key) < 2 || key[0] != '\'' || key[len(key)-1] != '\'' {
			return nil, "", "", errf(400, "", "Invalid key predicate %s", key)
		}
		key = key[1 : len(key)-1]
	}
	coll, ok := collections[name]
	if !ok {
		return nil, "", "", errf(404, "", "Resource not found for segment '%s'", name)
	}
	return coll, key, rest, nil
}

// decodeProps reads a JSON write payload into typed properties.
func decodeProps(coll *collection, body []byte) (map[string]any, *odataErr) {
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, errf(400, "", "The request body is not valid JSON: %v", err)
	}
	out := map[string]any{}
	for k, v := range raw {
		if k == "__metadata" {
			continue
		}
		if nav, ok := coll.navs[k]; ok {
			kids, e := decodeChildren(nav, v)
			if e != nil {
				return nil, e
			}
			out[k] = kids
			continue
		}
		p, ok := coll.props[k]
		if !ok {
			return nil, errf(400, "", "Property '%s' is invalid", k)
		}
		if k == "ObjectID" || k == "ETag" {
			continue // DEVGUIDE: an ObjectID sent on POST is ignored; ETag is ignored on update
		}
		if p.readOnly {
			return nil, errf(400, "", "Property '%s' is not updatable", k)
		}
		switch p.kind {
		case date:
			sv, _ := v.(string)
			t, ok := parseJSONDate(sv)
			if v != nil && !ok {
				return nil, errf(400, "", "Invalid value for property '%s'", k)
			}
			if v == nil {
				out[k] = nil
			} else {
				out[k] = t
			}
		case boolean:
			b, ok := v.(bool)
			if !ok {
				return nil, errf(400, "", "Invalid value for property '%s'", k)
			}
			out[k] = b
		default:
			sv, ok := v.(string)
			if v != nil && !ok {
				return nil, errf(400, "", "Invalid value for property '%s'", k)
			}
			out[k] = sv
		}
	}
	return out, nil
}

// decodeChildren reads the entries of a deep insert (DEVGUIDE "Supported
// HTTP operations": Deep Insert).
func decodeChildren(nav *collection, v any) ([]map[string]any, *odataErr) {
	list, ok := v.([]any)
	if !ok {
		return nil, errf(400, "", "Navigation property '%s' needs a list of entries", nav.name)
	}
	var out []map[string]any
	for _, x := range list {
		b, _ := json.Marshal(x)
		kid, e := decodeProps(nav, b)
		if e != nil {
			return nil, e
		}
		out = append(out, kid)
	}
	return out, nil
}

// parseJSONDate reads "/Date(ms)/" (with an optional offset) or an ISO
// date-time, which C4C accepts on writes (DEVGUIDE $batch example).
func parseJSONDate(v string) (time.Time, bool) {
	if ms, ok := strings.CutPrefix(v, "/Date("); ok {
		ms, ok = strings.CutSuffix(ms, ")/")
		if i := strings.IndexAny(ms[1:], "+-"); i >= 0 {
			ms = ms[:i+1]
		}
		n, err := strconv.ParseInt(ms, 10, 64)
		if !ok || err != nil {
			return time.Time{}, false
		}
		return time.UnixMilli(n).UTC(), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func jsonDate(t time.Time) string { return "/Date(" + strconv.FormatInt(t.UnixMilli(), 10) + ")/" }

func (s *Server) create(name string, props map[string]any) (*entity, *odataErr) {
	coll := collections[name]
	for k, p := range coll.props {
		if v, ok := props[k]; p.required && (!ok || v == nil || v == "") {
			return nil, errf(400, "", "Property '%s' is mandatory", k)
		}
	}
	for k, v := range props {
		if e := s.checkCode(name, k, v); e != nil {
			return nil, e
		}
		if _, ok := coll.navs[k]; ok {
			for _, kid := range v.([]map[string]any) {
				for kp, kv := range kid {
					if e := s.checkCode(childSetOf(name, k), kp, kv); e != nil {
						return nil, e
					}
				}
			}
		}
	}
	if coll.parent != "" {
		if _, ok := s.data[coll.parent][props["ParentObjectID"].(string)]; !ok {
			return nil, errf(400, "", "Parent object %v does not exist", props["ParentObjectID"])
		}
	}
	s.seq++
	ent := &entity{id: newObjectID(), props: map[string]any{}, seq: s.seq}
	for k, v := range props {
		if nav, ok := coll.navs[k]; ok {
			for _, kid := range v.([]map[string]any) {
				for p, pr := range nav.props {
					if kv, ok := kid[p]; pr.required && (!ok || kv == nil || kv == "") {
						return nil, errf(400, "", "Property '%s' is mandatory", p)
					}
				}
				if id, _ := kid["PartyID"].(string); id != "" && !s.partyExists(id) {
					return nil, errf(400, "", "Party %s does not exist", id)
				}
				if ent.children == nil {
					ent.children = map[string][]*entity{}
				}
				c := &entity{id: newObjectID(), props: kid}
				c.props["ParentObjectID"] = ent.id
				s.fillChild(k, c)
				ent.children[k] = append(ent.children[k], c)
			}
			continue
		}
		ent.props[k] = v
	}
	ent.changed = s.stamp()
	ent.props["CreatedOn"] = ent.changed
	for _, kids := range ent.children {
		for _, c := range kids {
			c.changed = ent.changed
		}
	}
	switch name {
	case "ContactCollection":
		ent.props["ContactID"] = strconv.FormatInt(1000000+s.seq, 10)
	case "CorporateAccountCollection":
		ent.props["AccountID"] = strconv.FormatInt(1000000+s.seq, 10)
	case "EmployeeCollection":
		if ent.props["EmployeeID"] == nil || ent.props["EmployeeID"] == "" {
			ent.props["EmployeeID"] = strconv.FormatInt(s.seq, 10)
		}
		if ent.props["BusinessPartnerID"] == nil || ent.props["BusinessPartnerID"] == "" {
			ent.props["BusinessPartnerID"] = strconv.FormatInt(8000000000+s.seq, 10)
		}
	default:
		if _, ok := coll.props["ID"]; ok {
			ent.props["ID"] = strconv.FormatInt(s.seq, 10)
		}
	}
	s.data[name][ent.id] = ent
	return ent, nil
}

// partyExists says whether a business partner has id as its business ID
// (a contact's ContactID or an account's AccountID).
func (s *Server) partyExists(id string) bool {
	if _, _, ok := s.party(id); ok {
		return true
	}
	for _, coll := range []string{"ContactCollection", "CorporateAccountCollection"} {
		key := "ContactID"
		if coll == "CorporateAccountCollection" {
			key = "AccountID"
		}
		for _, e := range s.data[coll] {
			if e.props[key] == id {
				return true
			}
		}
	}
	return false
}

// patch changes the given properties; ifMatch, when set, must be the
// entity's current ETag byte for byte (DEVGUIDE "Optimistic Concurrency
// Control with ETag": 412 otherwise).
func (s *Server) patch(name, id string, props map[string]any, ifMatch string) *odataErr {
	old, ok := s.data[name][id]
	if !ok {
		return errf(404, "", "Resource not found for segment '%s('%s')'", name, id)
	}
	if ifMatch != "" && ifMatch != "*" && ifMatch != etag(old.changed) {
		return errf(412, "", "Entity has been modified; ETag mismatch")
	}
	coll := collections[name]
	ent := &entity{id: id, props: map[string]any{}, seq: old.seq, children: old.children}
	for k, v := range old.props {
		ent.props[k] = v
	}
	for k, v := range props {
		if coll.props[k].required && (v == nil || v == "") {
			return errf(400, "", "Property '%s' is mandatory", k)
		}
		if e := s.checkCode(name, k, v); e != nil {
			return e
		}
		ent.props[k] = v
	}
	ent.changed = s.stamp()
	s.data[name][id] = ent
	return nil
}

// render is an entity in the OData v2 JSON format: __metadata with uri,
// type and etag; dates as "/Date(ms)/" even for DateTimeOffset (DEVGUIDE).
func (s *Server) render(coll *collection, e *entity, base string, sel map[string]bool) map[string]any {
	out := map[string]any{"__metadata": map[string]any{"uri": base + coll.name + "('" + e.id + "')", "type": coll.typ, "etag": etag(e.changed)}}
	for k, p := range coll.props {
		if sel != nil && !sel[k] {
			continue
		}
		var v any
		switch k {
		case "ObjectID":
			v = e.id
		case "ETag", "EntityLastChangedOn":
			v = jsonDate(e.changed)
		default:
			v = e.props[k]
			switch p.kind {
			case date:
				if t, ok := v.(time.Time); ok {
					v = jsonDate(t)
				} else {
					v = nil
				}
			case boolean:
				if v == nil {
					v = false
				}
			default:
				if v == nil {
					v = ""
				}
				if v == "" && strings.HasSuffix(k, "Text") {
					v = s.codeText(coll, e, strings.TrimSuffix(k, "Text"))
				}
			}
		}
		out[k] = v
	}
	return out
}

func selected(q url.Values) map[string]bool {
	sel := q.Get("$select")
	if sel == "" {
		return nil
	}
	m := map[string]bool{}
	for _, p := range strings.Split(sel, ",") {
		m[strings.TrimSpace(p)] = true
	}
	return m
}

// query returns the rows of coll matching $filter in $orderby order.
func (s *Server) query(coll *collection, q url.Values) ([]*entity, *odataErr) {
	if st := s.nextErr[coll.name]; st != 0 {
		delete(s.nextErr, coll.name)
		return nil, errf(st, "", "Internal server error")
	}
	var match func(*entity) bool
	if fs := q.Get("$filter"); fs != "" {
		var e *odataErr
		if match, e = parseFilter(coll, fs); e != nil {
			return nil, e
		}
	}
	var rows []*entity
	for _, e := range s.data[coll.name] {
		if match == nil || match(e) {
			rows = append(rows, e)
		}
	}
	less := func(a, b *entity) bool { return a.seq < b.seq }
	if ob := q.Get("$orderby"); ob != "" {
		prop, dir, _ := strings.Cut(strings.TrimSpace(ob), " ")
		if _, ok := coll.props[prop]; !ok {
			return nil, errf(400, "", "Property '%s' is invalid in $orderby", prop)
		}
		desc := strings.TrimSpace(dir) == "desc"
		less = func(a, b *entity) bool {
			c := compare(value(a, prop), value(b, prop))
			if c == 0 {
				return a.seq < b.seq
			}
			return (c < 0) != desc
		}
	}
	sort.Slice(rows, func(i, j int) bool { return less(rows[i], rows[j]) })
	return rows, nil
}

// list answers a collection read with server paging at 1000 ($skiptoken,
// __next) or client paging ($top/$skip), and __count as a string.
func (s *Server) list(coll *collection, q url.Values, base string) reply {
	rows, e := s.query(coll, q)
	if e != nil {
		return errReply(e)
	}
	total := len(rows)
	skip, _ := strconv.Atoi(q.Get("$skip"))
	if tok := q.Get("$skiptoken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 1 {
			return errReply(errf(400, "", "Invalid $skiptoken '%s'", tok))
		}
		skip += n - 1
	}
	skip = min(max(skip, 0), len(rows))
	rows = rows[skip:]
	next := ""
	if top := q.Get("$top"); top != "" {
		n, err := strconv.Atoi(top)
		if err != nil || n < 0 {
			return errReply(errf(400, "", "Invalid $top '%s'", top))
		}
		rows = rows[:min(n, len(rows))]
	} else if len(rows) > PageSize {
		rows = rows[:PageSize]
		nq := url.Values{}
		for k, v := range q {
			if k != "$skiptoken" && k != "$skip" {
				nq[k] = v
			}
		}
		nq.Set("$skiptoken", strconv.Itoa(skip+PageSize+1))
		next = base + coll.name + "?" + strings.ReplaceAll(nq.Encode(), "%24", "$")
	}
	sel := selected(q)
	results := make([]any, len(rows))
	for i, r := range rows {
		d := s.render(coll, r, base, sel)
		if e := s.expand(coll, r, d, q, base); e != nil {
			return errReply(e)
		}
		results[i] = d
	}
	d := map[string]any{"results": results}
	if q.Get("$inlinecount") == "allpages" {
		d["__count"] = strconv.Itoa(total)
	}
	if next != "" {
		d["__next"] = next
	}
	return jsonReply(200, map[string]any{"d": d})
}

// value is a property's value for filtering and ordering.
func value(e *entity, prop string) any {
	switch prop {
	case "ObjectID":
		return e.id
	case "EntityLastChangedOn", "ETag":
		return e.changed
	}
	return e.props[prop]
}

func compare(a, b any) int {
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		if !ok {
			return 1
		}
		return x.Compare(y)
	case bool:
		y, _ := b.(bool)
		if x == y {
			return 0
		}
		if !x {
			return -1
		}
		return 1
	case string:
		y, _ := b.(string)
		return strings.Compare(x, y)
	case nil:
		if b == nil {
			return 0
		}
		if y, ok := b.(string); ok && y == "" {
			return 0
		}
		return -1
	}
	return 0
}

// authorized accepts the demo communication user (Basic) or an access
// token of the SAML bearer grant (Bearer).
func (s *Server) authorized(r *http.Request) bool {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		_, valid := s.bearerUser(tok)
		return valid
	}
	user, pass, ok := r.BasicAuth()
	return ok && user == DemoUser && pass == DemoPassword
}
