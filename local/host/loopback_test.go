package host

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCanonicalLoopback: a page asked for at localhost on the public URL's
// port goes to the same path at 127.0.0.1; other hosts, ports, methods and
// public URLs pass through.
func TestCanonicalLoopback(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, c := range []struct {
		public, method, target string
		code                   int
		location               string
	}{
		{"http://127.0.0.1:7071", "GET", "http://localhost:7071/api/dashboard/?msg=x", http.StatusFound, "http://127.0.0.1:7071/api/dashboard/?msg=x"},
		{"http://127.0.0.1:7071", "HEAD", "http://LOCALHOST:7071/", http.StatusFound, "http://127.0.0.1:7071/"},
		{"http://127.0.0.1:7071", "GET", "http://127.0.0.1:7071/api/dashboard/", http.StatusTeapot, ""},
		{"http://127.0.0.1:7071", "GET", "http://localhost:8080/", http.StatusTeapot, ""},
		{"http://127.0.0.1:7071", "POST", "http://localhost:7071/api/dashboard/settings", http.StatusTeapot, ""},
		{"https://crmsync.example", "GET", "http://localhost:7071/", http.StatusTeapot, ""},
		{"", "GET", "http://localhost:7071/", http.StatusTeapot, ""},
	} {
		rec := httptest.NewRecorder()
		canonicalLoopback(c.public, next).ServeHTTP(rec, httptest.NewRequest(c.method, c.target, nil))
		if rec.Code != c.code || rec.Header().Get("Location") != c.location {
			t.Errorf("%s %s (public %q): %d %q, want %d %q", c.method, c.target, c.public, rec.Code, rec.Header().Get("Location"), c.code, c.location)
		}
	}
}
