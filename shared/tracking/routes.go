package tracking

import "net/http"

// Prefix is where the tracker is mounted; route paths include it.
const Prefix = "/api/pixel"

// PermUse is the permission the bearer-authenticated routes require: mint
// tokens and read one's own open statistics.
const PermUse = "tracking.use"

// Route is one entry of the tracker's route table.
type Route struct {
	Method string
	// Path is a net/http ServeMux pattern path including Prefix.
	Path string
	// Permission is "" for the public pixel, PermUse otherwise.
	Permission string
}

// Key is "METHOD PATH", the route's ServeMux pattern.
func (rt Route) Key() string { return rt.Method + " " + rt.Path }

// Routes is the tracker's whole HTTP surface. The pixel is public (and a GET
// pattern also serves HEAD); everything else needs a bearer token.
func Routes() []Route {
	return []Route{
		{http.MethodGet, Prefix + "/{file}", ""},
		{http.MethodPost, Prefix + "/tokens", PermUse},
		{http.MethodGet, Prefix + "/stats", PermUse},
		{http.MethodGet, Prefix + "/stats/recent", PermUse},
	}
}

func (t *Tracker) handlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET " + Prefix + "/{file}":       t.pixel,
		"POST " + Prefix + "/tokens":      t.mint,
		"GET " + Prefix + "/stats":        t.messageStats,
		"GET " + Prefix + "/stats/recent": t.recentStats,
	}
}
