// Package taskpane is crmsync's Outlook add-in as people install it: the
// add-in-only (XML) and unified (JSON) manifests generated for a
// deployment's URL, the task pane itself (HTML, CSS and JavaScript embedded
// in the binary; only Office.js comes from Microsoft's CDN, as store rules
// require), the sign-in dialog the pane falls back to where nested app
// authentication is unavailable, and a simulated Outlook page (the harness)
// for trying the pane — and testing it in Chromium — without Outlook.
//
// The pane talks only to crmsync's own add-in API (shared/addin) and
// tracker (shared/tracking), with the bearer token it signed in for.
package taskpane

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Prefix is where the task pane is mounted; route paths include it.
const Prefix = "/api/taskpane"

// OfficeJS is Office.js on Microsoft's CDN: the one script the pane loads
// from elsewhere (Microsoft's store requires this reference).
const OfficeJS = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"

//go:embed static
var static embed.FS

// Config wires the task pane.
type Config struct {
	// Deployment is what the manifests are generated for; its BaseURL is
	// the deployment's public URL.
	Deployment Deployment
	// Authority is the Entra authority (…/v2.0) the sign-in dialog uses.
	Authority string
	// ClientID and ClientSecret are the Entra app registration crmsync's
	// sign-in uses; the dialog redeems its code server-side with them.
	ClientID, ClientSecret string
	// Scope is the API scope the pane asks for (api://…/access_as_user).
	Scope string
	// FrameAncestors are the origins allowed to frame the pane (Outlook on
	// the web's); the deployment's own origin always is.
	FrameAncestors []string
	// Demo serves the simulated Outlook page (the harness) too.
	Demo bool
	// CRMName is the deployment's CRM as the install page names it
	// ("Salesforce"; "" = "CRM"); the pane itself asks the add-in API.
	CRMName string
	// Feed names the CRM's record feed the install page promises posts to
	// ("Chatter"; "" = the CRM has none).
	Feed string
	// HTTPClient reaches the identity provider (http.DefaultClient when nil).
	HTTPClient *http.Client
	// Log gets diagnostics; never a token.
	Log *slog.Logger
}

// Handler serves the task pane's routes.
type Handler struct {
	cfg   Config
	mux   *http.ServeMux
	log   *slog.Logger
	pages *template.Template
	auth  *dialog
}

// Route is one entry of the task pane's route table.
type Route struct {
	Method, Path string
}

// Routes is the task pane's whole HTTP surface; all of it is public (the
// pane's data comes from the add-in API, which needs the bearer token).
func Routes() []Route {
	return []Route{
		{http.MethodGet, Prefix + "/{$}"},
		{http.MethodGet, Prefix + "/manifest.xml"},
		{http.MethodGet, Prefix + "/manifest.json"},
		{http.MethodGet, Prefix + "/icons/{size}"},
		{http.MethodGet, Prefix + "/pane.html"},
		{http.MethodGet, Prefix + "/static/{file}"},
		{http.MethodGet, Prefix + "/signin"},
		{http.MethodGet, Prefix + "/signin/callback"},
		{http.MethodGet, Prefix + "/harness"},
	}
}

// New checks cfg and returns the handler.
func New(cfg Config) (*Handler, error) {
	d, err := cfg.Deployment.normalize()
	if err != nil {
		return nil, err
	}
	cfg.Deployment = d
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	h := &Handler{cfg: cfg, log: cfg.Log}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.pages, err = template.ParseFS(static, "static/*.html")
	if err != nil {
		return nil, err
	}
	if cfg.Authority != "" && cfg.ClientID != "" {
		h.auth = &dialog{cfg: cfg, log: h.log, pages: h.pages}
	}
	handlers := map[string]http.HandlerFunc{
		"GET " + Prefix + "/{$}":             h.install,
		"GET " + Prefix + "/manifest.xml":    h.manifestXML,
		"GET " + Prefix + "/manifest.json":   h.manifestJSON,
		"GET " + Prefix + "/icons/{size}":    h.icon,
		"GET " + Prefix + "/pane.html":       h.pane,
		"GET " + Prefix + "/static/{file}":   h.asset,
		"GET " + Prefix + "/signin":          h.signIn,
		"GET " + Prefix + "/signin/callback": h.signInCallback,
		"GET " + Prefix + "/harness":         h.harness,
	}
	h.mux = http.NewServeMux()
	for _, rt := range Routes() {
		key := rt.Method + " " + rt.Path
		fn, ok := handlers[key]
		if !ok {
			return nil, fmt.Errorf("taskpane: route %s has no handler", key)
		}
		h.mux.Handle(key, fn)
	}
	return h, nil
}

// ServeHTTP serves the routes of Routes(); paths keep their prefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.mux.ServeHTTP(w, r)
}

// officeSources are what a page running Office.js must allow besides its
// own origin. Office.js loads its host-specific scripts from the same CDN
// folder (so the whole host is allowed, not the one file: a source with a
// path matches that file only) and, in some hosts, applies inline styles
// (OfficeDev/office-js issues 1005 and 1687 list what strict policies
// broke). Script stays strict: no inline script, no eval.
const (
	officeScripts = " https://appsforoffice.microsoft.com https://ajax.aspnetcdn.com"
	officeStyles  = " 'unsafe-inline'"
)

// policy is the pages' Content-Security-Policy: everything from crmsync's
// own origin, Office.js from Microsoft's CDN when office is true, no
// inline script, framed only by Outlook's origins (and crmsync's own
// harness).
func (h *Handler) policy(office bool, frameSrc string) string {
	scripts, styles := "", ""
	if office {
		scripts, styles = officeScripts, officeStyles
	}
	ancestors := append([]string{"'self'"}, h.cfg.FrameAncestors...)
	p := "default-src 'none'; script-src 'self'" + scripts + "; style-src 'self'" + styles + "; img-src 'self' data:; connect-src 'self'; " +
		"base-uri 'none'; form-action 'self'; frame-ancestors " + strings.Join(ancestors, " ")
	if frameSrc != "" {
		p += "; frame-src " + frameSrc
	}
	return p
}

func (h *Handler) manifestXML(w http.ResponseWriter, r *http.Request) {
	b, err := XML(h.cfg.Deployment)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="crmsync-manifest.xml"`)
	_, _ = w.Write(b)
}

func (h *Handler) manifestJSON(w http.ResponseWriter, r *http.Request) {
	b, err := Unified(h.cfg.Deployment)
	if err != nil {
		// An http deployment (the local demo) has no unified manifest:
		// say why instead of serving one Office would refuse.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(w, "{\"error\":\"https_required\",\"message\":%q}\n", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// iconSizes are the icons the manifests name.
var iconSizes = map[string]int{"16.png": 16, "32.png": 32, "64.png": 64, "80.png": 80, "128.png": 128, "192.png": 192}

func (h *Handler) icon(w http.ResponseWriter, r *http.Request) {
	n, ok := iconSizes[r.PathValue("size")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(Icon(n, false))
}

// Icon draws crmsync's add-in icon, n×n pixels: a blue square with a white
// bar (outline: white on transparent, as the unified manifest's outline
// icon must be).
func Icon(n int, outline bool) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	blue := color.NRGBA{0x1f, 0x6f, 0xb2, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			edge := x < n/8 || y < n/8 || x >= n-n/8 || y >= n-n/8
			bar := y >= n*3/8 && y < n*5/8 && x >= n/4 && x < n*3/4
			switch {
			case outline && (edge || bar):
				img.Set(x, y, white)
			case !outline && bar:
				img.Set(x, y, white)
			case !outline:
				img.Set(x, y, blue)
			}
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// pane serves the task pane. Office.js comes from Microsoft's CDN, except
// inside the harness (?host=harness), whose page provides the Office object
// itself and which must work without the internet.
func (h *Handler) pane(w http.ResponseWriter, r *http.Request) {
	harness := r.URL.Query().Get("host") == "harness" && h.cfg.Demo
	data := map[string]any{"OfficeJS": OfficeJS, "Harness": harness, "SignIn": h.auth != nil, "Scope": h.cfg.Scope,
		"ClientID": h.cfg.ClientID, "Authority": strings.TrimSuffix(strings.TrimSuffix(h.cfg.Authority, "/"), "/v2.0")}
	if harness {
		data["OfficeJS"] = ""
	}
	w.Header().Set("Content-Security-Policy", h.policy(!harness, ""))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	if err := h.pages.ExecuteTemplate(w, "pane.html", data); err != nil {
		h.log.ErrorContext(r.Context(), "task pane page", "err", err)
	}
}

// install serves the page the dashboard links to: how to install the
// add-in, and (demo) the way into the simulated Outlook.
func (h *Handler) install(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", h.policy(false, ""))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	crm := h.cfg.CRMName
	if crm == "" {
		crm = "CRM"
	}
	data := map[string]any{"Demo": h.cfg.Demo, "HTTPS": strings.HasPrefix(h.cfg.Deployment.BaseURL, "https://"), "CRM": crm, "Feed": h.cfg.Feed}
	if err := h.pages.ExecuteTemplate(w, "install.html", data); err != nil {
		h.log.ErrorContext(r.Context(), "install page", "err", err)
	}
}

// harness serves the simulated Outlook page (demo only).
func (h *Handler) harness(w http.ResponseWriter, r *http.Request) {
	if !h.cfg.Demo {
		http.NotFound(w, r)
		return
	}
	frames := "'self'"
	if a, err := url.Parse(h.cfg.Authority); err == nil && a.Host != "" {
		frames += " " + a.Scheme + "://" + a.Host
	}
	w.Header().Set("Content-Security-Policy", h.policy(false, frames))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := h.pages.ExecuteTemplate(w, "harness.html", nil); err != nil {
		h.log.ErrorContext(r.Context(), "harness page", "err", err)
	}
}

var assetTypes = map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 || assetTypes[name[dot:]] == "" || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	b, err := fs.ReadFile(static, "static/"+name)
	if errors.Is(err, fs.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, "unreadable asset", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", assetTypes[name[dot:]])
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}
