// Package fakec4c is a local SAP Cloud for Customer: the OData v2 service
// c4codataapi as far as crmsync uses it, built from SAP's documentation (see
// FIDELITY.md). Tests run it in-process; `go run ./local fake-c4c` serves it.
package fakec4c

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Root is the service root of the OData API (DEVGUIDE: standard services
// live under /sap/c4c/odata/v1/).
const Root = "/sap/c4c/odata/v1/c4codataapi/"

// The demo communication user (Basic auth).
const (
	DemoUser     = "demo"
	DemoPassword = "demo"
)

// PageSize is the fixed server page size when a read gives no $top
// (DEVGUIDE "Server side paging": fixed at 1000 entries).
const PageSize = 1000

// propKind is the EDM type of a property as served in JSON.
type propKind int

const (
	str  propKind = iota
	date          // Edm.DateTime(Offset): "/Date(ms)/" in JSON
	boolean
)

// prop is one property of an entity type.
type prop struct {
	kind       propKind
	filterable bool
	readOnly   bool // sap:creatable=false, sap:updatable=false
	required   bool // must be set on create
}

// collection is an entity set with its type's properties.
type collection struct {
	name, typ string
	props     map[string]prop
	parent    string // attachment collections: the collection ParentObjectID points into
	// navs are child entity types that come with the header in a deep
	// insert and are read by navigation (EMailToRecipients).
	navs map[string]*collection
}

var common = map[string]prop{
	"ObjectID":            {kind: str, filterable: true, readOnly: true},
	"ETag":                {kind: date, readOnly: true}, // not filterable since 1811 (KBA 2789959)
	"EntityLastChangedOn": {kind: date, filterable: true, readOnly: true},
	"CreatedOn":           {kind: date, filterable: true, readOnly: true},
}

func with(extra map[string]prop) map[string]prop {
	m := map[string]prop{}
	for k, v := range common {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

var f, nf = prop{kind: str, filterable: true}, prop{kind: str}

var collections = map[string]*collection{
	"ContactCollection": {name: "ContactCollection", typ: "c4codataapi.Contact", props: with(map[string]prop{
		"ContactID": {kind: str, filterable: true, readOnly: true}, "FirstName": f, "LastName": {kind: str, filterable: true, required: true},
		"Email": f, "Phone": f, "Mobile": f, "JobTitle": nf, "Department": nf, "AccountID": f, "ContactOwnerID": f,
	})},
	// EmployeeCollection: employees by EmployeeID and business partner ID,
	// found by Email (the server assigns both IDs when a create has none).
	"EmployeeCollection": {name: "EmployeeCollection", typ: "c4codataapi.Employee", props: with(map[string]prop{
		"EmployeeID": f, "BusinessPartnerID": f, "UserID": f, "FirstName": nf, "LastName": {kind: str, required: true}, "Email": f,
	})},
	"LeadCollection": {name: "LeadCollection", typ: "c4codataapi.Lead", props: with(map[string]prop{
		"ID": {kind: str, filterable: true, readOnly: true}, "Name": {kind: str, filterable: true, required: true},
		"ContactFirstName": nf, "ContactLastName": {kind: str, required: true}, "ContactEMail": f, "Company": {kind: str, required: true},
	})},
	"CorporateAccountCollection": {name: "CorporateAccountCollection", typ: "c4codataapi.CorporateAccount", props: with(map[string]prop{
		"AccountID": {kind: str, filterable: true, readOnly: true}, "Name": {kind: str, filterable: true, required: true},
	})},
	"TasksCollection": {name: "TasksCollection", typ: "c4codataapi.Tasks", props: with(map[string]prop{
		"ID": {kind: str, filterable: true, readOnly: true}, "Subject": {kind: str, filterable: true, required: true},
		"Status": f, "PriorityCode": f, "StartDateTime": {kind: date, filterable: true}, "DueDateTime": {kind: date, filterable: true},
		"CompletionDateTime": {kind: date}, "ProcessorPartyID": f,
	})},
	"AppointmentCollection": {name: "AppointmentCollection", typ: "c4codataapi.Appointment", props: with(map[string]prop{
		"ID": {kind: str, filterable: true, readOnly: true}, "Subject": {kind: str, filterable: true, required: true},
		"StartDate": {kind: date, filterable: true, required: true}, "StartDatetimeZoneCode": nf,
		"EndDate": {kind: date, filterable: true, required: true}, "EnddatetimeZoneCode": nf,
		"FullDayIndicator": {kind: boolean, filterable: true}, "Location": nf, "LifeCycleStatusCode": f,
		"GroupwareItemID": f, "OwnerPartyID": f,
	})},
	"EMailCollection": {name: "EMailCollection", typ: "c4codataapi.EMail", props: with(map[string]prop{
		"ID": {kind: str, filterable: true, readOnly: true}, "Subject": {kind: str, filterable: true, required: true},
		"DateTime": {kind: date, filterable: true}, "Direction": nf, "MainAccountPartyID": f, "MainContactPartyID": f,
		"GroupwareItemID": f, "MessageFromEmailURI": nf,
	}), navs: map[string]*collection{"EMailToRecipients": {name: "EMailToRecipients", typ: "c4codataapi.EMailToRecipients", props: map[string]prop{
		"ObjectID": {kind: str, readOnly: true}, "ParentObjectID": {kind: str, readOnly: true},
		"PartyID": {kind: str, required: true}, "MessageToName": nf, "MessageToEmailID": nf,
	}}}},
	"ContactAttachmentFolder": {name: "ContactAttachmentFolder", typ: "c4codataapi.ContactAttachmentFolder", parent: "ContactCollection", props: with(map[string]prop{
		"ParentObjectID": {kind: str, filterable: true, required: true}, "Name": {kind: str, required: true},
		"MimeType": nf, "TypeCode": {kind: str, required: true}, "Binary": nf,
	})},
}

// entity is one stored record; it is never changed in place (writes store
// a new one), so a $batch changeset can roll back by restoring maps.
type entity struct {
	id      string
	props   map[string]any // string, time.Time or bool
	changed time.Time
	seq     int64 // insertion order, the default order of a collection
	// children are deep-inserted child entities by navigation; they go
	// with the header (a changeset that restores the header restores them).
	children map[string][]*entity
}

// Options configure a Server.
type Options struct {
	// Now is the server clock (nil = time.Now).
	Now func() time.Time
	// NoCSRF turns CSRF enforcement off (DEVGUIDE: not required for some
	// server-to-server setups); by default it is enforced.
	NoCSRF bool
	// CodeLists replace code lists of DefaultCodeLists by name (a tenant
	// whose codes differ from the defaults).
	CodeLists map[string][]Code
	// OAuth is the tenant's SAML bearer setup (nil: the token endpoint
	// refuses every client).
	OAuth *OAuth
}

// Server is the local C4C. It is an http.Handler.
type Server struct {
	opts Options

	mu      sync.Mutex
	data    map[string]map[string]*entity
	seq     int64
	last    time.Time         // last write stamp: stamps strictly increase
	tokens  map[string]string // XSRF cookie value → CSRF token
	calls   map[string]int    // requests by method and collection, for tests and benchmarks
	nextErr map[string]int    // collection → status the next read of it answers (fault injection)
	bearers map[string]bearer // access tokens issued by the token endpoint

}

// New returns an empty local C4C.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, data: map[string]map[string]*entity{}, tokens: map[string]string{}, calls: map[string]int{}, nextErr: map[string]int{}, bearers: map[string]bearer{}}
	for name := range collections {
		s.data[name] = map[string]*entity{}
	}
	return s
}

// newObjectID returns a 32-hex-digit ObjectID like C4C's.
func newObjectID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	copy(b, []byte{0x00, 0x16, 0x3E})
	return strings.ToUpper(hex.EncodeToString(b))
}

// stamp returns the change time of a write now: the clock, but strictly
// after the previous write (C4C's timestamps have 100 ns resolution, so two
// writes never share an ETag).
func (s *Server) stamp() time.Time {
	t := s.opts.Now().UTC().Truncate(100 * time.Nanosecond)
	if !t.After(s.last) {
		t = s.last.Add(100 * time.Nanosecond)
	}
	s.last = t
	return t
}

// etag renders C4C's weak timestamp ETag, colons URL-encoded
// (DEVGUIDE "ETag Support").
func etag(t time.Time) string {
	return `W/"datetimeoffset'` + url.QueryEscape(t.UTC().Format("2006-01-02T15:04:05.0000000Z")) + `'"`
}

// typed reads props in the JSON shape of a write payload ("/Date(ms)/"
// dates) into stored values.
func typed(coll string, props map[string]any) (map[string]any, error) {
	c, ok := collections[coll]
	if !ok {
		return nil, fmt.Errorf("no collection %s", coll)
	}
	b, err := json.Marshal(props)
	if err != nil {
		return nil, err
	}
	out, e := decodeProps(c, b)
	if e != nil {
		return nil, fmt.Errorf("%s", e.msg)
	}
	return out, nil
}

// Insert stores a record directly, as a user in C4C's UI would, and returns
// its ObjectID. props are in the JSON shape of a write payload.
func (s *Server) Insert(coll string, props map[string]any) (string, error) {
	props, err := typed(coll, props)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ent, e := s.create(coll, props)
	if e != nil {
		return "", fmt.Errorf("%s", e.msg)
	}
	return ent.id, nil
}

// Update changes a record directly (props as in Insert).
func (s *Server) Update(coll, id string, props map[string]any) error {
	props, err := typed(coll, props)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.patch(coll, id, props, ""); e != nil {
		return fmt.Errorf("%s", e.msg)
	}
	return nil
}

// Delete removes a record directly; C4C keeps no tombstone.
func (s *Server) Delete(coll, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.data[coll][id]; !ok {
		return fmt.Errorf("%s('%s') not found", coll, id)
	}
	delete(s.data[coll], id)
	return nil
}

// Calls returns how many requests of method reached coll ("$batch" counts
// batches; requests inside a batch count under their own method).
func (s *Server) Calls(method, coll string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method+" "+coll]
}

// FailNextRead makes the next read of coll answer status (e.g. 500), to
// show a client that a failed read is not a deletion.
func (s *Server) FailNextRead(coll string, status int) {
	s.mu.Lock()
	s.nextErr[coll] = status
	s.mu.Unlock()
}

// Count returns how many records coll holds.
func (s *Server) Count(coll string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.data[coll])
}

// ExpireTokens forgets every CSRF token issued, as when the server's
// session ends: the next write answers 403 with x-csrf-token: Required.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	s.tokens = map[string]string{}
	s.mu.Unlock()
}
