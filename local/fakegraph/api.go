package fakegraph

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// wellKnown maps Outlook's well-known folder names to display names.
var wellKnown = map[string]string{
	"inbox": "Inbox", "sentitems": "Sent Items", "drafts": "Drafts", "deleteditems": "Deleted Items", "archive": "Archive",
}

// defaultContacts is the container of contacts created outside any folder.
const defaultContacts = "contacts"

// serveAPI answers one request on the v1.0 surface (also used for batch parts).
func (s *Server) serveAPI(who tokenInfo, method, rest string, v url.Values, h http.Header, body []byte, base, fullPath string) response {
	q, aerr := parseQuery(v, h)
	if aerr != nil {
		return fail(aerr)
	}
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	for i := range seg {
		seg[i], _ = url.PathUnescape(seg[i])
	}
	switch {
	case seg[0] == "me":
		if aerr := checkSelect(selectKind(seg[1:]), q.sel); aerr != nil {
			return fail(aerr)
		}
	case seg[0] == "users" && len(seg) > 1:
		if aerr := checkSelect(selectKind(seg[2:]), q.sel); aerr != nil {
			return fail(aerr)
		}
	}
	if seg[0] == "subscriptions" {
		return s.serveSubscriptions(who, method, seg[1:], body)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var m *mailbox
	switch {
	case seg[0] == "me" && who.mailbox != "":
		m, seg = s.mailboxes[who.mailbox], seg[1:]
	case seg[0] == "users" && len(seg) > 1:
		m = s.mailboxFor(seg[1])
		if m == nil {
			return fail(&apiError{status: 404, code: "ErrorInvalidUser", message: "The requested user is invalid."})
		}
		if who.mailbox != "" && who.mailbox != m.id {
			return fail(&apiError{status: 403, code: "ErrorAccessDenied", message: "Access is denied."})
		}
		seg = seg[2:]
	default:
		return fail(&apiError{status: 400, code: "BadRequest", message: "Resource not found for the segment '" + seg[0] + "'."})
	}
	c := &call{s: s, m: m, method: method, q: q, body: body, base: base, path: fullPath, values: v}
	return c.route(seg)
}

// call is one API request being answered, with the server lock held.
type call struct {
	s      *Server
	m      *mailbox
	method string
	q      query
	body   []byte
	base   string
	path   string
	values url.Values
}

func (c *call) route(seg []string) response {
	n := len(seg)
	at := func(i int, name string) bool { return n > i && strings.EqualFold(seg[i], name) }
	switch {
	case n == 0:
		if c.method != http.MethodGet {
			return c.notAllowed()
		}
		return ok(c.q.project(map[string]any{"id": c.m.id, "userPrincipalName": c.m.upn, "mail": c.m.upn, "displayName": c.m.name}))

	// Contacts.
	case at(0, "contactFolders") && n == 1:
		return c.collection(kContactFolder, "")
	case at(0, "contactFolders") && n == 2:
		return c.item(kContactFolder, seg[1], "")
	case at(0, "contactFolders") && at(2, "contacts") && n == 3:
		if c.folder(kContactFolder, seg[1]) == nil {
			return fail(notFound())
		}
		return c.collection(kContact, c.folder(kContactFolder, seg[1]).id)
	case at(0, "contactFolders") && at(2, "contacts") && at(3, "delta") && n == 4:
		f := c.folder(kContactFolder, seg[1])
		if f == nil {
			return fail(notFound())
		}
		return c.delta(kContact, f.id)
	case at(0, "contactFolders") && at(2, "contacts") && n == 4:
		return c.item(kContact, seg[3], "")
	case at(0, "contacts") && n == 1:
		return c.collection(kContact, defaultContacts)
	case at(0, "contacts") && at(1, "delta") && n == 2:
		return c.delta(kContact, defaultContacts)
	case at(0, "contacts") && n == 2:
		return c.item(kContact, seg[1], "")

	// Calendar.
	case at(0, "events") && n == 1:
		return c.collection(kEvent, c.m.calendar)
	case at(0, "events") && n == 2:
		return c.event(seg[1])
	case at(0, "events") && at(2, "instances") && n == 3:
		return c.instances(seg[1])
	case at(0, "calendarView") && n == 1:
		return c.calendarView(c.m.calendar)
	case at(0, "calendarView") && at(1, "delta") && n == 2:
		return c.delta(kEvent, c.m.calendar)
	case at(0, "calendars") && n == 1:
		return c.collection(kCalendar, "")
	case at(0, "calendar") && n == 1:
		return c.item(kCalendar, c.m.calendar, "")
	case at(0, "calendars") && n >= 2:
		cal := c.m.get(seg[1])
		if cal == nil || cal.deleted || cal.kind != kCalendar {
			return fail(notFound())
		}
		switch {
		case n == 2:
			return c.item(kCalendar, cal.id, "")
		case n == 3 && at(2, "events"):
			return c.collection(kEvent, cal.id)
		case n == 3 && at(2, "calendarView"):
			return c.calendarView(cal.id)
		case n == 4 && at(2, "calendarView") && at(3, "delta"):
			return c.delta(kEvent, cal.id)
		}

	// To Do.
	case at(0, "todo") && at(1, "lists") && n == 2:
		return c.collection(kTaskList, "")
	case at(0, "todo") && at(1, "lists") && n == 3:
		return c.item(kTaskList, seg[2], "")
	case at(0, "todo") && at(1, "lists") && at(3, "tasks"):
		l := c.folder(kTaskList, seg[2])
		if l == nil {
			return fail(notFound())
		}
		switch {
		case n == 4:
			return c.collection(kTask, l.id)
		case n == 5 && strings.EqualFold(seg[4], "delta"):
			return c.delta(kTask, l.id)
		case n == 5:
			return c.item(kTask, seg[4], l.id)
		case n == 6 && strings.EqualFold(seg[5], "linkedResources"):
			return c.linkedResources(seg[4], l.id)
		}

	// Mail.
	case at(0, "mailFolders") && n == 1:
		return c.collection(kMailFolder, "")
	case at(0, "mailFolders") && n == 2:
		f := c.folder(kMailFolder, seg[1])
		if f == nil {
			return fail(notFound())
		}
		return c.item(kMailFolder, f.id, "")
	case at(0, "mailFolders") && at(2, "messages"):
		f := c.folder(kMailFolder, seg[1])
		if f == nil {
			return fail(notFound())
		}
		switch {
		case n == 3:
			return c.collection(kMessage, f.id)
		case n == 4 && strings.EqualFold(seg[3], "delta"):
			return c.delta(kMessage, f.id)
		case n == 4:
			return c.item(kMessage, seg[3], f.id)
		}
	case at(0, "messages") && n == 1:
		return c.collection(kMessage, "")
	case at(0, "messages") && n == 2:
		return c.item(kMessage, seg[1], "")
	case at(0, "messages") && at(2, "move") && n == 3:
		return c.moveMessage(seg[1])
	case at(0, "messages") && at(2, "attachments") && n >= 3:
		return c.attachments(seg[1], seg[3:])

	// Directory memberships (roles.go).
	case (at(0, "memberOf") || at(0, "transitiveMemberOf")) && n <= 2:
		cast := ""
		if n == 2 {
			cast = seg[1]
		}
		return c.memberOf(cast)
	// Sending mail.
	case at(0, "sendMail") && n == 1:
		return c.sendMail()

	// Categories.
	case at(0, "outlook") && at(1, "masterCategories") && n == 2:
		return c.collection(kCategory, "")
	case at(0, "outlook") && at(1, "masterCategories") && n == 3:
		return c.item(kCategory, seg[2], "")
	}
	return fail(&apiError{status: 400, code: "BadRequest", message: "Resource not found for the segment '" + strings.Join(seg, "/") + "'."})
}

func (c *call) notAllowed() response {
	return fail(&apiError{status: 405, code: "ErrorInvalidRequest", message: "The OData request is not supported."})
}

func ok(v any) response { return response{status: http.StatusOK, body: v} }

// folder finds a contact folder, mail folder or To Do list by id or
// well-known name.
func (c *call) folder(kind, key string) *entry {
	if e := c.m.get(key); e != nil && e.kind == kind && !e.deleted {
		return e
	}
	if kind == kMailFolder {
		if name, ok := wellKnown[strings.ToLower(key)]; ok {
			for _, e := range c.m.list(kMailFolder, "") {
				if str(e.obj["displayName"]) == name {
					return e
				}
			}
		}
	}
	return nil
}

// collection lists or creates items of kind in container ("" = all
// containers when listing).
func (c *call) collection(kind, container string) response {
	switch c.method {
	case http.MethodGet:
		pred, aerr := compileFilter(c.q.filter)
		if aerr != nil {
			return fail(aerr)
		}
		var items []map[string]any
		for _, e := range c.m.list(kind, container) {
			if kind == kEvent && str(e.obj["type"]) == "exception" {
				continue // /events lists single events and series masters
			}
			if pred(e) {
				items = append(items, c.s.render(e, c.q))
			}
		}
		return c.page(items)
	case http.MethodPost:
		body, aerr := readBody(c.body)
		if aerr != nil {
			return fail(aerr)
		}
		if aerr := validate(kind, body); aerr != nil {
			return fail(aerr)
		}
		switch kind {
		case kCalendar:
			if str(body["name"]) == "" {
				return fail(badRequest("ErrorInvalidParameter", "name is required."))
			}
			for _, e := range c.m.list(kCalendar, "") {
				if strings.EqualFold(str(e.obj["name"]), str(body["name"])) {
					return fail(&apiError{status: 409, code: "ErrorFolderExists", message: "A folder with the specified name already exists."})
				}
			}
		case kContactFolder, kMailFolder, kTaskList, kCategory:
			name := str(body["displayName"])
			if name == "" {
				return fail(badRequest("ErrorInvalidParameter", "displayName is required."))
			}
			for _, e := range c.m.list(kind, "") {
				if strings.EqualFold(str(e.obj["displayName"]), name) {
					return fail(&apiError{status: 409, code: "ErrorFolderExists", message: "A folder with the specified name already exists."})
				}
			}
		case kEvent:
			if body["start"] == nil || body["end"] == nil {
				return fail(badRequest("ErrorInvalidRequest", "start and end are required."))
			}
		}
		var linked []map[string]any
		var atts []*attachment
		switch kind {
		case kTask:
			for _, l := range asSlice(body["linkedResources"]) {
				lm, _ := l.(map[string]any)
				lm["id"] = c.s.newID("lr")
				linked = append(linked, lm)
			}
			delete(body, "linkedResources")
		case kMessage:
			for _, a := range asSlice(body["attachments"]) {
				att, aerr := c.s.newAttachment(a)
				if aerr != nil {
					return fail(aerr)
				}
				atts = append(atts, att)
			}
			delete(body, "attachments")
		case kEvent:
			body["type"] = "singleInstance"
			if body["recurrence"] != nil {
				body["type"] = "seriesMaster"
			}
			c.s.organize(c.m, body)
		}
		if container == "" && kind == kMessage {
			container = c.folder(kMailFolder, "drafts").id
		}
		e := c.s.add(c.m, kind, container, body)
		e.linked, e.attachments = linked, atts
		c.s.notify(c.m, e, "created")
		if kind == kEvent {
			c.s.invite(c.m, e)
		}
		return response{status: http.StatusCreated, body: c.s.render(e, c.q)}
	}
	return c.notAllowed()
}

// page answers a plain collection with $skiptoken paging.
func (c *call) page(items []map[string]any) response {
	off := 0
	if t := c.values.Get("$skiptoken"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			return fail(badRequest("BadRequest", "Invalid $skiptoken."))
		}
		off = n
	}
	if c.q.top > 0 && c.values.Get("$skiptoken") == "" {
		items = items[:min(len(items), c.q.top)]
	}
	end := min(off+c.q.pageSize, len(items))
	out := map[string]any{"value": nonNil(items[min(off, len(items)):end])}
	if end < len(items) {
		v := url.Values{}
		for k, vs := range c.values {
			v[k] = vs
		}
		v.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end))))
		out["@odata.nextLink"] = c.base + strings.TrimPrefix(c.path, "/v1.0") + "?" + v.Encode()
	}
	return ok(out)
}

func nonNil(v []map[string]any) []map[string]any {
	if v == nil {
		return []map[string]any{}
	}
	return v
}

// item reads, updates or deletes one item; container "" accepts any.
func (c *call) item(kind, id, container string) response {
	e := c.m.get(id)
	if e == nil || e.deleted || e.kind != kind || container != "" && e.container != container {
		return fail(notFound())
	}
	switch c.method {
	case http.MethodGet:
		return ok(c.s.render(e, c.q))
	case http.MethodPatch:
		body, aerr := readBody(c.body)
		if aerr != nil {
			return fail(aerr)
		}
		if aerr := validate(kind, body); aerr != nil {
			return fail(aerr)
		}
		if kind == kTask {
			if _, ok := body["linkedResources"]; ok {
				return fail(badRequest("RequestBodyRead", "linkedResources cannot be updated through the task."))
			}
		}
		if kind == kEvent && body["recurrence"] != nil && str(e.obj["type"]) == "singleInstance" {
			e.obj["type"] = "seriesMaster"
		}
		if kind == kEvent && body["isOnlineMeeting"] == true && e.obj["onlineMeeting"] == nil {
			c.s.organize(c.m, body)
			delete(body, "isOrganizer")
			delete(body, "organizer")
			delete(body, "responseStatus")
		}
		merge(e.obj, body)
		if kind == kEvent {
			c.s.updateCopies(e, body)
		}
		props := make([]string, 0, len(body))
		for k := range body {
			props = append(props, k)
		}
		c.s.touchProps(c.m, e, props)
		c.s.notify(c.m, e, "updated")
		return ok(c.s.render(e, c.q))
	case http.MethodDelete:
		c.s.remove(c.m, e)
		if kind == kEvent {
			c.s.cancelCopies(e)
		}
		if kind == kEvent && str(e.obj["type"]) == "exception" {
			// Deleting an exception cancels that occurrence of the series.
			if master := c.m.get(str(e.obj["seriesMasterId"])); master != nil && !master.deleted {
				if master.cancelled == nil {
					master.cancelled = map[string]bool{}
				}
				master.cancelled[str(e.obj["originalStart"])] = true
				c.s.touch(c.m, master)
			}
		}
		if kind == kEvent && str(e.obj["type"]) == "seriesMaster" {
			for _, x := range c.m.list(kEvent, e.container) {
				if str(x.obj["seriesMasterId"]) == e.id {
					c.s.remove(c.m, x)
				}
			}
		}
		c.s.notify(c.m, e, "deleted")
		return response{status: http.StatusNoContent}
	}
	return c.notAllowed()
}

func (c *call) linkedResources(taskID, list string) response {
	e := c.m.get(taskID)
	if e == nil || e.deleted || e.kind != kTask || e.container != list {
		return fail(notFound())
	}
	switch c.method {
	case http.MethodGet:
		var out []map[string]any
		out = append(out, e.linked...)
		return ok(map[string]any{"value": nonNil(out)})
	case http.MethodPost:
		body, aerr := readBody(c.body)
		if aerr != nil {
			return fail(aerr)
		}
		for k := range body {
			if !slices.Contains([]string{"applicationName", "displayName", "externalId", "webUrl", "@odata.type"}, k) {
				return fail(badRequest("RequestBodyRead", "The property '"+k+"' does not exist on type 'microsoft.graph.linkedResource'."))
			}
		}
		body["id"] = c.s.newID("lr")
		e.linked = append(e.linked, body)
		c.s.touch(c.m, e)
		return response{status: http.StatusCreated, body: body}
	}
	return c.notAllowed()
}

func (c *call) moveMessage(id string) response {
	if c.method != http.MethodPost {
		return c.notAllowed()
	}
	e := c.m.get(id)
	if e == nil || e.deleted || e.kind != kMessage {
		return fail(notFound())
	}
	body, aerr := readBody(c.body)
	if aerr != nil {
		return fail(aerr)
	}
	f := c.folder(kMailFolder, str(body["destinationId"]))
	if f == nil {
		return fail(badRequest("ErrorInvalidIdMalformed", "destinationId is not a folder."))
	}
	c.s.notify(c.m, e, "deleted")
	c.s.move(c.m, e, f.id)
	c.s.notify(c.m, e, "created")
	return response{status: http.StatusCreated, body: c.s.render(e, c.q)}
}
