// Package redact keeps credentials out of logs. Handler wraps any
// slog.Handler: it masks the values of attributes whose keys name a secret
// (token, password, authorization, cookie…) and scans every other string —
// messages, attribute values, errors, nested groups — for bearer tokens, JWTs,
// Authorization and Cookie headers, secret URL query and form parameters,
// key=value pairs with secret keys, private keys and crmsync sealed values.
// Header masks an http.Header for logging.
//
// Redaction is a safety net, not a licence: code still must not log
// credentials on purpose.
package redact

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
)

// Mask replaces every secret.
const Mask = "[REDACTED]"

// rule is one pattern and what replaces each match.
type rule struct {
	// maybe is a cheap test on the lower-cased text: false means the
	// pattern cannot match, which spares most strings every regexp.
	maybe func(lower string) bool
	re    *regexp.Regexp
	repl  string
	// keep, when set, spares a match (m holds its submatch indices in s):
	// the pattern's shape is there but the text reads as prose.
	keep func(s string, m []int) bool
}

// apply replaces every match of r in s that r.keep does not spare. After a
// spared match the search resumes right after its separator (submatch 2), so
// that a spared "cookie: securecookie: …" does not hide a real header later
// on the same line.
func (r rule) apply(s string) string {
	if r.keep == nil {
		return r.re.ReplaceAllString(s, r.repl)
	}
	var b []byte
	last, pos := 0, 0
	for pos <= len(s) {
		loc := r.re.FindStringSubmatchIndex(s[pos:])
		if loc == nil {
			break
		}
		m := make([]int, len(loc))
		for i, v := range loc {
			m[i] = v
			if v >= 0 {
				m[i] = v + pos
			}
		}
		if r.keep(s, m) {
			pos = max(m[5], m[0]+1)
			continue
		}
		b = append(b, s[last:m[0]]...)
		b = r.re.ExpandString(b, r.repl, s, m)
		last = m[1]
		pos = max(m[1], m[0]+1)
	}
	if b == nil && last == 0 {
		return s
	}
	return string(append(b, s[last:]...))
}

// urlErrorOps are the operations net/url.Error prints before the quoted URL:
// `Post "https://…": dial tcp …`.
var urlErrorOps = map[string]bool{"Get": true, "Head": true, "Post": true, "Put": true, "Patch": true, "Delete": true, "Options": true}

// errorChain reports whether the value after "key: " (submatch 3) reads as
// the next link of a Go error chain or a sentence rather than a credential:
// "credentials: dial tcp 127.0.0.1:1: connect: connection refused",
// "client secret: open /run/secret: no such file", "password: x509:
// certificate…", "no Azure credential: DefaultAzureCredential: failed…",
// `secret: Post "https://…": …`. That is net/url.Error's operation before a
// quoted URL, an identifier ending in ":" (the next link's prefix), or a
// lower-case word (letters and digits) followed by a space and more text.
// "password: hunter2" at the end of a line, or a value with upper case or
// punctuation that is not such a prefix, is still masked.
func errorChain(s string, m []int) bool {
	v, rest := s[m[6]:m[7]], s[m[7]:]
	if urlErrorOps[v] && strings.HasPrefix(rest, ` "`) {
		return true
	}
	if chainPrefix(v) {
		return true
	}
	if !lowerWord(v) {
		return false
	}
	return len(rest) >= 2 && (rest[0] == ' ' || rest[0] == '\t') && rest[1] != ' ' && rest[1] != '\t' && rest[1] != '\n' && rest[1] != '\r'
}

// headerChain spares a header-shaped match ("cookie: …", "authorization:
// …") whose remainder starts with an error chain's next prefix: "identity:
// encoding cookie: securecookie: the value is too long" is an error, not a
// Cookie header (whose value is name=value pairs, never "word: …").
func headerChain(s string, m []int) bool {
	rest := strings.TrimLeft(s[m[5]:m[1]], " \t")
	tok, _, _ := strings.Cut(rest, " ")
	return chainPrefix(tok)
}

// chainPrefix reports whether tok is an identifier followed by ":", the way
// Go error chains prefix each link ("securecookie:", "EnvironmentCredential:").
func chainPrefix(tok string) bool {
	word, ok := strings.CutSuffix(tok, ":")
	if !ok || word == "" || !isLetter(word[0]) {
		return false
	}
	for i := 1; i < len(word); i++ {
		if c := word[i]; !(isLetter(c) || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// lowerWord reports whether w is lower-case letters and digits, starting with a letter.
func lowerWord(w string) bool {
	if w == "" || w[0] < 'a' || w[0] > 'z' {
		return false
	}
	for i := 1; i < len(w); i++ {
		if c := w[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func has(words ...string) func(string) bool {
	return func(lower string) bool {
		for _, w := range words {
			if strings.Contains(lower, w) {
				return true
			}
		}
		return false
	}
}

// hasSealed spots "v<digits>.<38+ base64url characters>", which is exactly
// what the sealed-value pattern needs.
func hasSealed(lower string) bool {
	for i := 0; i+1 < len(lower); i++ {
		if lower[i] != 'v' || lower[i+1] < '1' || lower[i+1] > '9' {
			continue
		}
		j := i + 1
		for j < len(lower) && lower[j] >= '0' && lower[j] <= '9' {
			j++
		}
		if j >= len(lower) || lower[j] != '.' {
			continue
		}
		n := 0
		for j++; j < len(lower) && isB64URL(lower[j]); j++ {
			n++
		}
		if n >= 38 {
			return true
		}
	}
	return false
}

func isB64URL(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// wordThenSep reports whether one of words is followed, after optional
// quotes and spaces, by "=" or ":": the shape of the key=value rules.
func wordThenSep(words ...string) func(string) bool {
	return func(lower string) bool {
		for _, w := range words {
			for off := 0; ; {
				i := strings.Index(lower[off:], w)
				if i < 0 {
					break
				}
				j := off + i + len(w)
				for j < len(lower) && (lower[j] == '"' || lower[j] == ' ' || lower[j] == '\t') {
					j++
				}
				if j < len(lower) && (lower[j] == '=' || lower[j] == ':') {
					return true
				}
				off += i + 1
			}
		}
		return false
	}
}

func all(fs ...func(string) bool) func(string) bool {
	return func(lower string) bool {
		for _, f := range fs {
			if !f(lower) {
				return false
			}
		}
		return true
	}
}

// rules run in order; earlier rules handle the more specific shapes (a whole
// header line) before the generic key=value rule sees the remains.
var rules = []rule{
	// PEM private keys, whole block.
	{has("private key"), regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)`), Mask, nil},
	// Authorization, Proxy-Authorization, Cookie and Set-Cookie header lines
	// (also as JSON keys): everything to the end of the line.
	{has("authorization", "cookie"), regexp.MustCompile(`(?i)\b((?:proxy-)?authorization|set-cookie|cookie)("?[ \t]*[:=][ \t]*)[^\r\n]*`), "${1}${2}" + Mask, headerChain},
	// Bearer and Basic credentials anywhere in text.
	// The character after the credential must not be ":", "=" or "[", so
	// that "token_type=Bearer token_count=3" keeps its next key and
	// "Bearer password=[REDACTED]" is not masked a second time.
	{has("bearer", "basic"), regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]{8,}=*([^:=\[A-Za-z0-9\-._~+/]|$)`), "${1}${2}" + Mask + "${3}", nil},
	// JWTs (and JWEs): base64url JSON header, which always begins "eyJ".
	{has("eyj"), regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*){1,3}`), Mask, nil},
	// Azure storage and Service Bus connection-string parts.
	{has("accountkey", "sharedaccess"), regexp.MustCompile(`(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature)=([^;\s"']+)`), "${1}=" + Mask, nil},
	// Query and form parameters that are only secret in a URL or form body.
	{all(has("?", "&", ";"), has("code=", "key=", "sig=", "signature=", "assertion=", "verifier=")), regexp.MustCompile(`(?i)([?&;])(code|key|sig|signature|client_assertion|assertion|code_verifier|subscription-key)=([^&#\s"'<>]*)`), "${1}${2}=" + Mask, nil},
	// key=value, key: value and "key":"value" where the key names a secret:
	// access_token=…, refresh_token: …, "client_secret":"…", AccessToken:…
	// (the last is how %+v prints an oauth2.Token).
	// A bare colon-space after a plain "token" is left alone: it is how Go
	// errors read ("cannot fetch token: 400 Bad Request").
	{wordThenSep(kvWords...), regexp.MustCompile(`(?i)\b([A-Za-z0-9_.-]*?(?:token|password|passwd|pwd|secret|api[_-]?key|client_assertion|code_verifier|credentials?|private[_-]?key))(\s*=\s*"?|"\s*:\s*"?|:)([^\s"&,;)}\]\[<>']+)`), "${1}${2}" + Mask, nil},
	// The colon-space form is also how Go wraps errors ("credentials: dial
	// tcp …"), so a value that reads as the next link of the chain is kept.
	{wordThenSep(kvWords...), regexp.MustCompile(`(?i)\b([A-Za-z0-9_.-]*?(?:password|passwd|pwd|secret|access[_-]?token|refresh[_-]?token|id[_-]?token|api[_-]?key|client[_-]?assertion|code[_-]?verifier|private[_-]?key|credentials?))(:\s+"?)([^\s"&,;)}\]\[<>']+)`), "${1}${2}" + Mask, errorChain},
	// crmsync sealed values (seal package): ciphertext, but still not for logs.
	{hasSealed, regexp.MustCompile(`\bv[1-9][0-9]{0,8}\.[A-Za-z0-9_-]{38,}`), Mask, nil},
}

// kvWords are the words the key=value rules look for.
var kvWords = []string{"token", "password", "passwd", "pwd", "secret", "key", "assertion", "verifier", "credential", "credentials"}

// maxPasses bounds String's repeat passes; real text settles in one or two.
const maxPasses = 4

// String returns s with every credential it recognises masked. A pass that
// masked something is followed by another, until nothing changes: one rule's
// mask can complete another rule's shape, and a log line redacted twice must
// read the same as once.
func String(s string) string {
	for range maxPasses {
		r := pass(s)
		if r == s {
			return r
		}
		s = r
	}
	return s
}

// pass applies every rule once, in order.
func pass(s string) string {
	lower := strings.ToLower(s)
	for _, r := range rules {
		if !r.maybe(lower) {
			continue
		}
		s = r.apply(s)
		lower = strings.ToLower(s)
	}
	return s
}

// SecretKey reports whether an attribute, header, parameter or field name
// names a secret, whatever its case and separators: "refresh_token",
// "RefreshToken", "X-Api-Key", "client-secret", "Set-Cookie".
func SecretKey(key string) bool {
	k := normalize(key)
	if k == "" {
		return false
	}
	if exactSecret[k] {
		return true
	}
	for _, suffix := range secretSuffixes {
		if strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}

var exactSecret = map[string]bool{
	"authorization": true, "proxyauthorization": true, "cookie": true, "setcookie": true,
	"assertion": true, "clientassertion": true, "codeverifier": true, "pwd": true, "passwd": true,
	"sig": true, "signature": true, "sas": true, "xfunctionskey": true, "ocpapimsubscriptionkey": true,
	"accountkey": true, "sharedaccesskey": true, "sharedaccesssignature": true, "connectionstring": true,
	"sealed": true,
}

// secretSuffixes catch compound names: accesstoken, idtoken, csrftoken,
// clientsecret, dbpassword, xapikey, storageconnectionstring… but not
// "tokencount" or "tokentype", whose values are harmless and useful.
var secretSuffixes = []string{
	"token", "password", "secret", "apikey", "privatekey", "credential", "credentials",
	"cookie", "connectionstring", "passphrase",
}

func normalize(key string) string {
	var b strings.Builder
	for _, c := range key {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			b.WriteRune(c + 'a' - 'A')
		}
	}
	return b.String()
}

// Header returns a copy of h fit for a log: secret headers masked (the
// Authorization scheme is kept, "Bearer [REDACTED]"), other values scanned.
func Header(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		masked := make([]string, len(vs))
		for i, v := range vs {
			switch {
			case strings.EqualFold(k, "Authorization") || strings.EqualFold(k, "Proxy-Authorization"):
				scheme, _, _ := strings.Cut(v, " ")
				if scheme != "" && scheme != v && len(scheme) <= 16 {
					masked[i] = scheme + " " + Mask
				} else {
					masked[i] = Mask
				}
			case SecretKey(k):
				masked[i] = Mask
			default:
				masked[i] = String(v)
			}
		}
		out[k] = masked
	}
	return out
}

// Attr returns a with secrets masked: the whole value when the key names a
// secret, else every string inside it scanned, groups recursively.
func Attr(a slog.Attr) slog.Attr {
	if SecretKey(a.Key) {
		return slog.String(a.Key, Mask)
	}
	return slog.Attr{Key: a.Key, Value: value(a.Value)}
}

func value(v slog.Value) slog.Value {
	v = v.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.StringValue(String(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		out := make([]slog.Attr, len(attrs))
		for i, a := range attrs {
			out[i] = Attr(a)
		}
		return slog.GroupValue(out...)
	case slog.KindAny:
		return anyValue(v.Any())
	default:
		// Numbers, booleans, times and durations carry no credentials.
		return v
	}
}

// anyValue handles values slog prints with fmt or encoding/json. Anything
// whose printed form holds a secret becomes that printed form, masked; the
// rest is left as it was so handlers keep their structure.
func anyValue(x any) slog.Value {
	switch t := x.(type) {
	case nil:
		return slog.AnyValue(nil)
	case error:
		return slog.StringValue(String(t.Error()))
	case []byte:
		return slog.StringValue(String(string(t)))
	case http.Header:
		return slog.AnyValue(Header(t))
	case fmt.Stringer:
		return slog.StringValue(String(t.String()))
	}
	s := fmt.Sprintf("%+v", x)
	if r := String(s); r != s {
		return slog.StringValue(r)
	}
	return slog.AnyValue(x)
}

// Handler redacts records before passing them on.
type Handler struct {
	next slog.Handler
}

// NewHandler wraps next.
func NewHandler(next slog.Handler) *Handler { return &Handler{next: next} }

// Enabled defers to the wrapped handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle masks the message and every attribute, then hands the record on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(Attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs masks the attributes once, when they are attached.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = Attr(a)
	}
	return &Handler{next: h.next.WithAttrs(out)}
}

// WithGroup opens a group on the wrapped handler; group names are not scanned.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name)}
}
