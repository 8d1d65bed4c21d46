// Package funchost speaks the Azure Functions custom-handler protocol from the
// handler's side: it decodes invocations exactly as the Functions host (or
// crmsync's local host) sends them for timer, queue and HTTP triggers, calls the
// function, and encodes the response (Outputs, Logs, ReturnValue).
//
// HTTP functions are plain http.Handlers. The server accepts both wire forms: the
// raw request forwarded at its own path (/api/<route>, host.json
// customHandler.enableForwardingHttpRequest) and the JSON payload posted to
// /<FunctionName>, which the host falls back to when a function has more
// bindings than httpTrigger-in and http-out.
package funchost

import (
	"context"
	"net/http"
)

// Kind says what triggers a function.
type Kind int

const (
	// KindHTTP functions answer HTTP requests.
	KindHTTP Kind = iota + 1
	// KindQueue functions consume queue messages.
	KindQueue
	// KindTimer functions run on an NCRONTAB schedule.
	KindTimer
)

// String names the kind as the dashboard shows it.
func (k Kind) String() string {
	switch k {
	case KindHTTP:
		return "http"
	case KindQueue:
		return "queue"
	case KindTimer:
		return "timer"
	}
	return "unknown"
}

// Auth levels of HTTP triggers, as in function.json.
const (
	AuthAnonymous = "anonymous"
	AuthFunction  = "function"
	AuthAdmin     = "admin"
)

// Trigger describes a function's trigger binding; it is what function.json says.
type Trigger struct {
	Kind Kind
	// Binding is the trigger binding's name ("req", "msg", "timer").
	Binding string

	// HTTP triggers.
	Route     string
	Methods   []string
	AuthLevel string

	// Queue triggers.
	QueueName  string
	Connection string

	// Timer triggers: six-field NCRONTAB, seconds first, UTC.
	Schedule string
}

// Output is an extra output binding (beyond an HTTP trigger's response).
type Output struct {
	// Binding is the output binding's name, the key in Outputs.
	Binding string
	// QueueName is the queue the messages go to.
	QueueName  string
	Connection string
}

// Outputs maps an output binding's name to the messages it sends. Messages
// should be JSON; see HostString for how other bytes are protected.
type Outputs map[string][]string

// QueueFunc handles one queue message. A returned error fails the invocation
// (non-2xx to the host), which makes the host retry the message and, after
// the queue's maxDequeueCount, move it to "<queue>-poison".
type QueueFunc func(ctx context.Context, msg QueueTrigger) (Outputs, error)

// TimerFunc handles one timer tick. Timers are not retried on error.
type TimerFunc func(ctx context.Context, tick TimerTrigger) (Outputs, error)

// Function is one row of the routes table: its name (= folder = package =
// route), its trigger and output bindings, and exactly one handler matching the
// trigger's kind.
type Function struct {
	Name    string
	Trigger Trigger
	Outputs []Output

	HTTP  http.Handler
	Queue QueueFunc
	Timer TimerFunc
}

// HTTPTrigger describes an HTTP trigger bound as "req" with its response bound as "res".
func HTTPTrigger(route, authLevel string, methods ...string) Trigger {
	return Trigger{Kind: KindHTTP, Binding: "req", Route: route, AuthLevel: authLevel, Methods: methods}
}

// QueueTriggerOn describes a queue trigger bound as "msg" on the default storage connection.
func QueueTriggerOn(queueName string) Trigger {
	return Trigger{Kind: KindQueue, Binding: "msg", QueueName: queueName, Connection: "AzureWebJobsStorage"}
}

// TimerTriggerOn describes a timer trigger bound as "timer".
func TimerTriggerOn(schedule string) Trigger {
	return Trigger{Kind: KindTimer, Binding: "timer", Schedule: schedule}
}

// ForwardingEligible reports whether the host may forward raw HTTP requests to
// this function: only functions with exactly httpTrigger-in and http-out are.
func (f Function) ForwardingEligible() bool {
	return f.Trigger.Kind == KindHTTP && len(f.Outputs) == 0
}
