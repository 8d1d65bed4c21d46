package fakesalesforce

import (
	"net/http"
	"strconv"
	"strings"
	"unicode"
)

// searchSpec is one object to search and how to return it.
type searchSpec struct {
	object, fields, where string
	limit                 int
}

func (s *Server) search(c *reqCtx) {
	q := c.r.URL.Query().Get("q")
	term, group, specs, limit, err := parseSOSL(q)
	if err != nil {
		writeErrors(c.w, http.StatusBadRequest, apiError{err.Error(), "MALFORMED_SEARCH", nil})
		return
	}
	s.runSearch(c, term, group, specs, limit)
}

type searchError string

func (e searchError) Error() string { return string(e) }

// parseSOSL reads FIND {term} [IN x FIELDS] [RETURNING Obj(fields [WHERE …]
// [LIMIT n]), …] [LIMIT n].
func parseSOSL(q string) (term, group string, specs []searchSpec, limit int, err error) {
	rest := strings.TrimSpace(q)
	if !strings.HasPrefix(strings.ToUpper(rest), "FIND") {
		return "", "", nil, 0, searchError("No search term found. The search term must be enclosed in braces.")
	}
	rest = strings.TrimSpace(rest[4:])
	if !strings.HasPrefix(rest, "{") {
		return "", "", nil, 0, searchError("No search term found. The search term must be enclosed in braces.")
	}
	var b strings.Builder
	i := 1
	closed := false
	for i < len(rest) {
		ch := rest[i]
		if ch == '\\' && i+1 < len(rest) {
			b.WriteByte(rest[i+1])
			i += 2
			continue
		}
		if ch == '}' {
			closed = true
			i++
			break
		}
		b.WriteByte(ch)
		i++
	}
	if !closed {
		return "", "", nil, 0, searchError("No search term found. The search term must be enclosed in braces.")
	}
	term = b.String()
	if len(strings.TrimSpace(strings.ReplaceAll(term, "*", ""))) < 2 {
		return "", "", nil, 0, searchError("search term must be longer than one character")
	}
	rest = strings.TrimSpace(rest[i:])
	group = "ALL"
	upper := strings.ToUpper(rest)
	if strings.HasPrefix(upper, "IN ") {
		f := strings.Fields(rest)
		if len(f) < 3 || !strings.EqualFold(f[2], "FIELDS") {
			return "", "", nil, 0, searchError("expected IN <group> FIELDS")
		}
		group = strings.ToUpper(f[1])
		rest = strings.TrimSpace(strings.Join(f[3:], " "))
		upper = strings.ToUpper(rest)
	}
	limit = 2000
	if strings.HasPrefix(upper, "RETURNING ") {
		rest = strings.TrimSpace(rest[len("RETURNING "):])
		for rest != "" {
			j := 0
			for j < len(rest) && (rest[j] == '_' || unicode.IsLetter(rune(rest[j])) || unicode.IsDigit(rune(rest[j]))) {
				j++
			}
			spec := searchSpec{object: rest[:j], limit: -1}
			rest = strings.TrimSpace(rest[j:])
			if strings.HasPrefix(rest, "(") {
				end := matchingParen(rest)
				if end < 0 {
					return "", "", nil, 0, searchError("unbalanced parentheses in RETURNING")
				}
				inner := rest[1:end]
				rest = strings.TrimSpace(rest[end+1:])
				fieldsPart := inner
				if k := indexWord(inner, "WHERE"); k >= 0 {
					fieldsPart = inner[:k]
					spec.where = strings.TrimSpace(inner[k+5:])
				}
				if k := indexWord(spec.where, "LIMIT"); k >= 0 {
					n, _ := strconv.Atoi(strings.TrimSpace(spec.where[k+5:]))
					spec.limit = n
					spec.where = strings.TrimSpace(spec.where[:k])
				} else if k := indexWord(fieldsPart, "LIMIT"); k >= 0 {
					n, _ := strconv.Atoi(strings.TrimSpace(fieldsPart[k+5:]))
					spec.limit = n
					fieldsPart = fieldsPart[:k]
				}
				spec.fields = strings.TrimSpace(fieldsPart)
			}
			specs = append(specs, spec)
			if strings.HasPrefix(rest, ",") {
				rest = strings.TrimSpace(rest[1:])
				continue
			}
			break
		}
	}
	if k := indexWord(rest, "LIMIT"); k >= 0 {
		limit, _ = strconv.Atoi(strings.TrimSpace(rest[k+5:]))
	} else if strings.TrimSpace(rest) != "" {
		return "", "", nil, 0, searchError("unexpected text after RETURNING: " + truncate(rest, 30))
	}
	return term, group, specs, limit, nil
}

func matchingParen(s string) int {
	depth, inStr := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && inStr:
			i++
		case s[i] == '\'':
			inStr = !inStr
		case !inStr && s[i] == '(':
			depth++
		case !inStr && s[i] == ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// indexWord finds a keyword outside string literals.
func indexWord(s, word string) int {
	inStr := false
	up := strings.ToUpper(s)
	for i := 0; i+len(word) <= len(s); i++ {
		if s[i] == '\\' && inStr {
			i++
			continue
		}
		if s[i] == '\'' {
			inStr = !inStr
			continue
		}
		if !inStr && up[i:i+len(word)] == word && (i == 0 || s[i-1] == ' ') && (i+len(word) == len(s) || s[i+len(word)] == ' ') {
			return i
		}
	}
	return -1
}

// runSearch finds records whose searched fields contain every word of term
// (a trailing * matches any ending), in the requested objects.
func (s *Server) runSearch(c *reqCtx, term, group string, specs []searchSpec, limit int) {
	if len(specs) == 0 {
		for _, name := range []string{"Account", "Contact", "Lead", "Opportunity", "Case"} {
			specs = append(specs, searchSpec{object: name, fields: "Id", limit: -1})
		}
	}
	words := strings.Fields(strings.ToLower(term))
	s.mu.Lock()
	out := []*ordered{}
	for _, spec := range specs {
		fields := spec.fields
		if fields == "" {
			fields = "Id"
		}
		src := "SELECT " + fields + " FROM " + spec.object
		if spec.where != "" {
			src += " WHERE " + spec.where
		}
		p, err := s.prepare(src)
		if err != nil {
			s.mu.Unlock()
			writeErrors(c.w, http.StatusBadRequest, apiError{err.Error(), "INVALID_FIELD", nil})
			return
		}
		n := 0
		for _, r := range s.selectRecords(c.user, p, false) {
			if spec.limit >= 0 && n >= spec.limit || len(out) >= limit {
				break
			}
			if matchesTerm(r, group, words) {
				out = append(out, s.project(c, r, p.q.Fields))
				n++
			}
		}
	}
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, map[string]any{"searchRecords": out})
}

func matchesTerm(r *record, group string, words []string) bool {
	var hay []string
	for _, fd := range r.obj.Fields {
		v, ok := r.f[fd.Name].(string)
		if !ok {
			continue
		}
		switch group {
		case "EMAIL":
			ok = fd.Type == typeEmail
		case "PHONE":
			ok = fd.Type == typePhone
		case "NAME":
			ok = fd.Name == "Name" || fd.Name == "FirstName" || fd.Name == "LastName"
		default:
			ok = isText(fd.Type) && fd.Type != typeID && fd.Type != typeReference
		}
		if ok {
			hay = append(hay, strings.ToLower(v))
		}
	}
	text := strings.Join(hay, " \x00 ")
	for _, w := range words {
		w = strings.Trim(w, "\"")
		w = strings.TrimSuffix(w, "*")
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

// parameterizedSearch answers GET ?q=…&sobject=Contact&Contact.fields=…
// and POST {"q","in","sobjects":[{"name","fields","limit"}],"overallLimit"}.
func (s *Server) parameterizedSearch(c *reqCtx) {
	var term, group string
	var specs []searchSpec
	limit := 2000
	if c.r.Method == http.MethodPost {
		var body struct {
			Q        string `json:"q"`
			In       string `json:"in"`
			Sobjects []struct {
				Name   string   `json:"name"`
				Fields []string `json:"fields"`
				Limit  int      `json:"limit"`
			} `json:"sobjects"`
			OverallLimit int `json:"overallLimit"`
		}
		if !decodeBody(c, &body) {
			return
		}
		term, group = body.Q, strings.ToUpper(body.In)
		for _, o := range body.Sobjects {
			l := o.Limit
			if l == 0 {
				l = -1
			}
			specs = append(specs, searchSpec{object: o.Name, fields: strings.Join(o.Fields, ","), limit: l})
		}
		if body.OverallLimit > 0 {
			limit = body.OverallLimit
		}
	} else {
		q := c.r.URL.Query()
		term, group = q.Get("q"), strings.ToUpper(q.Get("in"))
		for _, name := range q["sobject"] {
			l, err := strconv.Atoi(q.Get(name + ".limit"))
			if err != nil {
				l = -1
			}
			specs = append(specs, searchSpec{object: name, fields: q.Get(name + ".fields"), limit: l})
		}
		if n, err := strconv.Atoi(q.Get("overallLimit")); err == nil {
			limit = n
		}
	}
	if group == "" {
		group = "ALL"
	}
	if len(strings.TrimSpace(term)) < 2 {
		writeErrors(c.w, http.StatusBadRequest, apiError{"search term must be longer than one character", "INVALID_SEARCH", nil})
		return
	}
	s.runSearch(c, term, group, specs, limit)
}
