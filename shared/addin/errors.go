package addin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
)

// errorBody is the JSON every error answer carries. Messages never echo
// request content.
type errorBody struct {
	Error   string   `json:"error"`
	Message string   `json:"message"`
	Fields  []string `json:"fields,omitempty"`
	// Problems says what is wrong with each field named in Fields, when
	// crmsync found it (describe validation).
	Problems map[string]string `json:"problems,omitempty"`
}

// crmStatus is the one table from CRM error class to HTTP answer.
var crmStatus = map[fault.Class]struct {
	status  int
	code    string
	message string
}{
	fault.Permanent: {http.StatusBadRequest, "crm_refused", "the CRM refused the request"},
	fault.Gone:      {http.StatusNotFound, "not_found", "the record does not exist or you cannot see it"},
	fault.Throttled: {http.StatusTooManyRequests, "throttled", "the CRM is busy; try again shortly"},
	fault.Quota:     {http.StatusServiceUnavailable, "quota", "the CRM's daily API allowance is used up; try again later"},
	fault.Reconnect: {http.StatusConflict, "reconnect", "reconnect your CRM in the dashboard"},
	fault.Temporary: {http.StatusBadGateway, "crm_unavailable", "the CRM did not answer; try again"},
	fault.Expired:   {http.StatusBadGateway, "crm_unavailable", "the CRM did not answer; try again"},
}

// permanentCodes refine fault.Permanent by the vendor's code.
var permanentCodes = []struct {
	prefix  string
	status  int
	code    string
	message string
}{
	// A record the request points at (a lookup's value, a Task's What) is
	// not shared with the user: a different way forward than their own
	// permissions, so its own code.
	{"INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", http.StatusForbidden, "forbidden_related", "a related record is not shared with you in the CRM"},
	{"INSUFFICIENT_ACCESS", http.StatusForbidden, "forbidden", "your CRM permissions do not allow this"},
	{"NOT_FOUND", http.StatusNotFound, "not_found", "the record does not exist or you cannot see it"},
	{"ENTITY_IS_DELETED", http.StatusNotFound, "not_found", "the record does not exist or you cannot see it"},
}

// crmError answers with the status the table gives err's class. Validation
// errors (permanent, naming fields) become 400 with the fields and the CRM's
// own message, which describes the rule, not the data.
func (a *API) crmError(w http.ResponseWriter, r *http.Request, op string, err error) {
	class := fault.ClassOf(err)
	var fe *fault.Error
	errors.As(err, &fe)
	a.log.InfoContext(r.Context(), "crm call failed", "op", op, "user", callerOf(r.Context()).user, "class", class.String(), "code", codeOf(fe))
	if class == fault.Permanent && fe != nil {
		// An id the request named (not a field's value: that names the
		// field) that the CRM does not know for this user: a record gone or
		// not shared with them.
		if fe.Code == "INVALID_CROSS_REFERENCE_KEY" && len(fe.Fields) == 0 {
			writeError(w, http.StatusNotFound, "not_found", "the record does not exist or you cannot see it")
			return
		}
		for _, pc := range permanentCodes {
			if strings.HasPrefix(fe.Code, pc.prefix) {
				writeError(w, pc.status, pc.code, pc.message)
				return
			}
		}
		if len(fe.Fields) > 0 || fe.Message != "" {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: "validation", Message: fe.Message, Fields: fe.Fields})
			return
		}
	}
	st, ok := crmStatus[class]
	if !ok {
		writeError(w, http.StatusInternalServerError, "internal", "something went wrong; try again")
		return
	}
	if class == fault.Throttled {
		if d := fault.RetryAfterOf(err); d > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(d.Seconds()+0.999)))
		}
	}
	if class == fault.Quota {
		w.Header().Set("Retry-After", "3600")
	}
	writeError(w, st.status, st.code, st.message)
}

func codeOf(fe *fault.Error) string {
	if fe == nil {
		return ""
	}
	return fe.Code
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readJSON decodes a JSON body into v, refusing unknown fields and bodies
// over maxJSON; it answers the request itself on failure.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSON))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the request body is too large")
			return false
		}
		writeError(w, http.StatusBadRequest, "bad_json", "the request body is not the expected JSON: "+jsonProblem(err))
		return false
	}
	return true
}

// jsonProblem describes a decoding error without echoing values.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "field " + te.Field + " has the wrong type"
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field ") {
		return "unknown field " + strings.TrimPrefix(msg, "json: unknown field ")
	}
	return "malformed JSON"
}
