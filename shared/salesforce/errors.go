package salesforce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/fault"
)

// codeClass says what to do about each Salesforce error code. It is the one
// table that turns Salesforce trouble into crmsync's error classes; codes not
// listed fall back on the HTTP status (statusClass).
var codeClass = map[string]fault.Class{
	"INVALID_SESSION_ID":       fault.Reconnect,
	"INVALID_AUTH_HEADER":      fault.Reconnect,
	"API_DISABLED_FOR_ORG":     fault.Reconnect,
	"API_CURRENTLY_DISABLED":   fault.Reconnect,
	"INACTIVE_OWNER_OR_USER":   fault.Reconnect,
	"REQUEST_LIMIT_EXCEEDED":   fault.Quota,
	"UNABLE_TO_LOCK_ROW":       fault.Temporary,
	"SERVER_UNAVAILABLE":       fault.Temporary,
	"UNKNOWN_EXCEPTION":        fault.Temporary,
	"REQUEST_RUNNING_TOO_LONG": fault.Temporary,
	"QUERY_TIMEOUT":            fault.Temporary,
	// Replication windows and query locators expire: read everything again.
	"INVALID_REPLICATION_DATE": fault.Expired,
	"INVALID_QUERY_LOCATOR":    fault.Expired,
	"EXCEEDED_ID_LIMIT":        fault.Expired,
	// The record is gone on the Salesforce side.
	"ENTITY_IS_DELETED": fault.Gone,
	"NOT_FOUND":         fault.Gone,
	// Everything a retry cannot fix becomes a per-record issue.
	"DUPLICATES_DETECTED":                     fault.Permanent,
	"DUPLICATE_VALUE":                         fault.Permanent,
	"FIELD_CUSTOM_VALIDATION_EXCEPTION":       fault.Permanent,
	"FIELD_INTEGRITY_EXCEPTION":               fault.Permanent,
	"REQUIRED_FIELD_MISSING":                  fault.Permanent,
	"STRING_TOO_LONG":                         fault.Permanent,
	"INVALID_EMAIL_ADDRESS":                   fault.Permanent,
	"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": fault.Permanent,
	"INVALID_FIELD_FOR_INSERT_UPDATE":         fault.Permanent,
	"INVALID_CROSS_REFERENCE_KEY":             fault.Permanent,
	"INSUFFICIENT_ACCESS_OR_READONLY":         fault.Permanent,
	"INSUFFICIENT_ACCESS":                     fault.Permanent,
	"INVALID_FIELD":                           fault.Permanent,
	"INVALID_TYPE":                            fault.Permanent,
	"MALFORMED_QUERY":                         fault.Permanent,
	"MALFORMED_ID":                            fault.Permanent,
	"JSON_PARSER_ERROR":                       fault.Permanent,
	"ALL_OR_NONE_OPERATION_ROLLED_BACK":       fault.Temporary,
	"PROCESSING_HALTED":                       fault.Temporary,
}

// statusClass classifies by HTTP status when the code is unknown.
func statusClass(status int) fault.Class {
	switch {
	case status == http.StatusUnauthorized:
		return fault.Reconnect
	case status == http.StatusNotFound:
		return fault.Gone
	case status == http.StatusTooManyRequests:
		return fault.Throttled
	case status >= 500:
		return fault.Temporary
	default:
		return fault.Permanent
	}
}

// classify turns one Salesforce error (whole call or one record) into a
// classified error.
func classify(status int, code, message string, fields []string) *fault.Error {
	class, ok := codeClass[code]
	if !ok {
		class = statusClass(status)
	}
	message = cleanMessage(message)
	if code == "REQUEST_LIMIT_EXCEEDED" {
		message = "CRM API limit reached: " + message
	}
	return &fault.Error{Class: class, Code: code, Message: message, Fields: fields}
}

// recordError classifies a per-record error from a collections result.
func recordError(e wireRecordError) *fault.Error {
	msg, fields := duplicate(e.StatusCode, e.Message, e.Fields, e.DuplicateResult)
	fe := classify(0, e.StatusCode, msg, fields)
	if fe.Class == 0 || fe.Class == fault.Temporary && e.StatusCode == "" {
		fe.Class = fault.Permanent
	}
	return fe
}

// duplicate names a duplicate rule's trouble so the user can act on it: the
// rule goes in the message, and the fields that matched an existing record
// (fieldDiffs with difference SAME, which Salesforce sends in place of
// "fields", left empty for DUPLICATES_DETECTED) become the error's Fields.
// Other errors pass through.
func duplicate(code, msg string, fields []string, dr *wireDuplicateResult) (string, []string) {
	if code != "DUPLICATES_DETECTED" || dr == nil {
		return msg, fields
	}
	if dr.DuplicateRule != "" {
		msg = fmt.Sprintf("duplicate rule %s: %s", dr.DuplicateRule, msg)
	}
	if len(fields) > 0 {
		return msg, fields
	}
	seen := map[string]bool{}
	for _, mr := range dr.MatchResults {
		for _, rec := range mr.MatchRecords {
			for _, d := range rec.FieldDiffs {
				if d.Difference == "SAME" && d.Name != "" && !seen[d.Name] {
					seen[d.Name] = true
					fields = append(fields, d.Name)
				}
			}
		}
	}
	return msg, fields
}

// responseError reads an error response body of any shape: the REST JSON
// array, the OAuth object, or something else (an HTML page from a proxy, a
// truncated body), which is classified by status alone.
func responseError(status int, contentType string, body []byte) *fault.Error {
	trimmed := bytes.TrimSpace(body)
	var list []wireError
	if len(trimmed) > 0 && trimmed[0] == '[' && json.Unmarshal(trimmed, &list) == nil && len(list) > 0 {
		first := list[0]
		msg, fields := duplicate(first.ErrorCode, first.Message, first.Fields, first.DuplicateResult)
		return classify(status, first.ErrorCode, msg, fields)
	}
	var oe wireOAuthError
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &oe) == nil && oe.Error != "" {
		return oauthClass(status, oe.Error, oe.Description)
	}
	kind := "unreadable"
	if strings.Contains(contentType, "html") {
		kind = "HTML"
	}
	return &fault.Error{Class: statusClass(status), Code: fmt.Sprintf("HTTP_%d", status),
		Message: fmt.Sprintf("%s error response from Salesforce (%d bytes)", kind, len(body))}
}

// oauthClass classifies OAuth errors: a refused grant needs the user to
// reconnect; a server-side problem is temporary.
func oauthClass(status int, code, desc string) *fault.Error {
	class := fault.Reconnect
	switch {
	case status >= 500 || code == "server_error" || code == "temporarily_unavailable":
		class = fault.Temporary
	case code == "invalid_client_id" || code == "invalid_client" || code == "unsupported_grant_type":
		class = fault.Permanent
	}
	return &fault.Error{Class: class, Code: code, Message: cleanMessage(desc)}
}

// tokenError classifies a failure to get a token.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		fe := oauthClass(re.Response.StatusCode, re.ErrorCode, re.ErrorDescription)
		if re.ErrorCode == "" {
			fe = responseError(re.Response.StatusCode, re.Response.Header.Get("Content-Type"), re.Body)
			if fe.Class == fault.Permanent {
				fe.Class = fault.Reconnect
			}
		}
		fe.Err = errors.New("token refresh failed")
		return fe
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	return fault.Wrap(fault.Temporary, err)
}

// malformed classifies a 2xx body that could not be decoded (truncated,
// HTML from a proxy): the call may succeed when repeated.
func malformed(err error, n int) *fault.Error {
	return &fault.Error{Class: fault.Temporary, Code: "MALFORMED_RESPONSE",
		Message: fmt.Sprintf("unreadable response body (%d bytes)", n), Err: err}
}
