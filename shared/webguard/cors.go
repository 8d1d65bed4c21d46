package webguard

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// CORS lets the configured origins (the add-in's) call the wrapped routes
// from a browser, with credentials; any other origin gets no CORS headers and
// its preflights are refused.
type CORS struct {
	Origins []string
	// Methods allowed cross-origin (default GET, POST, PUT, PATCH, DELETE).
	Methods []string
	// Headers a request may carry (default Authorization, Content-Type,
	// X-CSRF-Token).
	Headers []string
	// MaxAge caches a preflight answer, in seconds (default 600).
	MaxAge int
}

// Middleware applies the policy.
func (c CORS) Middleware(next http.Handler) http.Handler {
	methods := c.Methods
	if len(methods) == 0 {
		methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
	}
	headers := c.Headers
	if len(headers) == 0 {
		headers = []string{"Authorization", "Content-Type", "X-CSRF-Token"}
	}
	maxAge := c.MaxAge
	if maxAge <= 0 {
		maxAge = 600
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		w.Header().Add("Vary", "Origin")
		allowed := origin != "" && slices.Contains(c.Origins, origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			w.Header().Add("Vary", "Access-Control-Request-Method")
			w.Header().Add("Vary", "Access-Control-Request-Headers")
			if !allowed || !slices.Contains(methods, r.Header.Get("Access-Control-Request-Method")) || !headersAllowed(r, headers) {
				writeError(w, http.StatusForbidden, "cors", "this origin, method or header is not allowed")
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
			h.Set("Access-Control-Allow-Headers", strings.Join(headers, ", "))
			h.Set("Access-Control-Max-Age", strconv.Itoa(maxAge))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate")
		}
		next.ServeHTTP(w, r)
	})
}

func headersAllowed(r *http.Request, allowed []string) bool {
	for _, h := range strings.Split(r.Header.Get("Access-Control-Request-Headers"), ",") {
		h = strings.TrimSpace(h)
		if h != "" && !slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, h) }) {
			return false
		}
	}
	return true
}
