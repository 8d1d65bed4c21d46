package connect

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// StateTable records each connect in progress once: PartitionKey is the hour
// it started ("2006010215", so Sweep drops abandoned ones by partition),
// RowKey the state. The callback deletes the row; a replayed state finds
// nothing and is refused. Rows name no user.
const StateTable = "connectstate"

const (
	pendingLifetime = 10 * time.Minute
	bucketLayout    = "2006010215"
	// The __Host- prefix makes browsers insist on Secure, Path=/ and no
	// Domain, so no sibling subdomain can plant the cookie.
	cookiePrefix  = "__Host-crmsync-connect-"
	maxCookieLen  = 4096
	cookieVersion = "c1."
)

// pending is what the browser's pending-connect cookie holds, sealed: the
// state and PKCE verifier bound to the signed-in user who started.
type pending struct {
	Provider string `json:"p"`
	User     string `json:"u"`
	State    string `json:"s"`
	Verifier string `json:"v"`
	Bucket   string `json:"b"`
	Expires  int64  `json:"e"`
}

var errBadCookie = errors.New("connect: pending-connect cookie rejected")

// cookieSealer seals pending-connect cookies with AES-256-GCM, so the PKCE
// verifier is unreadable even to the browser that carries it, and a cookie
// made for one provider does not open as another's.
type cookieSealer struct{ aead cipher.AEAD }

func newCookieSealer(key []byte) cookieSealer {
	// Derive a key of this purpose, so StateKey may be shared with other
	// uses without its cookies opening elsewhere.
	m := hmac.New(sha256.New, key)
	m.Write([]byte("crmsync/connect/pending-cookie/v1"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return cookieSealer{aead: aead}
}

func (c cookieSealer) seal(p pending) (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("connect: encoding cookie: %w", err)
	}
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("connect: nonce: %w", err)
	}
	out := c.aead.Seal(nonce, nonce, b, []byte("crmsync/connect/"+p.Provider))
	return cookieVersion + base64.RawURLEncoding.EncodeToString(out), nil
}

func (c cookieSealer) open(provider, value string) (pending, error) {
	var p pending
	rest, ok := strings.CutPrefix(value, cookieVersion)
	if !ok || len(value) > maxCookieLen {
		return p, errBadCookie
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil || len(raw) < c.aead.NonceSize()+c.aead.Overhead() {
		return p, errBadCookie
	}
	n := c.aead.NonceSize()
	b, err := c.aead.Open(nil, raw[:n], raw[n:], []byte("crmsync/connect/"+provider))
	if err != nil {
		return p, errBadCookie
	}
	if err := json.Unmarshal(b, &p); err != nil || p.Provider != provider {
		return pending{}, errBadCookie
	}
	return p, nil
}

func randomState() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// recordState stores the state once, for the callback to consume.
func (h *Handler) recordState(ctx context.Context, p pending) error {
	_, err := h.opts.Tables.Insert(ctx, StateTable, tablestore.Entity{
		PartitionKey: p.Bucket, RowKey: p.State, Properties: map[string]any{"Provider": p.Provider},
	})
	return err
}

// consumeState deletes the state row; tablestore.ErrNotFound means it was
// used already (or swept).
func (h *Handler) consumeState(ctx context.Context, p pending) error {
	return h.opts.Tables.Delete(ctx, StateTable, p.Bucket, p.State, "*")
}

// Sweep deletes connects abandoned before cutoff (run it from a timer, e.g.
// hourly with cutoff = now - 1 h). It walks the hourly partitions of the two
// days before cutoff and returns how many rows it removed.
func (h *Handler) Sweep(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	end := cutoff.UTC().Truncate(time.Hour)
	for t := end.Add(-48 * time.Hour); t.Before(end); t = t.Add(time.Hour) {
		q := tablestore.Query{PartitionKey: t.Format(bucketLayout)}
		for {
			page, err := h.opts.Tables.Query(ctx, StateTable, q)
			if err != nil {
				return n, fmt.Errorf("connect: sweeping state: %w", err)
			}
			for _, e := range page.Entities {
				if err := h.opts.Tables.Delete(ctx, StateTable, e.PartitionKey, e.RowKey, "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
					return n, fmt.Errorf("connect: sweeping state: %w", err)
				}
				n++
			}
			if page.Continuation == "" {
				break
			}
			q.Continuation = page.Continuation
		}
	}
	return n, nil
}
