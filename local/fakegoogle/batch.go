package fakegoogle

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
)

// batchAPIs are the batch paths the fake serves: the inner requests' path
// prefix and the most calls one batch may carry.
var batchAPIs = map[string]struct {
	prefix string
	max    int
}{
	"/batch/calendar/v3": {"/calendar/v3/", 1000},
	"/batch/gmail/v1":    {"/gmail/v1/", 100},
	"/batch":             {"/tasks/v1/", 1000}, // Tasks' batchPath
}

// batch answers a multipart/mixed batch: each application/http part is an
// inner request (path only) run as if sent alone, with the outer
// Authorization unless it sets its own; the answer holds one application/http
// part per call, Content-ID "response-<the part's Content-ID>".
func (s *Server) batch(w http.ResponseWriter, r *http.Request) {
	api, ok := batchAPIs[r.URL.Path]
	s.mu.Lock()
	s.requests["batch"]++
	s.mu.Unlock()
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !ok || err != nil || mt != "multipart/mixed" {
		legacyError(w, http.StatusBadRequest, "badRequest", "A batch request must be multipart/mixed, sent to an API's batch path.")
		return
	}
	type call struct {
		id  string
		req *http.Request
		err string
	}
	var calls []call
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			legacyError(w, http.StatusBadRequest, "badRequest", "Malformed multipart body.")
			return
		}
		c := call{id: p.Header.Get("Content-ID")}
		inner, err := http.ReadRequest(bufio.NewReader(p))
		switch {
		case err != nil:
			c.err = "Malformed inner request."
		case inner.URL.IsAbs() || inner.Host != "" && strings.Contains(inner.RequestURI, "://"):
			c.err = "Inner requests carry the path only."
		case !strings.HasPrefix(inner.URL.Path, api.prefix):
			c.err = "All the inner requests must go to the same API."
		default:
			body, _ := io.ReadAll(inner.Body)
			inner.Body = io.NopCloser(bytes.NewReader(body))
			if inner.Header.Get("Authorization") == "" {
				inner.Header.Set("Authorization", r.Header.Get("Authorization"))
			}
			inner.RequestURI = ""
			c.req = inner
		}
		calls = append(calls, c)
	}
	if len(calls) == 0 || len(calls) > api.max {
		legacyError(w, http.StatusBadRequest, "badRequest", fmt.Sprintf("A batch holds 1 to %d calls.", api.max))
		return
	}
	var out bytes.Buffer
	mw := multipart.NewWriter(&out)
	for _, c := range calls {
		rec := httptest.NewRecorder()
		if c.req != nil {
			s.mux.ServeHTTP(rec, c.req)
		} else {
			legacyError(rec, http.StatusBadRequest, "badRequest", c.err)
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "application/http")
		if c.id != "" {
			h.Set("Content-ID", "response-"+strings.Trim(c.id, "<>"))
		}
		pw, _ := mw.CreatePart(h)
		resp := rec.Result()
		fmt.Fprintf(pw, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
		_ = resp.Header.Write(pw)
		fmt.Fprintf(pw, "\r\n")
		_, _ = io.Copy(pw, resp.Body)
	}
	_ = mw.Close()
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}
