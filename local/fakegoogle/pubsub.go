package fakegoogle

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PubSub is the Cloud Pub/Sub side of Gmail push: the topic users.watch
// accepts (the one the gmail-api-push service account may publish to) and
// its authenticated push subscription.
type PubSub struct {
	// Topic is "projects/<project>/topics/<topic>".
	Topic string
	// Endpoint is the push subscription's HTTPS endpoint.
	Endpoint string
	// ServiceAccount is the subscription's service account: the email claim
	// of the OpenID Connect token each push carries.
	ServiceAccount string
	// Audience is the token's aud ("" = Endpoint, as Pub/Sub defaults).
	Audience string
}

// GmailWatchTTL is the life of a Gmail watch: Google says to call watch
// again at least every 7 days.
const GmailWatchTTL = 7 * 24 * time.Hour

type gmailWatch struct {
	labels  []string
	exclude bool
	expires time.Time
}

// pushKey is the key Pub/Sub's tokens are signed with, published at
// /oauth2/v3/certs as Google publishes its OpenID Connect keys.
type pushKey struct {
	once sync.Once
	key  *rsa.PrivateKey
	kid  string
}

func (s *Server) signingKey() *pushKey {
	k := s.pushKey
	k.once.Do(func() {
		k.key, _ = rsa.GenerateKey(rand.Reader, 2048)
		var b [10]byte
		_, _ = rand.Read(b[:])
		k.kid = base64.RawURLEncoding.EncodeToString(b[:])
	})
	return k
}

var topicName = regexp.MustCompile(`^projects/[^/]+/topics/[^/]+$`)

// watchGmail is users.watch.
func (s *Server) watchGmail(w http.ResponseWriter, r *http.Request, u *user) {
	var body struct {
		TopicName           string   `json:"topicName"`
		LabelIDs            []string `json:"labelIds"`
		LabelFilterBehavior string   `json:"labelFilterBehavior"`
		LabelFilterAction   string   `json:"labelFilterAction"`
	}
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &body); err != nil {
		legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid JSON payload received.")
		return
	}
	switch {
	case body.TopicName == "":
		legacyError(w, http.StatusBadRequest, "invalidArgument", "topicName required")
		return
	case !topicName.MatchString(body.TopicName):
		legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid topicName does not match projects/{project}/topics/*")
		return
	case s.opts.PubSub == nil || body.TopicName != s.opts.PubSub.Topic:
		// Gmail publishes a test message first; a topic that does not
		// let gmail-api-push publish fails it.
		legacyError(w, http.StatusForbidden, "forbidden", "Error sending test message to Cloud PubSub "+body.TopicName+" : User not authorized to perform this action.")
		return
	}
	g := u.gmail()
	for _, l := range body.LabelIDs {
		if g.labels[l] == nil {
			legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid label: "+l)
			return
		}
	}
	if s.gmailWatches == nil {
		s.gmailWatches = map[string]*gmailWatch{}
	}
	filter := body.LabelFilterBehavior
	if filter == "" {
		filter = body.LabelFilterAction
	}
	exp := s.now().Add(GmailWatchTTL)
	s.gmailWatches[strings.ToLower(u.email)] = &gmailWatch{labels: slices.Clone(body.LabelIDs), exclude: strings.EqualFold(filter, "exclude"), expires: exp}
	writeJSON(w, http.StatusOK, map[string]any{"historyId": strconv.FormatInt(s.seq, 10), "expiration": strconv.FormatInt(exp.UnixMilli(), 10)})
}

// stopGmail is users.stop.
func (s *Server) stopGmail(w http.ResponseWriter, r *http.Request, u *user) {
	delete(s.gmailWatches, strings.ToLower(u.email))
	w.WriteHeader(http.StatusNoContent)
}

// gmailChanged queues a Pub/Sub push for a watched mailbox's change rec,
// when the watch's label filter lets it through.
func (s *Server) gmailChanged(u *user, rec historyRecord) {
	ps := s.opts.PubSub
	wt := s.gmailWatches[strings.ToLower(u.email)]
	if ps == nil || wt == nil || s.now().After(wt.expires) {
		return
	}
	if len(wt.labels) > 0 {
		hit := slices.ContainsFunc(append(slices.Clone(rec.present), rec.labels...), func(l string) bool { return slices.Contains(wt.labels, l) })
		if hit == wt.exclude {
			return
		}
	}
	data, _ := json.Marshal(map[string]any{"emailAddress": u.email, "historyId": rec.id})
	body, _ := json.Marshal(map[string]any{
		"message": map[string]any{"data": base64.StdEncoding.EncodeToString(data), "messageId": randomID("m"),
			"publishTime": s.now().Format(time.RFC3339Nano)},
		"subscription": strings.Replace(ps.Topic, "/topics/", "/subscriptions/", 1) + "-push",
	})
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	aud := ps.Audience
	if aud == "" {
		aud = ps.Endpoint
	}
	h.Set("Authorization", "Bearer "+s.PushToken(aud, ps.ServiceAccount))
	s.pending = append(s.pending, delivery{address: ps.Endpoint, header: h, body: body})
}

// PushToken is the OpenID Connect token Pub/Sub attaches to a push of an
// authenticated subscription: RS256 with the key at /oauth2/v3/certs, valid
// for an hour.
func (s *Server) PushToken(audience, serviceAccount string) string {
	k := s.signingKey()
	now := s.now()
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": k.kid, "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{"aud": audience, "azp": "1137742644630383219", "email": serviceAccount,
		"sub": "1137742644630383219", "email_verified": true, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"iss": "https://accounts.google.com"})
	in := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(claims)
	sum := sha256.Sum256([]byte(in))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, k.key, crypto.SHA256, sum[:])
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// certs is Google's OpenID Connect key set.
func (s *Server) certs(w http.ResponseWriter, r *http.Request) {
	k := s.signingKey()
	e := big.NewInt(int64(k.key.E)).Bytes()
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": k.kid,
		"n": base64.RawURLEncoding.EncodeToString(k.key.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(e)}}})
}

// GmailWatch reports a user's Gmail watch: its labels and expiry.
func (s *Server) GmailWatch(email string) (labels []string, expires time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wt := s.gmailWatches[strings.ToLower(email)]
	if wt == nil {
		return nil, time.Time{}, false
	}
	return slices.Clone(wt.labels), wt.expires, true
}
