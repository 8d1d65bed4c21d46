package redact_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/redact"
)

const (
	jwt    = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJ1LTEiLCJhdWQiOiJjcm1zeW5jIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
	opaque = "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJrfh"
	sealed = "v3.q0dcEI6MBQ_8xWkc0Yh8pQ2fTzqlcvY1bE0ZBI2HgiWmjMlGnGcR7ZGqZw"
)

func TestStringRedactsEachPattern(t *testing.T) {
	tests := []struct {
		name, in, secret string
	}{
		{"bearer", "calling graph with Bearer " + opaque, opaque},
		{"basic", "Authorization was Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA"},
		{"authorization header line", "request headers:\nAuthorization: Negotiate " + opaque + "\nAccept: */*", opaque},
		{"authorization json", `{"Authorization":["Bearer ` + opaque + `"]}`, opaque},
		{"cookie header", "Cookie: crmsync_session=" + opaque + "; theme=dark", opaque},
		{"set-cookie header", "Set-Cookie: sid=" + opaque + "; HttpOnly; Secure", opaque},
		{"jwt alone", "id token " + jwt + " rejected", "c2lnbmF0dXJl"},
		{"jwt payload", "token=" + jwt, "eyJzdWIiOiJ1LTEi"},
		{"access_token query", "GET https://api.example.com/x?access_token=" + opaque + "&a=1", opaque},
		{"code query", "callback https://crmsync.example/auth/callback?state=s1&code=" + opaque, opaque},
		{"client_secret form", "grant_type=refresh_token&client_id=abc&client_secret=" + opaque, opaque},
		{"refresh_token form", "grant_type=refresh_token&refresh_token=" + opaque, opaque},
		{"code_verifier form", "code=x&code_verifier=" + opaque, opaque},
		{"assertion form", "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=" + opaque, opaque},
		{"password kv", "login failed password=" + opaque, opaque},
		{"password colon", "password: " + opaque, opaque},
		{"password colon, a word at the end", "password: letmein", "letmein"},
		{"password colon, a word at a line end", "password: letmein\nnext line", "letmein"},
		{"secret colon, mixed case then prose", "client secret: Hunter2 was rotated", "Hunter2"},
		{"credentials colon, punctuation then prose", "credentials: s3cr3t! used", "s3cr3t!"},
		{"a header after a spared error chain on the same line", "encoding cookie: securecookie: bad; Authorization: Negotiate " + opaque, opaque},
		{"a header on the line after a bare cookie:", "cookie:\nAuthorization: Negotiate " + opaque, opaque},
		{"cookie header with a name=value pair", "cookie: sid=" + opaque, opaque},
		{"json refresh_token", `{"access_token":"` + opaque + `","token_type":"Bearer"}`, opaque},
		{"json client_secret spaced", `{"client_secret" : "` + opaque + `"}`, opaque},
		{"oauth2.Token %+v", "&{AccessToken:" + opaque + " TokenType:Bearer RefreshToken:x" + opaque + "}", opaque},
		{"api key", "x-api-key=" + opaque, opaque},
		{"storage connection string", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=" + opaque + ";EndpointSuffix=core", opaque},
		{"sas sig", "https://a.blob.core.windows.net/c?sv=2024&sig=" + opaque, opaque},
		{"sealed value", "stored " + sealed + " for user u-1", "q0dcEI6MBQ"},
		{"private key", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg" + opaque + "\n-----END PRIVATE KEY-----", opaque},
		{"truncated private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBg" + opaque, opaque},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redact.String(tt.in)
			if strings.Contains(got, tt.secret) {
				t.Errorf("String(%q) = %q, still holds %q", tt.in, got, tt.secret)
			}
			if !strings.Contains(got, redact.Mask) {
				t.Errorf("String(%q) = %q, want a %s mark", tt.in, got, redact.Mask)
			}
			if again := redact.String(got); again != got {
				t.Errorf("String is not idempotent: %q then %q", got, again)
			}
		})
	}
}

func TestStringKeepsOrdinaryText(t *testing.T) {
	for _, in := range []string{
		"",
		"sync session s-42 done: 17 created, 3 updated",
		"status code=401 from salesforce",
		"token refresh failed: invalid_grant",
		"oauth2: cannot fetch token: 400 Bad Request",
		"token_type=Bearer token_count=3",
		"Bearer token missing",
		"basic auth is off",
		"user u-1 provider salesforce instance https://na1.my.salesforce.com",
		"https://graph.microsoft.com/v1.0/me/messages?$select=id&$top=50",
		"record 0015g00000XyZabAAB updated",
		"version v3.1 of the plan",
		"www.example.com",
		"AAMkAGI2THVSAAA=",
		// Go error chains whose prefix names a secret: the next link is prose.
		"dial tcp 127.0.0.1:1: connect: connection refused",
		"loading credentials: dial tcp 127.0.0.1:1: connect: connection refused",
		`queue: azure credentials: Post "http://127.0.0.1:1/x": dial tcp 127.0.0.1:1: connect: connection refused`,
		"reading client secret: open /run/secrets/sf: no such file or directory",
		"password: x509: certificate signed by unknown authority",
		"refresh_token: invalid grant for this client",
		"identity: encoding cookie: securecookie: the value is too long",
		"keyring: CRMSYNC_KEYRING: no Azure credential: DefaultAzureCredential: failed to acquire a token.",
	} {
		if got := redact.String(in); got != in {
			t.Errorf("String(%q) = %q, want it unchanged", in, got)
		}
	}
}

func TestSecretKey(t *testing.T) {
	tests := map[string]bool{
		"token": true, "access_token": true, "refreshToken": true, "id_token": true, "csrf-token": true,
		"password": true, "Password": true, "db_password": true, "secret": true, "client_secret": true,
		"Authorization": true, "proxy-authorization": true, "cookie": true, "Set-Cookie": true,
		"assertion": true, "code_verifier": true, "api_key": true, "X-Api-Key": true, "apiKey": true,
		"private_key": true, "connection_string": true, "x-functions-key": true,
		"user": false, "provider": false, "token_count": false, "token_type": false, "expires_in": false,
		"status": false, "code": false, "key": false, "": false, "session": false,
	}
	for key, want := range tests {
		if got := redact.SecretKey(key); got != want {
			t.Errorf("SecretKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestHeader(t *testing.T) {
	h := http.Header{
		"Authorization":     {"Bearer " + opaque},
		"Cookie":            {"sid=" + opaque},
		"Set-Cookie":        {"sid=" + opaque + "; HttpOnly"},
		"X-Api-Key":         {opaque},
		"Content-Type":      {"application/json"},
		"Location":          {"https://crmsync.example/cb?code=" + opaque},
		"Sforce-Limit-Info": {"api-usage=25/15000"},
	}
	got := redact.Header(h)
	want := http.Header{
		"Authorization":     {"Bearer " + redact.Mask},
		"Cookie":            {redact.Mask},
		"Set-Cookie":        {redact.Mask},
		"X-Api-Key":         {redact.Mask},
		"Content-Type":      {"application/json"},
		"Location":          {"https://crmsync.example/cb?code=" + redact.Mask},
		"Sforce-Limit-Info": {"api-usage=25/15000"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Header() mismatch (-want +got):\n%s", diff)
	}
	if h.Get("Authorization") != "Bearer "+opaque {
		t.Error("Header() changed its argument")
	}
}

type credentials struct {
	ClientID     string
	ClientSecret string
}

type loggedID string

func (id loggedID) LogValue() slog.Value { return slog.StringValue("token=" + string(id)) }

func TestHandlerRedactsEverywhere(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(redact.NewHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	u, _ := url.Parse("https://login.example.com/token?refresh_token=" + opaque)
	tok := &oauth2.Token{AccessToken: "at-" + opaque, RefreshToken: "rt-" + opaque, Expiry: time.Now()}

	log.With("refresh_token", opaque, slog.Group("conn", "password", opaque)).
		WithGroup("req").
		Info("refreshing with Bearer "+opaque,
			"user", "u-1",
			"authorization", "Bearer "+opaque,
			"header", http.Header{"Authorization": {"Bearer " + opaque}},
			"url", u,
			"err", errors.New("oauth2: cannot fetch token: body access_token="+opaque),
			"body", []byte(`{"refresh_token":"`+opaque+`"}`),
			"token", tok,
			"tok", *tok,
			"creds", credentials{ClientID: "cid", ClientSecret: opaque},
			"lazy", loggedID(opaque),
			slog.Group("nested", slog.Group("deeper", "cookie", "sid="+opaque, "note", "sealed "+sealed)),
			"count", 3,
		)
	out := buf.String()
	for _, secret := range []string{opaque, "q0dcEI6MBQ"} {
		if strings.Contains(out, secret) {
			t.Errorf("log output holds %q:\n%s", secret, out)
		}
	}
	for _, kept := range []string{`"user":"u-1"`, `"count":3`, `ClientID:cid`, `"req":{`} {
		if !strings.Contains(out, kept) {
			t.Errorf("log output lost %s:\n%s", kept, out)
		}
	}
}

func TestHandlerKeepsStructure(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(redact.NewHandler(slog.NewJSONHandler(&buf, nil)))
	log.Info("session done", "user", "u-1", slog.Group("counts", "created", 2, "updated", 1), "at", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	want := `"msg":"session done","user":"u-1","counts":{"created":2,"updated":1},"at":"2026-01-02T03:04:05Z"}`
	if got := buf.String(); !strings.Contains(got, want) {
		t.Errorf("log = %s\nwant it to contain %s", got, want)
	}
	if !log.Handler().Enabled(context.Background(), slog.LevelInfo) || log.Handler().Enabled(context.Background(), slog.LevelDebug) {
		t.Error("Enabled does not follow the wrapped handler")
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "Bearer " + opaque, "a=b&code=" + opaque, jwt, sealed, "password: x", "-----BEGIN PRIVATE KEY-----", "Cookie:", "eyJ.eyJ.", "v1." + strings.Repeat("A", 40)} {
		f.Add(s)
	}
	const planted = "Zq9xPLANTEDq7Lm"
	f.Fuzz(func(t *testing.T, s string) {
		got := redact.String(s)
		if again := redact.String(got); again != got {
			t.Errorf("not idempotent: %q → %q → %q", s, got, again)
		}
		if strings.Contains(s, planted) {
			return
		}
		for _, wrap := range []string{s + " access_token=" + planted, s + "\nAuthorization: Bearer " + planted, s + " Bearer " + planted} {
			if strings.Contains(redact.String(wrap), planted) {
				t.Errorf("String(%q) kept the planted secret", wrap)
			}
		}
	})
}

func BenchmarkHandler(b *testing.B) {
	log := slog.New(redact.NewHandler(slog.NewJSONHandler(io.Discard, nil)))
	for b.Loop() {
		log.Info("session done", "user", "u-1", "provider", "salesforce", "created", 17,
			"url", "https://acme.my.salesforce.com/services/data/v66.0/query?q=SELECT+Id+FROM+Contact")
	}
}

// BenchmarkHandlerBaseline is the same log line without redaction, to read
// BenchmarkHandler against.
func BenchmarkHandlerBaseline(b *testing.B) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	for b.Loop() {
		log.Info("session done", "user", "u-1", "provider", "salesforce", "created", 17,
			"url", "https://acme.my.salesforce.com/services/data/v66.0/query?q=SELECT+Id+FROM+Contact")
	}
}
