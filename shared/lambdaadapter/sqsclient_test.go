package lambdaadapter

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeSQS is an in-process SQS JSON endpoint that checks each request is
// signed (by recomputing the signature with the known secret) and records
// what was sent.
type fakeSQS struct {
	mu     sync.Mutex
	lookup int
	sent   []string
	// refuse makes SendMessageBatch refuse bodies equal to it.
	refuse string
}

func (f *fakeSQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	headers := map[string]string{"host": r.Host}
	for _, h := range []string{"content-type", "x-amz-date", "x-amz-target", "x-amz-security-token"} {
		if v := r.Header.Get(h); v != "" {
			headers[h] = v
		}
	}
	at, err := time.Parse("20060102T150405Z", headers["x-amz-date"])
	if err != nil {
		http.Error(w, `{"__type":"com.amazonaws.sqs#MissingDate","message":"no date"}`, 400)
		return
	}
	want := signV4("POST", "/", "", headers, body, Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret", SessionToken: "tok"}, "eu-west-1", "sqs", at)
	if r.Header.Get("Authorization") != want || headers["x-amz-security-token"] != "tok" {
		w.WriteHeader(403)
		io.WriteString(w, `{"__type":"com.amazonaws.sqs#InvalidSignature","message":"signature mismatch"}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Header.Get("X-Amz-Target") {
	case "AmazonSQS.GetQueueUrl":
		f.lookup++
		var in struct{ QueueName string }
		json.Unmarshal(body, &in)
		if in.QueueName != "sync-sessions" {
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}`)
			return
		}
		io.WriteString(w, `{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/123456789012/sync-sessions"}`)
	case "AmazonSQS.SendMessageBatch":
		var in struct {
			QueueURL string `json:"QueueUrl"`
			Entries  []struct{ Id, MessageBody string }
		}
		json.Unmarshal(body, &in)
		if len(in.Entries) > 10 {
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"com.amazonaws.sqs#TooManyEntriesInBatchRequest","message":"too many"}`)
			return
		}
		type failed struct{ Id, Code, Message string }
		res := struct{ Failed []failed }{Failed: []failed{}}
		for _, e := range in.Entries {
			if e.MessageBody == f.refuse {
				res.Failed = append(res.Failed, failed{e.Id, "InvalidMessageContents", "bad body"})
				continue
			}
			f.sent = append(f.sent, e.MessageBody)
		}
		json.NewEncoder(w).Encode(res)
	case "AmazonSQS.SendMessage":
		var in struct {
			MessageBody  string
			DelaySeconds int
		}
		json.Unmarshal(body, &in)
		f.sent = append(f.sent, in.MessageBody+"@"+time.Duration(in.DelaySeconds*int(time.Second)).String())
		io.WriteString(w, `{"MessageId":"x"}`)
	default:
		w.WriteHeader(400)
	}
}

func newTestSQS(t *testing.T, f *fakeSQS, env map[string]string) *SQS {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	base := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "tok"}
	for k, v := range env {
		base[k] = v
	}
	s, err := NewSQS(func(k string) string { return base[k] }, SQSOptions{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSQSSendBatchesAndCachesTheURL(t *testing.T) {
	f := &fakeSQS{}
	s := newTestSQS(t, f, nil)
	var msgs []string
	for i := range 23 {
		msgs = append(msgs, `{"n":`+strings.Repeat("1", i+1)+`}`)
	}
	if err := s.Send(context.Background(), "sync-sessions", msgs); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := s.Enqueue(context.Background(), "sync-sessions", []byte(`{"late":true}`), 90*time.Second); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	want := append(msgs, `{"late":true}@1m30s`)
	if diff := cmp.Diff(want, f.sent); diff != "" {
		t.Errorf("messages SQS received (-want +got):\n%s", diff)
	}
	if f.lookup != 1 {
		t.Errorf("GetQueueUrl called %d times, want once", f.lookup)
	}
}

func TestSQSErrors(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		queue string
		msgs  []string
		want  string
	}{
		{"unknown queue", nil, "nope", []string{"{}"}, "QueueDoesNotExist"},
		{"refused entry", nil, "sync-sessions", []string{"{}", "bad", "{}"}, "1 of 3 messages to sync-sessions refused (first: InvalidMessageContents"},
		{"wrong secret", map[string]string{"AWS_SECRET_ACCESS_KEY": "other"}, "sync-sessions", []string{"{}"}, "InvalidSignature"},
		{"no credentials", map[string]string{"AWS_ACCESS_KEY_ID": ""}, "sync-sessions", []string{"{}"}, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSQS(t, &fakeSQS{refuse: "bad"}, tt.env)
			err := s.Send(context.Background(), tt.queue, tt.msgs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := NewSQS(func(string) string { return "" }, SQSOptions{}); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Errorf("NewSQS without a region: got %v, want an error naming AWS_REGION", err)
	}
	s := newTestSQS(t, &fakeSQS{}, nil)
	if err := s.Enqueue(context.Background(), "sync-sessions", []byte("{}"), time.Hour); err == nil {
		t.Error("Enqueue accepted a one-hour delay; SQS allows 15 minutes")
	}
}
