// Package dashboard is the HTTP function behind the self-service dashboard
// (shared/dashboard: sign-in, connections, status, issues, settings, admin),
// plus an operator's status page (service, version, storage, functions, queue
// lengths) at /api/dashboard/status, for an organisation admin or a caller
// with a function key, and a health check at /api/dashboard/healthz.
package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/queue"
)

//go:embed status.html
var files embed.FS

var statusPage = template.Must(template.ParseFS(files, "status.html"))

// QueueLengths is what the dashboard needs from the queue.
type QueueLengths interface {
	Len(ctx context.Context, queue string) (int, error)
}

// Info describes the running service.
type Info struct {
	Service string
	Version string
	// Storage is the storage kind ("azure" or "embedded").
	Storage string
	Demo    bool
}

// Deps are the dashboard's dependencies.
type Deps struct {
	Info   Info
	Queues QueueLengths
	// Functions returns the routes table (a func because the dashboard is itself
	// a row of that table).
	Functions func() []funchost.Function
	// App serves every other path: the self-service dashboard.
	App http.Handler
	// Operator wraps the status page: it lets the request through to next
	// only for an operator (a signed-in organisation admin or a function
	// key) and answers everyone else itself. Nil: nobody sees the page.
	Operator func(next http.Handler) http.Handler
	Log      *slog.Logger
}

// Handler is the HTTP function.
type Handler struct {
	d Deps
}

// New returns the dashboard function.
func New(d Deps) *Handler {
	return &Handler{d: d}
}

// ServeHTTP routes on the catch-all "path" parameter so that it works whichever
// prefix the host mounts it under.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.PathValue("path")
	if (path == "status" || path == "healthz") && r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "dashboard: " + path + " answers GET only"})
		return
	}
	switch {
	case path == "status":
		guard := h.d.Operator
		if guard == nil {
			guard = func(http.Handler) http.Handler { return http.HandlerFunc(Refuse) }
		}
		guard(http.HandlerFunc(h.status)).ServeHTTP(w, r)
	case path == "healthz":
		h.health(w, r)
	case h.d.App != nil:
		h.d.App.ServeHTTP(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "dashboard: no page " + path})
	}
}

type functionRow struct {
	Name, Kind, Trigger string
}

type queueRow struct {
	Name   string
	Length string
}

type statusData struct {
	Info      Info
	Now       string
	Functions []functionRow
	Queues    []queueRow
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	data := statusData{Info: h.d.Info, Now: time.Now().UTC().Format(time.RFC3339)}
	for _, f := range h.d.Functions() {
		row := functionRow{Name: f.Name, Kind: f.Trigger.Kind.String()}
		switch f.Trigger.Kind {
		case funchost.KindHTTP:
			row.Trigger = strings.ToUpper(strings.Join(f.Trigger.Methods, ", ")) + " /api/" + f.Trigger.Route + " (" + f.Trigger.AuthLevel + ")"
		case funchost.KindQueue:
			row.Trigger = "queue " + f.Trigger.QueueName
		case funchost.KindTimer:
			row.Trigger = "schedule " + f.Trigger.Schedule + " (UTC)"
		}
		data.Functions = append(data.Functions, row)
	}
	for _, name := range h.queueNames() {
		row := queueRow{Name: name, Length: "unavailable"}
		if n, err := h.d.Queues.Len(ctx, name); err == nil {
			row.Length = strconv.Itoa(n)
		} else {
			h.d.Log.WarnContext(ctx, "dashboard: queue length unavailable", "queue", name, "error", err)
		}
		data.Queues = append(data.Queues, row)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	if err := statusPage.Execute(w, data); err != nil {
		h.d.Log.ErrorContext(ctx, "dashboard: rendering status page", "error", err)
	}
}

// Refuse answers a caller who may not see the status page: a page saying
// who may, with the way to sign in (401).
func Refuse(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	w.WriteHeader(http.StatusUnauthorized)
	_ = refusedPage.Execute(w, nil)
}

var refusedPage = template.Must(template.New("refused").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Operators only · crmsync</title><link rel="icon" href="data:,"></head>
<body><main><h1>Operators only</h1>
<p>The service status page is for organisation admins and for callers with a function key (the <code>x-functions-key</code> header).</p>
<p><a href="/api/dashboard/">Sign in to the dashboard</a> as an organisation admin, then open this page again.</p>
</main></body></html>`))

// queueNames lists every trigger queue and its poison queue.
func (h *Handler) queueNames() []string {
	var names []string
	for _, f := range h.d.Functions() {
		if f.Trigger.Kind == funchost.KindQueue {
			names = append(names, f.Trigger.QueueName, f.Trigger.QueueName+queue.PoisonSuffix)
		}
	}
	return names
}

// health answers 200 when storage answers, 503 otherwise. It names no error
// detail: the endpoint is anonymous and details stay in the log.
func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	for _, name := range h.queueNames() {
		if _, err := h.d.Queues.Len(ctx, name); err != nil {
			h.d.Log.ErrorContext(ctx, "dashboard: health check failed", "queue", name, "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unhealthy", "reason": "storage unreachable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": h.d.Info.Version})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
