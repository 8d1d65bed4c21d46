package google

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/identity"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// GmailRenewEvery is how often a side calls users.watch again: a Gmail watch
// lapses after 7 days and Google recommends renewing it daily.
const GmailRenewEvery = 24 * time.Hour

// CertsURL is Google's OpenID Connect key set (the jwks_uri of
// accounts.google.com), which signs Pub/Sub push tokens.
const CertsURL = "https://www.googleapis.com/oauth2/v3/certs"

// renewGmailWatch calls users.watch on the share labels when the last call
// (Unix seconds, 0 = never) is a day old, and remembers the mailbox's address
// fingerprint for the push handler. It returns the time of the watch to keep
// in the cursor; failures are logged, not returned: Gmail is then polled.
func (s *Side) renewGmailWatch(ctx context.Context, labels []string, last int64) int64 {
	w := s.watch
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	if len(labels) == 0 || last > 0 && now().Sub(time.Unix(last, 0)) < GmailRenewEvery {
		return last
	}
	var got struct {
		HistoryID  string `json:"historyId"`
		Expiration string `json:"expiration"`
	}
	// include: only changes to messages with a share label notify.
	body := map[string]any{"topicName": w.Topic, "labelIds": labels, "labelFilterBehavior": "include"}
	if err := s.c.do(ctx, "POST", s.c.gmail+"/gmail/v1/users/me/watch", body, &got); err != nil {
		s.c.log.Warn("google: users.watch failed; Gmail is polled", "err", err)
		return last
	}
	if w.Mailboxes != nil {
		var prof struct {
			EmailAddress string `json:"emailAddress"`
		}
		if err := s.c.do(ctx, "GET", s.c.gmail+"/gmail/v1/users/me/profile", nil, &prof); err != nil || prof.EmailAddress == "" {
			s.c.log.Warn("google: reading the Gmail profile for push failed; Gmail is polled", "err", err)
			return last
		}
		if err := w.Mailboxes.Remember(ctx, w.User, prof.EmailAddress); err != nil {
			s.c.log.Warn("google: remembering the mailbox for push failed; Gmail is polled", "err", err)
			return last
		}
	}
	return now().Unix()
}

// cutGmailWatch splits the "|w<unix>" suffix, the time of the last
// users.watch, off a Gmail cursor.
func cutGmailWatch(cursor string) (string, int64) {
	i := strings.LastIndex(cursor, "|w")
	if i < 0 {
		return cursor, 0
	}
	n, err := strconv.ParseInt(cursor[i+2:], 10, 64)
	if err != nil || n <= 0 {
		return cursor, 0
	}
	return cursor[:i], n
}

// MailboxTable holds the mailbox index: a Pub/Sub notification names the
// Gmail address, never the crmsync user.
const MailboxTable = "googlemailboxes"

// MailboxIndex maps a keyed fingerprint of a Gmail address to its crmsync
// user ("m|<fingerprint>" → User) with the way back ("u|<user>" →
// Mailbox) for Forget. No address is stored.
type MailboxIndex struct {
	Store tablestore.Store
	// Key keys the fingerprints.
	Key []byte
}

func (m *MailboxIndex) fingerprint(email string) string {
	h := hmac.New(sha256.New, m.Key)
	h.Write([]byte(strings.ToLower(strings.TrimSpace(email))))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// Remember records that email is user's mailbox, replacing an address the
// user had before.
func (m *MailboxIndex) Remember(ctx context.Context, user, email string) error {
	fp := m.fingerprint(email)
	if e, err := m.Store.Get(ctx, MailboxTable, "u|"+user, ""); err == nil {
		if old, _ := e.Properties["Mailbox"].(string); old == fp {
			return nil
		} else if old != "" {
			if err := m.Store.Delete(ctx, MailboxTable, "m|"+old, "", "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
				return err
			}
		}
	} else if !errors.Is(err, tablestore.ErrNotFound) {
		return err
	}
	if _, err := m.Store.Upsert(ctx, MailboxTable, tablestore.Entity{PartitionKey: "m|" + fp, Properties: map[string]any{"User": user}}); err != nil {
		return err
	}
	_, err := m.Store.Upsert(ctx, MailboxTable, tablestore.Entity{PartitionKey: "u|" + user, Properties: map[string]any{"Mailbox": fp}})
	return err
}

// Lookup returns the user whose mailbox email is ("" when none).
func (m *MailboxIndex) Lookup(ctx context.Context, email string) (string, error) {
	e, err := m.Store.Get(ctx, MailboxTable, "m|"+m.fingerprint(email), "")
	if errors.Is(err, tablestore.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	u, _ := e.Properties["User"].(string)
	return u, nil
}

// Forget removes the user's rows (account deletion).
func (m *MailboxIndex) Forget(ctx context.Context, user string) error {
	e, err := m.Store.Get(ctx, MailboxTable, "u|"+user, "")
	if errors.Is(err, tablestore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if fp, _ := e.Properties["Mailbox"].(string); fp != "" {
		if err := m.Store.Delete(ctx, MailboxTable, "m|"+fp, "", "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
			return err
		}
	}
	if err := m.Store.Delete(ctx, MailboxTable, "u|"+user, "", "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
		return err
	}
	return nil
}

// PubSubAuth authenticates Pub/Sub push requests: the OpenID Connect token
// Pub/Sub signs for an authenticated push subscription, checked against
// Google's keys, its audience and the subscription's service account.
type PubSubAuth struct {
	// Keys is Google's key set (CertsURL; the local Google's in tests).
	Keys *identity.KeySet
	// Audience is the subscription's audience (by default its push
	// endpoint URL).
	Audience string
	// ServiceAccount is the e-mail of the subscription's service account.
	ServiceAccount string
	// Now is the clock (nil = time.Now).
	Now func() time.Time
}

// errPushAuth is a push request whose token does not check.
var errPushAuth = errors.New("google: push request not authenticated")

// verify checks a push request's bearer token: RS256 by one of Google's
// keys, issued by accounts.google.com to Audience for ServiceAccount, not
// expired.
func (a *PubSubAuth) verify(ctx context.Context, r *http.Request) error {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	parts := strings.Split(raw, ".")
	if !ok || len(parts) != 3 {
		return fmt.Errorf("%w: no bearer token", errPushAuth)
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil || hdr.Alg != "RS256" {
		return fmt.Errorf("%w: not an RS256 token", errPushAuth)
	}
	key, err := a.Keys.Key(ctx, hdr.Kid)
	if err != nil {
		return fmt.Errorf("%w: %v", errPushAuth, err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) != nil {
		return fmt.Errorf("%w: bad signature", errPushAuth)
	}
	var c struct {
		Iss           string `json:"iss"`
		Aud           string `json:"aud"`
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		Exp           int64  `json:"exp"`
		Iat           int64  `json:"iat"`
	}
	if err := decodeSegment(parts[1], &c); err != nil {
		return fmt.Errorf("%w: unreadable claims", errPushAuth)
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	t := now().Unix()
	switch {
	case c.Iss != "https://accounts.google.com" && c.Iss != "accounts.google.com":
		return fmt.Errorf("%w: issuer %q", errPushAuth, c.Iss)
	case c.Aud != a.Audience:
		return fmt.Errorf("%w: audience", errPushAuth)
	case !c.EmailVerified || !strings.EqualFold(c.Email, a.ServiceAccount):
		return fmt.Errorf("%w: not the subscription's service account", errPushAuth)
	case c.Exp <= t-60 || c.Iat > t+60:
		return fmt.Errorf("%w: expired", errPushAuth)
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// gmailPush handles one Pub/Sub push of a Gmail notification: base64
// message.data holding {"emailAddress","historyId"}. The session reads
// history from its own stored historyId, so the notified one is not used.
func (p Push) gmailPush(w http.ResponseWriter, r *http.Request, enqueue func(ctx context.Context, user string) error) {
	log := p.logger()
	if err := p.PubSub.verify(r.Context(), r); err != nil {
		log.Warn("google: Pub/Sub push refused", "err", err)
		http.Error(w, "not authenticated", http.StatusUnauthorized)
		return
	}
	var body struct {
		Message struct {
			Data      string `json:"data"`
			MessageID string `json:"messageId"`
		} `json:"message"`
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil {
		err = json.Unmarshal(b, &body)
	}
	var note struct {
		EmailAddress string      `json:"emailAddress"`
		HistoryID    json.Number `json:"historyId"`
	}
	if err == nil {
		var data []byte
		data, err = base64.StdEncoding.DecodeString(body.Message.Data)
		if err != nil {
			data, err = base64.URLEncoding.DecodeString(body.Message.Data)
		}
		if err == nil {
			err = json.Unmarshal(data, &note)
		}
	}
	if err != nil || note.EmailAddress == "" {
		log.Warn("google: Pub/Sub push without a Gmail notification in message.data", "err", err)
		http.Error(w, "message.data must be base64 JSON with emailAddress and historyId", http.StatusBadRequest)
		return
	}
	user := ""
	if p.Mailboxes != nil {
		if user, err = p.Mailboxes.Lookup(r.Context(), note.EmailAddress); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
	}
	if user == "" || p.Connected != nil && !p.Connected(r.Context(), user) {
		// Acknowledged: Pub/Sub would redeliver a refusal for days.
		log.Info("google: Gmail push for a mailbox no user syncs; ignored")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := enqueue(r.Context(), user); err != nil {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
