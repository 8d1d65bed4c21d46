package addin

import "net/http"

// Prefix is where the API is mounted; route paths include it, so the API is
// mounted without stripping it.
const Prefix = "/api/addin"

// Permissions the add-in routes require. The lead's access package grants
// them; every route needs one.
const (
	// PermUse: read the CRM records behind e-mails, search, describe,
	// pre-fill.
	PermUse = "addin.use"
	// PermWrite: create and edit CRM records, share e-mails, upload files,
	// post to Chatter.
	PermWrite = "addin.write"
)

// Route is one entry of the add-in's route table.
type Route struct {
	Method string
	// Path is a net/http ServeMux pattern path including Prefix.
	Path string
	// Permission is what the caller needs (PermUse or PermWrite).
	Permission string
}

// Key is "METHOD PATH", the route's ServeMux pattern.
func (rt Route) Key() string { return rt.Method + " " + rt.Path }

// Routes is the add-in's whole HTTP surface. Every route needs a bearer
// token.
func Routes() []Route {
	return []Route{
		{http.MethodGet, Prefix + "/crm", PermUse},
		{http.MethodGet, Prefix + "/people", PermUse},
		{http.MethodGet, Prefix + "/search", PermUse},
		{http.MethodGet, Prefix + "/objects", PermUse},
		{http.MethodGet, Prefix + "/objects/{name}", PermUse},
		{http.MethodGet, Prefix + "/records/{object}/{id}", PermUse},
		{http.MethodPost, Prefix + "/records/{object}", PermWrite},
		{http.MethodPatch, Prefix + "/records/{object}/{id}", PermWrite},
		{http.MethodPost, Prefix + "/prefill", PermUse},
		{http.MethodPost, Prefix + "/share", PermWrite},
		{http.MethodPost, Prefix + "/records/{id}/files", PermWrite},
		{http.MethodPost, Prefix + "/records/{id}/chatter", PermWrite},
		{http.MethodGet, Prefix + "/layout", PermUse},
		{http.MethodPost, Prefix + "/layout", PermWrite},
		{http.MethodDelete, Prefix + "/layout", PermWrite},
		{http.MethodPost, Prefix + "/layout/org", PermWrite},
		{http.MethodPost, Prefix + "/layout/share", PermWrite},
		{http.MethodPost, Prefix + "/layout/take", PermWrite},
	}
}

// handlers names the handler of each route key; New refuses a table entry
// without one.
func (a *API) handlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET " + Prefix + "/crm":                     a.crmInfo,
		"GET " + Prefix + "/people":                  a.people,
		"GET " + Prefix + "/search":                  a.search,
		"GET " + Prefix + "/objects":                 a.objects,
		"GET " + Prefix + "/objects/{name}":          a.object,
		"GET " + Prefix + "/records/{object}/{id}":   a.getRecord,
		"POST " + Prefix + "/records/{object}":       a.createRecord,
		"PATCH " + Prefix + "/records/{object}/{id}": a.updateRecord,
		"POST " + Prefix + "/prefill":                a.prefill,
		"POST " + Prefix + "/share":                  a.share,
		"POST " + Prefix + "/records/{id}/files":     a.uploadFile,
		"POST " + Prefix + "/records/{id}/chatter":   a.chatter,
		"GET " + Prefix + "/layout":                  a.layout,
		"POST " + Prefix + "/layout":                 a.saveLayout,
		"DELETE " + Prefix + "/layout":               a.resetLayout,
		"POST " + Prefix + "/layout/org":             a.saveOrgLayout,
		"POST " + Prefix + "/layout/share":           a.shareLayout,
		"POST " + Prefix + "/layout/take":            a.takeLayout,
	}
}
