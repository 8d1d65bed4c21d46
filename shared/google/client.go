package google

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/fault"
)

// The real APIs' roots.
const (
	PeopleRoot   = "https://people.googleapis.com"
	CalendarRoot = "https://www.googleapis.com"
	TasksRoot    = "https://tasks.googleapis.com"
	GmailRoot    = "https://gmail.googleapis.com"
)

// Options configure a Client.
type Options struct {
	// TokenSource supplies the user's access tokens (required).
	TokenSource oauth2.TokenSource
	// BaseURL, when set, replaces the four API roots (the local Google
	// serves them all on one host).
	BaseURL string
	// HTTPClient carries the calls (nil = http.DefaultClient).
	HTTPClient *http.Client
	// Writes serializes the user's People writes; share one per user across
	// clients ("mutate requests for the same user should be sent
	// sequentially"). nil = a lock of this client's own.
	Writes *sync.Mutex
	Logger *slog.Logger
}

// Client calls the People, Calendar, Tasks and Gmail APIs for one user.
type Client struct {
	http                  *http.Client
	people, cal, tasksURL string
	gmail                 string
	writes                *sync.Mutex
	log                   *slog.Logger
	calls                 atomic.Int64
}

// New returns a client; it makes no call.
func New(o Options) (*Client, error) {
	if o.TokenSource == nil {
		return nil, errors.New("google: Options.TokenSource is required")
	}
	base := o.HTTPClient
	if base == nil {
		base = http.DefaultClient
	}
	hc := &http.Client{Timeout: base.Timeout, Jar: base.Jar, CheckRedirect: base.CheckRedirect,
		Transport: &oauth2.Transport{Source: o.TokenSource, Base: base.Transport}}
	c := &Client{http: hc, people: PeopleRoot, cal: CalendarRoot, tasksURL: TasksRoot, gmail: GmailRoot, writes: o.Writes, log: o.Logger}
	if b := strings.TrimRight(o.BaseURL, "/"); b != "" {
		c.people, c.cal, c.tasksURL, c.gmail = b, b, b, b
	}
	if c.writes == nil {
		c.writes = &sync.Mutex{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Requests is the number of API calls made so far.
func (c *Client) Requests() int64 { return c.calls.Load() }

// do sends one request and decodes the JSON answer into out (nil = discard).
func (c *Client) do(ctx context.Context, method, url string, body any, out any, hdr ...string) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fault.Wrap(fault.Permanent, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return fault.Wrap(fault.Permanent, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c.calls.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return classify(0, nil, nil, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fault.Wrap(fault.Temporary, err)
	}
	if resp.StatusCode >= 300 {
		return classify(resp.StatusCode, resp.Header, data, nil)
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fault.New(fault.Temporary, "bad_response", fmt.Sprintf("%s %s: undecodable answer: %v", method, req.URL.Path, err))
	}
	return nil
}

// wireError holds both of Google's error envelopes: the gRPC-transcoded
// one (People: status and ErrorInfo details) and the legacy one (Calendar,
// Tasks: errors[] with domain and reason).
type wireError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Errors  []struct {
			Domain string `json:"domain"`
			Reason string `json:"reason"`
		} `json:"errors"`
		Details []struct {
			Type   string `json:"@type"`
			Reason string `json:"reason"`
		} `json:"details"`
	} `json:"error"`
}

func (w wireError) reasons() []string {
	var out []string
	for _, e := range w.Error.Errors {
		out = append(out, e.Reason)
	}
	for _, d := range w.Error.Details {
		if d.Reason != "" {
			out = append(out, d.Reason)
		}
	}
	return out
}

func has(list []string, want ...string) bool {
	for _, l := range list {
		for _, w := range want {
			if strings.EqualFold(l, w) {
				return true
			}
		}
	}
	return false
}

// Codes of the errors the side acts on.
const (
	codeExpiredSync = "EXPIRED_SYNC_TOKEN"
	codeFullSync    = "fullSyncRequired"
	codeConflict    = "etag_conflict"
)

// classify is the one place where Google's answers become fault classes.
func classify(status int, header http.Header, body []byte, err error) error {
	if status == 0 {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			code := re.ErrorCode
			if code == "" {
				// The JWT bearer source leaves the body unparsed.
				var b struct {
					Error string `json:"error"`
				}
				_ = json.Unmarshal(re.Body, &b)
				code = b.Error
			}
			// The user revoked the grant, or the admin never granted the
			// scopes (unauthorized_client): only a person can fix it.
			if code == "invalid_grant" || code == "invalid_client" || code == "unauthorized_client" ||
				re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized {
				return &fault.Error{Class: fault.Reconnect, Code: code, Message: "token endpoint refused the grant", Err: err}
			}
		}
		return fault.Wrap(fault.Temporary, err)
	}
	var we wireError
	_ = json.Unmarshal(body, &we)
	reasons := we.reasons()
	code := we.Error.Status
	if len(reasons) > 0 {
		code = reasons[0]
	}
	if code == "" {
		code = http.StatusText(status)
	}
	fe := &fault.Error{Code: code, Message: we.Error.Message}
	switch {
	case has(reasons, codeExpiredSync):
		fe.Class, fe.Code = fault.Expired, codeExpiredSync
	case status == http.StatusGone && has(reasons, codeFullSync):
		fe.Class, fe.Code = fault.Expired, codeFullSync
	case status == http.StatusGone: // Calendar: the event was deleted
		fe.Class = fault.Gone
	case status == http.StatusPreconditionFailed || status == http.StatusBadRequest && (has(reasons, "failedPrecondition") || we.Error.Status == "FAILED_PRECONDITION"):
		// People answers a stale etag with 400 failedPrecondition,
		// Calendar with 412 conditionNotMet: read again and merge.
		fe.Class, fe.Code = fault.Temporary, codeConflict
	case status == http.StatusTooManyRequests,
		status == http.StatusForbidden && has(reasons, "rateLimitExceeded", "userRateLimitExceeded"):
		fe.Class = fault.Throttled
		fe.RetryAfter = retryAfter(header)
	case status == http.StatusForbidden && has(reasons, "quotaExceeded", "dailyLimitExceeded"):
		fe.Class = fault.Quota
	case status == http.StatusUnauthorized:
		fe.Class = fault.Reconnect
	case status == http.StatusNotFound:
		fe.Class = fault.Gone
	case status >= 500:
		fe.Class = fault.Temporary
	default:
		fe.Class = fault.Permanent
	}
	return fe
}

func retryAfter(h http.Header) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return time.Duration(n) * time.Second
		}
	}
	return 0
}

func isCode(err error, code string) bool {
	var fe *fault.Error
	return errors.As(err, &fe) && fe.Code == code
}
