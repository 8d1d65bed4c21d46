package addin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/testenv"
)

// fakeCRM is an in-memory CRM that counts its calls.
type fakeCRM struct {
	mu       sync.Mutex
	people   []Person
	accounts map[string]Account
	objects  []Object
	records  map[string]map[string]any // id → fields
	files    map[string][]byte         // parent id → last upload
	posts    []string
	logged   []loggedEmail
	calls    map[string]int
	// fail makes the named method return this error.
	fail map[string]error
	// searched remembers the last search text and objects.
	searched []string
	nextID   int
}

type loggedEmail struct {
	email Email
	who   []string
	what  string
}

func newFakeCRM() *fakeCRM {
	return &fakeCRM{
		accounts: map[string]Account{}, records: map[string]map[string]any{}, files: map[string][]byte{},
		calls: map[string]int{}, fail: map[string]error{},
		objects: []Object{
			{ObjectInfo: ObjectInfo{Name: "Contact", Label: "Contact", Createable: true, Updateable: true}, Fields: []Field{
				{Name: "Id", Type: "id"},
				{Name: "FirstName", Type: "string", Length: 40, Createable: true, Updateable: true, Nillable: true},
				{Name: "LastName", Type: "string", Length: 80, Createable: true, Updateable: true},
				{Name: "Email", Type: "email", Length: 80, Createable: true, Updateable: true, Nillable: true},
				{Name: "Birthdate", Type: "date", Createable: true, Updateable: true, Nillable: true},
				{Name: "DoNotCall", Type: "boolean", Createable: true, Updateable: true},
				{Name: "AccountId", Type: "reference", Createable: true, Updateable: true, Nillable: true, ReferenceTo: []string{"Account"}},
				{Name: "LeadSource", Type: "picklist", Createable: true, Updateable: true, Nillable: true, Picklist: []string{"Web", "Phone"}, Restricted: true},
				{Name: "Score__c", Type: "double", Createable: true, Updateable: true, Nillable: true, Custom: true},
				{Name: "CreatedDate", Type: "datetime"},
				{Name: "External__c", Type: "string", Length: 20, Createable: true, Nillable: true, Custom: true},
			}},
			{ObjectInfo: ObjectInfo{Name: "Invoice__c", Label: "Invoice", Custom: true, Createable: true, Updateable: true}, Fields: []Field{
				{Name: "Id", Type: "id"},
				{Name: "Amount__c", Type: "currency", Createable: true, Updateable: true, Nillable: true, Custom: true},
			}},
			{ObjectInfo: ObjectInfo{Name: "AuditLog", Label: "Audit Log"}},
		},
	}
}

func (f *fakeCRM) call(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[name]++
	return f.fail[name]
}

func (f *fakeCRM) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

func (f *fakeCRM) newID(prefix string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	return fmt.Sprintf("%s%012d", prefix, f.nextID)
}

func (f *fakeCRM) LookupPeople(ctx context.Context, emails []string) ([]Person, error) {
	if err := f.call("FindPeople"); err != nil {
		return nil, err
	}
	if len(emails) > PeopleChunk {
		return nil, fmt.Errorf("FindPeople got %d addresses, more than a chunk", len(emails))
	}
	var out []Person
	for _, p := range f.people {
		if slices.Contains(emails, p.Email) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakeCRM) Accounts(ctx context.Context, ids []string, perAccount int) ([]Account, error) {
	if err := f.call("Accounts"); err != nil {
		return nil, err
	}
	var out []Account
	for _, id := range ids {
		if a, ok := f.accounts[id]; ok {
			out = append(out, a)
		}
	}
	return out, nil
}

func (f *fakeCRM) Search(ctx context.Context, text string, objects []string, limit int) ([]Hit, error) {
	if err := f.call("Search"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.searched = append([]string{text}, objects...)
	f.mu.Unlock()
	var out []Hit
	for _, p := range f.people {
		if strings.Contains(strings.ToLower(p.Name), strings.ToLower(text)) && slices.Contains(objects, p.Object) {
			out = append(out, Hit{Object: p.Object, ID: p.ID, Name: p.Name})
		}
	}
	return out, nil
}

func (f *fakeCRM) Objects(ctx context.Context) ([]ObjectInfo, error) {
	if err := f.call("Objects"); err != nil {
		return nil, err
	}
	var out []ObjectInfo
	for _, o := range f.objects {
		out = append(out, o.ObjectInfo)
	}
	return out, nil
}

func (f *fakeCRM) Describe(ctx context.Context, object string) (Object, error) {
	if err := f.call("Describe"); err != nil {
		return Object{}, err
	}
	for _, o := range f.objects {
		if strings.EqualFold(o.Name, object) {
			return o, nil
		}
	}
	return Object{}, fault.New(fault.Permanent, "NOT_FOUND", "The requested resource does not exist")
}

func (f *fakeCRM) GetRecord(ctx context.Context, object, id string, fields []string) (map[string]any, error) {
	if err := f.call("Get"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rec, ok := f.records[id]
	if !ok {
		return nil, fault.New(fault.Gone, "NOT_FOUND", "gone")
	}
	out := map[string]any{}
	for _, k := range fields {
		out[k] = rec[k]
	}
	return out, nil
}

func (f *fakeCRM) CreateRecord(ctx context.Context, object string, fields map[string]any) (string, error) {
	if err := f.call("Create"); err != nil {
		return "", err
	}
	id := f.newID("003")
	f.mu.Lock()
	f.records[id] = fields
	f.mu.Unlock()
	return id, nil
}

func (f *fakeCRM) UpdateRecord(ctx context.Context, object, id string, fields map[string]any) error {
	if err := f.call("Update"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rec, ok := f.records[id]
	if !ok {
		return fault.New(fault.Gone, "ENTITY_IS_DELETED", "entity is deleted")
	}
	for k, v := range fields {
		rec[k] = v
	}
	return nil
}

func (f *fakeCRM) AttachFile(ctx context.Context, parentID, name string, size int64, content io.Reader) (string, error) {
	if err := f.call("UploadFile"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(content)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	f.files[parentID+"/"+name] = b
	f.mu.Unlock()
	return f.newID("068"), nil
}

func (f *fakeCRM) PostChatter(ctx context.Context, subjectID, text string) (string, error) {
	if err := f.call("PostChatter"); err != nil {
		return "", err
	}
	f.mu.Lock()
	f.posts = append(f.posts, subjectID+": "+text)
	f.mu.Unlock()
	return f.newID("0D5"), nil
}

func (f *fakeCRM) LogEmail(ctx context.Context, rec item.Record, who []string, what, marker string) (string, error) {
	if err := f.call("LogEmail"); err != nil {
		return "", err
	}
	e := emailOf(rec)
	f.mu.Lock()
	f.logged = append(f.logged, loggedEmail{e, who, what})
	f.mu.Unlock()
	return f.newID("00T"), nil
}

// opener hands every user the same fake CRM, or an error.
type opener struct {
	crm *fakeCRM
	err error
}

func (o opener) OpenCRM(ctx context.Context, user string) (CRM, error) {
	if o.err != nil {
		return nil, o.err
	}
	return o.crm, nil
}

// tokenAuth accepts "Bearer tok-<user>" for users of org "org1".
var tokenAuth = AuthenticatorFunc(func(r *http.Request) (string, string, error) {
	user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer tok-")
	if !ok || user == "" {
		return "", "", errors.New("no valid bearer")
	}
	return user, "org1", nil
})

// clock is the settable test clock shared by the local servers and the code
// under test.
type clock = testenv.Clock

type fixture struct {
	api   *API
	crm   *fakeCRM
	store *tablestore.Embedded
	clock *clock
}

func newFixture(t testing.TB, mod ...func(*Config)) *fixture {
	t.Helper()
	store, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	crm := newFakeCRM()
	clk := testenv.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	cfg := Config{Auth: tokenAuth, CRM: opener{crm: crm}, Store: store, ShareKey: []byte("0123456789abcdef0123456789abcdef"), Now: clk.Now}
	for _, m := range mod {
		m(&cfg)
	}
	api, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{api: api, crm: crm, store: store, clock: clk}
}

// do sends a request as user ("" = anonymous).
func (f *fixture) do(user, method, path, contentType string, body io.Reader) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, body)
	if user != "" {
		req.Header.Set("Authorization", "Bearer tok-"+user)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	f.api.ServeHTTP(rec, req)
	return rec
}

func (f *fixture) json(user, method, path, body string) *httptest.ResponseRecorder {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return f.do(user, method, path, "application/json", r)
}

// withAuth sends a request with the given Authorization header ("" = none).
func (f *fixture) withAuth(method, path, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader("{}"))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	f.api.ServeHTTP(rec, req)
	return rec
}

// emailOf reads back the e-mail emailRecord made into a record, so tests
// compare what the add-in shared with what they sent.
func emailOf(rec item.Record) Email {
	f := rec.Fields
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	e := Email{Subject: f[item.Subject], From: f[item.From], To: split(f[item.To]), Cc: split(f[item.Cc]), Direction: f[item.Direction]}
	if t, err := time.Parse(time.RFC3339, f[item.Sent]); err == nil {
		e.Sent = t
	}
	// The body follows the header's blank line.
	if _, body, ok := strings.Cut(f[item.Description], "\n\n"); ok {
		e.Body = body
	}
	return e
}
