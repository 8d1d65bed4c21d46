package fakegraph

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// deltaState is what a delta or skip token carries. Tokens are opaque to
// clients: they encode the original query, as Graph's do.
type deltaState struct {
	Mailbox   string `json:"m"`
	Kind      string `json:"k"`
	Container string `json:"c"`
	Since     int64  `json:"s"`
	Upto      int64  `json:"u"`
	Offset    int    `json:"o"`
	Gen       int    `json:"g"`
	Epoch     int    `json:"e,omitempty"`
	From      string `json:"f,omitempty"`
	To        string `json:"t,omitempty"`
	Select    string `json:"sel,omitempty"`
	Expand    string `json:"exp,omitempty"`
}

func encodeState(st deltaState) string {
	b, _ := json.Marshal(st)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeState(tok string) (deltaState, bool) {
	var st deltaState
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || json.Unmarshal(b, &st) != nil {
		return st, false
	}
	return st, true
}

func syncStateNotFound() *apiError {
	return &apiError{status: http.StatusGone, code: "SyncStateNotFound", message: "The sync state generation is not found; generation=0."}
}

// delta serves a delta round over kind in container.
func (c *call) delta(kind, container string) response {
	if c.method != http.MethodGet {
		return c.notAllowed()
	}
	tok := c.values.Get("$deltatoken")
	if tok == "" {
		tok = c.values.Get("$skiptoken")
	}
	var st deltaState
	if tok != "" {
		var good bool
		st, good = decodeState(tok)
		if !good || st.Mailbox != c.m.id || st.Kind != kind || st.Container != container || st.Epoch != c.m.epoch {
			return fail(badRequest("BadRequest", "The delta token is malformed."))
		}
		if st.Gen != c.m.gen {
			return fail(syncStateNotFound())
		}
		if c.values.Get("$deltatoken") != "" {
			// A new round from a deltaLink: changes up to now.
			st.Upto, st.Offset = c.m.seq, 0
		}
	} else {
		if kind == kEvent {
			for _, opt := range []string{"$select", "$expand", "$filter", "$orderby", "$search"} {
				if c.values.Has(opt) {
					return fail(badRequest("ErrorInvalidUrlQuery", "The following parameters are not supported with change tracking over the 'CalendarView' resource: '"+opt+"'."))
				}
			}
			from, to, aerr := c.window()
			if aerr != nil {
				return fail(aerr)
			}
			st.From, st.To = from.Format(time.RFC3339), to.Format(time.RFC3339)
		} else if c.values.Has("$filter") && kind != kMessage {
			return fail(badRequest("ErrorInvalidUrlQuery", "$filter is not supported on this delta."))
		}
		st = deltaState{Mailbox: c.m.id, Kind: kind, Container: container, Upto: c.m.seq, Gen: c.m.gen, Epoch: c.m.epoch,
			From: st.From, To: st.To, Select: c.values.Get("$select"), Expand: c.values.Get("$expand")}
	}
	// The token's query options apply, not the link's.
	v := url.Values{}
	if st.Select != "" {
		v.Set("$select", st.Select)
	}
	if st.Expand != "" {
		v.Set("$expand", st.Expand)
	}
	q, aerr := parseQuery(v, http.Header{})
	if aerr != nil {
		return fail(aerr)
	}
	q.immutable, q.pageSize = c.q.immutable, c.q.pageSize
	page, total := c.deltaPage(st, q)
	end := min(st.Offset+q.pageSize, total)
	base := c.base + strings.TrimPrefix(c.path, "/v1.0")
	out := map[string]any{"@odata.context": c.base + "/$metadata#Collection(" + kind + ")", "value": nonNil(page)}
	if end < total {
		next := st
		next.Offset = end
		out["@odata.nextLink"] = base + "?$skiptoken=" + encodeState(next)
	} else {
		next := st
		next.Since, next.Upto, next.Offset = st.Upto, 0, 0
		out["@odata.deltaLink"] = base + "?$deltatoken=" + encodeState(next)
	}
	h := http.Header{}
	if c.q.pageSize != defaultPageSize {
		h.Set("Preference-Applied", "odata.maxpagesize="+itoa(c.q.pageSize))
	}
	return response{status: http.StatusOK, body: out, header: h}
}

// lightweight reports whether a change is one a messages delta reports as a
// lightweight entry: a PATCH of read state or flag only (Graph returns just
// id, the changed property and parentFolderId, whatever $select asked for).
func (s *Server) lightweight(ch change) bool {
	if ch.kind != kMessage || len(ch.props) == 0 {
		return false
	}
	light := s.opts.LightweightProperties
	if light == nil {
		light = []string{"isRead", "flag"}
	}
	for _, p := range ch.props {
		if !slices.Contains(light, p) {
			return false
		}
	}
	return true
}

// lightEntry is the lightweight delta entry of a message whose props changed.
func (s *Server) lightEntry(e *entry, props []string, q query) map[string]any {
	out := map[string]any{"id": e.id, "parentFolderId": e.container}
	if !q.immutable {
		out["id"] = e.restID
	}
	for _, p := range props {
		if v, ok := e.obj[p]; ok {
			out[p] = v
		}
	}
	return out
}

// eventDelta reproduces calendarView delta as Exchange answers it: single
// events and exceptions in full (an exception without originalStart), each
// series master in full, and its occurrences as sparse entries (id, type,
// start, end, seriesMasterId); @removed also for changed events outside the
// window.
func (c *call) eventDelta(st deltaState, q query, tomb func(string) map[string]any) []map[string]any {
	from, _ := time.Parse(time.RFC3339, st.From)
	to, _ := time.Parse(time.RFC3339, st.To)
	var out []map[string]any
	emitted := map[string]bool{}
	emit := func(m map[string]any) {
		id := str(m["id"])
		if !emitted[id] {
			emitted[id] = true
			out = append(out, m)
		}
	}
	series := func(e *entry) {
		ins := c.s.expand(c.m, e, from, to, q)
		live := slices.ContainsFunc(ins, func(in instance) bool { return !in.removed })
		if e.deleted || !live {
			emit(tomb(e.id))
		} else {
			emit(c.s.render(e, q))
		}
		for _, in := range ins {
			switch {
			case e.deleted || in.removed:
				emit(tomb(in.id))
			case str(in.obj["type"]) == "occurrence":
				emit(sparse(in.obj))
			default:
				emit(deltaException(in.obj))
			}
		}
	}
	if st.Since == 0 {
		for _, e := range c.m.list(kEvent, st.Container) {
			switch str(e.obj["type"]) {
			case "seriesMaster":
				series(e)
			case "exception":
				// Reported with its master.
			default:
				if s, en := span(e); s.Before(to) && en.After(from) {
					emit(c.s.render(e, q))
				}
			}
		}
		return out
	}
	var order []string
	seen := map[string]bool{}
	for _, ch := range c.m.log {
		if ch.seq > st.Since && ch.seq <= st.Upto && ch.kind == kEvent && ch.container == st.Container && !seen[ch.id] {
			seen[ch.id] = true
			order = append(order, ch.id)
		}
	}
	for _, id := range order {
		e := c.m.entries[id]
		switch str(e.obj["type"]) {
		case "seriesMaster":
			series(e)
		default:
			b, en := span(e)
			switch {
			case e.deleted || !(b.Before(to) && en.After(from)):
				emit(tomb(e.id))
			case str(e.obj["type"]) == "exception":
				emit(deltaException(c.s.render(e, q)))
			default:
				emit(c.s.render(e, q))
			}
		}
	}
	return out
}

// sparse is an occurrence as a delta reports it: no subject, body or
// anything but what places it (docs issue #22197's recorded entry).
func sparse(o map[string]any) map[string]any {
	out := map[string]any{"@odata.type": "#microsoft.graph.event"}
	for _, k := range []string{"@odata.etag", "id", "seriesMasterId", "type", "start", "end"} {
		if v, ok := o[k]; ok {
			out[k] = v
		}
	}
	return out
}

// deltaException is an exception as a delta reports it: in full, but
// without originalStart (its occurrenceId still names the original date).
func deltaException(o map[string]any) map[string]any {
	delete(o, "originalStart")
	return o
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
