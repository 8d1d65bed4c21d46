package msgraph

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/fault"
)

// classify is the one place where Graph's answers become fault classes.
// status 0 means the request never got an answer (transport error in err).
func classify(status int, header http.Header, body []byte, err error) error {
	if status == 0 {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			// The token endpoint refused the refresh token or the client:
			// only the user (or an admin) can fix that.
			if re.ErrorCode == "invalid_grant" || re.ErrorCode == "invalid_client" ||
				re.ErrorCode == "unauthorized_client" || re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized {
				return &fault.Error{Class: fault.Reconnect, Code: re.ErrorCode, Message: "token endpoint refused the grant", Err: err}
			}
			return fault.Wrap(fault.Temporary, err)
		}
		return fault.Wrap(fault.Temporary, err)
	}
	var we wireError
	_ = json.Unmarshal(body, &we) // an empty or foreign body still gets a class from the status
	code, msg := we.Error.Code, we.Error.Message
	if code == "" {
		code = http.StatusText(status)
	}
	fe := &fault.Error{Code: code, Message: msg}
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		fe.Class = fault.Throttled
		fe.RetryAfter = retryAfter(header)
	case status == http.StatusGone || strings.EqualFold(code, "SyncStateNotFound") || strings.EqualFold(code, "syncStateInvalid"):
		fe.Class = fault.Expired
	case status == http.StatusUnauthorized:
		fe.Class = fault.Reconnect
	case status == http.StatusNotFound:
		fe.Class = fault.Gone
	case status == http.StatusFailedDependency:
		// A part whose dependency failed was never tried: try it again later.
		fe.Class = fault.Temporary
	case status >= 500:
		fe.Class = fault.Temporary
	default:
		fe.Class = fault.Permanent
	}
	return fe
}

// retryAfter reads Retry-After in seconds or as an HTTP date; 0 when absent.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// malformed reports a response body that did not decode: most often a body
// cut short in transit, so it is worth another try.
func malformed(what string, err error) error {
	return &fault.Error{Class: fault.Temporary, Code: "MalformedResponse", Message: "cannot decode " + what, Err: err}
}
