package connect

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// authCodeConfig returns the OAuth client for a provider named in a path,
// or false when that provider is unknown or not configured.
func (h *Handler) authCodeConfig(name string) (Provider, *oauth2.Config, []oauth2.AuthCodeOption, bool) {
	prov := h.provider(connection.Provider(name))
	if prov == nil {
		return nil, nil, nil, false
	}
	cfg, opts := prov.UserFlow()
	if cfg == nil {
		return nil, nil, nil, false
	}
	return prov, cfg, opts, true
}

// start answers GET {prefix}/{provider}[?login_hint=…]: it records a
// single-use state, binds it and the PKCE verifier to this browser and the
// signed-in user in a sealed cookie, and sends the browser to the provider.
func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	prov, cfg, extra, ok := h.authCodeConfig(r.PathValue("provider"))
	if !ok {
		h.page(w, http.StatusNotFound, "No such connection", "crmsync cannot connect to that service.")
		return
	}
	p := prov.ID()
	user, _, ok := h.opts.CurrentUser(r)
	if !ok {
		h.page(w, http.StatusUnauthorized, "Sign in first", "Sign in to the crmsync dashboard, then connect "+h.title(p)+".")
		return
	}
	now := h.opts.Now()
	pend := pending{Provider: string(p), User: user, State: randomState(), Verifier: oauth2.GenerateVerifier(),
		Bucket: now.UTC().Format(bucketLayout), Expires: now.Add(pendingLifetime).Unix()}
	if err := h.recordState(r.Context(), pend); err != nil {
		h.log.ErrorContext(r.Context(), "connect: recording state", "user", user, "provider", string(p), "error", err)
		h.page(w, http.StatusInternalServerError, "Try again", "crmsync could not start the connection; try again.")
		return
	}
	v, err := h.sealer.seal(pend)
	if err != nil {
		h.page(w, http.StatusInternalServerError, "Try again", "crmsync could not start the connection; try again.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookiePrefix + string(p), Value: v, Path: "/",
		MaxAge: int(pendingLifetime / time.Second), HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(pend.Verifier)}
	if hint := r.URL.Query().Get("login_hint"); validHint(hint) {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", hint))
	}
	opts = append(opts, extra...)
	h.log.InfoContext(r.Context(), "connect started", "user", user, "provider", string(p))
	http.Redirect(w, r, cfg.AuthCodeURL(pend.State, opts...), http.StatusFound)
}

func validHint(s string) bool {
	return s != "" && len(s) <= 256 && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// callback answers GET {prefix}/{provider}/callback: it checks the state
// against the browser's sealed cookie and the signed-in user, consumes it
// once, redeems the code with the PKCE verifier, reads who connected, saves
// the connection (a reconnect replaces the credentials and clears "needs
// reconnect"), lets sync resume, and returns to the overview.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	prov, cfg, _, ok := h.authCodeConfig(r.PathValue("provider"))
	if !ok {
		h.page(w, http.StatusNotFound, "No such connection", "crmsync cannot connect to that service.")
		return
	}
	p := prov.ID()
	ctx := r.Context()
	// The pending cookie is single use, whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: cookiePrefix + string(p), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	user, _, signedIn := h.opts.CurrentUser(r)
	var pend pending
	c, err := r.Cookie(cookiePrefix + string(p))
	if err == nil {
		pend, err = h.sealer.open(string(p), c.Value)
	}
	q := r.URL.Query()
	refuse := func(msg, reason string) {
		h.log.InfoContext(ctx, "connect refused", "user", user, "provider", string(p), "reason", reason)
		h.page(w, http.StatusBadRequest, "Connection not completed", msg+" Start again from the dashboard.")
	}
	switch {
	case !signedIn:
		refuse("You are not signed in to crmsync.", "not signed in")
		return
	case err != nil:
		refuse("No connection to "+h.title(p)+" was started in this browser.", "pending cookie missing or bad")
		return
	case h.opts.Now().Unix() > pend.Expires:
		refuse("The connection took too long.", "pending connect expired")
		return
	case subtle.ConstantTimeCompare([]byte(pend.User), []byte(user)) != 1:
		refuse("The connection was started by another crmsync account.", "pending connect of another user")
		return
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(pend.State)) != 1:
		refuse("The answer from "+h.title(p)+" does not belong to this browser.", "state mismatch")
		return
	}
	if err := h.consumeState(ctx, pend); err != nil {
		if errors.Is(err, tablestore.ErrNotFound) {
			refuse("This answer from "+h.title(p)+" was already used.", "state replayed")
			return
		}
		h.log.ErrorContext(ctx, "connect: consuming state", "user", user, "provider", string(p), "error", err)
		h.page(w, http.StatusInternalServerError, "Try again", "crmsync could not finish the connection; try again.")
		return
	}
	if code := q.Get("error"); code != "" {
		// The provider's description is not echoed: it is attacker-
		// controllable text in a URL. The code picks a fixed message.
		h.log.InfoContext(ctx, "connect refused by provider", "user", user, "provider", string(p), "code", safeCode(code))
		h.overview(w, r, p, providerMessage(h.title(p), code))
		return
	}
	tok, err := cfg.Exchange(h.oauthCtx(ctx), q.Get("code"), oauth2.VerifierOption(pend.Verifier))
	if err != nil {
		code := errorCode(err)
		h.log.WarnContext(ctx, "connect: code exchange failed", "user", user, "provider", string(p), "code", code)
		h.overview(w, r, p, h.title(p)+" did not accept the connection ("+code+"). Start again; if it keeps failing, ask your admin to check crmsync's app in "+h.title(p)+".")
		return
	}
	conn, err := prov.Connection(ctx, h, user, tok)
	if err == nil && tok.RefreshToken == "" {
		err = &refusal{msg: h.title(p) + " issued no refresh token, so crmsync could not sync in the background. Ask your admin to allow the offline_access (refresh_token) scope for crmsync's app.",
			reason: "no refresh token"}
	}
	if err == nil {
		err = h.save(ctx, conn, connection.Credentials{RefreshToken: tok.RefreshToken})
	}
	if err != nil {
		h.overview(w, r, p, h.userMessage(ctx, user, p, err))
		return
	}
	msg := ""
	if h.connected(ctx, user, p) != nil {
		msg = h.title(p) + " is connected, but sync could not be resumed yet. Use Sync now, or wait for the next scheduled sync."
	}
	h.overview(w, r, p, msg)
}

// providerMessage turns an OAuth error code from the authorization
// endpoint into a sentence for the overview.
func providerMessage(t, code string) string {
	switch code {
	case "access_denied":
		return "You declined the connection at " + t + ", so nothing was connected."
	case "consent_required", "interaction_required", "login_required":
		return t + " needs you to sign in and consent again. Try Connect once more."
	case "invalid_scope":
		return t + " does not grant the permissions crmsync asks for. Ask your admin to check crmsync's app."
	case "unauthorized_client", "invalid_client", "invalid_client_id", "redirect_uri_mismatch":
		return t + " does not recognise crmsync's app configuration. Ask your admin."
	case "server_error", "temporarily_unavailable":
		return t + " had a problem. Try again in a few minutes."
	}
	return t + " refused the connection (" + safeCode(code) + ")."
}

// errorCode is an OAuth error's code, safe to log and show.
func errorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode != "" {
			return safeCode(re.ErrorCode)
		}
		if re.Response != nil {
			return "HTTP " + http.StatusText(re.Response.StatusCode)
		}
	}
	return "network error"
}

// safeCode keeps an OAuth error code loggable: letters, digits and _ only.
func safeCode(code string) string {
	if len(code) > 40 {
		code = code[:40]
	}
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, code)
}
