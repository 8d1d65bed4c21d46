package msgraph

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// MaxNotificationBody is the largest notification delivery accepted.
const MaxNotificationBody = 1 << 20

// Enqueue asks for a sync session for a user.
type Enqueue func(ctx context.Context, user string) error

// Debouncer says whether a user's session may be enqueued now: a burst of
// notifications (a user editing ten contacts) becomes one session.
type Debouncer interface {
	Allow(ctx context.Context, user string, now time.Time) (bool, error)
}

// NotificationOptions configure NotificationHandler.
type NotificationOptions struct {
	// Subscriptions checks subscription ids and clientState (required).
	Subscriptions *Subscriptions
	// Enqueue starts a session for a user (required).
	Enqueue Enqueue
	// Debounce limits sessions per user (nil = every notification enqueues).
	Debounce Debouncer
	// Now is the clock (nil = time.Now).
	Now func() time.Time
	// MaxBody caps the body size (0 = MaxNotificationBody).
	MaxBody int64
	// Logger receives diagnostics without content (nil = slog.Default()).
	Logger *slog.Logger
}

// NotificationHandler is the Graph webhook: it answers the validation
// handshake, rejects forged or oversize deliveries (a notification is genuine
// when its subscription is known, its clientState matches and it names the
// tenant of the subscription's owner), handles lifecycle events, and turns
// valid change notifications into (debounced) session requests.
// Answers: 200 text/plain for validation, 202 when accepted, 403 when no
// notification in the delivery is genuine, 413 oversize, 400 malformed, 500
// when storage or the queue failed (Graph then retries).
func NotificationHandler(opts NotificationOptions) http.Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = MaxNotificationBody
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		if tok := r.URL.Query().Get("validationToken"); r.URL.Query().Has("validationToken") {
			// Echo the URL-decoded token as plain text: anything else fails
			// the handshake.
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, tok)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, opts.MaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "notification too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		if opts.Subscriptions == nil || opts.Enqueue == nil {
			// Misconfigured: say so, and Graph retries once it is fixed.
			opts.Logger.ErrorContext(r.Context(), "msgraph: NotificationHandler needs Subscriptions and Enqueue")
			http.Error(w, "webhook not configured", http.StatusInternalServerError)
			return
		}
		var d wireNotifications
		if err := json.Unmarshal(body, &d); err != nil || d.Value == nil {
			http.Error(w, "malformed notification", http.StatusBadRequest)
			return
		}
		status := handleNotifications(r.Context(), opts, d.Value)
		w.WriteHeader(status)
	})
}

func handleNotifications(ctx context.Context, opts NotificationOptions, ns []wireNotification) int {
	valid, invalid := 0, 0
	var users []string
	seen := map[string]bool{}
	for _, n := range ns {
		rec, err := opts.Subscriptions.Get(ctx, n.SubscriptionID)
		if fault.Is(err, fault.Gone) {
			invalid++
			continue
		}
		if err != nil {
			opts.Logger.ErrorContext(ctx, "msgraph: reading subscription", "err", err)
			return http.StatusInternalServerError
		}
		if !opts.Subscriptions.Verify(rec, n.ClientState) {
			invalid++
			continue
		}
		// A genuine notification names the tenant of the subscription's
		// owner; one naming another tenant is refused.
		ours, err := opts.Subscriptions.fromOwnersTenant(ctx, rec, n.TenantID)
		if err != nil {
			opts.Logger.ErrorContext(ctx, "msgraph: reading the subscription owner's tenant", "user", rec.User, "err", err)
			return http.StatusInternalServerError
		}
		if !ours {
			opts.Logger.WarnContext(ctx, "msgraph: notification for another tenant than its subscription's", "user", rec.User)
			invalid++
			continue
		}
		valid++
		switch n.LifecycleEvent {
		case "":
		case "reauthorizationRequired", "subscriptionRemoved":
			var err error
			if n.LifecycleEvent == "reauthorizationRequired" {
				err = opts.Subscriptions.Reauthorize(ctx, rec, opts.Now())
			} else {
				err = opts.Subscriptions.Recreate(ctx, rec, opts.Now())
			}
			if err != nil {
				// The scheduler's Renew tries again; the delivery itself is fine.
				opts.Logger.WarnContext(ctx, "msgraph: lifecycle handling failed", "event", n.LifecycleEvent, "user", rec.User, "err", err)
			}
			if n.LifecycleEvent == "reauthorizationRequired" {
				continue
			}
			// After a removal changes may have gone unnoticed: a session catches up.
		case "missed":
			// Notifications were lost: a session reads the deltas anyway.
		default:
			continue
		}
		if !seen[rec.User] {
			seen[rec.User] = true
			users = append(users, rec.User)
		}
	}
	if invalid > 0 {
		opts.Logger.WarnContext(ctx, "msgraph: rejected notifications", "count", invalid)
	}
	if valid == 0 && invalid > 0 {
		return http.StatusForbidden
	}
	for _, u := range users {
		if opts.Debounce != nil {
			ok, err := opts.Debounce.Allow(ctx, u, opts.Now())
			if err != nil {
				opts.Logger.ErrorContext(ctx, "msgraph: debounce", "user", u, "err", err)
				return http.StatusInternalServerError
			}
			if !ok {
				continue
			}
		}
		if err := opts.Enqueue(ctx, u); err != nil {
			opts.Logger.ErrorContext(ctx, "msgraph: enqueue", "user", u, "err", err)
			return http.StatusInternalServerError
		}
	}
	return http.StatusAccepted
}

// MemoryDebouncer allows one session per user per window, in memory (one
// process).
type MemoryDebouncer struct {
	Window time.Duration
	mu     sync.Mutex
	last   map[string]time.Time
}

// Allow reports whether user's last allowed session is at least Window old.
func (d *MemoryDebouncer) Allow(_ context.Context, user string, now time.Time) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil {
		d.last = map[string]time.Time{}
	}
	if t, ok := d.last[user]; ok && now.Sub(t) < d.Window {
		return false, nil
	}
	d.last[user] = now
	return true, nil
}

// DebounceTable holds the time of each user's last enqueued push session.
const DebounceTable = "notifydebounce"

// TableDebouncer allows one session per user per window across instances,
// with an ETag-guarded row per user so two instances never both enqueue.
type TableDebouncer struct {
	Store  tablestore.Store
	Window time.Duration
}

// Allow reports whether user's last allowed session is at least Window old,
// and records now when it is.
func (d *TableDebouncer) Allow(ctx context.Context, user string, now time.Time) (bool, error) {
	e, err := d.Store.Get(ctx, DebounceTable, user, "last")
	row := tablestore.Entity{PartitionKey: user, RowKey: "last", Properties: map[string]any{"At": now.UTC()}}
	switch {
	case errors.Is(err, tablestore.ErrNotFound):
		_, err = d.Store.Insert(ctx, DebounceTable, row)
	case err != nil:
		return false, err
	default:
		if t, _ := e.Properties["At"].(time.Time); now.Sub(t) < d.Window {
			return false, nil
		}
		_, err = d.Store.Update(ctx, DebounceTable, row, e.ETag)
	}
	if errors.Is(err, tablestore.ErrExists) || errors.Is(err, tablestore.ErrPrecondition) {
		return false, nil // another instance enqueued first
	}
	return err == nil, err
}

// Forget removes a user's debounce row (for account deletion).
func (d *TableDebouncer) Forget(ctx context.Context, user string) error {
	err := d.Store.Delete(ctx, DebounceTable, user, "last", "*")
	if errors.Is(err, tablestore.ErrNotFound) {
		return nil
	}
	return err
}
