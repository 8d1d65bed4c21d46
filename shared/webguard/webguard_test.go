package webguard_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/webguard"
)

var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	_, _ = w.Write(b)
})

func TestHeaders(t *testing.T) {
	h := webguard.Headers{AddinOrigins: []string{"https://outlook.office.com"}}
	tests := []struct {
		name    string
		handler http.Handler
		tls     bool
		want    map[string]string
	}{
		{"page", h.Page(echo), false, map[string]string{
			"Content-Security-Policy":   "default-src 'self'; base-uri 'self'; form-action 'self'; object-src 'none'; frame-ancestors 'none'",
			"X-Frame-Options":           "DENY",
			"X-Content-Type-Options":    "nosniff",
			"Referrer-Policy":           "strict-origin-when-cross-origin",
			"Strict-Transport-Security": "",
		}},
		{"page over TLS", h.Page(echo), true, map[string]string{
			"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
		}},
		{"add-in", h.Addin(echo), false, map[string]string{
			"Content-Security-Policy": "default-src 'self'; base-uri 'self'; form-action 'self'; object-src 'none'; frame-ancestors 'self' https://outlook.office.com",
			"X-Frame-Options":         "",
			"X-Content-Type-Options":  "nosniff",
		}},
		{"forced HSTS behind a TLS front end", webguard.Headers{HSTS: true}.Page(echo), false, map[string]string{
			"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, req)
			for k, want := range tt.want {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// chunked hides the length, as a chunked upload would.
type chunked struct{ io.Reader }

func TestLimitBody(t *testing.T) {
	h := webguard.LimitBody(10, echo)
	tests := []struct {
		name       string
		body       io.Reader
		length     int64
		wantStatus int
		wantBody   string
	}{
		{"under the limit", strings.NewReader("0123456789"), 10, 200, "0123456789"},
		{"declared too large", strings.NewReader("01234567890"), 11, 413, "limit of 10 bytes"},
		{"too large without a length", chunked{strings.NewReader(strings.Repeat("x", 1000))}, -1, 413, "limit of 10 bytes"},
		{"small without a length", chunked{strings.NewReader("abc")}, -1, 200, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", tt.body)
			req.ContentLength = tt.length
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("got %d %q, want %d containing %q", rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestRateLimit(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)}
	l, err := webguard.NewLimiter(6, 3, c.Now) // one token every 10 s, bursts of 3
	if err != nil {
		t.Fatal(err)
	}
	h := l.Middleware(webguard.ClientIP(0), echo)
	do := func(addr string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/auth/entra/login", nil)
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := range 3 {
		if rec := do("192.0.2.1:1111"); rec.Code != 200 {
			t.Fatalf("request %d in the burst: %d", i+1, rec.Code)
		}
	}
	rec := do("192.0.2.1:2222")
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "10" {
		t.Fatalf("over the limit: %d Retry-After %q, want 429 and 10", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec := do("192.0.2.2:1111"); rec.Code != 200 {
		t.Errorf("another client was limited: %d", rec.Code)
	}
	c.Advance(4 * time.Second)
	if rec := do("192.0.2.1:1111"); rec.Code != 429 || rec.Header().Get("Retry-After") != "6" {
		t.Errorf("after 4 s: %d Retry-After %q, want 429 and 6", rec.Code, rec.Header().Get("Retry-After"))
	}
	c.Advance(6 * time.Second)
	if rec := do("192.0.2.1:1111"); rec.Code != 200 {
		t.Errorf("after refill: %d, want 200", rec.Code)
	}
	if _, err := webguard.NewLimiter(0, 1, nil); err == nil {
		t.Error("a zero rate was accepted")
	}
}

func TestClientIP(t *testing.T) {
	tests := []struct {
		name    string
		proxies int
		xff     []string
		want    string
	}{
		{"direct", 0, []string{"203.0.113.9"}, "192.0.2.1"},
		{"one proxy takes the last hop", 1, []string{"203.0.113.66, 203.0.113.9"}, "203.0.113.9"},
		{"spoofed entries on the left are ignored", 1, []string{"1.1.1.1", "203.0.113.9"}, "203.0.113.9"},
		{"missing header falls back to the peer", 1, nil, "192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = "192.0.2.1:4444"
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := webguard.ClientIP(tt.proxies)(req); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	const addin = "https://addin.crmsync.test"
	h := webguard.CORS{Origins: []string{addin}}.Middleware(echo)
	tests := []struct {
		name        string
		method      string
		hdr         map[string]string
		wantStatus  int
		wantOrigin  string
		wantCreds   string
		wantMethods string
	}{
		{"preflight from the add-in", "OPTIONS", map[string]string{"Origin": addin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"},
			204, addin, "true", "GET, POST, PUT, PATCH, DELETE"},
		{"preflight from elsewhere", "OPTIONS", map[string]string{"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"}, 403, "", "", ""},
		{"preflight with an unlisted header", "OPTIONS", map[string]string{"Origin": addin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-evil"}, 403, "", "", ""},
		{"preflight with an unlisted method", "OPTIONS", map[string]string{"Origin": addin, "Access-Control-Request-Method": "TRACE"}, 403, "", "", ""},
		{"call from the add-in", "GET", map[string]string{"Origin": addin}, 200, addin, "true", ""},
		{"call from elsewhere gets no CORS headers", "GET", map[string]string{"Origin": "https://evil.test"}, 200, "", "", ""},
		{"same-origin call", "GET", nil, 200, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/addin/api", nil)
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			hd := rec.Header()
			if rec.Code != tt.wantStatus || hd.Get("Access-Control-Allow-Origin") != tt.wantOrigin ||
				hd.Get("Access-Control-Allow-Credentials") != tt.wantCreds || hd.Get("Access-Control-Allow-Methods") != tt.wantMethods {
				t.Errorf("got %d origin=%q creds=%q methods=%q", rec.Code, hd.Get("Access-Control-Allow-Origin"),
					hd.Get("Access-Control-Allow-Credentials"), hd.Get("Access-Control-Allow-Methods"))
			}
			if !strings.Contains(strings.Join(hd.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want Origin", hd.Values("Vary"))
			}
		})
	}
}

func BenchmarkLimiterAllow(b *testing.B) {
	l, _ := webguard.NewLimiter(600, 100, nil)
	keys := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Allow(keys[i%len(keys)])
	}
}
