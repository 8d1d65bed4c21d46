package item

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Normalize returns the canonical form of a field value, so that two values
// the sides would show alike compare equal (and fingerprint alike) even when
// their adapters spelled them differently: surrounding white space and CRLF
// line ends are dropped, e-mail addresses lower-cased, address lists sorted,
// instants put in UTC, booleans spelled "true"/"false". Adapters already
// produce these forms (see fields.go); Normalize makes the planner robust to a
// lapse. Values it cannot parse are only trimmed.
func Normalize(field, value string) string {
	if needsNoWork(value) {
		switch field {
		case Email, From, To, Cc, Attendees, AllDay, Start, End, Sent, OriginalStart, Recurrence, Cancelled:
		default:
			return value
		}
	}
	v := strings.TrimSpace(strings.ReplaceAll(value, "\r\n", "\n"))
	switch field {
	case Email, From:
		return strings.ToLower(v)
	case To, Cc, Attendees, Cancelled:
		return normalizeList(v)
	case AllDay:
		if b, err := strconv.ParseBool(v); err == nil {
			return strconv.FormatBool(b)
		}
	case Start, End, Sent, OriginalStart:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	case Recurrence:
		return normalizeRule(v)
	}
	return v
}

// ruleOrder is the order of an RRULE's parts in its canonical form.
var ruleOrder = []string{"FREQ", "INTERVAL", "BYMONTH", "BYMONTHDAY", "BYDAY", "BYSETPOS", "COUNT", "UNTIL", "WKST"}

// normalizeRule writes an RRULE value one way: no "RRULE:" prefix, names and
// values upper case, INTERVAL=1 spelled out, parts in ruleOrder (others
// after, sorted), so that "RRULE:FREQ=WEEKLY;BYDAY=WE;COUNT=3" (Salesforce)
// and "FREQ=WEEKLY;INTERVAL=1;BYDAY=WE;COUNT=3" (Graph) compare equal.
func normalizeRule(orig string) string {
	v := strings.TrimPrefix(strings.ToUpper(orig), "RRULE:")
	if v == "" {
		return v
	}
	parts := map[string]string{}
	for _, p := range strings.Split(v, ";") {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || k == "" {
			return orig // not a rule: leave it to the adapters to refuse
		}
		parts[k] = val
	}
	if _, ok := parts["INTERVAL"]; !ok {
		parts["INTERVAL"] = "1"
	}
	out := make([]string, 0, len(parts))
	for _, k := range ruleOrder {
		if val, ok := parts[k]; ok {
			out = append(out, k+"="+val)
			delete(parts, k)
		}
	}
	rest := make([]string, 0, len(parts))
	for k, val := range parts {
		rest = append(rest, k+"="+val)
	}
	slices.Sort(rest)
	return strings.Join(append(out, rest...), ";")
}

// needsNoWork reports whether value has no surrounding space and no CR, the
// common case that lets Normalize skip allocating.
func needsNoWork(value string) bool {
	if value == "" {
		return true
	}
	if isSpace(value[0]) || isSpace(value[len(value)-1]) {
		return false
	}
	return !strings.Contains(value, "\r")
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// normalizeList lower-cases, trims and sorts a comma-separated address list.
func normalizeList(v string) string {
	if v == "" {
		return v
	}
	parts := strings.Split(v, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}
