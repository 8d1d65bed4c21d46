package lambdaadapter

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// BenchmarkSQSBatch measures dispatching a full 10-message SQS batch (the
// default event source mapping batch size) with one failing message.
func BenchmarkSQSBatch(b *testing.B) {
	c := &calls{}
	a := newAdapter(b, c, &fakeSender{})
	var recs []events.SQSMessage
	for i := range 10 {
		body := fmt.Sprintf(`{"user":"u%d","reason":"due"}`, i)
		if i == 3 {
			body = "fail"
		}
		recs = append(recs, sqsMessage(fmt.Sprintf("m%d", i), "sync-sessions", body, "1"))
	}
	payload := mustJSON(b, events.SQSEvent{Records: recs})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Invoke(context.Background(), payload); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(recs)), "messages/op")
	b.ReportMetric(float64(len(c.queue))/float64(b.N), "calls/op")
}

// BenchmarkHTTPInvoke measures one function URL request through routing to a
// handler and back into the Lambda response shape.
func BenchmarkHTTPInvoke(b *testing.B) {
	a := newAdapter(b, &calls{}, &fakeSender{})
	payload := mustJSON(b, functionURLRequest("POST", "/api/dashboard/users/42", "q=1", `{"a":1}`, false, "session=s1"))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Invoke(context.Background(), payload); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(payload)), "eventbytes/op")
}
