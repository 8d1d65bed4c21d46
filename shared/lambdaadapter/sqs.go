package lambdaadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmsync/crmsync/shared/funchost"
)

// invokeSQS runs each message of an SQS batch through the queue function bound
// to its queue and reports the failed ones as batch item failures. The event
// source mapping must have ReportBatchItemFailures on; then SQS deletes the
// messages that succeeded and makes only the failed ones visible again, the way
// the Azure queue trigger retries one message at a time. After the queue's
// redrive maxReceiveCount the message goes to the dead-letter queue, which
// plays the part of "<queue>-poison".
//
// Records are decoded one at a time, so a record that does not decode (a
// numeric body, a wrong attribute type) fails alone, reported by the messageId
// it still carries; the rest of the batch runs.
func (a *Adapter) invokeSQS(ctx context.Context, records []json.RawMessage) ([]byte, error) {
	res := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, raw := range records {
		var m events.SQSMessage
		err := json.Unmarshal(raw, &m)
		if err != nil {
			m = events.SQSMessage{MessageId: recordField(raw, "messageId")}
			err = fmt.Errorf("malformed SQS record: %v", err)
		} else {
			err = a.handleMessage(ctx, m)
		}
		if err != nil {
			a.log.Warn("queue message failed", "queue", queueName(m.EventSourceARN), "message", m.MessageId, "error", err)
			// An empty identifier makes Lambda retry the whole batch: the only
			// way left to keep a message that names no id from being deleted.
			res.BatchItemFailures = append(res.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return json.Marshal(res)
}

// recordField reads one string field of a record, however malformed the rest
// of it is; "" when the record has no such field that is a string.
func recordField(raw json.RawMessage, key string) string {
	var fields map[string]json.RawMessage
	var v string
	if json.Unmarshal(raw, &fields) != nil || json.Unmarshal(fields[key], &v) != nil {
		return ""
	}
	return v
}

// handleMessage runs one message; a panic fails only that message.
func (a *Adapter) handleMessage(ctx context.Context, m events.SQSMessage) (err error) {
	if m.MessageId == "" {
		// Without an id the failure could not be reported for this message alone.
		return fmt.Errorf("message has no messageId")
	}
	if m.EventSource != "aws:sqs" {
		return fmt.Errorf("message comes from %q, not aws:sqs", m.EventSource)
	}
	q := queueName(m.EventSourceARN)
	if q == "" {
		return fmt.Errorf("eventSourceARN %q names no queue", m.EventSourceARN)
	}
	fn, ok := a.queues[strings.ToLower(q)]
	if !ok {
		return fmt.Errorf("no queue function consumes queue %q", q)
	}
	count := 1
	if s, ok := m.Attributes["ApproximateReceiveCount"]; ok {
		n, convErr := strconv.Atoi(s)
		if convErr != nil || n < 1 {
			return fmt.Errorf("attribute ApproximateReceiveCount %q is not a count", s)
		}
		count = n
	}
	defer func() {
		if v := recover(); v != nil {
			a.log.Error("function panicked", "function", fn.Name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("function %s panicked", fn.Name)
		}
	}()
	outs, err := fn.Queue(ctx, funchost.QueueTrigger{
		Body:         []byte(m.Body),
		ID:           m.MessageId,
		PopReceipt:   m.ReceiptHandle,
		DequeueCount: count,
		InvocationID: m.MessageId,
	})
	if err != nil {
		return fmt.Errorf("function %s failed: %w", fn.Name, err)
	}
	return a.send(ctx, fn.Name, outs)
}

// queueName is the last field of an SQS queue ARN
// (arn:aws:sqs:<region>:<account>:<name>).
func queueName(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" {
		return ""
	}
	return parts[5]
}
