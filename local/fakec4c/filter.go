package fakec4c

import (
	"strings"
	"time"
)

// parseFilter compiles a $filter with what C4C allows (DEVGUIDE "Known
// Limitations" and "$filter"): comparisons eq ne gt ge lt le of a property
// with a literal, and/or and parentheses; or only across one property; no
// string, date or math functions but startswith and endswith (property
// first); only filterable properties (filtering on
// ETag fails since 1811, KBA 2789959).
func parseFilter(coll *collection, src string) (func(*entity) bool, *odataErr) {
	p := &filterParser{coll: coll, toks: tokenize(src)}
	fn, _, e := p.expr()
	if e != nil {
		return nil, e
	}
	if p.pos != len(p.toks) {
		return nil, errf(400, "", "Invalid $filter: unexpected '%s'", p.toks[p.pos])
	}
	return fn, nil
}

type filterParser struct {
	coll *collection
	toks []string
	pos  int
}

func tokenize(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, string(c))
			i++
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '(' && s[j] != ')' && s[j] != ',' {
				if s[j] == '\'' { // quoted literal, '' escapes a quote
					j++
					for j < len(s) {
						if s[j] == '\'' {
							if j+1 < len(s) && s[j+1] == '\'' {
								j += 2
								continue
							}
							break
						}
						j++
					}
				}
				j++
			}
			out = append(out, s[i:min(j, len(s))])
			i = j
		}
	}
	return out
}

func (p *filterParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *filterParser) expr() (func(*entity) bool, map[string]bool, *odataErr) {
	left, lp, e := p.term()
	if e != nil {
		return nil, nil, e
	}
	for {
		op := p.peek()
		if op != "and" && op != "or" {
			return left, lp, nil
		}
		p.pos++
		right, rp, e := p.term()
		if e != nil {
			return nil, nil, e
		}
		l, r := left, right
		props := map[string]bool{}
		for k := range lp {
			props[k] = true
		}
		for k := range rp {
			props[k] = true
		}
		if op == "or" {
			if len(props) > 1 {
				return nil, nil, errf(400, "", "Logical OR is only supported for the same property")
			}
			left = func(e *entity) bool { return l(e) || r(e) }
		} else {
			left = func(e *entity) bool { return l(e) && r(e) }
		}
		lp = props
	}
}

func (p *filterParser) term() (func(*entity) bool, map[string]bool, *odataErr) {
	if p.peek() == "(" {
		p.pos++
		fn, props, e := p.expr()
		if e != nil {
			return nil, nil, e
		}
		if p.peek() != ")" {
			return nil, nil, errf(400, "", "Invalid $filter: missing ')'")
		}
		p.pos++
		return fn, props, nil
	}
	name := p.toks[p.pos]
	if p.pos+1 < len(p.toks) && p.toks[p.pos+1] == "(" {
		return p.function(name)
	}
	if p.pos+2 >= len(p.toks) {
		return nil, nil, errf(400, "", "Invalid $filter near '%s'", name)
	}
	op, lit := p.toks[p.pos+1], p.toks[p.pos+2]
	p.pos += 3
	prop, ok := p.coll.props[name]
	if !ok {
		return nil, nil, errf(400, "", "Property '%s' is invalid", name)
	}
	if !prop.filterable {
		return nil, nil, errf(400, "", "Property '%s' is not filterable", name)
	}
	want, e := literal(prop, lit)
	if e != nil {
		return nil, nil, e
	}
	var test func(c int) bool
	switch op {
	case "eq":
		test = func(c int) bool { return c == 0 }
	case "ne":
		test = func(c int) bool { return c != 0 }
	case "gt":
		test = func(c int) bool { return c > 0 }
	case "ge":
		test = func(c int) bool { return c >= 0 }
	case "lt":
		test = func(c int) bool { return c < 0 }
	case "le":
		test = func(c int) bool { return c <= 0 }
	default:
		return nil, nil, errf(400, "", "Operator '%s' is not supported in $filter", op)
	}
	return func(e *entity) bool {
		v := value(e, name)
		if v == nil && prop.kind == date {
			return op == "ne"
		}
		if v == nil && prop.kind == str {
			v = ""
		}
		return test(compare(v, want))
	}, map[string]bool{name: true}, nil
}

func literal(prop prop, lit string) (any, *odataErr) {
	switch prop.kind {
	case date:
		for _, pre := range []string{"datetimeoffset'", "datetime'"} {
			if v, ok := strings.CutPrefix(lit, pre); ok && strings.HasSuffix(v, "'") {
				v = strings.TrimSuffix(v, "'")
				for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
					if t, err := time.Parse(layout, v); err == nil {
						return t.UTC(), nil
					}
				}
			}
		}
		return nil, errf(400, "", "Invalid date literal %s", lit)
	case boolean:
		if lit == "true" || lit == "false" {
			return lit == "true", nil
		}
		return nil, errf(400, "", "Invalid boolean literal %s", lit)
	}
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		return nil, errf(400, "", "Invalid string literal %s", lit)
	}
	return strings.ReplaceAll(lit[1:len(lit)-1], "''", "'"), nil
}

// function parses startswith(Prop,'x') and endswith(Prop,'x'), the only
// functions C4C's $filter documents; others are refused.
func (p *filterParser) function(name string) (func(*entity) bool, map[string]bool, *odataErr) {
	if name != "startswith" && name != "endswith" {
		return nil, nil, errf(400, "", "Function '%s' is not supported in $filter", name)
	}
	if p.pos+5 >= len(p.toks) || p.toks[p.pos+3] != "," || p.toks[p.pos+5] != ")" {
		return nil, nil, errf(400, "", "Invalid %s: the property name comes first, then a string", name)
	}
	prop, lit := p.toks[p.pos+2], p.toks[p.pos+4]
	p.pos += 6
	pr, ok := p.coll.props[prop]
	if !ok || pr.kind != str {
		return nil, nil, errf(400, "", "Property '%s' is invalid in %s", prop, name)
	}
	if !pr.filterable {
		return nil, nil, errf(400, "", "Property '%s' is not filterable", prop)
	}
	v, e := literal(pr, lit)
	if e != nil {
		return nil, nil, e
	}
	want := v.(string)
	test := strings.HasPrefix
	if name == "endswith" {
		test = strings.HasSuffix
	}
	return func(e *entity) bool {
		s, _ := value(e, prop).(string)
		return test(s, want)
	}, map[string]bool{prop: true}, nil
}
