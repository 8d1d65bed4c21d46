package fakegraph

import (
	"slices"
	"sort"
	"strconv"
)

// A delta round is computed once, when its first page is asked for: which
// entries it reports and how (in full, lightweight, or as a tombstone). Its
// pages are then cut from that list and rendered alone, so a page costs its
// own entries, not the round's: a round of N items in pages of 50 used to
// render all N for every page (N²/50 renders), and benchmarks of crmsync past
// 10,000 mailbox items measured the fake instead. Entries are rendered in
// their state when their page is served, as before; one deleted or moved
// away after the round began is reported as a tombstone.

// roundItem is one entry of a round.
type roundItem struct {
	id string // immutable id
	// restID is the default id the entry had in the round's container (a
	// message moved elsewhere since has another).
	restID string
	// light lists the properties of a lightweight entry (nil = in full).
	light []string
	// rendered is the entry as computed with the round (calendarView rounds,
	// whose series expand into occurrences); nil for the others.
	rendered map[string]any
}

type deltaRound struct {
	items []roundItem
}

// roundCache holds a mailbox's recent rounds by key, the oldest evicted
// first. An evicted round is computed again; its pages stay right.
type roundCache struct {
	rounds map[string]*deltaRound
	order  []string
}

// maxRounds bounds the rounds a mailbox keeps (a session pages through a few
// containers at a time).
const maxRounds = 16

func (rc *roundCache) get(key string) *deltaRound { return rc.rounds[key] }

func (rc *roundCache) put(key string, r *deltaRound) {
	if rc.rounds == nil {
		rc.rounds = map[string]*deltaRound{}
	}
	if _, ok := rc.rounds[key]; !ok {
		rc.order = append(rc.order, key)
	}
	rc.rounds[key] = r
	for len(rc.order) > maxRounds {
		delete(rc.rounds, rc.order[0])
		rc.order = rc.order[1:]
	}
}

// roundKey names a round: its token without the page offset, and the id
// form asked for.
func roundKey(st deltaState, q query) string {
	st.Offset = 0
	return encodeState(st) + "|" + strconv.FormatBool(q.immutable)
}

// deltaPage renders the page of st's round at st.Offset and returns it with
// the round's length.
func (c *call) deltaPage(st deltaState, q query) ([]map[string]any, int) {
	key := roundKey(st, q)
	r := c.m.rounds.get(key)
	if r == nil || st.Offset == 0 {
		r = c.computeRound(st, q)
		c.m.rounds.put(key, r)
	}
	from := min(st.Offset, len(r.items))
	to := min(st.Offset+q.pageSize, len(r.items))
	out := make([]map[string]any, 0, to-from)
	for _, it := range r.items[from:to] {
		out = append(out, c.renderItem(st, q, it))
	}
	return out, len(r.items)
}

func tombstone(id string) map[string]any {
	return map[string]any{"id": id, "@removed": map[string]any{"reason": "deleted"}}
}

// renderItem renders one entry of a round in the entry's present state.
func (c *call) renderItem(st deltaState, q query, it roundItem) map[string]any {
	if it.rendered != nil {
		return it.rendered
	}
	e := c.m.entries[it.id]
	if e == nil || e.deleted || e.container != st.Container {
		if q.immutable {
			return tombstone(it.id)
		}
		return tombstone(it.restID)
	}
	if it.light != nil {
		return c.s.lightEntry(e, it.light, q)
	}
	return c.s.render(e, q)
}

// computeRound lists what st's round reports.
func (c *call) computeRound(st deltaState, q query) *deltaRound {
	r := &deltaRound{}
	if st.Kind == kEvent {
		for _, m := range c.eventDelta(st, q, tombstone) {
			r.items = append(r.items, roundItem{rendered: m})
		}
		return r
	}
	if st.Since == 0 {
		for _, e := range c.m.list(st.Kind, st.Container) {
			if e.seq <= st.Upto {
				r.items = append(r.items, roundItem{id: e.id, restID: e.restID})
			}
		}
		return r
	}
	// Ids touched in (Since, Upto] in this container, with the default id
	// they had there (a moved message's old id is gone elsewhere). The log
	// is in seq order: the round starts where Since ends.
	var order []string
	lastRest := map[string]string{}
	// light: the properties every change of the id in the round touched,
	// while each was a PATCH of lightweight properties only.
	light := map[string][]string{}
	first := sort.Search(len(c.m.log), func(i int) bool { return c.m.log[i].seq > st.Since })
	for _, ch := range c.m.log[first:] {
		if ch.seq > st.Upto {
			break
		}
		if ch.kind != st.Kind || ch.container != st.Container {
			continue
		}
		props, seen := light[ch.id]
		if _, ok := lastRest[ch.id]; !ok {
			order = append(order, ch.id)
		}
		lastRest[ch.id] = c.m.entries[ch.id].restID
		if (seen && props == nil) || !c.s.lightweight(ch) {
			light[ch.id] = nil
			continue
		}
		for _, p := range ch.props {
			if !slices.Contains(props, p) {
				props = append(props, p)
			}
		}
		light[ch.id] = props
	}
	for _, id := range order {
		r.items = append(r.items, roundItem{id: id, restID: lastRest[id], light: light[id]})
	}
	return r
}
