package connect

import "net/http"

// Route is one entry of the handler's route table.
type Route struct {
	Method string
	// Path is relative to the prefix.
	Path string
	// Admin routes need the org-admin permission, which the dashboard's
	// access check enforces in front of the handler.
	Admin   bool
	Handler http.Handler
}

// Routes lists the handler's whole HTTP surface, for the dashboard's
// authorization matrix: every path is relative to the prefix.
func (h *Handler) Routes() []Route { return h.routes() }

func (h *Handler) routes() []Route {
	rs := []Route{
		{Method: "GET", Path: "/{provider}", Handler: http.HandlerFunc(h.start)},
		{Method: "GET", Path: "/{provider}/callback", Handler: http.HandlerFunc(h.callback)},
	}
	// Then each provider's own routes, and the password services' forms.
	for _, p := range h.providers {
		rs = append(rs, p.Routes(h)...)
	}
	return append(rs, h.passwordRoutes()...)
}
