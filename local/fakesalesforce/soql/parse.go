package soql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is a parse error; the local Salesforce reports it as MALFORMED_QUERY.
type Error struct {
	Pos int
	Msg string
}

// Error describes the problem and where it is.
func (e *Error) Error() string { return fmt.Sprintf("soql: at %d: %s", e.Pos, e.Msg) }

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tDate
	tDateTime
	tPunct
)

type token struct {
	kind tokKind
	text string // identifier, punctuation, number/date source, or raw string body
	pos  int
}

var (
	reDateTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})`)
	reDate     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)
	reNumber   = regexp.MustCompile(`^[+-]?\d+(\.\d+)?`)
)

func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			start := i
			i++
			var b strings.Builder
			closed := false
			for i < len(src) {
				if src[i] == '\\' && i+1 < len(src) {
					b.WriteByte(src[i])
					b.WriteByte(src[i+1])
					i += 2
					continue
				}
				if src[i] == '\'' {
					closed = true
					i++
					break
				}
				b.WriteByte(src[i])
				i++
			}
			if !closed {
				return nil, &Error{start, "unterminated string literal"}
			}
			toks = append(toks, token{tString, b.String(), start})
		case c >= '0' && c <= '9' || ((c == '-' || c == '+') && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9'):
			rest := src[i:]
			if m := reDateTime.FindString(rest); m != "" {
				toks = append(toks, token{tDateTime, m, i})
				i += len(m)
			} else if m := reDate.FindString(rest); m != "" {
				toks = append(toks, token{tDate, m, i})
				i += len(m)
			} else {
				m := reNumber.FindString(rest)
				toks = append(toks, token{tNumber, m, i})
				i += len(m)
			}
		case c == '_' || c < utf8.RuneSelf && unicode.IsLetter(rune(c)):
			start := i
			for i < len(src) && (src[i] == '_' || src[i] == '.' || src[i] < utf8.RuneSelf && (unicode.IsLetter(rune(src[i])) || unicode.IsDigit(rune(src[i])))) {
				i++
			}
			toks = append(toks, token{tIdent, src[start:i], start})
		default:
			for _, p := range []string{"!=", "<>", "<=", ">=", "=", "<", ">", "(", ")", ",", ":"} {
				if strings.HasPrefix(src[i:], p) {
					toks = append(toks, token{tPunct, p, i})
					i += len(p)
					goto next
				}
			}
			return nil, &Error{i, fmt.Sprintf("unexpected character %q", src[i])}
		next:
		}
	}
	toks = append(toks, token{tEOF, "", len(src)})
	return toks, nil
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) isKeyword(kw string) bool {
	t := p.peek()
	return t.kind == tIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) acceptKeyword(kw string) bool {
	if p.isKeyword(kw) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expectKeyword(kw string) error {
	if !p.acceptKeyword(kw) {
		return p.errorf("expected %s", kw)
	}
	return nil
}

func (p *parser) acceptPunct(s string) bool {
	t := p.peek()
	if t.kind == tPunct && t.text == s {
		p.i++
		return true
	}
	return false
}

func (p *parser) errorf(format string, args ...any) error {
	t := p.peek()
	found := t.text
	if t.kind == tEOF {
		found = "end of query"
	}
	return &Error{t.pos, fmt.Sprintf(format, args...) + fmt.Sprintf(" (unexpected token: %q)", found)}
}

var reserved = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "AND": true, "OR": true, "NOT": true, "IN": true,
	"LIKE": true, "NULL": true, "TRUE": true, "FALSE": true, "ORDER": true, "BY": true, "LIMIT": true,
	"OFFSET": true, "USING": true, "ASC": true, "DESC": true, "NULLS": true,
}

func (p *parser) ident(what string) (string, error) {
	t := p.peek()
	if t.kind != tIdent || reserved[strings.ToUpper(t.text)] {
		return "", p.errorf("expected %s", what)
	}
	if strings.HasPrefix(t.text, ".") || strings.HasSuffix(t.text, ".") || strings.Contains(t.text, "..") || strings.Count(t.text, ".") > 1 {
		return "", p.errorf("bad field path")
	}
	p.i++
	return t.text, nil
}

// Parse parses one SELECT statement.
func Parse(src string) (*Query, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	q := &Query{Limit: -1}
	if err := p.expectKeyword("SELECT"); err != nil {
		return nil, err
	}
	if p.isKeyword("COUNT") && p.toks[p.i+1].kind == tPunct && p.toks[p.i+1].text == "(" {
		p.i += 2
		if !p.acceptPunct(")") {
			return nil, p.errorf("only COUNT() is supported")
		}
		q.Count = true
	} else {
		for {
			f, err := p.ident("field name")
			if err != nil {
				return nil, err
			}
			q.Fields = append(q.Fields, f)
			if !p.acceptPunct(",") {
				break
			}
		}
	}
	if err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	if q.Object, err = p.ident("object name"); err != nil {
		return nil, err
	}
	if strings.Contains(q.Object, ".") {
		return nil, &Error{p.toks[p.i-1].pos, "bad object name"}
	}
	if p.acceptKeyword("USING") {
		if err := p.expectKeyword("SCOPE"); err != nil {
			return nil, err
		}
		s, err := p.ident("scope")
		if err != nil {
			return nil, err
		}
		q.Scope = strings.ToLower(s)
		if q.Scope != "mine" && q.Scope != "everything" {
			return nil, &Error{p.toks[p.i-1].pos, "unsupported scope " + s}
		}
	}
	if p.acceptKeyword("WHERE") {
		if q.Where, err = p.condition(); err != nil {
			return nil, err
		}
	}
	if p.acceptKeyword("ORDER") {
		if err := p.expectKeyword("BY"); err != nil {
			return nil, err
		}
		for {
			f, err := p.ident("field name")
			if err != nil {
				return nil, err
			}
			o := Order{Field: f}
			if p.acceptKeyword("DESC") {
				o.Desc = true
				o.NullsLast = true
			} else {
				p.acceptKeyword("ASC")
			}
			if p.acceptKeyword("NULLS") {
				switch {
				case p.acceptKeyword("FIRST"):
					o.NullsLast = false
				case p.acceptKeyword("LAST"):
					o.NullsLast = true
				default:
					return nil, p.errorf("expected FIRST or LAST")
				}
			}
			q.OrderBy = append(q.OrderBy, o)
			if !p.acceptPunct(",") {
				break
			}
		}
	}
	if p.acceptKeyword("LIMIT") {
		if q.Limit, err = p.count(); err != nil {
			return nil, err
		}
	}
	if p.acceptKeyword("OFFSET") {
		if q.Offset, err = p.count(); err != nil {
			return nil, err
		}
	}
	if p.peek().kind != tEOF {
		return nil, p.errorf("expected end of query")
	}
	return q, nil
}

func (p *parser) count() (int, error) {
	t := p.next()
	n, err := strconv.Atoi(t.text)
	if t.kind != tNumber || err != nil || n < 0 {
		p.i--
		return 0, p.errorf("expected a non-negative integer")
	}
	return n, nil
}

// condition parses terms joined by one operator: SOQL refuses to mix AND and
// OR without parentheses.
func (p *parser) condition() (Expr, error) {
	first, err := p.term()
	if err != nil {
		return nil, err
	}
	var op string
	terms := []Expr{first}
	for {
		var this string
		switch {
		case p.isKeyword("AND"):
			this = "AND"
		case p.isKeyword("OR"):
			this = "OR"
		default:
			if len(terms) == 1 {
				return first, nil
			}
			if op == "AND" {
				return &And{terms}, nil
			}
			return &Or{terms}, nil
		}
		if op != "" && op != this {
			return nil, p.errorf("mixing AND and OR needs parentheses")
		}
		op = this
		p.i++
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
}

func (p *parser) term() (Expr, error) {
	if p.acceptKeyword("NOT") {
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		return &Not{t}, nil
	}
	if p.acceptPunct("(") {
		e, err := p.condition()
		if err != nil {
			return nil, err
		}
		if !p.acceptPunct(")") {
			return nil, p.errorf("expected )")
		}
		return e, nil
	}
	field, err := p.ident("field name")
	if err != nil {
		return nil, err
	}
	switch {
	case p.acceptKeyword("IN"):
		return p.in(field, false)
	case p.isKeyword("NOT") && p.toks[p.i+1].kind == tIdent && strings.EqualFold(p.toks[p.i+1].text, "IN"):
		p.i += 2
		return p.in(field, true)
	case p.acceptKeyword("LIKE"):
		t := p.next()
		if t.kind != tString {
			p.i--
			return nil, p.errorf("LIKE needs a string")
		}
		s, err := unescape(t, true)
		if err != nil {
			return nil, err
		}
		return &Compare{Field: field, Op: "LIKE", Value: Value{Kind: String, Text: s}}, nil
	}
	t := p.peek()
	if t.kind != tPunct {
		return nil, p.errorf("expected an operator")
	}
	op := t.text
	switch op {
	case "=", "!=", "<", "<=", ">", ">=":
	case "<>":
		op = "!="
	default:
		return nil, p.errorf("expected an operator")
	}
	p.i++
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if v.Kind == Null && op != "=" && op != "!=" {
		return nil, p.errorf("null only compares with = or !=")
	}
	return &Compare{Field: field, Op: op, Value: v}, nil
}

func (p *parser) in(field string, not bool) (Expr, error) {
	if !p.acceptPunct("(") {
		return nil, p.errorf("expected (")
	}
	e := &In{Field: field, Not: not}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		e.Values = append(e.Values, v)
		if p.acceptPunct(")") {
			return e, nil
		}
		if !p.acceptPunct(",") {
			return nil, p.errorf("expected , or )")
		}
	}
}

var dateLiterals = map[string]bool{"TODAY": true, "YESTERDAY": true, "TOMORROW": true}
var dateNLiterals = map[string]bool{"LAST_N_DAYS": true, "NEXT_N_DAYS": true}

func (p *parser) value() (Value, error) {
	t := p.next()
	switch t.kind {
	case tString:
		s, err := unescape(t, false)
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: String, Text: s}, nil
	case tNumber:
		return Value{Kind: Number, Text: t.text}, nil
	case tDate:
		return Value{Kind: Date, Text: t.text}, nil
	case tDateTime:
		return Value{Kind: DateTime, Text: t.text}, nil
	case tIdent:
		up := strings.ToUpper(t.text)
		switch {
		case up == "NULL":
			return Value{Kind: Null, Text: "null"}, nil
		case up == "TRUE" || up == "FALSE":
			return Value{Kind: Bool, Text: strings.ToLower(up)}, nil
		case dateLiterals[up]:
			return Value{Kind: DateLiteral, Text: up}, nil
		case dateNLiterals[up]:
			if !p.acceptPunct(":") {
				return Value{}, p.errorf("expected :n after %s", up)
			}
			n, err := p.count()
			if err != nil {
				return Value{}, err
			}
			return Value{Kind: DateLiteral, Text: up, N: n}, nil
		}
	}
	p.i--
	return Value{}, p.errorf("expected a value")
}

// unescape resolves the escape sequences of a string literal. In a LIKE
// pattern, \%, \_ and \\ stay escaped so the matcher can tell a literal % or _
// from a wildcard.
func unescape(t token, like bool) (string, error) {
	s := t.text
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n', 'N':
			b.WriteByte('\n')
		case 'r', 'R':
			b.WriteByte('\r')
		case 't', 'T':
			b.WriteByte('\t')
		case 'b', 'B':
			b.WriteByte('\b')
		case 'f', 'F':
			b.WriteByte('\f')
		case '\'', '"':
			b.WriteByte(s[i])
		case '\\':
			if like {
				b.WriteString(`\\`)
			} else {
				b.WriteByte('\\')
			}
		case '%', '_':
			if !like {
				return "", &Error{t.pos + i, `\` + string(s[i]) + " is only valid in LIKE"}
			}
			b.WriteByte('\\')
			b.WriteByte(s[i])
		case 'u':
			if i+5 > len(s) {
				return "", &Error{t.pos + i, "bad unicode escape"}
			}
			n, err := strconv.ParseUint(s[i+1:i+5], 16, 32)
			if err != nil {
				return "", &Error{t.pos + i, "bad unicode escape"}
			}
			b.WriteRune(rune(n))
			i += 4
		default:
			return "", &Error{t.pos + i, fmt.Sprintf("invalid escape \\%c", s[i])}
		}
	}
	return b.String(), nil
}

// Like reports whether s matches a LIKE pattern (as returned in Compare.Value
// for LIKE): % matches any run, _ one character, a backslash escapes the next
// character; matching ignores case, as Salesforce does.
func Like(s, pattern string) bool {
	return like([]rune(strings.ToLower(s)), []rune(strings.ToLower(pattern)))
}

func like(s, p []rune) bool {
	for len(p) > 0 {
		switch p[0] {
		case '%':
			for i := 0; i <= len(s); i++ {
				if like(s[i:], p[1:]) {
					return true
				}
			}
			return false
		case '_':
			if len(s) == 0 {
				return false
			}
			s, p = s[1:], p[1:]
		case '\\':
			if len(p) < 2 || len(s) == 0 || s[0] != p[1] {
				return false
			}
			s, p = s[1:], p[2:]
		default:
			if len(s) == 0 || s[0] != p[0] {
				return false
			}
			s, p = s[1:], p[1:]
		}
	}
	return len(s) == 0
}
