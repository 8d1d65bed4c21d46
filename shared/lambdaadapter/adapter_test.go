package lambdaadapter

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/funchost"
)

// fakeSender records what the adapter sends for output bindings.
type fakeSender struct {
	mu   sync.Mutex
	sent map[string][]string
	err  error
}

func (s *fakeSender) Send(_ context.Context, queue string, msgs []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.sent == nil {
		s.sent = map[string][]string{}
	}
	s.sent[queue] = append(s.sent[queue], msgs...)
	return nil
}

// calls records which functions ran with what.
type calls struct {
	mu    sync.Mutex
	queue []funchost.QueueTrigger
	timer []string
}

func (c *calls) addQueue(m funchost.QueueTrigger) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queue = append(c.queue, m)
}

func (c *calls) addTimer(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer = append(c.timer, name)
}

// table is a small function table shaped like crmsync's: HTTP functions with
// catch-all routes, a queue worker with an output binding, two timers.
func table(c *calls) []funchost.Function {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cookie, _ := r.Cookie("session")
		cookieValue := ""
		if cookie != nil {
			cookieValue = cookie.Value
		}
		http.SetCookie(w, &http.Cookie{Name: "seen", Value: "1", Path: "/"})
		http.SetCookie(w, &http.Cookie{Name: "again", Value: "2", Path: "/"})
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.Query().Get("q"),
			"rest": r.PathValue("path"), "cookie": cookieValue, "body": string(body),
			"host": r.Host, "remote": r.RemoteAddr,
		})
	})
	pixel := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/gif")
		w.Write([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff"))
	})
	upload := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%d bytes, first %x", len(body), body[:1])
	})
	return []funchost.Function{
		{Name: "dashboard", Trigger: funchost.HTTPTrigger("dashboard/{*path}", funchost.AuthAnonymous), HTTP: echo},
		{Name: "pixel", Trigger: funchost.HTTPTrigger("pixel/{token}", funchost.AuthAnonymous, "GET"), HTTP: pixel},
		{Name: "addin", Trigger: funchost.HTTPTrigger("addin/{*path}", funchost.AuthAnonymous), HTTP: upload},
		{
			Name:    "syncworker",
			Trigger: funchost.QueueTriggerOn("sync-sessions"),
			Outputs: []funchost.Output{{Binding: "followUp", QueueName: "sync-sessions"}},
			Queue: func(_ context.Context, m funchost.QueueTrigger) (funchost.Outputs, error) {
				c.addQueue(m)
				switch string(m.Body) {
				case "fail":
					return nil, errors.New("session failed")
				case "panic":
					panic("boom")
				case "follow":
					return funchost.Outputs{"followUp": {`{"session":"next"}`}}, nil
				}
				return nil, nil
			},
		},
		{Name: "scheduler", Trigger: funchost.TimerTriggerOn("0 * * * * *"), Timer: func(context.Context, funchost.TimerTrigger) (funchost.Outputs, error) {
			c.addTimer("scheduler")
			return nil, nil
		}},
		{Name: "keyrotation", Trigger: funchost.TimerTriggerOn("0 0 3 * * *"), Timer: func(context.Context, funchost.TimerTrigger) (funchost.Outputs, error) {
			c.addTimer("keyrotation")
			return nil, errors.New("vault unreachable")
		}},
	}
}

func newAdapter(t testing.TB, c *calls, sender Sender) *Adapter {
	t.Helper()
	a, err := New(table(c), slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Sender: sender})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func functionURLRequest(method, path, query, body string, base64Body bool, cookies ...string) events.LambdaFunctionURLRequest {
	return events.LambdaFunctionURLRequest{
		Version:         "2.0",
		RawPath:         path,
		RawQueryString:  query,
		Cookies:         cookies,
		Headers:         map[string]string{"host": "abc.lambda-url.eu-west-1.on.aws", "content-type": "application/json"},
		Body:            body,
		IsBase64Encoded: base64Body,
		RequestContext: events.LambdaFunctionURLRequestContext{
			DomainName: "abc.lambda-url.eu-west-1.on.aws",
			HTTP:       events.LambdaFunctionURLRequestContextHTTPDescription{Method: method, Path: path, SourceIP: "203.0.113.9"},
		},
	}
}

// invoke runs one event, which must succeed as a whole, and decodes the
// response as a T.
func invoke[T any](t *testing.T, a *Adapter, payload []byte) T {
	t.Helper()
	out, err := a.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var res T
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("response is not a %T: %v\n%s", res, err, out)
	}
	return res
}

func invokeHTTP(t *testing.T, a *Adapter, ev any) events.LambdaFunctionURLResponse {
	t.Helper()
	return invoke[events.LambdaFunctionURLResponse](t, a, mustJSON(t, ev))
}

func TestHTTPFunctionURL(t *testing.T) {
	a := newAdapter(t, &calls{}, nil)
	res := invokeHTTP(t, a, functionURLRequest("POST", "/api/dashboard/users/42", "q=x%20y", `{"a":1}`, false, "session=s1", "other=o"))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200; body %s", res.StatusCode, res.Body)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(res.Body), &got); err != nil {
		t.Fatalf("body %q: %v", res.Body, err)
	}
	want := map[string]string{
		"method": "POST", "path": "/api/dashboard/users/42", "query": "x y", "rest": "users/42",
		"cookie": "s1", "body": `{"a":1}`, "host": "abc.lambda-url.eu-west-1.on.aws", "remote": "203.0.113.9",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request as the handler saw it (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"seen=1; Path=/", "again=2; Path=/"}, res.Cookies); diff != "" {
		t.Errorf("cookies (-want +got):\n%s", diff)
	}
	if res.IsBase64Encoded {
		t.Error("a JSON body came back base64-encoded")
	}
	if got, want := res.Headers["content-type"], "application/json"; got != want {
		t.Errorf("content-type: got %q, want %q", got, want)
	}
}

func TestHTTPAPIGatewayStage(t *testing.T) {
	a := newAdapter(t, &calls{}, nil)
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "ANY /{proxy+}", RawPath: "/prod/api/dashboard",
		Headers: map[string]string{"host": "x.execute-api.eu-west-1.amazonaws.com"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			Stage: "prod", DomainName: "x.execute-api.eu-west-1.amazonaws.com",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/prod/api/dashboard", SourceIP: "198.51.100.1"},
		},
	}
	res := invokeHTTP(t, a, ev)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, `"path":"/api/dashboard"`) {
		t.Errorf("got %d %s, want 200 from dashboard at /api/dashboard", res.StatusCode, res.Body)
	}
}

func TestHTTPBase64Bodies(t *testing.T) {
	a := newAdapter(t, &calls{}, nil)
	raw := []byte{0xff, 0x00, 0xfe, 0x10}
	req := functionURLRequest("POST", "/api/addin/upload", "", base64.StdEncoding.EncodeToString(raw), true)
	req.Headers["content-type"] = "application/octet-stream"
	res := invokeHTTP(t, a, req)
	if got, want := res.Body, "4 bytes, first ff"; got != want {
		t.Errorf("base64 request body: handler answered %q, want %q", got, want)
	}

	res = invokeHTTP(t, a, functionURLRequest("GET", "/api/pixel/tok", "", "", false))
	if !res.IsBase64Encoded {
		t.Fatalf("an image/gif body was not base64-encoded: %q", res.Body)
	}
	gif, err := base64.StdEncoding.DecodeString(res.Body)
	if err != nil || !strings.HasPrefix(string(gif), "GIF89a") {
		t.Errorf("decoded body %q (%v), want a GIF", gif, err)
	}

	bad := functionURLRequest("POST", "/api/addin/upload", "", "%%%not base64", true)
	res = invokeHTTP(t, a, bad)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, "base64") {
		t.Errorf("undecodable base64 body: got %d %s, want 400 naming base64", res.StatusCode, res.Body)
	}
}

func TestHTTPNotFound(t *testing.T) {
	c := &calls{}
	a := newAdapter(t, c, nil)
	tests := []struct {
		name, method, path string
	}{
		{"unknown route", "GET", "/api/nothing/here"},
		{"outside the prefix", "GET", "/dashboard"},
		{"host readiness probe", "GET", "/"},
		// The Functions host's payload endpoint must not be reachable from the
		// internet: a forged invocation would run the queue worker.
		{"host invocation endpoint", "POST", "/syncworker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := invokeHTTP(t, a, functionURLRequest(tt.method, tt.path, "", `{"Data":{"msg":"x"},"Metadata":{}}`, false))
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("got status %d (%s), want 404", res.StatusCode, res.Body)
			}
		})
	}
	if len(c.queue) != 0 {
		t.Errorf("a queue function ran %d times from HTTP requests", len(c.queue))
	}
}

func sqsMessage(id, queue, body, receiveCount string) events.SQSMessage {
	return events.SQSMessage{
		MessageId: id, ReceiptHandle: "rh-" + id, Body: body,
		Attributes:     map[string]string{"ApproximateReceiveCount": receiveCount},
		EventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:" + queue, EventSource: "aws:sqs", AWSRegion: "eu-west-1",
	}
}

// invokeSQS runs an SQS batch, which must succeed as a whole (a failing or
// malformed message fails alone), and decodes the response.
func invokeSQS(t *testing.T, a *Adapter, payload []byte) events.SQSEventResponse {
	t.Helper()
	return invoke[events.SQSEventResponse](t, a, payload)
}

func TestSQSPartialBatchFailure(t *testing.T) {
	c := &calls{}
	sender := &fakeSender{}
	a := newAdapter(t, c, sender)
	ev := events.SQSEvent{Records: []events.SQSMessage{
		sqsMessage("m1", "sync-sessions", `{"user":"u1"}`, "1"),
		sqsMessage("m2", "sync-sessions", "fail", "3"),
		sqsMessage("m3", "other-queue", `{"user":"u3"}`, "1"),
		sqsMessage("m4", "sync-sessions", "panic", "1"),
		sqsMessage("m5", "sync-sessions", "follow", "2"),
		sqsMessage("m6", "sync-sessions", `{"user":"u6"}`, "many"),
		{MessageId: "m7", EventSource: "aws:sqs", EventSourceARN: "not-an-arn"},
	}}
	got := invokeSQS(t, a, mustJSON(t, ev))
	want := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{
		{ItemIdentifier: "m2"}, {ItemIdentifier: "m3"}, {ItemIdentifier: "m4"}, {ItemIdentifier: "m6"}, {ItemIdentifier: "m7"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("batch item failures (-want +got):\n%s", diff)
	}
	var counts []string
	for _, m := range c.queue {
		counts = append(counts, fmt.Sprintf("%s:%d:%s", m.ID, m.DequeueCount, m.PopReceipt))
	}
	if diff := cmp.Diff([]string{"m1:1:rh-m1", "m2:3:rh-m2", "m4:1:rh-m4", "m5:2:rh-m5"}, counts); diff != "" {
		t.Errorf("messages the worker saw (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{"sync-sessions": {`{"session":"next"}`}}, sender.sent); diff != "" {
		t.Errorf("output messages sent (-want +got):\n%s", diff)
	}
}

func TestSQSAllSucceed(t *testing.T) {
	a := newAdapter(t, &calls{}, nil)
	out, err := a.Invoke(context.Background(), mustJSON(t, events.SQSEvent{Records: []events.SQSMessage{sqsMessage("m1", "sync-sessions", "{}", "1")}}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), `{"batchItemFailures":[]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestSQSOutputsWithoutSender(t *testing.T) {
	tests := []struct {
		name   string
		sender Sender
	}{
		{"no sender", nil},
		{"sender fails", &fakeSender{err: errors.New("queue down")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdapter(t, &calls{}, tt.sender)
			out, err := a.Invoke(context.Background(), mustJSON(t, events.SQSEvent{Records: []events.SQSMessage{sqsMessage("m1", "sync-sessions", "follow", "1")}}))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(out), `{"batchItemFailures":[{"itemIdentifier":"m1"}]}`; got != want {
				t.Errorf("got %s, want %s: undeliverable outputs must fail the message, not vanish", got, want)
			}
		})
	}
}

// malformed is an SQS record built from the events type, with one field then
// given a value of the wrong JSON type.
func malformed(t *testing.T, m events.SQSMessage, field, value string) json.RawMessage {
	t.Helper()
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(mustJSON(t, m), &rec); err != nil {
		t.Fatal(err)
	}
	rec[field] = json.RawMessage(value)
	return mustJSON(t, rec)
}

// sqsBatch is an SQS event whose records are given as raw JSON, so that some
// can be shaped as events.SQSMessage could never encode them.
func sqsBatch(t *testing.T, records ...json.RawMessage) []byte {
	t.Helper()
	return mustJSON(t, map[string][]json.RawMessage{"Records": records})
}

func TestSQSMalformedRecordFailsAlone(t *testing.T) {
	c := &calls{}
	a := newAdapter(t, c, &fakeSender{})
	payload := sqsBatch(t,
		mustJSON(t, sqsMessage("m1", "sync-sessions", `{"user":"u1"}`, "1")),
		malformed(t, sqsMessage("m2", "sync-sessions", "", "1"), "body", `42`),
		malformed(t, sqsMessage("m3", "sync-sessions", "", "1"), "body", `{"user":"u3"}`),
		malformed(t, sqsMessage("m4", "sync-sessions", "{}", "1"), "attributes", `"ApproximateReceiveCount=1"`),
		malformed(t, sqsMessage("m5", "sync-sessions", "{}", "1"), "messageAttributes", `{"trace":7}`),
		mustJSON(t, sqsMessage("m6", "sync-sessions", `{"user":"u6"}`, "2")),
	)
	got := invokeSQS(t, a, payload)
	want := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{
		{ItemIdentifier: "m2"}, {ItemIdentifier: "m3"}, {ItemIdentifier: "m4"}, {ItemIdentifier: "m5"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("batch item failures (-want +got):\n%s", diff)
	}
	var ran []string
	for _, m := range c.queue {
		ran = append(ran, m.ID+":"+string(m.Body))
	}
	if diff := cmp.Diff([]string{`m1:{"user":"u1"}`, `m6:{"user":"u6"}`}, ran); diff != "" {
		t.Errorf("messages the worker ran (-want +got):\n%s", diff)
	}
}

// TestSQSRecordWithoutID covers records that name no messageId: they cannot be
// reported alone, so they are reported with an empty identifier, which makes
// Lambda retry the whole batch rather than delete a message nobody ran.
func TestSQSRecordWithoutID(t *testing.T) {
	tests := []struct {
		name    string
		payload string
	}{
		{"numeric body, no id", `{"Records":[{"eventSource":"aws:sqs","body":42}]}`},
		{"record is not an object", `{"Records":[{"eventSource":"aws:sqs","messageId":"m1","body":"{}","eventSourceARN":"arn:aws:sqs:eu-west-1:1:sync-sessions"},42]}`},
		{"numeric id", `{"Records":[{"eventSource":"aws:sqs","messageId":7,"body":"{}"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdapter(t, &calls{}, nil)
			got := invokeSQS(t, a, []byte(tt.payload))
			if diff := cmp.Diff([]events.SQSBatchItemFailure{{ItemIdentifier: ""}}, got.BatchItemFailures); diff != "" {
				t.Errorf("batch item failures (-want +got):\n%s", diff)
			}
		})
	}
}

func scheduledEvent(rule string, detail string) events.EventBridgeEvent {
	return events.EventBridgeEvent{
		Version: "0", ID: "ev-1", DetailType: "Scheduled Event", Source: "aws.events", AccountID: "123456789012",
		Region: "eu-west-1", Resources: []string{"arn:aws:events:eu-west-1:123456789012:rule/" + rule},
		Detail: json.RawMessage(detail),
	}
}

func TestTimers(t *testing.T) {
	tests := []struct {
		name    string
		event   events.EventBridgeEvent
		wantRan []string
		wantErr string
	}{
		{"rule named after the function", scheduledEvent("scheduler", "{}"), []string{"scheduler"}, ""},
		{"rule with a prefix", scheduledEvent("crmsync-prod-scheduler", "{}"), []string{"scheduler"}, ""},
		{"detail names the function", scheduledEvent("anything", `{"function":"scheduler"}`), []string{"scheduler"}, ""},
		{"failing timer", scheduledEvent("crmsync-keyrotation", "{}"), []string{"keyrotation"}, "vault unreachable"},
		{"unknown rule", scheduledEvent("crmsync-backup", "{}"), nil, "matches no timer function"},
		{"detail names a non-timer", scheduledEvent("x", `{"function":"syncworker"}`), nil, "not a timer function"},
		{"no resources", events.EventBridgeEvent{DetailType: "Scheduled Event", Detail: json.RawMessage("{}")}, nil, "neither detail.function nor a rule ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &calls{}
			a := newAdapter(t, c, nil)
			out, err := a.Invoke(context.Background(), mustJSON(t, tt.event))
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("got error %v (output %s), want one containing %q", err, out, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantRan, c.timer); diff != "" {
				t.Errorf("timers run (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMalformedEvents(t *testing.T) {
	a := newAdapter(t, &calls{}, nil)
	tests := []struct {
		name, payload, want string
	}{
		{"not JSON", `hello`, "not a JSON object"},
		{"JSON array", `[1,2]`, "not a JSON object"},
		{"empty object", `{}`, "neither an HTTP request"},
		{"S3 records", `{"Records":[{"eventSource":"aws:s3"}]}`, `"aws:s3"`},
		{"other EventBridge event", `{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2"}`, "EC2 Instance"},
		{"API Gateway v1 request", `{"httpMethod":"GET","path":"/api/dashboard","requestContext":{"stage":"prod"}}`, "neither an HTTP request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Invoke(context.Background(), []byte(tt.payload))
			if !errors.Is(err, ErrUnsupportedEvent) {
				t.Fatalf("got error %v, want ErrUnsupportedEvent", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name the problem (%q)", err, tt.want)
			}
		})
	}
}

func TestNewRejectsAmbiguousQueues(t *testing.T) {
	noop := func(context.Context, funchost.QueueTrigger) (funchost.Outputs, error) { return nil, nil }
	_, err := New([]funchost.Function{
		{Name: "a", Trigger: funchost.QueueTriggerOn("sync-sessions"), Queue: noop},
		{Name: "b", Trigger: funchost.QueueTriggerOn("sync-sessions"), Queue: noop},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err == nil || !strings.Contains(err.Error(), "both consume queue") {
		t.Errorf("got %v, want an error about two functions on one queue", err)
	}
}

func TestHTTPResponseShape(t *testing.T) {
	a := newAdapter(t, &calls{}, nil)
	out, err := a.Invoke(context.Background(), mustJSON(t, functionURLRequest("GET", "/api/nothing", "", "", false)))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if diff := cmp.Diff([]string{"body", "cookies", "headers", "isBase64Encoded", "statusCode"}, keys); diff != "" {
		t.Errorf("response fields (-want +got):\n%s", diff)
	}
	if got := string(raw["cookies"]); got != "[]" {
		t.Errorf("cookies is %s, want [] (the 2.0 format documents an array)", got)
	}
}
