package webguard

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// LimitBody refuses request bodies larger than max bytes with 413 and a
// message naming the limit. The body is read up front (at most max+1 bytes),
// so the handler never sees a truncated body and never has to tell a
// *http.MaxBytesError from a network error.
func LimitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		tooLarge := func() {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the request body exceeds the limit of %d bytes", max))
		}
		if r.ContentLength > max {
			tooLarge()
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
		_ = r.Body.Close()
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_body", "the request body could not be read")
			return
		}
		if int64(len(body)) > max {
			tooLarge()
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}
