package fakegraph

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// serveBatch runs a JSON batch: at most MaxBatch parts with unique ids,
// dependsOn honoured (424 when a dependency failed), responses in an order
// other than the request's, and per-part throttling.
func (s *Server) serveBatch(r *http.Request, who tokenInfo, base string, body []byte) (int, any) {
	var b struct {
		Requests []struct {
			ID        string            `json:"id"`
			Method    string            `json:"method"`
			URL       string            `json:"url"`
			DependsOn []string          `json:"dependsOn"`
			Headers   map[string]string `json:"headers"`
			Body      json.RawMessage   `json:"body"`
		} `json:"requests"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&b); err != nil {
		return 400, badRequest("BadRequest", "Invalid batch payload format.")
	}
	if len(b.Requests) == 0 || len(b.Requests) > MaxBatch {
		return 400, badRequest("BadRequest", "A batch must hold between 1 and 20 requests.")
	}
	ids := map[string]bool{}
	for _, p := range b.Requests {
		k := strings.ToLower(p.ID)
		if p.ID == "" || ids[k] {
			return 400, badRequest("BadRequest", "Batch request ids must be unique and present.")
		}
		ids[k] = true
		if len(p.Body) > 0 && p.Headers["Content-Type"] == "" && p.Headers["content-type"] == "" {
			return 400, badRequest("BadRequest", "Content-Type header is required when a body is present.")
		}
		for _, d := range p.DependsOn {
			if !ids[strings.ToLower(d)] {
				return 400, badRequest("BadRequest", "dependsOn must name an earlier request.")
			}
		}
	}
	status := map[string]int{}
	var out []map[string]any
	for _, p := range b.Requests {
		res := map[string]any{"id": p.ID}
		failedDep := slices.ContainsFunc(p.DependsOn, func(d string) bool { return status[strings.ToLower(d)] >= 400 })
		var st int
		var respBody any
		var hdr map[string]string
		switch {
		case failedDep:
			st, respBody = 424, (&apiError{status: 424, code: "FailedDependency", message: "Request failed due to a failed dependency."}).json()
		case p.Method == http.MethodDelete && s.partFails(who, p.URL):
			st, respBody = 500, (&apiError{status: 500, code: "ErrorInternalServerError", message: "An internal server error occurred. The operation failed."}).json()
		case s.partThrottled(who, p.URL):
			st, hdr = 429, map[string]string{"Retry-After": strconv.Itoa(int(s.retryAfterFor(who, p.URL) / time.Second))}
			respBody = (&apiError{status: 429, code: "ApplicationThrottled", message: "Application is over its request limit."}).json()
		default:
			u, err := url.Parse(strings.TrimPrefix(p.URL, "/"))
			if err != nil {
				st, respBody = 400, badRequest("BadRequest", "Invalid request URL.").json()
				break
			}
			h := http.Header{}
			for _, v := range r.Header.Values("Prefer") {
				h.Add("Prefer", v)
			}
			for k, v := range p.Headers {
				h.Add(k, v)
			}
			s.mu.Lock()
			s.parts++
			s.mu.Unlock()
			resp := s.serveAPI(who, strings.ToUpper(p.Method), u.Path, u.Query(), h, p.Body, base, "/v1.0/"+u.Path)
			st = resp.status
			switch v := resp.body.(type) {
			case *apiError:
				respBody = v.json()
			case []byte:
				respBody = string(v)
			default:
				respBody = v
			}
			if resp.header != nil {
				hdr = map[string]string{}
				for k := range resp.header {
					hdr[k] = resp.header.Get(k)
				}
			}
		}
		status[strings.ToLower(p.ID)] = st
		res["status"] = st
		if hdr == nil {
			hdr = map[string]string{}
		}
		if respBody != nil {
			hdr["Content-Type"] = "application/json"
			res["body"] = respBody
		}
		res["headers"] = hdr
		out = append(out, res)
	}
	// Graph answers parts in any order; the fake reverses them so clients
	// that assume request order fail here first.
	slices.Reverse(out)
	return 200, map[string]any{"responses": out}
}

func (e *apiError) json() map[string]any {
	return map[string]any{"error": map[string]any{"code": e.code, "message": e.message}}
}

func (s *Server) partThrottled(who tokenInfo, partURL string) bool {
	m, _ := s.resolveMailbox(who, strings.TrimPrefix(partURL, "/"), nil)
	if m == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.throttlePt > 0 {
		m.throttlePt--
		return true
	}
	return false
}

// partFails consumes one injected DELETE failure (FailDeletes).
func (s *Server) partFails(who tokenInfo, partURL string) bool {
	m, _ := s.resolveMailbox(who, strings.TrimPrefix(partURL, "/"), nil)
	if m == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.failDeletes > 0 {
		m.failDeletes--
		return true
	}
	return false
}

func (s *Server) retryAfterFor(who tokenInfo, partURL string) time.Duration {
	m, _ := s.resolveMailbox(who, strings.TrimPrefix(partURL, "/"), nil)
	if m == nil {
		return time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return m.retryAfter
}
