package host

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/shared/funchost"
)

// httpFront serves HTTP triggers: "/" redirects to the dashboard, and each
// function's /<routePrefix>/<route> checks method and key, then forwards the raw
// request to the handler (forwarding mode) or sends it as a JSON invocation.
func (h *Host) httpFront() (http.Handler, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/"+joinPath(h.app.Settings.RoutePrefix, "dashboard/"), http.StatusFound)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no function at %s", r.URL.Path))
	})
	for _, fn := range h.app.Functions {
		trig := fn.Trigger()
		if trig.Type != funchost.TypeHTTPTrigger {
			continue
		}
		patterns, err := funchost.RoutePatterns(h.app.Settings.RoutePrefix, trig.Route)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", fn.Name, err)
		}
		handler := h.httpFunction(fn)
		for _, p := range patterns {
			if err := register(mux, p, handler); err != nil {
				return nil, fmt.Errorf("function %s: %w", fn.Name, err)
			}
		}
	}
	return mux, nil
}

func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("route %q: %v", pattern, v)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

func joinPath(prefix, rest string) string {
	if prefix == "" {
		return rest
	}
	return prefix + "/" + rest
}

func (h *Host) httpFunction(fn AppFunction) http.Handler {
	trig := fn.Trigger()
	methods := make([]string, len(trig.Methods))
	for i, m := range trig.Methods {
		methods[i] = strings.ToUpper(m)
	}
	forward := h.app.Settings.Forwarding && fn.Config.ForwardingEligible()
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			target, _ := url.Parse(h.handler.URL())
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			h.log.Error("forwarding to handler failed", "function", fn.Name, "error", err)
			writeError(w, http.StatusBadGateway, "the function handler is not answering")
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(methods) > 0 && !slices.Contains(methods, r.Method) {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s does not take %s", fn.Name, r.Method))
			return
		}
		key := r.Header.Get("x-functions-key")
		if key == "" {
			key = r.URL.Query().Get("code")
		}
		if !h.keys.allows(trig.AuthLevel, key) {
			writeError(w, http.StatusUnauthorized, fmt.Sprintf("%s needs a %s key (code query parameter or x-functions-key header)", fn.Name, trig.AuthLevel))
			return
		}
		if r.ContentLength > h.maxBody {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is over the %d-byte limit", h.maxBody))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
		if forward {
			proxy.ServeHTTP(w, r)
			return
		}
		h.invokeHTTP(w, r, fn)
	})
}

// invokeHTTP sends an HTTP request as a payload-mode invocation and writes the
// function's Outputs.res back.
func (h *Host) invokeHTTP(w http.ResponseWriter, r *http.Request, fn AppFunction) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is over the %d-byte limit", h.maxBody))
			return
		}
		writeError(w, http.StatusBadRequest, "reading request body: "+err.Error())
		return
	}
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		query[k] = v[0]
	}
	queryJSON, _ := json.Marshal(query)
	params := map[string]string{}
	for _, name := range routeParams(fn.Trigger().Route) {
		params[name] = r.PathValue(name)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	// The host's real form: Query and Identities as JSON strings, header
	// values as arrays, binary bodies as base64.
	req := map[string]any{
		"Url":        scheme + "://" + r.Host + r.URL.RequestURI(),
		"Method":     r.Method,
		"Query":      string(queryJSON),
		"Headers":    map[string][]string(r.Header),
		"Params":     params,
		"Identities": "[]",
		"Body":       requestBodyValue(body, r.Header.Get("Content-Type")),
	}
	metadata := map[string]any{"Query": string(queryJSON), "Headers": map[string][]string(r.Header)}
	for k, v := range params {
		metadata[k] = quoted(v)
	}
	res, err := h.invoke(r.Context(), fn, map[string]any{fn.Trigger().Name: req}, metadata)
	if err != nil {
		h.log.Error("http invocation failed", "function", fn.Name, "error", err)
		writeError(w, http.StatusInternalServerError, "function "+fn.Name+" failed")
		return
	}
	out, err := httpOutput(fn, res)
	if err != nil {
		h.log.Error("http invocation returned a bad response", "function", fn.Name, "error", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if err := h.enqueueOutputs(r.Context(), fn, res); err != nil {
		h.log.Error("http invocation outputs failed", "function", fn.Name, "error", err)
		writeError(w, http.StatusInternalServerError, "function "+fn.Name+" output binding failed")
		return
	}
	for k, v := range out.headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(out.status)
	w.Write(out.body)
}

func requestBodyValue(body []byte, contentType string) string {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	if mediaType == "application/octet-stream" || strings.HasPrefix(mediaType, "multipart/") {
		return base64.StdEncoding.EncodeToString(body)
	}
	return string(body)
}

type httpResponse struct {
	status  int
	headers map[string]string
	body    []byte
}

// httpOutput reads Outputs.<http binding> as current hosts do: statusCode,
// status, body and headers are all required.
func httpOutput(fn AppFunction, res invocationResult) (httpResponse, error) {
	name := "res"
	for _, b := range fn.Config.Bindings {
		if b.Type == funchost.TypeHTTP {
			name = b.Name
		}
	}
	raw, ok := res.Outputs[name]
	if !ok {
		return httpResponse{}, fmt.Errorf("function %s returned no Outputs.%s", fn.Name, name)
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal(raw, &v); err != nil {
		return httpResponse{}, fmt.Errorf("function %s: Outputs.%s is not an object", fn.Name, name)
	}
	for _, f := range []string{"statusCode", "status", "body", "headers"} {
		if _, ok := v[f]; !ok {
			return httpResponse{}, fmt.Errorf("function %s: Output body should have 'StatusCode', 'Status', 'Body', and 'Headers' (missing %s)", fn.Name, f)
		}
	}
	var out httpResponse
	var code any
	json.Unmarshal(v["statusCode"], &code)
	switch c := code.(type) {
	case float64:
		out.status = int(c)
	case string:
		out.status, _ = strconv.Atoi(c)
	}
	if out.status < 100 || out.status > 999 {
		return httpResponse{}, fmt.Errorf("function %s: Outputs.%s.statusCode %s is not a status", fn.Name, name, v["statusCode"])
	}
	var headers map[string]any
	json.Unmarshal(v["headers"], &headers)
	out.headers = map[string]string{}
	for k, hv := range headers {
		out.headers[k] = fmt.Sprint(hv)
	}
	var s string
	if err := json.Unmarshal(v["body"], &s); err != nil {
		// A JSON body that is not a string goes out as its JSON text.
		out.body = bytes.TrimSpace(v["body"])
		return out, nil
	}
	out.body = []byte(s)
	if decoded, ok := funchost.DecodeHostString(s); ok {
		out.body = decoded
	}
	return out, nil
}

var paramRE = regexp.MustCompile(`\{\*?([A-Za-z0-9_]+)[^}]*\}`)

// routeParams lists a route template's parameter names.
func routeParams(route string) []string {
	var names []string
	for _, m := range paramRE.FindAllStringSubmatch(route, -1) {
		names = append(names, m[1])
	}
	return names
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
