package fakesalesforce

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/local/fakesalesforce/soql"
)

// cursor holds the rest of a query result for nextRecordsUrl.
type cursor struct {
	rows  []*ordered
	total int
	batch int
}

// queryError is a whole-query failure (MALFORMED_QUERY, INVALID_FIELD…).
type queryError struct{ code, msg string }

func (e *queryError) Error() string { return e.code + ": " + e.msg }

// plan is a validated query ready to run.
type plan struct {
	q   *soql.Query
	obj *Object
}

func (s *Server) query(c *reqCtx, all bool) {
	q := c.r.URL.Query().Get("q")
	if q == "" {
		writeErrors(c.w, http.StatusBadRequest, apiError{"A query string has to be specified", "MALFORMED_QUERY", nil})
		return
	}
	s.mu.Lock()
	rows, total, err := s.runQuery(c, q, all)
	if err != nil {
		s.mu.Unlock()
		qe, _ := err.(*queryError)
		if qe == nil {
			qe = &queryError{"MALFORMED_QUERY", err.Error()}
		}
		writeErrors(c.w, http.StatusBadRequest, apiError{echoQuery(q, qe.msg), qe.code, nil})
		return
	}
	batch := s.batchSize(c.r)
	out := s.page(c, rows, total, batch)
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}

// quotedName finds the first quoted name in an error text ('Bogus__c').
var quotedName = regexp.MustCompile(`'([^']+)'`)

// echoQuery shapes a query error's message as a real org does: the query
// itself, filter values and all, a caret under the place it broke, the row
// and column, then the reason ("\nSELECT … WHERE Email = 'a@b.c'\n       ^\n
// ERROR at Row:1:Column:8\nNo such column …").
func echoQuery(q, msg string) string {
	col := 1
	if m := quotedName.FindStringSubmatch(msg); m != nil {
		if i := strings.Index(strings.ToLower(q), strings.ToLower(m[1])); i >= 0 {
			col = i + 1
		}
	}
	line := strings.ReplaceAll(q, "\n", " ")
	return fmt.Sprintf("\n%s\n%s^\nERROR at Row:1:Column:%d\n%s", line, strings.Repeat(" ", col-1), col, msg)
}

// batchSize honours Sforce-Query-Options: batchSize=N within 200..2000, then
// caps it at the server's MaxBatchSize: batches may be smaller than asked.
func (s *Server) batchSize(r *http.Request) int {
	n := 2000
	for _, opt := range strings.Split(r.Header.Get("Sforce-Query-Options"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(opt), "batchSize="); ok {
			if x, err := strconv.Atoi(v); err == nil {
				n = min(max(x, 200), 2000)
			}
		}
	}
	return min(n, s.opts.MaxBatchSize)
}

// page returns the first batch and parks the rest under a query locator; s.mu is held.
func (s *Server) page(c *reqCtx, rows []*ordered, total, batch int) *ordered {
	out := newOrdered()
	out.set("totalSize", total)
	if len(rows) <= batch {
		out.set("done", true)
		out.set("records", nonNil(rows))
		return out
	}
	s.nextCursor++
	loc := fmt.Sprintf("01g%s%06d-%d", s.orgID[3:8], s.nextCursor, batch)
	s.cursors[loc] = &cursor{rows: rows[batch:], total: total, batch: batch}
	out.set("done", false)
	out.set("nextRecordsUrl", c.dataPath()+"/query/"+loc)
	out.set("records", rows[:batch])
	return out
}

func nonNil(rows []*ordered) []*ordered {
	if rows == nil {
		return []*ordered{}
	}
	return rows
}

func (s *Server) queryMore(c *reqCtx, loc string) {
	s.mu.Lock()
	cur := s.cursors[loc]
	delete(s.cursors, loc)
	if cur == nil {
		s.mu.Unlock()
		writeErrors(c.w, http.StatusBadRequest, apiError{"invalid query locator", "INVALID_QUERY_LOCATOR", nil})
		return
	}
	out := s.page(c, cur.rows, cur.total, cur.batch)
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}

// runQuery parses, validates and runs a query as the request's user; s.mu is held.
func (s *Server) runQuery(c *reqCtx, src string, all bool) ([]*ordered, int, error) {
	p, err := s.prepare(src)
	if err != nil {
		return nil, 0, err
	}
	if setupObjects[p.obj.Name] && !s.setupAccess(c.user) {
		// Without setup access the object does not exist for the user.
		return nil, 0, &queryError{"INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.", p.obj.Name)}
	}
	recs := s.selectRecords(c.user, p, all)
	if p.q.Count {
		return nil, len(recs), nil
	}
	rows := make([]*ordered, len(recs))
	for i, r := range recs {
		rows[i] = s.project(c, r, p.q.Fields)
	}
	return rows, len(rows), nil
}

func (s *Server) prepare(src string) (*plan, error) {
	q, err := soql.Parse(src)
	if err != nil {
		return nil, &queryError{"MALFORMED_QUERY", err.Error()}
	}
	obj := s.object(q.Object)
	if obj == nil {
		return nil, &queryError{"INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.", q.Object)}
	}
	for i, f := range q.Fields {
		canon, _, err := s.resolve(obj, f)
		if err != nil {
			return nil, err
		}
		q.Fields[i] = canon
	}
	for i, o := range q.OrderBy {
		canon, _, err := s.resolve(obj, o.Field)
		if err != nil {
			return nil, err
		}
		q.OrderBy[i].Field = canon
	}
	if q.Where != nil {
		if err := s.checkExpr(obj, q.Where); err != nil {
			return nil, err
		}
	}
	return &plan{q: q, obj: obj}, nil
}

// resolve checks a field path against the schema and returns its canonical
// spelling and the final field.
func (s *Server) resolve(obj *Object, path string) (string, *Field, error) {
	rel, name, isRel := strings.Cut(path, ".")
	if !isRel {
		fd := obj.field(path)
		if fd == nil {
			return "", nil, noColumn(path, obj.Name)
		}
		return fd.Name, fd, nil
	}
	ref := obj.relationship(rel)
	if ref == nil {
		return "", nil, &queryError{"INVALID_FIELD", fmt.Sprintf("Didn't understand relationship '%s' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name.", rel)}
	}
	targets := ref.ReferenceTo
	for _, t := range targets {
		if to := s.object(t); to != nil {
			if fd := to.field(name); fd != nil {
				return ref.RelationshipName + "." + fd.Name, fd, nil
			}
		}
	}
	return "", nil, noColumn(path, obj.Name)
}

func noColumn(path, obj string) error {
	return &queryError{"INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.", path, obj)}
}

// checkExpr resolves field names in place and checks each literal's type
// against its field, as the real parser does.
func (s *Server) checkExpr(obj *Object, e soql.Expr) error {
	switch x := e.(type) {
	case *soql.And:
		for _, t := range x.Terms {
			if err := s.checkExpr(obj, t); err != nil {
				return err
			}
		}
	case *soql.Or:
		for _, t := range x.Terms {
			if err := s.checkExpr(obj, t); err != nil {
				return err
			}
		}
	case *soql.Not:
		return s.checkExpr(obj, x.Term)
	case *soql.Compare:
		canon, fd, err := s.resolve(obj, x.Field)
		if err != nil {
			return err
		}
		x.Field = canon
		if x.Op == "LIKE" && !isText(fd.Type) {
			return &queryError{"INVALID_QUERY_FILTER_OPERATOR", fmt.Sprintf("invalid operator on %s field: %s", fd.Type, fd.Name)}
		}
		return checkLiteral(fd, x.Value)
	case *soql.In:
		canon, fd, err := s.resolve(obj, x.Field)
		if err != nil {
			return err
		}
		x.Field = canon
		for _, v := range x.Values {
			if err := checkLiteral(fd, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func isText(t string) bool {
	switch t {
	case typeString, typeTextArea, typeEmail, typePhone, typeURL, typePicklist, typeMulti, typeCombobox, typeID, typeReference:
		return true
	}
	return false
}

func checkLiteral(fd *Field, v soql.Value) error {
	if v.Kind == soql.Null {
		return nil
	}
	ok := false
	switch fd.Type {
	case typeDate, typeDateTime:
		ok = v.Kind == soql.Date || v.Kind == soql.DateTime || v.Kind == soql.DateLiteral
	case typeBoolean:
		ok = v.Kind == soql.Bool
	case typeDouble, typeCurrency, typePercent, typeInt:
		ok = v.Kind == soql.Number
	default:
		ok = v.Kind == soql.String
	}
	if !ok {
		return &queryError{"INVALID_FIELD", fmt.Sprintf("value of filter criterion for field '%s' must be of type %s and should not be enclosed in quotes", fd.Name, fd.Type)}
	}
	return nil
}

// selectRecords filters, sorts and limits; s.mu is held.
func (s *Server) selectRecords(u *account, p *plan, all bool) []*record {
	now := s.now()
	var out []*record
	for _, r := range s.byObj[p.obj.Name] {
		if r.deleted && !all {
			continue
		}
		if !s.canSee(u, r) {
			continue
		}
		if p.q.Scope == "mine" && r.str("OwnerId") != u.id {
			continue
		}
		if p.q.Where != nil && !s.eval(r, p.q.Where, now) {
			continue
		}
		out = append(out, r)
	}
	if len(p.q.OrderBy) > 0 {
		sort.SliceStable(out, func(i, j int) bool {
			for _, o := range p.q.OrderBy {
				a, b := s.value(out[i], o.Field), s.value(out[j], o.Field)
				c := compareValues(a, b, o.NullsLast)
				if c == 0 {
					continue
				}
				if o.Desc && a != nil && b != nil {
					c = -c
				}
				return c < 0
			}
			return false
		})
	}
	if p.q.Offset > 0 {
		if p.q.Offset >= len(out) {
			return nil
		}
		out = out[p.q.Offset:]
	}
	if p.q.Limit >= 0 && len(out) > p.q.Limit {
		out = out[:p.q.Limit]
	}
	return out
}

// value returns a field's stored value, following one parent relationship.
func (s *Server) value(r *record, path string) any {
	rel, name, isRel := strings.Cut(path, ".")
	if !isRel {
		return r.f[path]
	}
	ref := r.obj.relationship(rel)
	if ref == nil {
		return nil
	}
	parent := s.records[r.str(ref.Name)]
	if parent == nil {
		return nil
	}
	if fd := parent.obj.field(name); fd != nil {
		return parent.f[fd.Name]
	}
	return nil
}

func compareValues(a, b any, nullsLast bool) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		if nullsLast {
			return 1
		}
		return -1
	case b == nil:
		if nullsLast {
			return -1
		}
		return 1
	}
	switch x := a.(type) {
	case string:
		return strings.Compare(strings.ToLower(x), strings.ToLower(fmt.Sprint(b)))
	case float64:
		y, _ := b.(float64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case bool:
		y, _ := b.(bool)
		if x == y {
			return 0
		}
		if !x {
			return -1
		}
		return 1
	case time.Time:
		y, _ := b.(time.Time)
		return x.Compare(y)
	}
	return 0
}

func (s *Server) eval(r *record, e soql.Expr, now time.Time) bool {
	switch x := e.(type) {
	case *soql.And:
		for _, t := range x.Terms {
			if !s.eval(r, t, now) {
				return false
			}
		}
		return true
	case *soql.Or:
		for _, t := range x.Terms {
			if s.eval(r, t, now) {
				return true
			}
		}
		return false
	case *soql.Not:
		return !s.eval(r, x.Term, now)
	case *soql.Compare:
		return match(s.value(r, x.Field), x.Op, x.Value, now)
	case *soql.In:
		v := s.value(r, x.Field)
		found := false
		for _, lit := range x.Values {
			if match(v, "=", lit, now) {
				found = true
				break
			}
		}
		return found != x.Not
	}
	return false
}

// match compares a stored value with a literal. A null field matches only
// "= null" and "!= value", as in SOQL.
func match(v any, op string, lit soql.Value, now time.Time) bool {
	if lit.Kind == soql.Null {
		return (op == "=") == (v == nil)
	}
	if v == nil {
		return op == "!="
	}
	if op == "LIKE" {
		s, ok := v.(string)
		return ok && soql.Like(s, lit.Text)
	}
	var c int
	switch x := v.(type) {
	case string:
		if lit.Kind == soql.Date || lit.Kind == soql.DateTime || lit.Kind == soql.DateLiteral {
			t, err := time.Parse("2006-01-02", x)
			if err != nil {
				return false
			}
			return inRange(t, op, lit, now)
		}
		if len(lit.Text) == 15 && len(x) == 18 && op == "=" || op == "!=" && len(lit.Text) == 15 && len(x) == 18 {
			return (x[:15] == lit.Text) == (op == "=")
		}
		c = strings.Compare(strings.ToLower(x), strings.ToLower(lit.Text))
	case time.Time:
		return inRange(x, op, lit, now)
	case float64:
		y, err := strconv.ParseFloat(lit.Text, 64)
		if err != nil {
			return false
		}
		c = compareValues(x, y, false)
	case bool:
		c = compareValues(x, lit.Text == "true", false)
	default:
		return false
	}
	switch op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

func inRange(t time.Time, op string, lit soql.Value, now time.Time) bool {
	lo, hi, err := lit.Range(now)
	if err != nil {
		return false
	}
	switch op {
	case "=":
		return !t.Before(lo) && t.Before(hi)
	case "!=":
		return t.Before(lo) || !t.Before(hi)
	case "<":
		return t.Before(lo)
	case "<=":
		return t.Before(hi)
	case ">":
		return !t.Before(hi)
	case ">=":
		return !t.Before(lo)
	}
	return false
}

// project renders the selected fields, nesting parent fields under the
// relationship name with their own attributes.
func (s *Server) project(c *reqCtx, r *record, fields []string) *ordered {
	o := newOrdered()
	o.set("attributes", c.attributes(r))
	for _, f := range fields {
		rel, name, isRel := strings.Cut(f, ".")
		if !isRel {
			o.set(f, wireValue(r.f[f]))
			continue
		}
		ref := r.obj.relationship(rel)
		parent := s.records[r.str(ref.Name)]
		if parent == nil {
			if _, ok := o.vals[rel]; !ok {
				o.set(rel, nil)
			}
			continue
		}
		nested, _ := o.vals[rel].(*ordered)
		if nested == nil {
			nested = newOrdered()
			nested.set("attributes", c.attributes(parent))
			o.set(rel, nested)
		}
		if fd := parent.obj.field(name); fd != nil {
			nested.set(fd.Name, wireValue(parent.f[fd.Name]))
		} else {
			nested.set(name, nil)
		}
	}
	return o
}
