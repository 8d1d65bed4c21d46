package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/shared/webguard"
)

// chromiumPath is where Debian's chromium package puts the browser;
// CRMSYNC_CHROMIUM overrides it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CRMSYNC_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		msg := "headless Chromium not found at " + path + "; install it with " +
			"`apt-get update && apt-get install -y --no-install-recommends chromium` (or set CRMSYNC_CHROMIUM)"
		if os.Getenv("CI") != "" || os.Getenv("CRMSYNC_REQUIRE_BROWSER") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// browser is one headless Chromium with one tab, used as a person would:
// it opens the dashboard's address, clicks links and buttons and types into
// fields. It never sets a cookie or a header itself. Every page it lands on
// is checked: no console error, no CSP violation, no uncaught exception,
// and no horizontal overflow at the window's width.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	width int64

	mu       sync.Mutex
	problems []string
	// tolerate lets the network error of an expected 4xx answer (a form
	// that comes back with errors) through for one step.
	tolerate bool
	// seq numbers the pages left (mark).
	seq int
}

// cspReporter runs before every page's own scripts: a CSP violation is
// reported as a console error, so the listener sees it whatever the
// browser's own logging does.
const cspReporter = `document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " on " + location.pathname);
});`

func newBrowser(t *testing.T, base string, width int64) *browser {
	t.Helper()
	exe := chromiumPath(t)
	profile, err := os.MkdirTemp("", "crmsync-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Chromium's children may still write for a moment after it stops.
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(int(width), 900),
	)
	b := &browser{t: t, base: base, width: width}
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithListener(b.listen))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b.ctx = ctx
	// The first Do starts the browser and must not carry a timeout (it
	// would stop the browser); later steps get one each.
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(width, 900),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspReporter})
			return err
		}),
	); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return b
}

// newTab opens a second tab of the same browser (same cookies), as a person
// opening the dashboard in another tab.
func (b *browser) newTab() *browser {
	b.t.Helper()
	tab := &browser{t: b.t, base: b.base, width: b.width}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithListener(tab.listen))
	b.t.Cleanup(cancel)
	tab.ctx = ctx
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(b.width, 900),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspReporter})
			return err
		}),
	); err != nil {
		b.t.Fatalf("opening a tab: %v", err)
	}
	return tab
}

func (b *browser) listen(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError && e.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var parts []string
		for _, a := range e.Args {
			if a.Value != nil {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		msg = "console error: " + strings.Join(parts, " ")
	case *runtime.EventExceptionThrown:
		msg = "uncaught exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
	case *cdplog.EventEntryAdded:
		if e.Entry.Level != cdplog.EntryLevelError {
			return
		}
		msg = "log error (" + string(e.Entry.Source) + "): " + e.Entry.Text + " " + e.Entry.URL
		if e.Entry.Source == cdplog.EntrySourceNetwork && strings.Contains(e.Entry.Text, "status of 4") {
			b.mu.Lock()
			ok := b.tolerate
			b.mu.Unlock()
			if ok {
				return
			}
		}
	default:
		return
	}
	b.mu.Lock()
	b.problems = append(b.problems, msg)
	b.mu.Unlock()
}

// do runs actions with a timeout.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// open types an address into the location bar.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do("opening "+path, chromedp.Navigate(b.base+path))
	b.settle("opening " + path)
}

// click clicks the element sel and waits for the page it leads to (a link
// or a form's submit button).
func (b *browser) click(sel string) {
	b.t.Helper()
	b.mark()
	b.do("clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
	b.settle("clicking " + sel)
}

// back is the browser's Back button.
func (b *browser) back() {
	b.t.Helper()
	b.mark()
	b.do("going back", chromedp.Evaluate[chromedp.Void](`history.back()`))
	b.settle("going back")
}

// tick clicks a checkbox (or anything that stays on the page).
func (b *browser) tick(sel string) {
	b.t.Helper()
	b.do("clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// clickExpectingError is click for a form that comes back with a 4xx page.
func (b *browser) clickExpectingError(sel string) {
	b.t.Helper()
	b.mu.Lock()
	b.tolerate = true
	b.mu.Unlock()
	defer func() { b.mu.Lock(); b.tolerate = false; b.mu.Unlock() }()
	b.click(sel)
}

// mark numbers the current page before an action that leaves it; settle
// then waits for a page without that number: a new one, or one restored
// from the back-forward cache (which carries an older number).
func (b *browser) mark() {
	b.t.Helper()
	b.seq++
	b.do("marking the page", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.crmsyncTestPage = %d`, b.seq)))
}

// settle waits until another document has loaded, then checks the page.
func (b *browser) settle(what string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		// While the page changes, an evaluation may fail ("target
		// navigated"): that only means "not yet".
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ready, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.readyState === "complete" && window.crmsyncTestPage !== %d && !!document.body`, b.seq)))
		cancel()
		ready = ready && err == nil
		if ready {
			break
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: no new page loaded (at %s)", what, b.location())
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.check(what)
}

// check fails on any console error, CSP violation or exception so far, and
// on a page wider than the window.
func (b *browser) check(what string) {
	b.t.Helper()
	time.Sleep(50 * time.Millisecond) // let late console events arrive
	b.mu.Lock()
	problems := b.problems
	b.problems = nil
	b.mu.Unlock()
	for _, p := range problems {
		b.t.Errorf("%s (at %s): %s", what, b.location(), p)
	}
	type overflow struct {
		Scroll, Inner int64
		Wide          string
	}
	o := eval[overflow](b, `(() => {
		const w = window.innerWidth, d = document.documentElement;
		let wide = "";
		for (const el of document.querySelectorAll("body *")) {
			const r = el.getBoundingClientRect();
			if (r.right > w + 0.5) { wide = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + el.className : ""); break; }
		}
		return {Scroll: d.scrollWidth, Inner: w, Wide: wide};
	})()`)
	if o.Scroll > o.Inner {
		b.t.Errorf("%s (at %s): the page is %d px wide in a %d px window (first too wide: %s)", what, b.location(), o.Scroll, o.Inner, o.Wide)
	}
}

func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return strings.TrimPrefix(loc, b.base)
}

// path is the current address without the origin.
func (b *browser) path() string { return b.location() }

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s at %s: %v", sel, b.location(), err)
	}
	return s
}

func (b *browser) has(sel string) bool {
	return eval[bool](b, fmt.Sprintf(`document.querySelector(%q) !== null`, sel))
}

// expect checks the page: its heading and texts it must and must not show.
func (b *browser) expect(heading string, has []string, hasNot ...string) {
	b.t.Helper()
	if got := strings.TrimSpace(b.text("h1")); got != heading {
		b.t.Errorf("at %s the heading is %q, want %q", b.location(), got, heading)
	}
	body := b.text("body")
	for _, s := range has {
		if !strings.Contains(body, s) {
			b.t.Errorf("at %s the page does not say %q:\n%s", b.location(), s, body)
		}
	}
	for _, s := range hasNot {
		if strings.Contains(body, s) {
			b.t.Errorf("at %s the page says %q:\n%s", b.location(), s, body)
		}
	}
}

func (b *browser) typeInto(sel, text string) {
	b.t.Helper()
	b.do("typing into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

func (b *browser) choose(sel, value string) {
	b.t.Helper()
	b.do("choosing in "+sel, chromedp.SetValue(chromedp.CSS(sel), value))
}

// screenshot saves the whole page as a PNG in the test's temp dir, and in
// CRMSYNC_SCREENSHOT_DIR when set, to look at.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	name = fmt.Sprintf("%d-%s", b.width, name)
	path := filepath.Join(b.t.TempDir(), name)
	if err := os.WriteFile(path, shot, 0o600); err != nil {
		b.t.Fatal(err)
	}
	if dir := os.Getenv("CRMSYNC_SCREENSHOT_DIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
			b.t.Errorf("copying the screenshot: %v", err)
		}
	}
}

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
	b := newBrowser(t, srv.URL, 390)
	for path, want := range map[string]string{"/inline": "CSP violation: script-src", "/error": "console error: \"boom\""} {
		b.do("opening "+path, chromedp.Navigate(srv.URL+path))
		deadline := time.Now().Add(10 * time.Second)
		var seen []string
		for time.Now().Before(deadline) {
			b.mu.Lock()
			seen = slices.Clone(b.problems)
			b.mu.Unlock()
			if slices.ContainsFunc(seen, func(p string) bool { return strings.Contains(p, want) }) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !slices.ContainsFunc(seen, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("%s: the harness saw %q, want %q among them", path, seen, want)
		}
		b.mu.Lock()
		b.problems = nil
		b.mu.Unlock()
	}
	b.do("opening /wide", chromedp.Navigate(srv.URL+"/wide"))
	if w := eval[int64](b, `document.documentElement.scrollWidth`); w <= 390 {
		t.Errorf("the wide page measures %d px; the overflow check would not see it", w)
	}
}
