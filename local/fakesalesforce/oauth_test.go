package fakesalesforce

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func postForm(t *testing.T, u string, v url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// authorize signs in through the login form and returns the code.
func authorize(t *testing.T, f *fixture, extra url.Values) string {
	t.Helper()
	resp, err := http.Get(f.http.URL + "/services/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {"crmsync-local"}, "redirect_uri": {"http://localhost:9/cb"}}.Encode())
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("login page: %v %v", resp, err)
	}
	resp.Body.Close()
	form := url.Values{"response_type": {"code"}, "client_id": {"crmsync-local"}, "redirect_uri": {"http://localhost:9/cb"},
		"state": {"st"}, "username": {"u@example.com"}, "pw": {"pw"}, "scope": {"api refresh_token openid"}}
	for k, v := range extra {
		form[k] = v
	}
	resp, err = noRedirect.PostForm(f.http.URL+"/services/oauth2/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "st" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

func TestAuthorizationCodeWithPKCE(t *testing.T) {
	f := newFixture(t, Options{})
	verifier := "a-verifier-of-sufficient-length-0123456789abcdef"
	tokenURL := f.http.URL + "/services/oauth2/token"
	exchange := func(code, verifier string) (int, map[string]any) {
		return postForm(t, tokenURL, url.Values{"grant_type": {"authorization_code"}, "client_id": {"crmsync-local"}, "code": {code},
			"redirect_uri": {"http://localhost:9/cb"}, "code_verifier": {verifier}})
	}
	challenge := url.Values{"code_challenge": {pkceChallenge(verifier)}, "code_challenge_method": {"S256"}, "nonce": {"n-1"}}
	if status, body := exchange(authorize(t, f, challenge), ""); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("missing verifier: %d %v, want invalid_grant", status, body)
	}
	if status, body := exchange(authorize(t, f, challenge), "wrong"); status != 400 || body["error"] != "invalid_request" {
		t.Errorf("wrong verifier: %d %v, want invalid_request", status, body)
	}
	status, tok := exchange(authorize(t, f, challenge), verifier)
	if status != 200 {
		t.Fatalf("exchange: %d %v", status, tok)
	}
	if _, ok := tok["expires_in"]; ok {
		t.Error("token response has expires_in")
	}
	for _, k := range []string{"access_token", "refresh_token", "instance_url", "id", "issued_at", "signature", "id_token"} {
		if s, _ := tok[k].(string); s == "" {
			t.Errorf("token response lacks %s", k)
		}
	}
	// The id token verifies against the published keys.
	resp, err := http.Get(f.http.URL + "/id/keys")
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct {
		Keys []struct{ Kid, N, E string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&jwks)
	resp.Body.Close()
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(tok["id_token"].(string), claims, func(tk *jwt.Token) (any, error) {
		for _, k := range jwks.Keys {
			if k.Kid == tk.Header["kid"] {
				n, _ := base64.RawURLEncoding.DecodeString(k.N)
				e, _ := base64.RawURLEncoding.DecodeString(k.E)
				return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
			}
		}
		return nil, jwt.ErrTokenUnverifiable
	}, jwt.WithTimeFunc(f.clock.Now), jwt.WithAudience("crmsync-local"), jwt.WithIssuer(f.http.URL))
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	if claims["nonce"] != "n-1" || claims["email"] != "u@example.com" {
		t.Errorf("id token claims = %v", claims)
	}
	// userinfo and identity answer for the token.
	f.token = tok["access_token"].(string)
	var info map[string]any
	f.do("GET", "/services/oauth2/userinfo", nil, &info)
	if info["user_id"] != f.user || info["preferred_username"] != "u@example.com" {
		t.Errorf("userinfo = %v", info)
	}
	var ident map[string]any
	f.do("GET", strings.TrimPrefix(tok["id"].(string), f.http.URL), nil, &ident)
	if ident["user_id"] != f.user {
		t.Errorf("identity = %v", ident)
	}
	// Refresh works without rotation and keeps no expires_in.
	status, refreshed := postForm(t, tokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {"crmsync-local"}, "refresh_token": {tok["refresh_token"].(string)}})
	if status != 200 || refreshed["access_token"] == tok["access_token"] || refreshed["refresh_token"] != nil {
		t.Errorf("refresh: %d %v", status, refreshed)
	}
}

func TestPublicClientNeedsPKCE(t *testing.T) {
	f := newFixture(t, Options{})
	status, body := postForm(t, f.http.URL+"/services/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"crmsync-local"},
		"code": {authorize(t, f, nil)}, "redirect_uri": {"http://localhost:9/cb"}})
	if status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("public client without PKCE: %d %v", status, body)
	}
}

func TestJWTBearer(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	f := newFixture(t, Options{Clients: []Client{{ID: "server-app", Secret: "s", JWTKey: &key.PublicKey}}})
	assertion := func(sub string, exp time.Duration) string {
		tk := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": "server-app", "sub": sub, "aud": "https://login.salesforce.com", "exp": f.clock.Now().Add(exp).Unix()})
		s, _ := tk.SignedString(key)
		return s
	}
	url0 := f.http.URL + "/services/oauth2/token"
	status, tok := postForm(t, url0, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion("u@example.com", 2*time.Minute)}})
	if status != 200 || tok["access_token"] == nil || tok["refresh_token"] != nil {
		t.Errorf("jwt bearer: %d %v (want a token and no refresh token)", status, tok)
	}
	status, body := postForm(t, url0, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion("nobody@example.com", 2*time.Minute)}})
	if status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("unknown subject: %d %v", status, body)
	}
	status, body = postForm(t, url0, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion("u@example.com", -time.Minute)}})
	if status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("expired assertion: %d %v", status, body)
	}
	// The three refusals an admin setting up a JWT bearer connection meets,
	// each told apart by its error and description.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	signed := func(iss string, k *rsa.PrivateKey) string {
		tk := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": iss, "sub": "u@example.com", "aud": "https://login.salesforce.com", "exp": f.clock.Now().Add(2 * time.Minute).Unix()})
		s, _ := tk.SignedString(k)
		return s
	}
	for _, c := range []struct {
		name, assertion, code, desc string
	}{
		{"a consumer key no app has", signed("not-an-app", key), "invalid_client_id", "client identifier invalid"},
		{"a certificate the app does not hold", signed("server-app", other), "invalid_grant", "invalid assertion"},
		{"a user not pre-authorized", assertion("nobody@example.com", 2*time.Minute), "invalid_grant", "user hasn't approved this consumer"},
	} {
		status, body := postForm(t, url0, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {c.assertion}})
		if status != 400 || body["error"] != c.code || body["error_description"] != c.desc {
			t.Errorf("%s: %d %v, want 400 %s %q", c.name, status, body, c.code, c.desc)
		}
	}
}

func TestOwnerVisibility(t *testing.T) {
	f := newFixture(t, Options{})
	other, _ := f.srv.AddUser(User{Username: "o@example.com", Email: "o@example.com", LastName: "Other"})
	admin, _ := f.srv.AddUser(User{Username: "a@example.com", Email: "a@example.com", LastName: "Admin", Admin: true})
	mine, _ := f.srv.Insert(f.user, "Contact", map[string]any{"LastName": "Mine"})
	_, _ = f.srv.Insert(other, "Contact", map[string]any{"LastName": "Theirs"})
	invite, _ := f.srv.Insert(other, "Event", map[string]any{"Subject": "Invite", "StartDateTime": "2026-05-12T10:00:00Z", "EndDateTime": "2026-05-12T11:00:00Z"})
	_, _ = f.srv.Insert(other, "EventRelation", map[string]any{"EventId": invite, "RelationId": f.user})
	count := func(token, soql string) int {
		f.token = token
		var page struct{ TotalSize int }
		f.do("GET", v+"/query?q="+url.QueryEscape(soql), nil, &page)
		return page.TotalSize
	}
	user := f.srv.IssueToken(f.user)
	if got := count(user, "SELECT COUNT() FROM Contact"); got != 1 {
		t.Errorf("user sees %d contacts, want 1 (own)", got)
	}
	if got := count(user, "SELECT COUNT() FROM Event WHERE IsChild = false"); got != 1 {
		t.Errorf("invitee sees %d events, want 1 (through EventRelation)", got)
	}
	if got := count(user, "SELECT COUNT() FROM Event WHERE IsChild = true AND OwnerId = '"+f.user+"'"); got != 1 {
		t.Errorf("invitee owns %d child copies, want 1", got)
	}
	if got := count(f.srv.IssueToken(admin), "SELECT COUNT() FROM Contact"); got != 2 {
		t.Errorf("admin sees %d contacts, want 2", got)
	}
	f.token = f.srv.IssueToken(other)
	var errs []map[string]any
	resp := f.do("PATCH", v+"/sobjects/Contact/"+mine, map[string]any{"Title": "x"}, &errs)
	if resp.StatusCode != 400 || errs[0]["errorCode"] != "INVALID_CROSS_REFERENCE_KEY" {
		t.Errorf("editing an invisible record: %d %v", resp.StatusCode, errs)
	}
	f.token = user
	errs = nil
	resp = f.do("PATCH", v+"/sobjects/Event/"+invite, map[string]any{"Subject": "mine now"}, &errs)
	if resp.StatusCode != 403 || errs[0]["errorCode"] != "INSUFFICIENT_ACCESS_OR_READONLY" {
		t.Errorf("invitee editing the event: %d %v", resp.StatusCode, errs)
	}
}

func TestInjectedFaults(t *testing.T) {
	f := newFixture(t, Options{})
	f.srv.Inject(Fault{Resource: "query", Skip: 1, Status: 500, ErrorCode: "UNKNOWN_EXCEPTION"})
	q := v + "/query?q=" + url.QueryEscape("SELECT Id FROM Contact")
	if resp := f.do("GET", q, nil, nil); resp.StatusCode != 200 {
		t.Errorf("first call %d, want 200 (skipped)", resp.StatusCode)
	}
	if resp := f.do("GET", q, nil, nil); resp.StatusCode != 500 {
		t.Errorf("second call %d, want 500", resp.StatusCode)
	}
	if resp := f.do("GET", q, nil, nil); resp.StatusCode != 200 {
		t.Errorf("third call %d, want 200", resp.StatusCode)
	}
	f.srv.ExpireSessions()
	var errs []map[string]any
	if resp := f.do("GET", q, nil, &errs); resp.StatusCode != 401 || errs[0]["errorCode"] != "INVALID_SESSION_ID" {
		t.Errorf("expired session: %d %v", resp.StatusCode, errs)
	}
	if got := f.srv.Calls()["query"]; got != 3 {
		t.Errorf("call log query = %d, want 3", got)
	}
}
