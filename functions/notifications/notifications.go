// Package notifications is the HTTP function that receives Microsoft Graph
// change notifications (the mailbox webhook) and asks for a sync session.
package notifications

import (
	"encoding/json"
	"net/http"
)

// Handler is the HTTP function.
type Handler struct{}

// New returns the notifications function.
func New() *Handler { return &Handler{} }

// ServeHTTP answers 501 until the webhook comes with its issue, so Graph sees
// the subscription endpoint as failing rather than silently accepting changes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotImplemented)
	json.NewEncoder(w).Encode(map[string]string{
		"error": "notifications: the Microsoft Graph webhook is not built yet",
	})
}
