// Package pixel is the HTTP function of e-mail open tracking
// (shared/tracking): the public pixel the add-in inserts, and the
// bearer-authenticated minting of pixels and open statistics.
package pixel

import "net/http"

// New returns the tracking function over the wired tracker.
func New(tracker http.Handler) http.Handler { return tracker }
