package lambdaadapter

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// invokeHTTP serves a Lambda function URL or API Gateway HTTP API (payload
// format 2.0) request. Both events share one shape, so one decoder reads
// either; both accept the same five-field response (status, headers, body,
// isBase64Encoded, cookies), which LambdaFunctionURLResponse is exactly.
func (a *Adapter) invokeHTTP(ctx context.Context, payload []byte) ([]byte, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("%w: malformed HTTP request event: %v", ErrUnsupportedEvent, err)
	}
	req, err := a.request(ctx, ev)
	if err != nil {
		// The request itself is bad (undecodable body, bad path): answer 400
		// rather than failing the invocation, which the caller would see as 502.
		return json.Marshal(errorResponse(http.StatusBadRequest, err.Error()))
	}
	rec := newRecorder()
	if strings.HasPrefix(req.URL.Path, a.prefix) {
		a.http.ServeHTTP(rec, req)
	} else {
		// Only routes under the prefix are public. The funchost server also
		// answers the Functions host's own endpoints (GET /, POST /<Function>),
		// which must not be reachable from the internet.
		writeNotFound(rec, req)
	}
	return json.Marshal(rec.response())
}

// request rebuilds the client's HTTP request from the event.
func (a *Adapter) request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	path := ev.RawPath
	if path == "" {
		path = "/"
	}
	// API Gateway stages other than $default prefix the path with the stage name.
	if st := ev.RequestContext.Stage; st != "" && st != "$default" && !strings.HasPrefix(path, a.prefix) {
		path = strings.TrimPrefix(path, "/"+st)
	}
	target := path
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("request path %q: %v", target, err)
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("request body is marked base64 but does not decode: %v", err)
		}
	}
	method := ev.RequestContext.HTTP.Method
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("request %s %s: %v", method, target, err)
	}
	for k, v := range ev.Headers {
		// Payload 2.0 joins repeated headers with commas; keep them joined,
		// which is equivalent for every list-valued header.
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		// Payload 2.0 moves cookies out of the headers into their own list.
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Host = req.Header.Get("Host")
	if req.Host == "" {
		req.Host = ev.RequestContext.DomainName
	}
	req.URL.Host = req.Host
	req.URL.Scheme = "https"
	req.RequestURI = u.RequestURI()
	req.ContentLength = int64(len(body))
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		req.RemoteAddr = ip
	}
	if req.Header.Get("X-Forwarded-Proto") == "" {
		// Function URLs and HTTP APIs are HTTPS-only.
		req.Header.Set("X-Forwarded-Proto", "https")
	}
	return req, nil
}

// recorder captures a handler's response in memory; Lambda buffers responses
// (up to 6 MB) anyway.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

// Header implements http.ResponseWriter.
func (r *recorder) Header() http.Header { return r.header }

// WriteHeader implements http.ResponseWriter; later calls are ignored, as
// net/http does.
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// Write implements http.ResponseWriter.
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// response converts the recorded response: Set-Cookie headers become the
// cookies list, other headers are joined with commas, and a body that is not
// text goes base64-encoded.
func (r *recorder) response() events.LambdaFunctionURLResponse {
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	body := r.body.Bytes()
	if r.header.Get("Content-Type") == "" && len(body) > 0 {
		// net/http sniffs a missing Content-Type; do the same.
		r.header.Set("Content-Type", http.DetectContentType(body))
	}
	// Cookies is an empty list rather than null: the 2.0 response format
	// documents an array.
	res := events.LambdaFunctionURLResponse{StatusCode: status, Headers: map[string]string{}, Cookies: []string{}}
	for k, v := range r.header {
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			res.Cookies = append(res.Cookies, v...)
			continue
		}
		res.Headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	if isText(r.header.Get("Content-Type")) && utf8.Valid(body) {
		res.Body = string(body)
	} else {
		res.Body = base64.StdEncoding.EncodeToString(body)
		res.IsBase64Encoded = true
	}
	return res
}

// isText reports whether a media type can travel as a JSON string unchanged.
func isText(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mediaType, "text/"),
		strings.HasSuffix(mediaType, "+json"), strings.HasSuffix(mediaType, "+xml"),
		mediaType == "application/json", mediaType == "application/xml",
		mediaType == "application/javascript", mediaType == "application/x-www-form-urlencoded":
		return true
	}
	return false
}

func writeNotFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	b, _ := json.Marshal(map[string]string{"error": "no function or route at " + r.Method + " " + r.URL.Path})
	w.Write(b)
}

func errorResponse(status int, msg string) events.LambdaFunctionURLResponse {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return events.LambdaFunctionURLResponse{
		StatusCode: status,
		Headers:    map[string]string{"content-type": "application/json", "content-length": strconv.Itoa(len(b))},
		Body:       string(b),
		Cookies:    []string{},
	}
}
