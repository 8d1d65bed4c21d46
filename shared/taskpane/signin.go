package taskpane

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// The sign-in dialog is the pane's fallback where nested app authentication
// is unavailable (Exchange on premises, older clients, the harness): the
// pane opens /signin with Office's dialog API (Office.context.ui.
// displayDialogAsync, requirement set DialogApi 1.1); crmsync sends the
// dialog to the Entra authority (authorization code with PKCE), redeems the
// code itself with its app registration, and hands the access token for the
// add-in API to the pane (Office.context.ui.messageParent). No refresh token
// leaves crmsync; when the access token expires the pane asks again.

// signInCookie carries the state and PKCE verifier of one dialog sign-in.
const signInCookie = "crmsync-taskpane-signin"

type dialog struct {
	cfg   Config
	log   *slog.Logger
	pages *template.Template

	mu   sync.Mutex
	meta *struct {
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
	}
}

func (d *dialog) discover(ctx context.Context) (authURL, tokenURL string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.meta != nil {
		return d.meta.Authorization, d.meta.Token, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(d.cfg.Authority, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", "", err
	}
	resp, err := d.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("discovery answered %s", resp.Status)
	}
	var m struct {
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || m.Authorization == "" || m.Token == "" {
		return "", "", fmt.Errorf("discovery document without endpoints")
	}
	d.meta = &m
	return m.Authorization, m.Token, nil
}

func (d *dialog) oauth(authURL, tokenURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: d.cfg.ClientID, ClientSecret: d.cfg.ClientSecret,
		Endpoint:    oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: d.cfg.Deployment.BaseURL + Prefix + "/signin/callback", Scopes: []string{"openid", d.cfg.Scope}}
}

func (d *dialog) secure() bool { return strings.HasPrefix(d.cfg.Deployment.BaseURL, "https://") }

// done renders the page that ends the dialog: it passes the token, or the
// failure in words, to the pane.
func (d *dialog) done(w http.ResponseWriter, h *Handler, harness bool, msg map[string]any) {
	b, _ := json.Marshal(msg)
	office := OfficeJS
	if harness {
		// The harness provides the dialog API itself and has no internet.
		office = ""
	}
	w.Header().Set("Content-Security-Policy", h.policy(!harness, ""))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = d.pages.ExecuteTemplate(w, "signin-done.html", map[string]any{"OfficeJS": office, "Message": string(b)})
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	d := h.auth
	if d == nil {
		http.Error(w, "sign-in is not configured: set the Entra client id", http.StatusServiceUnavailable)
		return
	}
	harness := r.URL.Query().Get("host") == "harness" && h.cfg.Demo
	authURL, tokenURL, err := d.discover(r.Context())
	if err != nil {
		d.log.WarnContext(r.Context(), "task pane sign-in: authority unavailable", "err", err)
		d.done(w, h, harness, map[string]any{"error": "unavailable", "message": "The sign-in service cannot be reached. Try again in a minute."})
		return
	}
	state, verifier := randomString(), oauth2.GenerateVerifier()
	host := "office"
	if harness {
		host = "harness"
	}
	c := &http.Cookie{Name: signInCookie, Value: state + "." + verifier + "." + host, Path: Prefix + "/signin", MaxAge: 600, HttpOnly: true,
		Secure: d.secure(), SameSite: http.SameSiteLaxMode}
	if d.secure() {
		// The dialog may be a frame (the harness): the callback then
		// arrives as a cross-site subresource navigation.
		c.SameSite = http.SameSiteNoneMode
	}
	http.SetCookie(w, c)
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if hint := r.URL.Query().Get("login_hint"); hint != "" && len(hint) < 256 {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", hint))
	}
	http.Redirect(w, r, d.oauth(authURL, tokenURL).AuthCodeURL(state, opts...), http.StatusFound)
}

func (h *Handler) signInCallback(w http.ResponseWriter, r *http.Request) {
	d := h.auth
	if d == nil {
		http.Error(w, "sign-in is not configured", http.StatusServiceUnavailable)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: "", Path: Prefix + "/signin", MaxAge: -1, HttpOnly: true, Secure: d.secure()})
	q := r.URL.Query()
	c, err := r.Cookie(signInCookie)
	var state, verifier string
	harness := false
	if err == nil {
		if parts := strings.Split(c.Value, "."); len(parts) == 3 {
			state, verifier, harness = parts[0], parts[1], parts[2] == "harness" && h.cfg.Demo
		}
	}
	switch {
	case q.Get("error") != "":
		d.done(w, h, harness, map[string]any{"error": "refused", "message": "Sign-in was cancelled or refused. Press Sign in to try again."})
		return
	case state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(q.Get("state"))) != 1:
		d.done(w, h, harness, map[string]any{"error": "state", "message": "This sign-in window is out of date. Close it and press Sign in again."})
		return
	}
	authURL, tokenURL, err := d.discover(r.Context())
	if err != nil {
		d.done(w, h, harness, map[string]any{"error": "unavailable", "message": "The sign-in service cannot be reached. Try again in a minute."})
		return
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, d.cfg.HTTPClient)
	tok, err := d.oauth(authURL, tokenURL).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		d.log.WarnContext(r.Context(), "task pane sign-in: code not redeemed", "err", redactErr(err))
		d.done(w, h, harness, map[string]any{"error": "exchange", "message": "Sign-in did not finish. Press Sign in to try again."})
		return
	}
	expires := 3600
	if !tok.Expiry.IsZero() {
		expires = int(time.Until(tok.Expiry).Seconds())
	}
	d.done(w, h, harness, map[string]any{"token": tok.AccessToken, "expiresIn": expires})
}

// redactErr keeps an OAuth error's kind and drops the response body, which
// could echo the code.
func redactErr(err error) string {
	if re, ok := err.(*oauth2.RetrieveError); ok {
		return "token endpoint: " + re.ErrorCode
	}
	return "token endpoint unreachable"
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
