package funchost

import "encoding/json"

// invocation is the JSON the host POSTs to /<FunctionName>: binding data keyed by
// binding name, and trigger metadata whose values are often JSON-in-a-string.
type invocation struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// invocationResult is what the handler answers. Outputs is keyed by output
// binding name; ReturnValue feeds a "$return" binding (unused by crmsync).
type invocationResult struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// httpRequestData is an HTTP trigger's Data.req in payload mode. Query and
// Identities arrive as JSON strings on current hosts and as objects on older
// ones; Headers values are arrays; Body is text, base64 for octet-stream and
// multipart bodies, or (older hosts) a parsed JSON value.
type httpRequestData struct {
	URL        string                     `json:"Url"`
	Method     string                     `json:"Method"`
	Query      json.RawMessage            `json:"Query"`
	Headers    map[string]json.RawMessage `json:"Headers"`
	Params     json.RawMessage            `json:"Params"`
	Identities json.RawMessage            `json:"Identities"`
	Body       json.RawMessage            `json:"Body"`
}

// httpResponseData is Outputs.res. Current hosts require all four fields.
type httpResponseData struct {
	StatusCode int               `json:"statusCode"`
	Status     int               `json:"status"`
	Body       string            `json:"body"`
	Headers    map[string]string `json:"headers"`
}

// timerData is a timer trigger's Data.timer.
type timerData struct {
	Schedule struct {
		AdjustForDST bool `json:"AdjustForDST"`
	} `json:"Schedule"`
	ScheduleStatus *struct {
		Last        json.RawMessage `json:"Last"`
		Next        json.RawMessage `json:"Next"`
		LastUpdated json.RawMessage `json:"LastUpdated"`
	} `json:"ScheduleStatus"`
	IsPastDue bool `json:"IsPastDue"`
}
