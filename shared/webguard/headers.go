// Package webguard hardens crmsync's HTTP surface as net/http middleware:
// security headers, request body limits, per-client rate limits, and CORS for
// the Outlook add-in's configured origins only.
package webguard

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Headers sets the security headers of every response. Handlers may still
// override a header they need (set after the middleware runs).
type Headers struct {
	// AddinOrigins may frame the add-in's pages (Outlook on the web, e.g.
	// "https://outlook.office.com"); everything else may not be framed.
	AddinOrigins []string
	// HSTS sends Strict-Transport-Security even when the request reached us
	// over plain HTTP, for deployments where a front end terminates TLS
	// (Azure Functions, a reverse proxy). Requests over TLS always get it.
	HSTS bool
}

// ReferrerPolicy is the referrer policy of every page and API answer.
const ReferrerPolicy = "strict-origin-when-cross-origin"

const basePolicy = "default-src 'self'; base-uri 'self'; form-action 'self'; object-src 'none'"

// Page wraps routes that must never be framed: the dashboard and APIs.
func (h Headers) Page(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		h.common(hd, r)
		hd.Set("Content-Security-Policy", basePolicy+"; frame-ancestors 'none'")
		hd.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// Addin wraps the add-in's task pane routes, which Outlook frames: only the
// configured origins may do so. X-Frame-Options cannot name several origins,
// so it is left out and frame-ancestors governs.
func (h Headers) Addin(next http.Handler) http.Handler {
	ancestors := "'self'"
	if len(h.AddinOrigins) > 0 {
		ancestors += " " + strings.Join(h.AddinOrigins, " ")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		h.common(hd, r)
		hd.Set("Content-Security-Policy", basePolicy+"; frame-ancestors "+ancestors)
		next.ServeHTTP(w, r)
	})
}

func (h Headers) common(hd http.Header, r *http.Request) {
	hd.Set("X-Content-Type-Options", "nosniff")
	// strict-origin-when-cross-origin, not no-referrer: with no-referrer
	// browsers send "Origin: null" on same-origin form posts, which the
	// CSRF check must then refuse; this policy keeps the real Origin on
	// same-origin requests and sends only the origin (never a path, which
	// may name a user id) to other sites.
	hd.Set("Referrer-Policy", ReferrerPolicy)
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.TLS != nil || h.HSTS {
		hd.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}
