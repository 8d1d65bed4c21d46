package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
	"github.com/crmsync/crmsync/shared/webguard"
)

// TestBrowserHarnessSeesProblems proves the walks' checks can fail: an
// inline script under the dashboard's CSP is a violation, console.error is
// a console error, and a page wider than the window is overflow; each is
// seen by the harness that checks every page of the walks.
func TestBrowserHarnessSeesProblems(t *testing.T) {
	srv := httptest.NewServer(webguard.Headers{}.Page(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/inline":
			io.WriteString(w, `<!doctype html><link rel="icon" href="/e.js"><p>x</p><script>document.title = "ran"</script>`)
		case "/error":
			io.WriteString(w, `<!doctype html><link rel="icon" href="/e.js"><p>x</p><script src="/e.js"></script>`)
		case "/e.js":
			w.Header().Set("Content-Type", "text/javascript")
			io.WriteString(w, `console.error("boom")`)
		case "/wide":
			io.WriteString(w, `<!doctype html><link rel="icon" href="/e.js"><p>`+strings.Repeat("w", 200)+`</p>`)
		}
	})))
	defer srv.Close()
	b := browsertest.New(t, srv.URL, 390)
	for path, want := range map[string]string{"/inline": "CSP violation: script-src", "/error": "console error: \"boom\""} {
		b.Do("opening "+path, chromedp.Navigate(srv.URL+path))
		deadline := time.Now().Add(10 * time.Second)
		var seen []string
		for time.Now().Before(deadline) {
			seen = append(seen, b.Problems()...)
			if slices.ContainsFunc(seen, func(p string) bool { return strings.Contains(p, want) }) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !slices.ContainsFunc(seen, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("%s: the harness saw %q, want %q among them", path, seen, want)
		}
	}
	b.Do("opening /wide", chromedp.Navigate(srv.URL+"/wide"))
	if w := browsertest.Eval[int64](b, `document.documentElement.scrollWidth`); w <= 390 {
		t.Errorf("the wide page measures %d px; the overflow check would not see it", w)
	}
}
