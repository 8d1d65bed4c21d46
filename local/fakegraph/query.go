package fakegraph

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// query holds the OData options and Prefer values of a request.
type query struct {
	immutable    bool
	pageSize     int
	top          int
	sel          []string
	expandProps  []string
	expandLinked bool
	filter       string
	rawSelect    string
	rawExpand    string
	// tz is the zone of Prefer: outlook.timezone ("" = UTC).
	tz string
}

var (
	reExpandProp = regexp.MustCompile(`(?i)^singleValueExtendedProperties\(\$filter=(id eq '(?:[^']|'')*'(?: or id eq '(?:[^']|'')*')*)\)$`)
	reExpandID   = regexp.MustCompile(`(?i)id eq '((?:[^']|'')*)'`)
	reMaxPage    = regexp.MustCompile(`(?i)odata\.maxpagesize=(\d+)`)
	reTimeZone   = regexp.MustCompile(`(?i)outlook\.timezone="([^"]*)"`)
)

func parseQuery(v url.Values, h http.Header) (query, *apiError) {
	q := query{pageSize: defaultPageSize}
	for _, p := range h.Values("Prefer") {
		if strings.Contains(strings.ReplaceAll(p, " ", ""), `IdType="ImmutableId"`) {
			q.immutable = true
		}
		if m := reTimeZone.FindStringSubmatch(p); m != nil {
			if _, err := zoneOf(m[1]); err == nil {
				q.tz = m[1]
			}
		}
		if m := reMaxPage.FindStringSubmatch(p); m != nil {
			n, _ := strconv.Atoi(m[1])
			if n > 0 {
				q.pageSize = min(n, 1000)
			}
		}
	}
	if t := v.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			return q, badRequest("BadRequest", "Invalid $top value.")
		}
		q.top = n
		q.pageSize = min(q.pageSize, n)
	}
	q.rawSelect, q.rawExpand = v.Get("$select"), v.Get("$expand")
	if q.rawSelect != "" {
		for _, f := range strings.Split(q.rawSelect, ",") {
			q.sel = append(q.sel, strings.TrimSpace(f))
		}
	}
	if e := q.rawExpand; e != "" {
		switch {
		case strings.EqualFold(e, "linkedResources"):
			q.expandLinked = true
		case reExpandProp.MatchString(e):
			// One id, or several joined with "or", as Graph allows.
			for _, m := range reExpandID.FindAllStringSubmatch(reExpandProp.FindStringSubmatch(e)[1], -1) {
				q.expandProps = append(q.expandProps, strings.ReplaceAll(m[1], "''", "'"))
			}
		default:
			return q, badRequest("BadRequest", "Parsing OData Select and Expand failed: unsupported $expand.")
		}
	}
	q.filter = v.Get("$filter")
	return q, nil
}

// project applies $select; the id and annotations always stay.
func (q query) project(out map[string]any) map[string]any {
	if len(q.sel) == 0 {
		return out
	}
	keep := map[string]any{}
	for k, v := range out {
		if k == "id" || strings.HasPrefix(k, "@") || slices.ContainsFunc(q.sel, func(s string) bool { return strings.EqualFold(s, k) }) ||
			k == "singleValueExtendedProperties" || k == "linkedResources" {
			keep[k] = v
		}
	}
	return keep
}

var (
	reEq       = regexp.MustCompile(`(?i)^(\w+) eq '((?:[^']|'')*)'$`)
	reCmpTime  = regexp.MustCompile(`(?i)^(lastModifiedDateTime|receivedDateTime|createdDateTime) (ge|gt|le|lt) (\S+)$`)
	reCategory = regexp.MustCompile(`(?i)^categories/any\((\w+):\s*(\w+) (\w+) '((?:[^']|'')*)'\)$`)
	reExtProp  = regexp.MustCompile(`(?i)^singleValueExtendedProperties/any\((\w+):\s*(\w+)/id eq '((?:[^']|'')*)' and (\w+)/value eq '((?:[^']|'')*)'\)$`)
)

// predicate is a compiled $filter.
type predicate func(e *entry) bool

// compileFilter supports the filters crmsync and Outlook clients use:
// displayName eq, categories/any(c:c eq …), instant comparisons, and
// singleValueExtendedProperties/Any(ep: ep/id eq … and ep/value eq …),
// joined with "and". Anything else fails as Graph does.
func compileFilter(f string) (predicate, *apiError) {
	if strings.TrimSpace(f) == "" {
		return func(*entry) bool { return true }, nil
	}
	invalid := func(why string) *apiError {
		return badRequest("ErrorInvalidUrlQueryFilter", "The $filter is not supported: "+why)
	}
	var preds []predicate
	for _, clause := range splitAnd(f) {
		clause = strings.TrimSpace(clause)
		switch {
		case reExtProp.MatchString(clause):
			m := reExtProp.FindStringSubmatch(clause)
			if m[2] != m[1] || m[4] != m[1] {
				return nil, invalid("lambda variable")
			}
			id, val := unq(m[3]), unq(m[5])
			preds = append(preds, func(e *entry) bool {
				for _, p := range asSlice(e.obj["singleValueExtendedProperties"]) {
					pm, _ := p.(map[string]any)
					if strings.EqualFold(str(pm["id"]), id) && str(pm["value"]) == val {
						return true
					}
				}
				return false
			})
		case reCategory.MatchString(clause):
			m := reCategory.FindStringSubmatch(clause)
			if m[2] != m[1] {
				return nil, invalid("lambda variable")
			}
			if !strings.EqualFold(m[3], "eq") {
				return nil, invalid("only eq is supported inside categories/any")
			}
			cat := unq(m[4])
			preds = append(preds, func(e *entry) bool {
				return slices.ContainsFunc(asSlice(e.obj["categories"]), func(c any) bool { return strings.EqualFold(str(c), cat) })
			})
		case reCmpTime.MatchString(clause):
			m := reCmpTime.FindStringSubmatch(clause)
			t, err := time.Parse(time.RFC3339Nano, m[3])
			if err != nil {
				return nil, invalid("bad instant " + m[3])
			}
			field, op := strings.ToLower(m[1]), strings.ToLower(m[2])
			preds = append(preds, func(e *entry) bool {
				var v time.Time
				switch field {
				case "lastmodifieddatetime":
					v = e.modified
				case "createddatetime":
					v = e.created
				default:
					v, _ = time.Parse(time.RFC3339Nano, str(e.obj["receivedDateTime"]))
				}
				switch op {
				case "ge":
					return !v.Before(t)
				case "gt":
					return v.After(t)
				case "le":
					return !v.After(t)
				default:
					return v.Before(t)
				}
			})
		case reEq.MatchString(clause):
			m := reEq.FindStringSubmatch(clause)
			field, val := m[1], unq(m[2])
			preds = append(preds, func(e *entry) bool { return strings.EqualFold(str(e.obj[field]), val) })
		default:
			return nil, invalid(clause)
		}
	}
	return func(e *entry) bool {
		for _, p := range preds {
			if !p(e) {
				return false
			}
		}
		return true
	}, nil
}

func unq(s string) string { return strings.ReplaceAll(s, "''", "'") }

// splitAnd splits on " and " outside parentheses and quotes.
func splitAnd(f string) []string {
	var out []string
	depth, inQ, start := 0, false, 0
	lower := strings.ToLower(f)
	for i := 0; i < len(f); i++ {
		switch c := f[i]; {
		case c == '\'':
			inQ = !inQ
		case inQ:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && strings.HasPrefix(lower[i:], " and "):
			out = append(out, f[start:i])
			start = i + 5
			i += 4
		}
	}
	return append(out, f[start:])
}

// readOnly lists, per kind, the properties Graph reports but does not let a
// client write; with allowed they make the properties $select may name.
var readOnly = map[string][]string{
	kContact: {"id", "changeKey", "createdDateTime", "lastModifiedDateTime", "parentFolderId", "fileAs", "initials",
		"title", "generation", "imAddresses", "birthday", "otherAddress", "children", "yomiGivenName", "yomiSurname", "yomiCompanyName"},
	kEvent: {"id", "changeKey", "createdDateTime", "lastModifiedDateTime", "type", "seriesMasterId", "originalStart",
		"originalStartTimeZone", "originalEndTimeZone", "organizer", "isOrganizer", "responseStatus", "isOnlineMeeting",
		"onlineMeeting", "onlineMeetingProvider", "onlineMeetingUrl", "isCancelled", "iCalUId", "webLink", "bodyPreview",
		"hasAttachments", "locations", "responseRequested", "allowNewTimeProposals", "transactionId", "hideAttendees", "occurrenceId"},
	kTask: {"id", "createdDateTime", "lastModifiedDateTime", "bodyLastModifiedDateTime", "hasAttachments", "recurrence"},
	kMessage: {"id", "changeKey", "createdDateTime", "lastModifiedDateTime", "parentFolderId", "hasAttachments",
		"internetMessageId", "internetMessageHeaders", "conversationId", "conversationIndex", "isDraft", "webLink",
		"bodyPreview", "uniqueBody", "sender", "replyTo", "flag", "isDeliveryReceiptRequested", "isReadReceiptRequested",
		"inferenceClassification"},
	kContactFolder: {"id", "parentFolderId"},
	kMailFolder:    {"id", "parentFolderId", "childFolderCount", "unreadItemCount", "totalItemCount", "isHidden"},
	kTaskList:      {"id", "isOwner", "isShared", "wellknownListName"},
	kCategory:      {"id"},
	kCalendar: {"id", "name", "color", "hexColor", "isDefaultCalendar", "changeKey", "canShare", "canViewPrivateItems",
		"canEdit", "owner", "allowedOnlineMeetingProviders", "defaultOnlineMeetingProvider", "isTallyingResponses", "isRemovable"},
	kUser: {"id", "mail", "userPrincipalName", "displayName", "givenName", "surname", "jobTitle", "mailboxSettings"},
}

// selectKind says which type a request's $select applies to, from its path
// ("" = a resource whose $select the fake does not check).
func selectKind(seg []string) string {
	if len(seg) == 0 {
		return kUser
	}
	last := ""
	for _, s := range seg {
		switch strings.ToLower(s) {
		case "messages":
			last = kMessage
		case "contacts":
			last = kContact
		case "events", "calendarview", "instances":
			last = kEvent
		case "tasks":
			last = kTask
		case "contactfolders":
			last = kContactFolder
		case "mailfolders":
			last = kMailFolder
		case "lists":
			last = kTaskList
		case "mastercategories":
			last = kCategory
		case "calendars":
			last = kCalendar
		case "attachments", "linkedresources", "subscriptions":
			last = ""
		}
	}
	return last
}

// checkSelect answers a $select naming a property the type lacks as Graph
// does: 400 RequestBroker--ParseUri.
func checkSelect(kind string, sel []string) *apiError {
	if kind == "" {
		return nil
	}
	for _, p := range sel {
		if p == "" || strings.EqualFold(p, "id") {
			continue
		}
		known := func(list []string) bool {
			return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, p) })
		}
		if !known(allowed[kind]) && !known(readOnly[kind]) {
			return badRequest("RequestBroker--ParseUri", "Could not find a property named '"+p+"' on type 'microsoft.graph."+kind+"'.")
		}
	}
	return nil
}
