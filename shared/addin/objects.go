package addin

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// objectName is what an sObject name looks like (standard, custom __c,
// namespaced ns__Name__c); anything else never reaches the CRM.
var objectName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)

// recordID is a Salesforce id (15 or 18 alphanumerics) or an SAP Cloud for
// Customer ObjectID (32 hex digits).
var recordID = regexp.MustCompile(`^(?:[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?|[0-9A-Fa-f]{32})$`)

// businessID is a C4C business ID (up to 10 digits): the account pane
// names accounts by their AccountID, so a record in a path may be one.
var businessID = regexp.MustCompile(`^[0-9]{1,10}$`)

// pathID says whether id may name a record in a route's path.
func pathID(id string) bool { return recordID.MatchString(id) || businessID.MatchString(id) }

// ObjectsAnswer lists the objects the user may create.
type ObjectsAnswer struct {
	Objects []ObjectInfo `json:"objects"`
}

// objects answers GET /objects: the createable objects, standard and custom.
func (a *API) objects(w http.ResponseWriter, r *http.Request) {
	crm, ok := a.openCRM(w, r)
	if !ok {
		return
	}
	all, err := a.describe.objects(r.Context(), callerOf(r.Context()), crm)
	if err != nil {
		a.crmError(w, r, "objects", err)
		return
	}
	out := []ObjectInfo{}
	for _, o := range all {
		if o.Createable {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(x, y ObjectInfo) int { return strings.Compare(x.Label, y.Label) })
	writeJSON(w, http.StatusOK, ObjectsAnswer{Objects: out})
}

// object answers GET /objects/{name}: the fields the user may create or
// update.
func (a *API) object(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !objectName.MatchString(name) {
		writeError(w, http.StatusBadRequest, "bad_object", "not an object name")
		return
	}
	crm, ok := a.openCRM(w, r)
	if !ok {
		return
	}
	obj, err := a.describe.object(r.Context(), callerOf(r.Context()), crm, name)
	if err != nil {
		a.crmError(w, r, "describe", err)
		return
	}
	out := obj
	out.Fields = []Field{}
	for _, f := range obj.Fields {
		if f.Createable || f.Updateable {
			out.Fields = append(out.Fields, f)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// describeCache keeps describe answers per user and org for a while: field
// level security differs between users, so one user's describe never
// answers another's.
type describeCache struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[string]cached
}

type cached struct {
	at      time.Time
	objects []ObjectInfo
	object  Object
}

// maxCached bounds the cache; past it, expired entries are swept and, if
// that is not enough, everything is dropped (describes are cheap to redo).
const maxCached = 10000

func newDescribeCache(ttl time.Duration, now func() time.Time) *describeCache {
	return &describeCache{ttl: ttl, now: now, m: map[string]cached{}}
}

func (c *describeCache) get(key string) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || c.now().Sub(e.at) >= c.ttl {
		return cached{}, false
	}
	return e, true
}

func (c *describeCache) put(key string, e cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCached {
		now := c.now()
		for k, v := range c.m {
			if now.Sub(v.at) >= c.ttl {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxCached {
			clear(c.m)
		}
	}
	e.at = c.now()
	c.m[key] = e
}

func (c *describeCache) objects(ctx context.Context, who caller, crm CRM) ([]ObjectInfo, error) {
	key := who.org + "\x00" + who.user + "\x00"
	if e, ok := c.get(key); ok {
		return e.objects, nil
	}
	objs, err := crm.Objects(ctx)
	if err != nil {
		return nil, err
	}
	c.put(key, cached{objects: objs})
	return objs, nil
}

func (c *describeCache) object(ctx context.Context, who caller, crm CRM, name string) (Object, error) {
	key := who.org + "\x00" + who.user + "\x00" + strings.ToLower(name)
	if e, ok := c.get(key); ok {
		return e.object, nil
	}
	obj, err := crm.Describe(ctx, name)
	if err != nil {
		return Object{}, err
	}
	c.put(key, cached{object: obj})
	return obj, nil
}
