// Package fault classifies errors by what the caller should do about them —
// retry later, retry after a delay, give up on this record, ask the user to
// reconnect, or stop for the day — so that every adapter (Salesforce, Graph,
// storage) reports trouble in one vocabulary and the session runner maps it to
// an outcome in one place.
package fault

import (
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

// ClassOf reports the class of err. When errors of several classes are
// wrapped inside each other (a temporary transport error caused by a revoked
// token), the one that decides what the user must do wins: Reconnect, then
// Quota, then the outermost classified error. Unclassified errors and context
// cancellation count as Temporary (the next session redoes the work); a nil
// error has class 0.
func ClassOf(err error) Class {
	if err == nil {
		return 0
	}
	var outer Class
	found := map[Class]bool{}
	walk(err, func(e error) {
		if fe, ok := e.(*Error); ok {
			if outer == 0 {
				outer = fe.Class
			}
			found[fe.Class] = true
		}
	})
	switch {
	case found[Reconnect]:
		return Reconnect
	case found[Quota]:
		return Quota
	case outer != 0:
		return outer
	}
	return Temporary
}

// walk calls f on err and every error it wraps, depth first, following
// errors.Join and multi-%w wrappers too.
func walk(err error, f func(error)) {
	for err != nil {
		f(err)
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e, f)
			}
			return
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return
		}
	}
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
