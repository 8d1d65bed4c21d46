package tracking

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/gif"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/testenv"
	"github.com/google/go-cmp/cmp"
)

// clock is the settable test clock shared by the local servers and the code
// under test.
type clock = testenv.Clock

// geo places 203.0.113.0/24 in Bavaria.
type geo struct{}

func (geo) Place(ip netip.Addr) (string, string, bool) {
	if netip.MustParsePrefix("203.0.113.0/24").Contains(ip) {
		return "DE", "BY", true
	}
	return "", "", false
}

var tokenAuth = AuthenticatorFunc(func(r *http.Request) (string, string, error) {
	user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer tok-")
	if !ok || user == "" {
		return "", "", errors.New("no valid bearer")
	}
	return user, "org1", nil
})

type fixture struct {
	tr    *Tracker
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
	clk := testenv.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	cfg := Config{Store: store, Auth: tokenAuth, Key: []byte("0123456789abcdef0123456789abcdef"),
		BaseURL: "https://crmsync.example.com/", Geo: geo{}, Now: clk.Now, ForwardedHeader: "X-Forwarded-For"}
	for _, m := range mod {
		m(&cfg)
	}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{tr: tr, store: store, clock: clk}
}

func (f *fixture) do(user, method, path, body string) *httptest.ResponseRecorder {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if user != "" {
		req.Header.Set("Authorization", "Bearer tok-"+user)
	}
	rec := httptest.NewRecorder()
	f.tr.ServeHTTP(rec, req)
	return rec
}

// fetch fetches a pixel as a client with the given address and agent.
func (f *fixture) fetch(method, token, ip, ua string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, Prefix+"/"+token+".gif", nil)
	req.Header.Set("User-Agent", ua)
	req.Header.Set("X-Forwarded-For", ip+", 10.0.0.1")
	rec := httptest.NewRecorder()
	f.tr.ServeHTTP(rec, req)
	return rec
}

func (f *fixture) mint(t *testing.T, user, msg string, recipients int) MintAnswer {
	t.Helper()
	rec := f.do(user, "POST", Prefix+"/tokens", fmt.Sprintf(`{"messageId":%q,"recipients":%d}`, msg, recipients))
	if rec.Code != http.StatusCreated && rec.Code != http.StatusOK {
		t.Fatalf("mint: status %d: %s", rec.Code, rec.Body)
	}
	var a MintAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) events(t *testing.T, token string) []tablestore.Entity {
	t.Helper()
	page, err := f.store.Query(context.Background(), OpensTable, tablestore.Query{PartitionKey: token})
	if err != nil {
		t.Fatal(err)
	}
	return page.Entities
}

const outlook = "Mozilla/4.0 (compatible; ms-office; MSOffice 16)"

func TestNewRejectsIncompleteConfig(t *testing.T) {
	_, err := New(Config{BaseURL: "crmsync.example.com"})
	if err == nil {
		t.Fatal("New with an empty config succeeded")
	}
	for _, want := range []string{"Store", "Auth", "Key", "BaseURL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestGIFBytes(t *testing.T) {
	img, err := gif.Decode(bytes.NewReader(pixelGIF))
	if err != nil {
		t.Fatalf("the pixel is not a GIF: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1 || b.Dy() != 1 {
		t.Errorf("size %dx%d, want 1x1", b.Dx(), b.Dy())
	}
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Errorf("pixel alpha %d, want 0 (transparent)", a)
	}
	if len(pixelGIF) != 43 {
		t.Errorf("len %d, want 43", len(pixelGIF))
	}
}

func TestPixelAnswersAlikeForAnyToken(t *testing.T) {
	f := newFixture(t)
	known := f.mint(t, "u1", "msg-1", 3).Token
	var first http.Header
	for _, path := range []string{known + ".gif", "AAAAAAAAAAAAAAAAAAAAAA.gif", "nonsense.gif", "x"} {
		req := httptest.NewRequest("GET", Prefix+"/"+path, nil)
		rec := httptest.NewRecorder()
		f.tr.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), pixelGIF) {
			t.Errorf("%s: status %d, %d bytes; want the GIF", path, rec.Code, rec.Body.Len())
		}
		h := rec.Header()
		if h.Get("Content-Type") != "image/gif" || !strings.Contains(h.Get("Cache-Control"), "no-store") || h.Get("Set-Cookie") != "" {
			t.Errorf("%s: headers %v", path, h)
		}
		if first == nil {
			first = h
		} else if diff := cmp.Diff(first, h); diff != "" {
			t.Errorf("%s: headers differ from a known token's (-known +this):\n%s", path, diff)
		}
	}
}

func TestPixelRecordsOpens(t *testing.T) {
	f := newFixture(t)
	tok := f.mint(t, "u1", "msg-1", 3).Token
	f.clock.Add(time.Hour)

	// Events are ordered by time; a second apart keeps the order certain.
	f.fetch("GET", tok, "203.0.113.9", outlook)
	f.clock.Add(time.Second)
	f.fetch("GET", tok, "203.0.113.9", outlook) // same client within a minute: once
	f.clock.Add(time.Second)
	f.fetch("GET", tok, "17.58.1.1", "Mozilla/5.0")
	f.clock.Add(time.Second)
	f.fetch("HEAD", tok, "198.51.100.1", outlook)
	f.fetch("GET", "AAAAAAAAAAAAAAAAAAAAAA", "203.0.113.9", outlook) // unknown token: nothing
	f.clock.Add(time.Minute)
	f.fetch("GET", tok, "203.0.113.9", outlook) // a minute later: again

	evs := f.events(t, tok)
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s/%s/%s/%v/%v", e.Properties["Kind"], e.Properties["Client"], e.Properties["Reason"], e.Properties["Country"], e.Properties["Region"]))
		for k, v := range e.Properties {
			if s, ok := v.(string); ok && (strings.Contains(s, "203.0.113") || strings.Contains(s, "MSOffice") || strings.Contains(s, "17.58")) {
				t.Errorf("event property %s holds request data %q", k, s)
			}
		}
	}
	want := []string{
		"human/outlook-desktop//DE/BY",
		"machine/apple-mail/apple-mail-privacy-protection/<nil>/<nil>",
		"machine/outlook-desktop/head-request/<nil>/<nil>",
		"human/outlook-desktop//DE/BY",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if page, _ := f.store.Query(context.Background(), OpensTable, tablestore.Query{PartitionKey: "AAAAAAAAAAAAAAAAAAAAAA"}); len(page.Entities) != 0 {
		t.Error("an unknown token's open was recorded")
	}
}

func TestPixelFloodIsCapped(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxOpensPerWindow = 5 })
	tok := f.mint(t, "u1", "msg-1", 1).Token
	f.clock.Add(time.Hour)
	for i := range 50 {
		f.fetch("GET", tok, fmt.Sprintf("198.51.100.%d", i), outlook)
	}
	if got := len(f.events(t, tok)); got != 5 {
		t.Errorf("recorded %d opens of a flood, want 5", got)
	}
	f.clock.Add(time.Minute)
	f.fetch("GET", tok, "198.51.100.200", outlook)
	if got := len(f.events(t, tok)); got != 6 {
		t.Errorf("recorded %d opens after the window, want 6", got)
	}
}

func TestMint(t *testing.T) {
	f := newFixture(t)
	a := f.mint(t, "u1", "AAMkAGI2=", 4)
	if !tokenShape.MatchString(a.Token) || a.URL != "https://crmsync.example.com/api/pixel/"+a.Token+".gif" {
		t.Errorf("minted %+v", a)
	}
	if b := f.mint(t, "u1", "AAMkAGI2=", 4); b != a {
		t.Errorf("second mint for the same message = %+v, want %+v", b, a)
	}
	if c := f.mint(t, "u2", "AAMkAGI2=", 4); c.Token == a.Token {
		t.Error("two users' messages share a token")
	}
	row, err := f.store.Get(context.Background(), TokensTable, a.Token, "t")
	if err != nil {
		t.Fatal(err)
	}
	if row.Properties["User"] != "u1" || row.Properties["Recipients"] != int64(4) {
		t.Errorf("token row %v", row.Properties)
	}
	if fmt.Sprint(row.Properties["Message"]) == "AAMkAGI2=" || strings.Contains(fmt.Sprint(row.Properties), "AAMk") {
		t.Errorf("token row holds the message id: %v", row.Properties)
	}
	for name, body := range map[string]string{
		"no id":      `{"recipients":1}`,
		"negative":   `{"messageId":"m","recipients":-1}`,
		"unknown":    `{"messageId":"m","to":["a@x.com"]}`,
		"not json":   `messageId=m`,
		"huge count": `{"messageId":"m","recipients":100000}`,
	} {
		if rec := f.do("u1", "POST", Prefix+"/tokens", body); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, rec.Code)
		}
	}
}

func TestAuthenticatedRoutes(t *testing.T) {
	f := newFixture(t)
	for _, rt := range Routes() {
		if rt.Permission == "" {
			if !strings.HasSuffix(rt.Path, "/{file}") {
				t.Errorf("%s is public but is not the pixel", rt.Key())
			}
			continue
		}
		if rt.Permission != PermUse {
			t.Errorf("%s: permission %q", rt.Key(), rt.Permission)
		}
		rec := f.do("", rt.Method, rt.Path, `{"messageId":"m"}`)
		if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s anonymously: %d %v, want 401 with a Bearer challenge", rt.Key(), rec.Code, rec.Header())
		}
	}
}

func TestStats(t *testing.T) {
	f := newFixture(t)
	a := f.mint(t, "u1", "msg-a", 3)
	f.clock.Add(5 * time.Second)
	f.fetch("GET", a.Token, "198.51.100.1", outlook) // 5 s after sending: prefetch
	f.clock.Add(time.Hour)
	f.fetch("GET", a.Token, "203.0.113.9", outlook)
	f.clock.Add(time.Second)
	f.fetch("GET", a.Token, "66.249.84.1", "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)")
	f.clock.Add(time.Hour)
	b := f.mint(t, "u1", "msg-b", 1)

	rec := f.do("u1", "GET", Prefix+"/stats?message=msg-a", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var st MessageStats
	json.Unmarshal(rec.Body.Bytes(), &st)
	first := time.Date(2026, 11, 24, 10, 0, 5, 0, time.UTC)
	last := first.Add(time.Second)
	want := MessageStats{Token: a.Token, Sent: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC), Recipients: 3, Opens: 3, HumanOpens: 1,
		ProxyOpens: 1, MachineOpens: 1, FirstOpen: &first, LastOpen: &last,
		Clients: map[string]int{"outlook-desktop": 2, "gmail": 1}}
	if diff := cmp.Diff(want, st, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Events" }, cmp.Ignore())); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if len(st.Events) != 3 || st.Events[0].Client != "gmail" || st.Events[1].Country != "DE" {
		t.Errorf("events newest first: %+v", st.Events)
	}

	if rec := f.do("u2", "GET", Prefix+"/stats?message=msg-a", ""); rec.Code != http.StatusNotFound {
		t.Errorf("another user's stats: status %d, want 404", rec.Code)
	}
	if rec := f.do("u1", "GET", Prefix+"/stats", ""); rec.Code != http.StatusBadRequest {
		t.Errorf("no message: status %d, want 400", rec.Code)
	}

	rec = f.do("u1", "GET", Prefix+"/stats/recent?limit=10", "")
	var recent RecentAnswer
	json.Unmarshal(rec.Body.Bytes(), &recent)
	if len(recent.Messages) != 2 || recent.Messages[0].Token != b.Token || recent.Messages[1].Opens != 3 || recent.Messages[1].Events != nil {
		t.Errorf("recent: %+v", recent.Messages)
	}
	if rec := f.do("u1", "GET", Prefix+"/stats/recent?limit=500", ""); rec.Code != http.StatusBadRequest {
		t.Errorf("limit 500: status %d, want 400", rec.Code)
	}
}

func TestLimiterSweepsMemory(t *testing.T) {
	l := newLimiter(time.Minute, 10)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxTracked + 10 {
		l.allow(now, fmt.Sprint(i), "c")
	}
	if len(l.seen) > maxTracked || len(l.counts) > maxTracked {
		t.Errorf("limiter holds %d/%d entries, want at most %d", len(l.seen), len(l.counts), maxTracked)
	}
}

func TestConcurrentMintsAgree(t *testing.T) {
	f := newFixture(t)
	const n = 6
	tokens := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, _, err := f.tr.Mint(context.Background(), "u1", "msg", 2)
			if err != nil {
				t.Error(err)
			}
			tokens <- tok
		}()
	}
	wg.Wait()
	close(tokens)
	var first string
	for tok := range tokens {
		if first == "" {
			first = tok
		} else if tok != first {
			t.Errorf("concurrent mints returned %q and %q", first, tok)
		}
	}
	// Losing mints remove their token rows: only the winner's is left.
	page, err := f.store.Query(context.Background(), TokensTable, tablestore.Query{RowKeyFrom: "t", RowKeyTo: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entities) != 1 || page.Entities[0].PartitionKey != first {
		t.Errorf("token rows %d, want only the winner's", len(page.Entities))
	}
}

// TestPrivacy scans every stored row for what the requests carried: the
// message id, the client's address and its user agent must never be stored.
func TestPrivacy(t *testing.T) {
	f := newFixture(t)
	const msg, ip, ua = "AAMkADistinctMessageId=", "203.0.113.77", "Mozilla/5.0 DistinctAgent/9.9 (Windows NT 10.0)"
	tok := f.mint(t, "u1", msg, 7).Token
	f.clock.Add(time.Hour)
	f.fetch("GET", tok, ip, ua)
	for _, table := range []string{TokensTable, OpensTable} {
		page, err := f.store.Query(context.Background(), table, tablestore.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entities) == 0 {
			t.Fatalf("%s: no rows stored", table)
		}
		for _, e := range page.Entities {
			row := fmt.Sprint(e.PartitionKey, e.RowKey, e.Properties)
			for _, secret := range []string{msg, "DistinctMessage", ip, "DistinctAgent"} {
				if strings.Contains(row, secret) {
					t.Errorf("%s row %s/%s holds %q", table, e.PartitionKey, e.RowKey, secret)
				}
			}
		}
	}
}
