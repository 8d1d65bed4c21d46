// Package addin is the HTTP function behind the Outlook add-in: the CRM records
// behind an email's people, search, create and edit, share now, Chatter.
package addin

import (
	"encoding/json"
	"net/http"
)

// Handler is the HTTP function.
type Handler struct{}

// New returns the add-in function.
func New() *Handler { return &Handler{} }

// ServeHTTP answers 501 until the add-in backend comes with its issue, so the
// task pane shows a clear error instead of empty results.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotImplemented)
	json.NewEncoder(w).Encode(map[string]string{
		"error": "addin: the Outlook add-in backend is not built yet",
	})
}
