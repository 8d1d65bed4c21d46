package funchost

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
)

// DefaultMaxBodyBytes caps an invocation or forwarded request body. Azure's own
// request limit is 100 MB; crmsync's routes take small JSON, and a payload-mode
// invocation wraps a request body in JSON, so 16 MiB leaves room for both.
const DefaultMaxBodyBytes = 16 << 20

// InvocationIDHeader carries the host's invocation id.
const InvocationIDHeader = "X-Azure-Functions-InvocationId"

// Options tune a Server; zero values mean the defaults.
type Options struct {
	// RoutePrefix is host.json extensions.http.routePrefix ("api" when empty).
	RoutePrefix string
	// MaxBodyBytes caps request bodies (DefaultMaxBodyBytes when 0).
	MaxBodyBytes int64
}

// Server is the custom handler's HTTP server: GET / answers the host's
// readiness probe, POST /<FunctionName> takes payload-mode invocations and
// /<prefix>/<route> takes forwarded HTTP requests.
type Server struct {
	log     *slog.Logger
	maxBody int64
	byName  map[string]*entry
	mux     *http.ServeMux
}

type entry struct {
	fn Function
	// mux routes a payload-mode HTTP request to the function by its URL so that
	// path parameters are set as in forwarding mode.
	mux *http.ServeMux
}

// NewServer checks the routes table (unique names, one handler of the trigger's
// kind, valid routes) and builds the server.
func NewServer(fns []Function, log *slog.Logger, opts Options) (*Server, error) {
	if opts.RoutePrefix == "" {
		opts.RoutePrefix = "api"
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	s := &Server{log: log, maxBody: opts.MaxBodyBytes, byName: map[string]*entry{}, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "crmsync handler ready\n")
	})
	s.mux.HandleFunc("POST /{function}", s.invoke)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no function or route at %s %s", r.Method, r.URL.Path))
	})
	for _, f := range fns {
		if err := checkFunction(f); err != nil {
			return nil, err
		}
		if _, dup := s.byName[strings.ToLower(f.Name)]; dup {
			return nil, fmt.Errorf("funchost: function %q listed twice", f.Name)
		}
		e := &entry{fn: f}
		s.byName[strings.ToLower(f.Name)] = e
		if f.Trigger.Kind != KindHTTP {
			continue
		}
		patterns, err := RoutePatterns(opts.RoutePrefix, f.Trigger.Route)
		if err != nil {
			return nil, fmt.Errorf("funchost: function %s: %w", f.Name, err)
		}
		e.mux = http.NewServeMux()
		h := s.recoverHTTP(f.Name, f.HTTP)
		for _, p := range patterns {
			if err := handle(s.mux, p, s.limitBody(h)); err != nil {
				return nil, fmt.Errorf("funchost: function %s: %w", f.Name, err)
			}
			e.mux.Handle(p, f.HTTP)
		}
	}
	return s, nil
}

func checkFunction(f Function) error {
	if f.Name == "" {
		return errors.New("funchost: a function has no name")
	}
	var ok bool
	switch f.Trigger.Kind {
	case KindHTTP:
		ok = f.HTTP != nil && f.Queue == nil && f.Timer == nil
	case KindQueue:
		ok = f.Queue != nil && f.HTTP == nil && f.Timer == nil
	case KindTimer:
		ok = f.Timer != nil && f.HTTP == nil && f.Queue == nil
	default:
		return fmt.Errorf("funchost: function %s has no trigger kind", f.Name)
	}
	if !ok {
		return fmt.Errorf("funchost: function %s (%s trigger) needs exactly one %s handler", f.Name, f.Trigger.Kind, f.Trigger.Kind)
	}
	return nil
}

// handle registers a pattern, turning ServeMux's panic on a conflict into an error.
func handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("route pattern %q: %v", pattern, v)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.maxBody {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes is over the %d-byte limit", r.ContentLength, s.maxBody))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		h.ServeHTTP(w, r)
	})
}

// recoverHTTP turns a panic in an HTTP function into a 500 for that request.
func (s *Server) recoverHTTP(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("function panicked", "function", name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeError(w, http.StatusInternalServerError, "internal error in function "+name)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// invoke handles a payload-mode invocation: POST /<FunctionName>.
func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("function")
	e, ok := s.byName[strings.ToLower(name)]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown function %q", name))
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("invocation body is over the %d-byte limit", s.maxBody))
			return
		}
		writeError(w, http.StatusBadRequest, "reading invocation body: "+err.Error())
		return
	}
	var inv invocation
	if err := json.Unmarshal(raw, &inv); err != nil {
		writeError(w, http.StatusBadRequest, "malformed invocation JSON: "+err.Error())
		return
	}
	if inv.Data == nil {
		writeError(w, http.StatusBadRequest, "malformed invocation: no Data object")
		return
	}
	invocationID := r.Header.Get(InvocationIDHeader)
	log := s.log.With("function", e.fn.Name, "invocation", invocationID)

	result, status, err := s.run(r.Context(), e, inv, invocationID, log)
	if err != nil {
		if status >= 500 {
			log.Error("invocation failed", "error", err)
		}
		res := invocationResult{Outputs: map[string]any{}, Logs: []string{err.Error()}}
		writeJSON(w, status, res)
		return
	}
	writeJSON(w, http.StatusOK, result)
}

// run decodes the trigger, calls the function (recovering a panic) and encodes
// its outputs. The status is 400 for bad input and 500 for a failed function.
func (s *Server) run(ctx context.Context, e *entry, inv invocation, invocationID string, log *slog.Logger) (res invocationResult, status int, err error) {
	defer func() {
		if v := recover(); v != nil {
			log.Error("function panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			res, status, err = invocationResult{}, http.StatusInternalServerError, fmt.Errorf("function %s panicked", e.fn.Name)
		}
	}()
	res = invocationResult{Outputs: map[string]any{}, Logs: []string{}}
	var outs Outputs
	switch f := e.fn; f.Trigger.Kind {
	case KindQueue:
		msg, err := decodeQueueTrigger(inv, f.Trigger.Binding)
		if err != nil {
			return res, http.StatusBadRequest, fmt.Errorf("malformed queue invocation: %w", err)
		}
		msg.InvocationID = invocationID
		if outs, err = f.Queue(ctx, msg); err != nil {
			return res, http.StatusInternalServerError, fmt.Errorf("function %s failed: %w", f.Name, err)
		}
	case KindTimer:
		tick, err := decodeTimerTrigger(inv, f.Trigger.Binding)
		if err != nil {
			return res, http.StatusBadRequest, fmt.Errorf("malformed timer invocation: %w", err)
		}
		tick.InvocationID = invocationID
		if outs, err = f.Timer(ctx, tick); err != nil {
			return res, http.StatusInternalServerError, fmt.Errorf("function %s failed: %w", f.Name, err)
		}
	case KindHTTP:
		col := &collector{outs: Outputs{}}
		req, err := decodeHTTPRequest(context.WithValue(ctx, collectorKey{}, col), inv, f.Trigger.Binding)
		if err != nil {
			return res, http.StatusBadRequest, fmt.Errorf("malformed HTTP invocation: %w", err)
		}
		rec := newRecorder()
		if _, pattern := e.mux.Handler(req); pattern != "" {
			e.mux.ServeHTTP(rec, req)
		} else {
			f.HTTP.ServeHTTP(rec, req)
		}
		res.Outputs["res"] = rec.output()
		col.mu.Lock()
		outs = col.outs
		col.mu.Unlock()
	}
	for name, msgs := range outs {
		encoded := make([]string, len(msgs))
		for i, m := range msgs {
			encoded[i] = EncodeHostString([]byte(m))
		}
		res.Outputs[name] = encoded
	}
	return res, http.StatusOK, nil
}

// decodeHTTPRequest rebuilds the client's request from a payload-mode Data.req.
func decodeHTTPRequest(ctx context.Context, inv invocation, binding string) (*http.Request, error) {
	raw, ok := inv.Data[binding]
	if !ok || isNull(raw) {
		return nil, fmt.Errorf("field Data.%s: missing", binding)
	}
	if s, isString := jsonString(raw); isString {
		raw = json.RawMessage(s)
	}
	var d httpRequestData
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("field Data.%s: not a request object: %w", binding, err)
	}
	if d.Method == "" {
		return nil, fmt.Errorf("field Data.%s.Method: missing", binding)
	}
	u, err := url.Parse(d.URL)
	if err != nil || d.URL == "" {
		return nil, fmt.Errorf("field Data.%s.Url: %q is not a URL", binding, d.URL)
	}
	header := http.Header{}
	for k, v := range d.Headers {
		vals, err := stringOrStrings(v)
		if err != nil {
			return nil, fmt.Errorf("field Data.%s.Headers.%s: %w", binding, k, err)
		}
		for _, val := range vals {
			header.Add(k, val)
		}
	}
	query, err := stringMap(d.Query)
	if err != nil {
		return nil, fmt.Errorf("field Data.%s.Query: %w", binding, err)
	}
	if u.RawQuery == "" && len(query) > 0 {
		q := url.Values{}
		for k, v := range query {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}
	params, err := stringMap(d.Params)
	if err != nil {
		return nil, fmt.Errorf("field Data.%s.Params: %w", binding, err)
	}
	body, err := requestBody(d.Body, header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("field Data.%s.Body: %w", binding, err)
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(d.Method), u.String(), strings.NewReader(string(body)))
	if err != nil {
		return nil, fmt.Errorf("field Data.%s: %w", binding, err)
	}
	req.Header = header
	req.Host = u.Host
	req.RequestURI = u.RequestURI()
	for k, v := range params {
		req.SetPathValue(k, v)
	}
	return req, nil
}

// requestBody reads Data.req.Body: text, base64 for binary media types, or a
// JSON value that an older host parsed for us.
func requestBody(raw json.RawMessage, contentType string) ([]byte, error) {
	if len(raw) == 0 || isNull(raw) {
		return nil, nil
	}
	s, isString := jsonString(raw)
	if !isString {
		if !json.Valid(raw) {
			return nil, errors.New("not JSON")
		}
		return []byte(raw), nil
	}
	mediaType, _, _ := mime.ParseMediaType(contentType)
	if mediaType == "application/octet-stream" || strings.HasPrefix(mediaType, "multipart/") {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("binary body (%s) is not base64", mediaType)
		}
		return b, nil
	}
	return []byte(s), nil
}

// stringMap reads a string→string object sent either as an object or as a JSON
// string holding the object.
func stringMap(raw json.RawMessage) (map[string]string, error) {
	if len(raw) == 0 || isNull(raw) {
		return nil, nil
	}
	if s, isString := jsonString(raw); isString {
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		raw = json.RawMessage(s)
	}
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, errors.New("not an object or a JSON string holding one")
	}
	m := make(map[string]string, len(generic))
	for k, v := range generic {
		switch v := v.(type) {
		case string:
			m[k] = v
		case nil:
			m[k] = ""
		default:
			m[k] = fmt.Sprint(v)
		}
	}
	return m, nil
}

func stringOrStrings(raw json.RawMessage) ([]string, error) {
	if s, isString := jsonString(raw); isString {
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errors.New("not a string or an array of strings")
	}
	return list, nil
}

// recorder captures a payload-mode HTTP response.
type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// output encodes Outputs.res with all four fields the host requires.
func (r *recorder) output() httpResponseData {
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	headers := make(map[string]string, len(r.header))
	for k, v := range r.header {
		headers[k] = strings.Join(v, ", ")
	}
	return httpResponseData{StatusCode: status, Status: status, Body: EncodeHostString([]byte(r.body.String())), Headers: headers}
}

// errorBody is the JSON body of every error funchost answers itself.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
