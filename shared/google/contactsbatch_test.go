package google

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// callCounter counts the requests by People method and can act just
// before a method's first call.
type callCounter struct {
	next   http.RoundTripper
	mu     sync.Mutex
	calls  map[string]int
	before map[string]func()
}

func (c *callCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	m := r.Method + " " + r.URL.Path
	if i := strings.LastIndex(r.URL.Path, ":"); i > 0 {
		m = r.URL.Path[i+1:]
	}
	c.mu.Lock()
	c.calls[m]++
	f := c.before[m]
	delete(c.before, m)
	c.mu.Unlock()
	if f != nil {
		f()
	}
	return c.next.RoundTrip(r)
}

// countedGoogle is a Side on a local Google whose People calls are counted,
// with n contacts in the synced group.
func countedGoogle(tb testing.TB, n int) (*Side, *Side, *callCounter, []string) {
	tb.Helper()
	fg := fakegoogle.New(fakegoogle.Options{})
	access, _ := fg.AddUser(testUser)
	cc := &callCounter{next: fg.Transport(), calls: map[string]int{}, before: map[string]func(){}}
	c, err := New(Options{BaseURL: "http://google.local", HTTPClient: &http.Client{Transport: cc},
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access, TokenType: "Bearer"})})
	if err != nil {
		tb.Fatal(err)
	}
	s := NewSide(c)
	// other is the user's phone: the same account through its own client.
	oc, err := New(Options{BaseURL: "http://google.local", HTTPClient: &http.Client{Transport: fg.Transport()},
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access, TokenType: "Bearer"})})
	if err != nil {
		tb.Fatal(err)
	}
	recs := make([]item.Record, n)
	for i := range recs {
		recs[i] = item.Record{Kind: item.Contact, Fields: map[string]string{item.FirstName: "Ada", item.LastName: fmt.Sprintf("Lovelace %04d", i),
			item.Email: fmt.Sprintf("ada%04d@example.com", i), item.Phone: "+1 555 0100"}}
	}
	res, err := s.Create(context.Background(), item.Contact, recs, make([]string, n))
	if err != nil {
		tb.Fatal(err)
	}
	ids := make([]string, n)
	for i, r := range res {
		if r.Err != nil {
			tb.Fatal(r.Err)
		}
		ids[i] = r.ID
	}
	cc.mu.Lock()
	cc.calls = map[string]int{}
	cc.mu.Unlock()
	return s, NewSide(oc), cc, ids
}

// TestUpdateContactsBatched: 450 contact updates take 3 batchGet and 3
// batchUpdateContacts requests (⌈450/200⌉ each) and change every contact,
// keeping the fields not written. A contact deleted before the read fails
// alone as Gone; a contact changed in Google between the read and the
// write (its etag stale) makes Google refuse that batch, whose contacts
// are then written one by one — read again and merged, so the change made
// in Google is kept and nothing is lost.
func TestUpdateContactsBatched(t *testing.T) {
	ctx := t.Context()
	s, phone, cc, ids := countedGoogle(t, 450)
	recs := make([]item.Record, len(ids))
	for i, id := range ids {
		recs[i] = item.Record{Kind: item.Contact, ID: id, Fields: map[string]string{item.LastName: fmt.Sprintf("Byron %04d", i)}}
	}
	res, err := s.Update(ctx, item.Contact, recs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("contact %d: %v", i, r.Err)
		}
	}
	if got := cc.calls; got["batchGet"] != 3 || got["batchUpdateContacts"] != 3 || len(got) != 2 {
		t.Errorf("450 updates made %v, want 3 batchGet and 3 batchUpdateContacts", got)
	}
	p, err := s.getPerson(ctx, ids[17])
	if err != nil || str(first(p.Names), "familyName") != "Byron 0017" || str(first(p.Names), "givenName") != "Ada" || len(p.PhoneNumbers) != 1 {
		t.Errorf("contact 17 after the update: %+v %v", p, err)
	}

	// A contact deleted, another changed in Google between read and write.
	if err := s.deleteContact(ctx, ids[3]); err != nil {
		t.Fatal(err)
	}
	cc.before["batchUpdateContacts"] = func() {
		if err := phone.updateContact(ctx, ids[5], map[string]string{item.Title: "CTO"}); err != nil {
			t.Error(err)
		}
	}
	cc.calls = map[string]int{}
	for i := range recs[:10] {
		recs[i].Fields = map[string]string{item.LastName: fmt.Sprintf("Shelley %04d", i)}
	}
	res, err = s.Update(ctx, item.Contact, recs[:10])
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		switch {
		case i == 3 && !fault.Is(r.Err, fault.Gone):
			t.Errorf("the deleted contact: %v, want Gone", r.Err)
		case i != 3 && r.Err != nil:
			t.Errorf("contact %d: %v", i, r.Err)
		}
	}
	p, _ = s.getPerson(ctx, ids[5])
	if str(first(p.Names), "familyName") != "Shelley 0005" || str(first(p.Organizations), "title") != "CTO" {
		t.Errorf("the contact changed meanwhile: names %v, organizations %v; want both changes", p.Names, p.Organizations)
	}
	if cc.calls["batchUpdateContacts"] != 1 || cc.calls["updateContact"] != 9 {
		t.Errorf("after the refused batch: %v, want 1 batchUpdateContacts then 9 single updates", cc.calls)
	}
}

// BenchmarkUpdateContacts1000 measures the requests of 1,000 contact
// updates against the bound of ⌈N/200⌉ batchUpdateContacts calls (plus as
// many batchGet reads for the etags).
func BenchmarkUpdateContacts1000(b *testing.B) {
	const n = 1000
	s, _, cc, ids := countedGoogle(b, n)
	ctx := context.Background()
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		recs := make([]item.Record, n)
		for i, id := range ids {
			recs[i] = item.Record{Kind: item.Contact, ID: id, Fields: map[string]string{item.LastName: fmt.Sprintf("Run %d %04d", k, i)}}
		}
		cc.mu.Lock()
		cc.calls = map[string]int{}
		cc.mu.Unlock()
		if _, err := s.Update(ctx, item.Contact, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	bound := ceilDiv(n, BatchUpdate)
	if cc.calls["batchUpdateContacts"] > bound {
		b.Fatalf("%d batchUpdateContacts calls for %d updates, bound %d", cc.calls["batchUpdateContacts"], n, bound)
	}
	b.ReportMetric(float64(cc.calls["batchUpdateContacts"]), "batchUpdate-calls")
	b.ReportMetric(float64(bound), "bound-calls")
	b.ReportMetric(float64(cc.calls["batchGet"]+cc.calls["batchUpdateContacts"]), "people-requests")
}
