package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// Limits.
const (
	maxMessageID  = 1024
	maxRecipients = 10000
	// MaxRecent caps the messages of one recent-statistics answer.
	MaxRecent = 50
	// maxEvents caps the events read per message; the counts say "at least"
	// beyond it (Truncated).
	maxEvents = 1000
	// eventsShown is how many of the newest events a message answer lists.
	eventsShown = 100
)

type callerKey struct{}

func userOf(ctx context.Context) string { u, _ := ctx.Value(callerKey{}).(string); return u }

// authenticated answers 401 with a Bearer challenge unless the Authenticator
// accepts the request.
func (t *Tracker) authenticated(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _, err := t.cfg.Auth.Authenticate(r)
		if err != nil || user == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="crmsync", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthenticated", "a valid bearer token is required")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, user)))
	})
}

// MintRequest asks for a token for one message.
type MintRequest struct {
	// MessageID is the message's immutable id.
	MessageID string `json:"messageId"`
	// Recipients is how many recipients the message has (only the count is
	// kept).
	Recipients int `json:"recipients"`
}

// MintAnswer is the token and the pixel URL to insert.
type MintAnswer struct {
	Token string `json:"token"`
	URL   string `json:"url"`
}

// mint answers POST /tokens. A message has one token: minting again returns it.
func (t *Tracker) mint(w http.ResponseWriter, r *http.Request) {
	var req MintRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_json", "send {\"messageId\": \"…\", \"recipients\": n}")
		return
	}
	switch {
	case req.MessageID == "" || len(req.MessageID) > maxMessageID:
		writeError(w, http.StatusBadRequest, "bad_message", "messageId is required (at most 1024 bytes)")
		return
	case req.Recipients < 0 || req.Recipients > maxRecipients:
		writeError(w, http.StatusBadRequest, "bad_recipients", "recipients must be between 0 and 10000")
		return
	}
	token, created, err := t.Mint(r.Context(), userOf(r.Context()), req.MessageID, req.Recipients)
	if errors.Is(err, ErrTrackingOff) {
		// 409: the request is fine, the user's own setting stands in its way.
		writeError(w, http.StatusConflict, "tracking_off", "open tracking is off; turn it on in the dashboard's Tracked e-mails page")
		return
	}
	if err != nil {
		t.log.ErrorContext(r.Context(), "tracking: mint failed", "user", userOf(r.Context()), "err", err)
		writeError(w, http.StatusServiceUnavailable, "storage", "could not create the tracking token; try again")
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, MintAnswer{Token: token, URL: t.PixelURL(token)})
}

// Mint returns the token of user's message, creating it (created = true) on
// first use. The token row is written first, so the pixel works as soon as
// the message row names it.
func (t *Tracker) Mint(ctx context.Context, user, messageID string, recipients int) (token string, created bool, err error) {
	if user == "" || messageID == "" {
		return "", false, errors.New("tracking: user and message id are required")
	}
	if t.cfg.OptIn {
		on, err := t.Enabled(ctx, user)
		if err != nil {
			return "", false, err
		}
		if !on {
			return "", false, ErrTrackingOff
		}
	}
	hash := t.messageHash(user, messageID)
	pk := userPartition(user)
	if e, err := t.cfg.Store.Get(ctx, TokensTable, pk, "m|"+hash); err == nil {
		if tok, _ := e.Properties["Token"].(string); tok != "" {
			return tok, false, nil
		}
	} else if !errors.Is(err, tablestore.ErrNotFound) {
		return "", false, err
	}
	now := t.now().UTC()
	token = newToken()
	if _, err := t.cfg.Store.Insert(ctx, TokensTable, tablestore.Entity{PartitionKey: token, RowKey: "t", Properties: map[string]any{
		"User": user, "Message": hash, "Created": now, "Recipients": int64(recipients),
	}}); err != nil {
		return "", false, fmt.Errorf("tracking: token row: %w", err)
	}
	_, err = t.cfg.Store.Batch(ctx, TokensTable, []tablestore.Op{
		{Kind: tablestore.OpInsert, Entity: tablestore.Entity{PartitionKey: pk, RowKey: "m|" + hash, Properties: map[string]any{
			"Token": token, "Created": now}}},
		{Kind: tablestore.OpInsert, Entity: tablestore.Entity{PartitionKey: pk, RowKey: recentKey(now, token), Properties: map[string]any{
			"Token": token, "Message": hash, "Created": now, "Recipients": int64(recipients)}}},
	})
	if err != nil {
		// Two mints raced: the other one's token stands; ours is dropped.
		_ = t.cfg.Store.Delete(ctx, TokensTable, token, "t", "*")
		var be *tablestore.BatchError
		if errors.As(err, &be) && errors.Is(err, tablestore.ErrExists) {
			if e, gerr := t.cfg.Store.Get(ctx, TokensTable, pk, "m|"+hash); gerr == nil {
				if tok, _ := e.Properties["Token"].(string); tok != "" {
					return tok, false, nil
				}
			}
		}
		return "", false, fmt.Errorf("tracking: message rows: %w", err)
	}
	return token, true, nil
}

// recentKey sorts a user's messages newest first.
func recentKey(at time.Time, token string) string {
	return "r|" + fmt.Sprintf("%019d", int64(1<<62)-at.UnixNano()/1000) + "|" + token
}

// Event is one recorded open.
type Event struct {
	At      time.Time `json:"at"`
	Client  string    `json:"client"`
	Kind    Kind      `json:"kind"`
	Reason  string    `json:"reason,omitempty"`
	Country string    `json:"country,omitempty"`
	Region  string    `json:"region,omitempty"`
	City    string    `json:"city,omitempty"`
}

// MessageStats summarises a tracked message's opens. Recipients are not
// stored, so "who" is a count: how many recipients the message had.
type MessageStats struct {
	Token        string    `json:"token"`
	Sent         time.Time `json:"sent"`
	Recipients   int       `json:"recipients"`
	Opens        int       `json:"opens"`
	HumanOpens   int       `json:"humanOpens"`
	ProxyOpens   int       `json:"proxyOpens"`
	MachineOpens int       `json:"machineOpens"`
	// FirstOpen and LastOpen are the first and last human or proxy opens.
	FirstOpen *time.Time `json:"firstOpen,omitempty"`
	LastOpen  *time.Time `json:"lastOpen,omitempty"`
	// Clients counts opens by client class.
	Clients map[string]int `json:"clients"`
	// Events are the newest events (message answers only).
	Events []Event `json:"events,omitempty"`
	// Truncated is true when there were more events than were read.
	Truncated bool `json:"truncated,omitempty"`
}

// messageStats answers GET /stats?message=<immutable id>.
func (t *Tracker) messageStats(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("message")
	if id == "" || len(id) > maxMessageID {
		writeError(w, http.StatusBadRequest, "bad_message", "give message=<the message's immutable id>")
		return
	}
	ctx := r.Context()
	user := userOf(ctx)
	e, err := t.cfg.Store.Get(ctx, TokensTable, userPartition(user), "m|"+t.messageHash(user, id))
	if errors.Is(err, tablestore.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_tracked", "this message is not tracked")
		return
	}
	if err != nil {
		t.storageError(w, r, err)
		return
	}
	token, _ := e.Properties["Token"].(string)
	row, err := t.cfg.Store.Get(ctx, TokensTable, token, "t")
	if err != nil {
		t.storageError(w, r, err)
		return
	}
	created, _ := row.Properties["Created"].(time.Time)
	n, _ := row.Properties["Recipients"].(int64)
	st, err := t.stats(ctx, token, created, int(n), true)
	if err != nil {
		t.storageError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// RecentAnswer lists a user's recently tracked messages.
type RecentAnswer struct {
	Messages []MessageStats `json:"messages"`
}

// recentStats answers GET /stats/recent?limit=20: the user's newest tracked
// messages with their counts.
func (t *Tracker) recentStats(w http.ResponseWriter, r *http.Request) {
	limit := 20
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxRecent {
			writeError(w, http.StatusBadRequest, "bad_limit", "limit must be between 1 and 50")
			return
		}
		limit = n
	}
	ctx := r.Context()
	page, err := t.cfg.Store.Query(ctx, TokensTable, tablestore.Query{
		PartitionKey: userPartition(userOf(ctx)), RowKeyFrom: "r|", RowKeyTo: "r}", Limit: limit,
	})
	if err != nil {
		t.storageError(w, r, err)
		return
	}
	ans := RecentAnswer{Messages: []MessageStats{}}
	for _, e := range page.Entities {
		token, _ := e.Properties["Token"].(string)
		created, _ := e.Properties["Created"].(time.Time)
		n, _ := e.Properties["Recipients"].(int64)
		st, err := t.stats(ctx, token, created, int(n), false)
		if err != nil {
			t.storageError(w, r, err)
			return
		}
		ans.Messages = append(ans.Messages, st)
	}
	writeJSON(w, http.StatusOK, ans)
}

// stats reads a token's events (up to maxEvents) and counts them.
func (t *Tracker) stats(ctx context.Context, token string, sent time.Time, recipients int, withEvents bool) (MessageStats, error) {
	st := MessageStats{Token: token, Sent: sent, Recipients: recipients, Clients: map[string]int{}}
	var events []Event
	q := tablestore.Query{PartitionKey: token}
	for {
		page, err := t.cfg.Store.Query(ctx, OpensTable, q)
		if err != nil {
			return MessageStats{}, err
		}
		for _, e := range page.Entities {
			ev := eventOf(e)
			events = append(events, ev)
		}
		if page.Continuation == "" {
			break
		}
		if len(events) >= maxEvents {
			st.Truncated = true
			break
		}
		q.Continuation = page.Continuation
	}
	for _, ev := range events {
		st.Opens++
		st.Clients[ev.Client]++
		switch ev.Kind {
		case Human:
			st.HumanOpens++
		case Proxy:
			st.ProxyOpens++
		default:
			st.MachineOpens++
			continue
		}
		at := ev.At
		if st.FirstOpen == nil || at.Before(*st.FirstOpen) {
			st.FirstOpen = &at
		}
		if st.LastOpen == nil || at.After(*st.LastOpen) {
			st.LastOpen = &at
		}
	}
	if withEvents {
		slices.Reverse(events) // newest first
		st.Events = events[:min(len(events), eventsShown)]
	}
	return st, nil
}

func eventOf(e tablestore.Entity) Event {
	str := func(k string) string { s, _ := e.Properties[k].(string); return s }
	at, _ := e.Properties["At"].(time.Time)
	return Event{At: at, Client: str("Client"), Kind: Kind(str("Kind")), Reason: str("Reason"), Country: str("Country"), Region: str("Region"), City: str("City")}
}

func (t *Tracker) storageError(w http.ResponseWriter, r *http.Request, err error) {
	t.log.ErrorContext(r.Context(), "tracking: storage failed", "user", userOf(r.Context()), "err", err)
	writeError(w, http.StatusServiceUnavailable, "storage", "open statistics are unavailable; try again")
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
