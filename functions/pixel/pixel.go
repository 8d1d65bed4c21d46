// Package pixel is the HTTP function that records email opens from the tracking
// pixel the add-in inserts.
package pixel

import (
	"encoding/json"
	"net/http"
)

// Handler is the HTTP function.
type Handler struct{}

// New returns the tracking pixel function.
func New() *Handler { return &Handler{} }

// ServeHTTP answers 501 until open tracking comes with its issue; a pixel that
// pretended to record opens would lose them.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotImplemented)
	json.NewEncoder(w).Encode(map[string]string{
		"error": "pixel: email open tracking is not built yet",
	})
}
