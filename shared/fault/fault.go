// Package fault classifies errors by what the caller should do about them —
// retry later, retry after a delay, give up on this record, ask the user to
// reconnect, or stop for the day — so that every adapter (Salesforce, Graph,
// storage) reports trouble in one vocabulary and the session runner maps it to
// an outcome in one place.
package fault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Class is what a caller should do about an error.
type Class int

const (
	// Permanent: retrying the same request will not help. For a record this
	// becomes a per-record issue the user sees (validation rule, duplicate rule,
	// required field, access denied to that record).
	Permanent Class = iota + 1
	// Temporary: retry later with bounded, jittered backoff (5xx, lock
	// contention such as UNABLE_TO_LOCK_ROW, network errors).
	Temporary
	// Throttled: retry after RetryAfter (Graph 429/503 with Retry-After).
	Throttled
	// Reconnect: the user's credentials are revoked or expired; pause the user's
	// sync and show "needs reconnect". Never retried automatically.
	Reconnect
	// Quota: the org's daily API allowance (or crmsync's share of it) is used up;
	// stop the session cleanly and try again at the next scheduled time.
	Quota
	// Gone: the record no longer exists on that side (deleted meanwhile).
	Gone
	// Expired: a change cursor (delta token, replication window) is no longer
	// valid; read everything again and reconcile against links.
	Expired
)

var classNames = map[Class]string{
	Permanent: "permanent", Temporary: "temporary", Throttled: "throttled",
	Reconnect: "reconnect", Quota: "quota", Gone: "gone", Expired: "expired",
}

func (c Class) String() string {
	if s, ok := classNames[c]; ok {
		return s
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Error is a classified error from a remote system or store.
type Error struct {
	Class Class
	// Code is the vendor's error code (INVALID_SESSION_ID, SyncStateNotFound…).
	Code string
	// Message is the vendor's message. It must not carry credentials.
	Message string
	// Fields names the record fields the error is about, when the vendor says.
	Fields []string
	// RetryAfter is how long to wait before retrying (Throttled).
	RetryAfter time.Duration
	// Err is the underlying error, if any.
	Err error
}

// New returns a classified error.
func New(class Class, code, message string) *Error {
	return &Error{Class: class, Code: code, Message: message}
}

// Wrap classifies err.
func Wrap(class Class, err error) *Error {
	return &Error{Class: class, Err: err}
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Class.String())
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		b.WriteString(" (fields: ")
		b.WriteString(strings.Join(e.Fields, ", "))
		b.WriteString(")")
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ClassOf reports the class of err. Unclassified errors count as Temporary,
// except context cancellation, which is Temporary too (the work is redone by
// the next session); a nil error has class 0.
func ClassOf(err error) Class {
	if err == nil {
		return 0
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Class
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Temporary
	}
	return Temporary
}

// Is reports whether err has class c.
func Is(err error, c Class) bool { return err != nil && ClassOf(err) == c }

// RetryAfterOf returns the delay a Throttled error asks for (0 if none).
func RetryAfterOf(err error) time.Duration {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.RetryAfter
	}
	return 0
}
