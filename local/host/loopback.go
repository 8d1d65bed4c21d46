package host

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// canonicalLoopback sends a page asked for at http://localhost:<port> to
// the same address at the public URL's 127.0.0.1:<port>. Sign-in and
// connect flows send the browser back to the public URL, where the cookies
// set under the name "localhost" (the OAuth state, the session) are not
// sent: opened at localhost, the demo's sign-in failed at its callback.
// Only reads are redirected, and only when the public URL is 127.0.0.1.
func canonicalLoopback(public string, next http.Handler) http.Handler {
	u, err := url.Parse(public)
	if err != nil || u.Hostname() != "127.0.0.1" {
		return next
	}
	base := strings.TrimSuffix(u.String(), "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, port, err := net.SplitHostPort(r.Host)
		if err == nil && strings.EqualFold(host, "localhost") && port == u.Port() && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			http.Redirect(w, r, base+r.URL.RequestURI(), http.StatusFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}
