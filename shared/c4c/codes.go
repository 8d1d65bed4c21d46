package c4c

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// Code lists. C4C keeps the valid values of a coded property (a task's
// Status, PriorityCode) in a code list entity set the property names in
// $metadata with the annotation c4c:value-help (namespace
// http://www.sap.com/Protocols/C4CData); the set's entries are Code and
// Description. Tenants configure their own codes, so crmsync reads them and
// maps its canonical values (item.Status, item.Priority) to codes by their
// meaning, the description, never by a fixed table.

// Metadata is the service's $metadata as the connector reads it, once per
// connection (CodeCache): the entity sets with SAP's capabilities, their
// entity types' properties (type, Nullable, sap:creatable/updatable/label,
// c4c:value-help), which both the sync (code lists) and the add-in's
// Describe use.
type Metadata struct {
	// ValueHelp maps entity set → property → code list entity set.
	ValueHelp map[string]map[string]string
	sets      map[string]edmxSet
	types     map[string][]edmxProp // "ns.Type" → properties
}

// edmx is the part of an OData v2 EDMX document the connector reads, with
// SAP's annotations (http://www.sap.com/Protocols/SAPData) and C4C's
// (http://www.sap.com/Protocols/C4CData).
type edmx struct {
	Schemas []struct {
		Namespace string `xml:"Namespace,attr"`
		Types     []struct {
			Name  string     `xml:"Name,attr"`
			Props []edmxProp `xml:"Property"`
		} `xml:"EntityType"`
		Containers []struct {
			Sets []edmxSet `xml:"EntitySet"`
		} `xml:"EntityContainer"`
	} `xml:"DataServices>Schema"`
}

type edmxProp struct {
	Name      string `xml:"Name,attr"`
	Type      string `xml:"Type,attr"`
	Nullable  string `xml:"Nullable,attr"`
	MaxLength string `xml:"MaxLength,attr"`
	Label     string `xml:"http://www.sap.com/Protocols/SAPData label,attr"`
	Creatable string `xml:"http://www.sap.com/Protocols/SAPData creatable,attr"`
	Updatable string `xml:"http://www.sap.com/Protocols/SAPData updatable,attr"`
	ValueHelp string `xml:"http://www.sap.com/Protocols/C4CData value-help,attr"`
}

type edmxSet struct {
	Name       string `xml:"Name,attr"`
	EntityType string `xml:"EntityType,attr"`
	Creatable  string `xml:"http://www.sap.com/Protocols/SAPData creatable,attr"`
	Updatable  string `xml:"http://www.sap.com/Protocols/SAPData updatable,attr"`
}

// set returns the entity set name.
func (m *Metadata) set(name string) (edmxSet, bool) {
	s, ok := m.sets[name]
	return s, ok
}

// props returns the properties of an entity set's type.
func (m *Metadata) props(set edmxSet) []edmxProp { return m.types[set.EntityType] }

// Metadata reads the service's $metadata (one call; XML, the only format
// OData v2 serves it in).
func (c *Client) Metadata(ctx context.Context) (*Metadata, error) {
	resp, b, err := c.send(ctx, http.MethodGet, c.root+"$metadata", http.Header{"Accept": {"application/xml"}}, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, classify(resp.StatusCode, resp.Header, b)
	}
	return parseMetadata(b)
}

func parseMetadata(b []byte) (*Metadata, error) {
	var doc edmx
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fault.Wrap(fault.Temporary, fmt.Errorf("c4c: reading $metadata: %w", err))
	}
	md := &Metadata{ValueHelp: map[string]map[string]string{}, sets: map[string]edmxSet{}, types: map[string][]edmxProp{}}
	for _, s := range doc.Schemas {
		for _, t := range s.Types {
			md.types[s.Namespace+"."+t.Name] = t.Props
		}
	}
	for _, s := range doc.Schemas {
		for _, ct := range s.Containers {
			for _, set := range ct.Sets {
				md.sets[set.Name] = set
				for _, p := range md.types[set.EntityType] {
					if p.ValueHelp == "" {
						continue
					}
					if md.ValueHelp[set.Name] == nil {
						md.ValueHelp[set.Name] = map[string]string{}
					}
					md.ValueHelp[set.Name][p.Name] = p.ValueHelp
				}
			}
		}
	}
	return md, nil
}

// Code is one entry of a code list.
type Code struct {
	Code        string `json:"Code"`
	Description string `json:"Description"`
}

// meanings are, per canonical value, the descriptions (lower case, in
// order of preference) a tenant's code may carry for it. The first
// description found decides the code written; every one listed reads back
// as the value. Descriptions are in the communication user's logon
// language, English for the usual integration user.
var meanings = map[fkind][]struct {
	name  string
	descs []string
}{
	status: {
		{"NotStarted", []string{"not started", "open", "new"}},
		{"InProgress", []string{"in process", "in progress", "started"}},
		{"Completed", []string{"completed", "done", "finished", "closed"}},
		{"Waiting", []string{"waiting", "waiting on someone else", "on hold"}},
		{"Deferred", []string{"deferred", "postponed"}},
	},
	priority: {
		{"High", []string{"high", "urgent", "immediate"}},
		{"Normal", []string{"normal", "medium"}},
		{"Low", []string{"low"}},
	},
}

func normDesc(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

// codeMap is one property's mapping between canonical values and codes.
type codeMap struct {
	list   string            // the code list entity set, for messages
	toName map[string]string // code → canonical value
	toCode map[string]string // canonical value → code
	descs  []string          // the list's descriptions, for messages
}

func newCodeMap(list string, kind fkind, codes []Code) codeMap {
	m := codeMap{list: list, toName: map[string]string{}, toCode: map[string]string{}}
	byDesc := map[string]string{}
	for _, c := range codes {
		d := normDesc(c.Description)
		m.descs = append(m.descs, c.Description)
		if _, dup := byDesc[d]; !dup {
			byDesc[d] = c.Code
		}
	}
	for _, mn := range meanings[kind] {
		for _, d := range mn.descs {
			code, ok := byDesc[d]
			if !ok {
				continue
			}
			if _, taken := m.toName[code]; !taken {
				m.toName[code] = mn.name
			}
			if _, set := m.toCode[mn.name]; !set {
				m.toCode[mn.name] = code
			}
		}
	}
	return m
}

// name reads a code as its canonical value.
func (m codeMap) name(prop, code string) (string, error) {
	if v, ok := m.toName[code]; ok {
		return v, nil
	}
	return "", fmt.Errorf("%s code %q has no meaning crmsync knows in code list %s", prop, code, m.list)
}

// code writes a canonical value as the tenant's code.
func (m codeMap) code(canonical, v string) (string, error) {
	if c, ok := m.toCode[v]; ok {
		return c, nil
	}
	return "", fmt.Errorf("%s %q has no code in C4C's code list %s (its entries: %s)", canonical, v, m.list, strings.Join(m.descs, ", "))
}

// Codes are a tenant's $metadata and code lists: the mappings of the coded
// properties crmsync syncs, by collection and property, and the entries of
// every list read so far, by code list entity set (the add-in's picklists,
// the appointment party roles). One Codes serves a connection's sides while
// cached (CodeCache), so lists read for one side serve the next.
type Codes struct {
	md    *Metadata
	props map[string]codeMap // "Collection.Property"

	mu    sync.Mutex
	lists map[string][]Code // code list entity set → entries
}

// list returns the entries of a code list entity set read so far.
func (cs *Codes) list(name string) ([]Code, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	l, ok := cs.lists[name]
	return l, ok
}

// readLists reads the code list entity sets not yet held, in one $batch
// (one call; none when all are held), and keeps them. A list of names that
// cannot be read is an error naming it; one of optional is left unread (its
// user asks again and reports the error then).
func (cs *Codes) readLists(ctx context.Context, c *Client, names []string, optional ...string) error {
	var ops []Op
	var want []string
	for _, n := range append(names[:len(names):len(names)], optional...) {
		if _, ok := cs.list(n); !ok && !slices.Contains(want, n) {
			want = append(want, n)
			ops = append(ops, Op{Method: http.MethodGet, Path: n})
		}
	}
	if len(ops) == 0 {
		return nil
	}
	res, err := c.Batch(ctx, ops)
	if err != nil {
		return err
	}
	got := map[string][]Code{}
	for i, n := range want {
		if res[i].Err != nil {
			if !slices.Contains(names, n) {
				continue
			}
			return fmt.Errorf("c4c: reading code list %s: %w", n, res[i].Err)
		}
		got[n] = codesOf(res[i].Entity)
	}
	cs.mu.Lock()
	for n, l := range got {
		cs.lists[n] = l
	}
	cs.mu.Unlock()
	return nil
}

func (cs *Codes) lookup(coll, prop string) (codeMap, bool) {
	if cs == nil {
		return codeMap{}, false
	}
	m, ok := cs.props[coll+"."+prop]
	return m, ok
}

// completed is the tenant's code of a completed task ("" when the list
// has none: no task is then ever completed).
func (cs *Codes) completed() string {
	m, _ := cs.lookup(maps[item.Task].coll, "Status")
	return m.toCode["Completed"]
}

// codedFields are the collection properties whose values come from code lists.
func codedFields() (out []struct {
	coll, prop string
	kind       fkind
}) {
	for _, m := range maps {
		for _, f := range m.fields {
			if f.kind == status || f.kind == priority {
				out = append(out, struct {
					coll, prop string
					kind       fkind
				}{m.coll, f.prop, f.kind})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].coll+out[i].prop < out[j].coll+out[j].prop })
	return out
}

// roleCodeSet and roleCodeProp name the property whose value help lists
// the appointment party role codes (appointment_parties.go).
const (
	roleCodeSet  = "AppointmentInvolvedPartiesCollection"
	roleCodeProp = "RoleCode"
)

// LoadCodes reads the $metadata (1 call), then the code lists of the coded
// properties crmsync maps, with the appointment party role codes, in one
// $batch of GETs (1 call). A coded property without a c4c:value-help, or a
// list of one that cannot be read, is an error naming it; the role codes
// are not needed for tasks, so a tenant whose role code list is missing or
// unreadable only relates no attendees (roles says why).
func LoadCodes(ctx context.Context, c *Client) (*Codes, error) {
	md, err := c.Metadata(ctx)
	if err != nil {
		return nil, err
	}
	fields := codedFields()
	lists := make([]string, len(fields))
	for i, f := range fields {
		lists[i] = md.ValueHelp[f.coll][f.prop]
		if lists[i] == "" {
			return nil, fault.New(fault.Permanent, "no_code_list", fmt.Sprintf("C4C's $metadata names no code list (c4c:value-help) for %s.%s", f.coll, f.prop))
		}
	}
	cs := &Codes{md: md, props: map[string]codeMap{}, lists: map[string][]Code{}}
	var optional []string
	if roles := md.ValueHelp[roleCodeSet][roleCodeProp]; roles != "" {
		optional = append(optional, roles)
	}
	if err := cs.readLists(ctx, c, lists, optional...); err != nil {
		return nil, err
	}
	for i, f := range fields {
		l, _ := cs.list(lists[i])
		cs.props[f.coll+"."+f.prop] = newCodeMap(lists[i], f.kind, l)
	}
	return cs, nil
}

// CodeCache keeps each connection's code lists for a while, so a session
// does not pay the 2 calls of LoadCodes; a tenant's codes change with its
// configuration, rarely.
type CodeCache struct {
	// TTL is how long lists are kept (0 = 1 hour).
	TTL time.Duration
	Now func() time.Time

	mu      sync.Mutex
	entries map[string]codeEntry
}

type codeEntry struct {
	codes *Codes
	at    time.Time
}

// Get returns the code lists of the connection key (tenant and user),
// loading them with c when missing or stale.
func (cc *CodeCache) Get(ctx context.Context, key string, c *Client) (*Codes, error) {
	now := time.Now
	if cc.Now != nil {
		now = cc.Now
	}
	ttl := cc.TTL
	if ttl == 0 {
		ttl = time.Hour
	}
	cc.mu.Lock()
	e, ok := cc.entries[key]
	cc.mu.Unlock()
	if ok && now().Sub(e.at) < ttl {
		return e.codes, nil
	}
	codes, err := LoadCodes(ctx, c)
	if err != nil {
		return nil, err
	}
	cc.mu.Lock()
	if cc.entries == nil {
		cc.entries = map[string]codeEntry{}
	}
	cc.entries[key] = codeEntry{codes: codes, at: now()}
	cc.mu.Unlock()
	return codes, nil
}

// Forget drops the lists of key, so the next Get reads them again.
func (cc *CodeCache) Forget(key string) {
	cc.mu.Lock()
	delete(cc.entries, key)
	cc.mu.Unlock()
}

// staleCodes is called when a record carries a code the cached lists lack:
// the tenant may have added it, so the next side reads the lists again.
func (s *Side) staleCodes() {
	if s.opts.CodeCache != nil {
		s.opts.CodeCache.Forget(s.opts.CodeKey)
	}
}

// needCodes loads the side's code lists once, before a kind with coded
// fields is read or written.
func (s *Side) needCodes(ctx context.Context, kind item.Kind) error {
	coded := false
	for _, f := range maps[kind].fields {
		coded = coded || f.kind == status || f.kind == priority
	}
	if !coded {
		return nil
	}
	_, err := s.loadCodes(ctx)
	return err
}

// loadCodes returns the side's $metadata and code lists, from the
// connection's CodeCache when it has one, read once per side otherwise.
func (s *Side) loadCodes(ctx context.Context) (*Codes, error) {
	s.mu.Lock()
	have := s.codes
	s.mu.Unlock()
	if have != nil {
		return have, nil
	}
	var codes *Codes
	var err error
	if s.opts.CodeCache != nil {
		codes, err = s.opts.CodeCache.Get(ctx, s.opts.CodeKey, s.c)
	} else {
		codes, err = LoadCodes(ctx, s.c)
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.codes = codes
	s.mu.Unlock()
	return codes, nil
}

// tenantCodes are the side's code lists (nil before needCodes).
func (s *Side) tenantCodes() *Codes {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes
}

// codesOf reads the entries of a code list read in a $batch (the part's d
// is {"results": [...]}).
func codesOf(d Entity) []Code {
	rows, _ := d["results"].([]any)
	out := make([]Code, 0, len(rows))
	for _, r := range rows {
		m, _ := r.(map[string]any)
		code, _ := m["Code"].(string)
		desc, _ := m["Description"].(string)
		if code != "" {
			out = append(out, Code{Code: code, Description: desc})
		}
	}
	return out
}
