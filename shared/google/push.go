package google

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/side"
)

// RenewBefore is how long before its expiry a watch channel is replaced:
// channels are not renewed by Google, and sessions run at least daily.
const RenewBefore = 36 * time.Hour

// WatchOptions make a side keep a Calendar watch channel per synced
// calendar (events.watch), renewed by Changes before it expires.
type WatchOptions struct {
	// Address is the HTTPS webhook Google calls (the notifications function).
	Address string
	// Key signs the channel tokens (Push checks them with the same key).
	Key []byte
	// User is the crmsync user the side is opened for; the token carries it.
	User string
	// Now is the clock (nil = time.Now).
	Now func() time.Time
	// Topic, when set, is the Pub/Sub topic Gmail notifies
	// ("projects/<project>/topics/<topic>"): each side calls users.watch on
	// its share labels, renewed daily; without it Gmail is polled.
	Topic string
	// Mailboxes remembers each watched mailbox for the push handler.
	Mailboxes *MailboxIndex
}

// channelToken is "v1.<user>.<mac>": the user (crmsync's opaque id, never an
// address) and a keyed MAC of the channel id and the user, so a notification
// names its user without a lookup and cannot be forged.
func channelToken(key []byte, channelID, user string) string {
	return "v1." + url.PathEscape(user) + "." + channelMAC(key, channelID, user)
}

func channelMAC(key []byte, channelID, user string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(channelID + "\n" + user))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokenUser checks a channel token and returns its user.
func tokenUser(key []byte, channelID, token string) (string, bool) {
	rest, ok := strings.CutPrefix(token, "v1.")
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(rest, '.')
	if i < 0 {
		return "", false
	}
	user, err := url.PathUnescape(rest[:i])
	if err != nil || user == "" {
		return "", false
	}
	return user, hmac.Equal([]byte(rest[i+1:]), []byte(channelMAC(key, channelID, user)))
}

type watchState struct {
	ID         string `json:"id"`
	ResourceID string `json:"rid"`
	Expires    int64  `json:"exp"` // Unix milliseconds
}

// renewWatch makes sure cal has a channel that outlives RenewBefore; it
// returns the channel to keep in the cursor. Failures are logged, not
// returned: without push the scheduled sessions still sync.
func (s *Side) renewWatch(ctx context.Context, cal string, cur watchState) watchState {
	w := s.watch
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	if cur.ID != "" && time.UnixMilli(cur.Expires).After(now().Add(RenewBefore)) {
		return cur
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := "crmsync-" + hex.EncodeToString(b[:])
	var got struct {
		ID         string `json:"id"`
		ResourceID string `json:"resourceId"`
		Expiration string `json:"expiration"`
	}
	err := s.c.do(ctx, "POST", s.eventsURL(cal)+"/watch", map[string]string{"id": id, "type": "web_hook",
		"address": w.Address, "token": channelToken(w.Key, id, w.User)}, &got)
	if err != nil {
		s.c.log.Warn("google: events.watch failed; the calendar syncs on schedule", "err", err)
		return cur
	}
	if cur.ID != "" {
		// The old channel would notify twice until it expires.
		if err := s.c.do(ctx, "POST", s.c.cal+"/calendar/v3/channels/stop", map[string]string{"id": cur.ID, "resourceId": cur.ResourceID}, nil); err != nil {
			s.c.log.Info("google: channels.stop failed", "err", err)
		}
	}
	exp, _ := strconv.ParseInt(got.Expiration, 10, 64)
	return watchState{ID: got.ID, ResourceID: got.ResourceID, Expires: exp}
}

// stopLeftWatches stops the channels of prev that kept does not hold.
// Failures are logged: an unstopped channel lapses at its expiry.
func (s *Side) stopLeftWatches(ctx context.Context, prev, kept map[string]watchState) {
	for cal, w := range prev {
		if _, ok := kept[cal]; ok || w.ID == "" {
			continue
		}
		if err := s.c.do(ctx, "POST", s.c.cal+"/calendar/v3/channels/stop", map[string]string{"id": w.ID, "resourceId": w.ResourceID}, nil); err != nil {
			s.c.log.Info("google: channels.stop failed; the channel lapses at its expiry", "err", err)
		}
	}
}

// Push is the Google connector's side.Pusher: Calendar watch notifications.
// A notification whose token does not check is refused; the "sync"
// handshake that opens a channel is acknowledged and is no change.
type Push struct {
	// Key checks channel tokens (WatchOptions.Key).
	Key []byte
	// Connected, when set, says whether user still has a Google
	// connection: a channel account deletion could not stop (StopPush
	// failed before the token was revoked) is acknowledged and starts
	// nothing until it expires.
	Connected func(ctx context.Context, user string) bool
	// PubSub, when set, accepts Gmail notifications pushed by Pub/Sub
	// (requests without channel headers); Mailboxes maps their address to
	// the user.
	PubSub    *PubSubAuth
	Mailboxes *MailboxIndex
	Logger    *slog.Logger
}

func (p Push) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.Default()
	}
	return p.Logger
}

var _ side.Pusher = Push{}

// PushHandler implements side.Pusher.
func (p Push) PushHandler(enqueue func(ctx context.Context, user string) error) http.Handler {
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		id := r.Header.Get("X-Goog-Channel-ID")
		if id == "" && p.PubSub != nil {
			p.gmailPush(w, r, enqueue)
			return
		}
		user, ok := tokenUser(p.Key, id, r.Header.Get("X-Goog-Channel-Token"))
		if id == "" || !ok {
			log.Warn("google: push notification with an unknown channel or a wrong token")
			http.Error(w, "unknown channel", http.StatusUnauthorized)
			return
		}
		switch r.Header.Get("X-Goog-Resource-State") {
		case "sync":
			// The handshake of a new channel: nothing changed.
		case "exists", "not_exists":
			if p.Connected != nil && !p.Connected(r.Context(), user) {
				log.Info("google: push notification for a user no longer connected; ignored")
				break
			}
			if err := enqueue(r.Context(), user); err != nil {
				// Google retries a failed delivery with backoff.
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	})
}
