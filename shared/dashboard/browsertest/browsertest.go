// Package browsertest drives headless Chromium the way a person uses the
// dashboard, for the browser tests of crmsync's web pages: it opens
// addresses, clicks links and buttons, types into fields, and checks every
// page it lands on (no console error, no CSP violation, no uncaught
// exception, nothing wider than the window). It never sets a cookie or a
// header itself. Tests skip without Chromium, except in CI
// (CI or CRMSYNC_REQUIRE_BROWSER set), where they fail.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/shared/testenv"
)

// Browser is one headless Chromium with one tab, used as a person would:
// it opens the dashboard's address, clicks links and buttons and types into
// fields. It never sets a cookie or a header itself. Every page it lands on
// is checked: no console error, no CSP violation, no uncaught exception,
// and no horizontal overflow at the window's width.
type Browser struct {
	t     testing.TB
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

func New(t testing.TB, base string, width int64, flags ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	exe := testenv.Chromium(t)
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
	opts := append([]chromedp.ExecAllocatorOption{
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
	}, flags...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &Browser{t: t, base: base, width: width}
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

// NewTab opens a second tab of the same browser (same cookies), as a person
// opening the dashboard in another tab.
func (b *Browser) NewTab() *Browser {
	b.t.Helper()
	tab := &Browser{t: b.t, base: b.base, width: b.width}
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

func (b *Browser) listen(ev any) {
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

// Do runs actions with a timeout.
func (b *Browser) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func Eval[T any](b *Browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// Open types an address into the location bar.
func (b *Browser) Open(path string) {
	b.t.Helper()
	b.Do("opening "+path, chromedp.Navigate(b.base+path))
	b.Settle("opening " + path)
}

// Click clicks the element sel and waits for the page it leads to (a link
// or a form's submit button).
func (b *Browser) Click(sel string) {
	b.t.Helper()
	b.mark()
	b.Do("clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
	b.Settle("clicking " + sel)
}

// Back is the browser's Back button.
func (b *Browser) Back() {
	b.t.Helper()
	b.mark()
	b.Do("going back", chromedp.Evaluate[chromedp.Void](`history.back()`))
	b.Settle("going back")
}

// Tick clicks a checkbox (or anything that stays on the page).
func (b *Browser) Tick(sel string) {
	b.t.Helper()
	b.Do("clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// OpenExpectingError is Open for an address that answers with a 4xx page.
func (b *Browser) OpenExpectingError(path string) {
	b.t.Helper()
	b.mu.Lock()
	b.tolerate = true
	b.mu.Unlock()
	defer func() { b.mu.Lock(); b.tolerate = false; b.mu.Unlock() }()
	b.Open(path)
}

// ClickExpectingError is Click for a form that comes back with a 4xx page.
func (b *Browser) ClickExpectingError(sel string) {
	b.t.Helper()
	b.mu.Lock()
	b.tolerate = true
	b.mu.Unlock()
	defer func() { b.mu.Lock(); b.tolerate = false; b.mu.Unlock() }()
	b.Click(sel)
}

// mark numbers the current page before an action that leaves it; settle
// then waits for a page without that number: a new one, or one restored
// from the back-forward cache (which carries an older number).
func (b *Browser) mark() {
	b.t.Helper()
	b.seq++
	b.Do("marking the page", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.crmsyncTestPage = %d`, b.seq)))
}

// Settle waits until another document has loaded, then checks the page.
func (b *Browser) Settle(what string) {
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
			b.t.Fatalf("%s: no new page loaded (at %s)", what, b.Location())
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.check(what)
}

// check fails on any console error, CSP violation or exception so far, and
// on a page wider than the window.
func (b *Browser) check(what string) {
	b.t.Helper()
	time.Sleep(50 * time.Millisecond) // let late console events arrive
	b.mu.Lock()
	problems := b.problems
	b.problems = nil
	b.mu.Unlock()
	for _, p := range problems {
		b.t.Errorf("%s (at %s): %s", what, b.Location(), p)
	}
	type overflow struct {
		Scroll, Inner int64
		Wide          string
	}
	o := Eval[overflow](b, `(() => {
		const w = window.innerWidth, d = document.documentElement;
		let wide = "";
		for (const el of document.querySelectorAll("body *")) {
			const r = el.getBoundingClientRect();
			if (r.right > w + 0.5) { wide = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + el.className : ""); break; }
		}
		return {Scroll: d.scrollWidth, Inner: w, Wide: wide};
	})()`)
	if o.Scroll > o.Inner {
		b.t.Errorf("%s (at %s): the page is %d px wide in a %d px window (first too wide: %s)", what, b.Location(), o.Scroll, o.Inner, o.Wide)
	}
}

func (b *Browser) Location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return strings.TrimPrefix(loc, b.base)
}

// Path is the current address without the origin.
func (b *Browser) Path() string { return b.Location() }

func (b *Browser) Text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s at %s: %v", sel, b.Location(), err)
	}
	return s
}

func (b *Browser) Has(sel string) bool {
	return Eval[bool](b, fmt.Sprintf(`document.querySelector(%q) !== null`, sel))
}

// Expect checks the page: its heading and texts it must and must not show.
func (b *Browser) Expect(heading string, has []string, hasNot ...string) {
	b.t.Helper()
	if got := strings.TrimSpace(b.Text("h1")); got != heading {
		b.t.Errorf("at %s the heading is %q, want %q", b.Location(), got, heading)
	}
	body := b.Text("body")
	for _, s := range has {
		if !strings.Contains(body, s) {
			b.t.Errorf("at %s the page does not say %q:\n%s", b.Location(), s, body)
		}
	}
	for _, s := range hasNot {
		if strings.Contains(body, s) {
			b.t.Errorf("at %s the page says %q:\n%s", b.Location(), s, body)
		}
	}
}

func (b *Browser) TypeInto(sel, text string) {
	b.t.Helper()
	b.Do("typing into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

func (b *Browser) Choose(sel, value string) {
	b.t.Helper()
	b.Do("choosing in "+sel, chromedp.SetValue(chromedp.CSS(sel), value))
}

// Screenshot saves the whole page as a PNG in the test's temp dir, and in
// CRMSYNC_SCREENSHOT_DIR when set, to look at.
func (b *Browser) Screenshot(name string) {
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

// Problems returns and forgets the console errors, CSP violations and
// exceptions seen since the last check (for a test of the checks).
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// Cookie returns the cookie named name as Chromium stores it for the base
// URL (read, never set), or nil.
func (b *Browser) Cookie(name string) *network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.Action[network.GetCookiesResult](func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base}})
	}))
	if err != nil {
		b.t.Fatalf("reading cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}
