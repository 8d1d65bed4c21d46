// Package addin is the HTTP function behind the Outlook add-in
// (shared/addin): the CRM records behind an e-mail's people, search, create
// and edit any object, share the e-mail now, upload attachments, post to
// Chatter — always with the signed-in user's own CRM credentials. Calls carry
// an Entra ID access token (nested app authentication).
package addin

import "net/http"

// New returns the add-in function over the wired API (bearer validation,
// authorization, CORS and security headers included).
func New(api http.Handler) http.Handler { return api }
