package dashboard

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/side"
)

// refusalPages renders Refuse's pages; it holds no request state.
var refusalPages = newPages(namesOf(side.Connector{}, side.Connector{}))

// wantsHTML is the content negotiation between the pages and the JSON API:
// a browser navigating or submitting a form asks for text/html; the
// dashboard's own script and API clients do not, and /v1/ is always JSON.
func wantsHTML(r *http.Request) bool {
	return !isAPI(r) && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// Refuse answers a request that cannot go on: a page with the way forward
// for a browser, the JSON error {"error": code, "message": msg} otherwise.
// shared/identity's session middleware (a stale or foreign form) and
// sign-in (an expired, replayed or cross-tab sign-in) answer through it, so
// a browser never lands on a JSON body. msg carries no request data.
func Refuse(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if !wantsHTML(r) {
		writeJSON(w, status, map[string]string{"error": code, "message": msg})
		return
	}
	d := &pageData{Title: refusalTitle(code), Prefix: Prefix, Error: sentence(msg), Principal: access.PrincipalFrom(r.Context())}
	d.Forward, d.ForwardLabel = Prefix+"/", "Back to the dashboard"
	switch code {
	case "signin_failed", "unavailable":
		d.Forward, d.ForwardLabel, d.Principal = Prefix+"/", "Sign in again", access.Principal{}
	case "csrf":
		if back := sameSitePage(r); back != "" {
			d.Forward, d.ForwardLabel = back, "Open the form again"
		}
	}
	var buf bytes.Buffer
	if err := refusalPages.t.ExecuteTemplate(&buf, "error", d); err != nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func refusalTitle(code string) string {
	switch code {
	case "csrf":
		return "Nothing was changed"
	case "signin_failed", "unavailable":
		return "Sign-in did not finish"
	case "unauthenticated":
		return "Sign in first"
	case "forbidden":
		return "Not allowed"
	case "not_found":
		return "Not found"
	}
	return "Something went wrong"
}

// sentence starts msg with a capital and ends it with a full stop.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// sameSitePage is the dashboard page the request came from (its Referer,
// which the strict-origin-when-cross-origin policy keeps in full for
// same-origin requests), when that is a dashboard path on this host.
func sameSitePage(r *http.Request) string {
	u, err := url.Parse(r.Referer())
	if err != nil || u.Host != r.Host || !strings.HasPrefix(u.Path, Prefix+"/") || strings.ContainsAny(u.Path, "\\\x00") {
		return ""
	}
	return u.EscapedPath()
}
