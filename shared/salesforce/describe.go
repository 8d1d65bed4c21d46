package salesforce

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
)

// Object is what describe says about an sObject type (standard or custom).
type Object struct {
	Name          string
	Label         string
	Custom        bool
	Createable    bool
	Updateable    bool
	Deletable     bool
	Queryable     bool
	Replicateable bool
	fields        map[string]*Field
	// relationships maps a lower-case relationship name to its reference field.
	relationships map[string]*Field
}

// Field is what describe says about one field.
type Field struct {
	Name             string
	Type             string
	Label            string
	Length           int
	Createable       bool
	Updateable       bool
	Nillable         bool
	Custom           bool
	ReferenceTo      []string
	RelationshipName string
	// Picklist lists the active values of a picklist field.
	Picklist   []string
	Restricted bool
	// DefaultedOnCreate says Salesforce fills the field on create.
	DefaultedOnCreate bool
	// Default is the field's fixed default as text ("New", "true", "23"),
	// "" when it has none or its default is a formula to work out
	// (fieldDefault).
	Default string
	// ControllerName is the controlling field of a dependent picklist.
	ControllerName string
	// ValidFor maps each active value of a dependent picklist to its
	// validFor bit set (base64, as describe gives it).
	ValidFor map[string]string
}

// Field returns a field by name, ignoring case (nil if absent).
func (o *Object) Field(name string) *Field { return o.fields[strings.ToLower(name)] }

// Fields returns every field.
func (o *Object) Fields() []*Field {
	out := make([]*Field, 0, len(o.fields))
	for _, f := range o.fields {
		out = append(out, f)
	}
	return out
}

// DescribeCache keeps describe results across clients (sessions) of the
// same org for a while, so a session does not spend API calls re-describing
// objects. It is safe for concurrent use.
type DescribeCache struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]cached
}

type cached struct {
	obj     *Object
	fetched time.Time
}

// DefaultDescribeTTL is how long a shared describe result is used.
const DefaultDescribeTTL = time.Hour

// NewDescribeCache returns a cache whose entries live for ttl (new custom
// fields show up after at most ttl); ttl ≤ 0 means DefaultDescribeTTL.
func NewDescribeCache(ttl time.Duration) *DescribeCache {
	if ttl <= 0 {
		ttl = DefaultDescribeTTL
	}
	return &DescribeCache{ttl: ttl, m: map[string]cached{}}
}

func (d *DescribeCache) get(key string) *Object {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.m[key]
	if !ok || time.Since(e.fetched) > d.ttl {
		return nil
	}
	return e.obj
}

func (d *DescribeCache) put(key string, o *Object) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.m[key] = cached{obj: o, fetched: time.Now()}
}

// cacheKey names an object within its org (instance URL).
func (c *Client) cacheKey(object string) string {
	key := strings.ToLower(object)
	if c.opts.Describe == nil {
		return key
	}
	if tok, err := c.token(); err == nil {
		if base, err := c.instanceURL(tok); err == nil {
			return base + "|" + key
		}
	}
	return key
}

// Describe returns an object's description, from the cache after the first
// call (the client's own, or Options.Describe shared across clients).
func (c *Client) Describe(ctx context.Context, object string) (*Object, error) {
	key := c.cacheKey(object)
	var o *Object
	if c.opts.Describe != nil {
		o = c.opts.Describe.get(key)
	} else {
		c.mu.Lock()
		o = c.cache[key]
		c.mu.Unlock()
	}
	if o != nil {
		return o, nil
	}
	if !validName(object) {
		return nil, fault.New(fault.Permanent, "INVALID_TYPE", "not an sObject name: "+quoteForMessage(object))
	}
	var w wireDescribe
	if err := c.getJSON(ctx, request{method: http.MethodGet, path: "sobjects/" + url.PathEscape(object) + "/describe"}, &w); err != nil {
		if fault.Is(err, fault.Gone) {
			return nil, fault.New(fault.Permanent, "INVALID_TYPE", "no such object: "+object)
		}
		return nil, err
	}
	o = objectFromWire(w)
	if c.opts.Describe != nil {
		c.opts.Describe.put(key, o)
	} else {
		c.mu.Lock()
		c.cache[key] = o
		c.mu.Unlock()
	}
	return o, nil
}

func objectFromWire(w wireDescribe) *Object {
	o := &Object{Name: w.Name, Label: w.Label, Custom: w.Custom, Createable: w.Createable, Updateable: w.Updateable,
		Deletable: w.Deletable, Queryable: w.Queryable, Replicateable: w.Replicateable,
		fields: map[string]*Field{}, relationships: map[string]*Field{}}
	for _, wf := range w.Fields {
		f := &Field{Name: wf.Name, Type: wf.Type, Label: wf.Label, Length: wf.Length, Createable: wf.Createable,
			Updateable: wf.Updateable, Nillable: wf.Nillable, Custom: wf.Custom, ReferenceTo: wf.ReferenceTo, Restricted: wf.RestrictedPicklist,
			DefaultedOnCreate: wf.DefaultedOnCreate}
		if wf.DependentPicklist && wf.ControllerName != nil {
			f.ControllerName = *wf.ControllerName
			f.ValidFor = map[string]string{}
		}
		if wf.RelationshipName != nil {
			f.RelationshipName = *wf.RelationshipName
			o.relationships[strings.ToLower(f.RelationshipName)] = f
		}
		var picked []string
		for _, p := range wf.PicklistValues {
			if p.Active {
				f.Picklist = append(f.Picklist, p.Value)
				if p.DefaultValue {
					picked = append(picked, p.Value)
				}
				if f.ValidFor != nil && p.ValidFor != nil {
					f.ValidFor[p.Value] = *p.ValidFor
				}
			}
		}
		f.Default = fieldDefault(wf.Type, f.Picklist, picked, wf.DefaultValue, wf.DefaultValueFormula)
		o.fields[strings.ToLower(f.Name)] = f
	}
	return o
}

// Objects lists the org's sObject names (describe global).
func (c *Client) Objects(ctx context.Context) ([]string, error) {
	var w wireDescribeGlobal
	if err := c.getJSON(ctx, request{method: http.MethodGet, path: "sobjects/"}, &w); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(w.SObjects))
	for _, o := range w.SObjects {
		out = append(out, o.Name)
	}
	return out, nil
}

// validName accepts API names: letters, digits and underscores, starting
// with a letter. Anything else can never be an object or field name.
func validName(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case (r >= '0' && r <= '9' || r == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// quoteForMessage shows a rejected name safely in an error message.
func quoteForMessage(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return "\"" + strings.Map(func(r rune) rune {
		if r < 0x20 {
			return '?'
		}
		return r
	}, s) + "\""
}
