// Package lambdaadapter runs crmsync's function table on AWS Lambda: one
// Lambda function (a "bootstrap" binary on provided.al2023) receives every kind
// of event and dispatches it by its shape.
//
//   - Lambda function URL and API Gateway HTTP API (payload 2.0) requests go to
//     the HTTP function whose route matches /api/<route>, through the same
//     funchost server (routing, body limits, panic recovery) that Azure uses.
//   - SQS batches go, message by message, to the queue function bound to the
//     queue named like the SQS queue; failed messages are reported as batch
//     item failures so only they are retried.
//   - EventBridge "Scheduled Event"s go to the timer function named by the
//     event's detail ("function") or by the rule's name ("crmsync-scheduler"
//     runs scheduler).
//
// Anything else is refused with an error that names what arrived.
//
// Messages that functions return for output bindings go through a Sender; SQS
// (this package's SigV4-signed client for Amazon SQS) is the one used on Lambda.
package lambdaadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/crmsync/crmsync/shared/funchost"
)

// Sender delivers the messages a queue or timer function returns for its
// output bindings (funchost.Outputs). On Azure the Functions host does this;
// on Lambda the adapter needs somewhere to put them.
type Sender interface {
	// Send enqueues messages on the named queue, all or nothing as far as the
	// caller can tell: an error makes the invocation fail and be retried.
	Send(ctx context.Context, queue string, messages []string) error
}

// Options tune an Adapter; zero values mean the defaults.
type Options struct {
	// RoutePrefix is the HTTP route prefix ("api" when empty), as in host.json.
	RoutePrefix string
	// MaxBodyBytes caps HTTP request bodies (funchost.DefaultMaxBodyBytes when 0).
	MaxBodyBytes int64
	// Sender receives output-binding messages. When nil, a function that
	// returns outputs fails, rather than having its messages dropped.
	Sender Sender
}

// Adapter is a lambda.Handler over a function table.
type Adapter struct {
	log    *slog.Logger
	prefix string
	http   *funchost.Server
	// queues maps a queue name (lower case) to its queue function.
	queues map[string]funchost.Function
	// timers maps a function name (lower case) to its timer function.
	timers map[string]funchost.Function
	// outputs maps a function name (lower case) and binding name to a queue.
	outputs map[string]map[string]string
	sender  Sender
}

// New checks the table (as funchost.NewServer does, plus one queue function per
// queue) and builds the adapter.
func New(fns []funchost.Function, log *slog.Logger, opts Options) (*Adapter, error) {
	if opts.RoutePrefix == "" {
		opts.RoutePrefix = "api"
	}
	srv, err := funchost.NewServer(fns, log, funchost.Options{RoutePrefix: opts.RoutePrefix, MaxBodyBytes: opts.MaxBodyBytes})
	if err != nil {
		return nil, err
	}
	a := &Adapter{
		log:     log,
		prefix:  "/" + strings.Trim(opts.RoutePrefix, "/") + "/",
		http:    srv,
		queues:  map[string]funchost.Function{},
		timers:  map[string]funchost.Function{},
		outputs: map[string]map[string]string{},
		sender:  opts.Sender,
	}
	for _, f := range fns {
		key := strings.ToLower(f.Name)
		switch f.Trigger.Kind {
		case funchost.KindQueue:
			q := strings.ToLower(f.Trigger.QueueName)
			if q == "" {
				return nil, fmt.Errorf("lambdaadapter: queue function %s names no queue", f.Name)
			}
			if other, dup := a.queues[q]; dup {
				return nil, fmt.Errorf("lambdaadapter: functions %s and %s both consume queue %q; SQS events could not be told apart", other.Name, f.Name, q)
			}
			a.queues[q] = f
		case funchost.KindTimer:
			a.timers[key] = f
		}
		for _, o := range f.Outputs {
			if a.outputs[key] == nil {
				a.outputs[key] = map[string]string{}
			}
			a.outputs[key][o.Binding] = o.QueueName
		}
	}
	return a, nil
}

// Start hands the adapter to the Lambda runtime loop. It does not return: when
// the runtime API fails, aws-lambda-go exits the process and Lambda starts a
// new one.
func (a *Adapter) Start(ctx context.Context) {
	lambda.StartWithOptions(a, lambda.WithContext(ctx))
}

// Serve is what the handler's run calls when AWS_LAMBDA_RUNTIME_API is set: it
// builds the SQS sender from the environment Lambda provides, the adapter over
// the function table, and starts the runtime loop. It returns only an error
// found before the loop starts.
func Serve(ctx context.Context, fns []funchost.Function, log *slog.Logger, getenv func(string) string) error {
	sqs, err := NewSQS(getenv, SQSOptions{})
	if err != nil {
		return err
	}
	a, err := New(fns, log, Options{Sender: sqs})
	if err != nil {
		return err
	}
	log.Info("lambda mode", "functions", len(fns))
	a.Start(ctx)
	return nil
}

// ErrUnsupportedEvent is returned for an event of a shape the adapter does not
// dispatch; the wrapping error names what arrived.
var ErrUnsupportedEvent = errors.New("lambdaadapter: unsupported event")

// probe holds just enough of any event to tell the kinds apart. Records stay
// raw: one malformed record must not make the whole batch unreadable.
type probe struct {
	Records        []json.RawMessage `json:"Records"`
	RequestContext *struct {
		HTTP *struct {
			Method string `json:"method"`
		} `json:"http"`
	} `json:"requestContext"`
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
}

// Invoke implements lambda.Handler: it decodes the raw event, dispatches it and
// encodes the response the event source expects.
func (a *Adapter) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var p probe
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", ErrUnsupportedEvent, err)
	}
	switch {
	case len(p.Records) > 0:
		if !slices.ContainsFunc(p.Records, func(r json.RawMessage) bool { return recordField(r, "eventSource") == "aws:sqs" }) {
			return nil, fmt.Errorf("%w: records from %q (only aws:sqs is handled)", ErrUnsupportedEvent, recordField(p.Records[0], "eventSource"))
		}
		return a.invokeSQS(ctx, p.Records)
	case p.RequestContext != nil && p.RequestContext.HTTP != nil && p.RequestContext.HTTP.Method != "":
		return a.invokeHTTP(ctx, payload)
	case p.DetailType == "Scheduled Event":
		return a.invokeTimer(ctx, payload)
	case p.DetailType != "":
		return nil, fmt.Errorf("%w: EventBridge event %q from %q (only \"Scheduled Event\" is handled)", ErrUnsupportedEvent, p.DetailType, p.Source)
	}
	return nil, fmt.Errorf("%w: neither an HTTP request (payload 2.0), an SQS batch nor a scheduled event", ErrUnsupportedEvent)
}

// send delivers a function's outputs through the Sender.
func (a *Adapter) send(ctx context.Context, fn string, outs funchost.Outputs) error {
	for binding, msgs := range outs {
		if len(msgs) == 0 {
			continue
		}
		queue, ok := a.outputs[strings.ToLower(fn)][binding]
		if !ok {
			return fmt.Errorf("function %s returned messages for output binding %q, which its table row does not declare", fn, binding)
		}
		if a.sender == nil {
			return fmt.Errorf("function %s returned %d messages for queue %s, but no sender is configured on Lambda", fn, len(msgs), queue)
		}
		if err := a.sender.Send(ctx, queue, msgs); err != nil {
			return fmt.Errorf("function %s: sending to queue %s: %w", fn, queue, err)
		}
	}
	return nil
}
