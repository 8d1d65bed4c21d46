package lambdaadapter

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
)

// fakeSQS is an in-process SQS endpoint speaking the protocol the SDK speaks
// (AWS JSON 1.0: POST / with Content-Type application/x-amz-json-1.0 and
// X-Amz-Target AmazonSQS.<Action>, as in the SDK's request snapshots and the
// SQS API reference). It checks each request's Signature Version 4 by signing
// it again with the known secret, answers as SQS does (MD5OfMessageBody on
// every accepted message, which the SDK checks; errors as a JSON __type with
// the x-amzn-query-error header) and records what was sent.
type fakeSQS struct {
	mu     sync.Mutex
	lookup int
	calls  int
	sent   []string
	// refuse makes SendMessageBatch refuse bodies equal to it.
	refuse string
	// fail answers this many calls with HTTP 500 first.
	fail int
}

func sqsError(w http.ResponseWriter, status int, queryCode, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-query-error", queryCode+";Sender")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"__type":"com.amazonaws.sqs#%s","message":%q}`, typ, msg)
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// signedCorrectly signs a copy of r again with the fake's secret, at the time
// r says it was signed, and compares the Authorization headers.
func signedCorrectly(r *http.Request, body []byte) bool {
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return false
	}
	// Sign only the headers the client signed: transports add their own
	// (Accept-Encoding) after signing.
	auth := r.Header.Get("Authorization")
	_, list, _ := strings.Cut(auth, "SignedHeaders=")
	list, _, _ = strings.Cut(list, ",")
	c := r.Clone(context.Background())
	c.URL.Scheme, c.URL.Host = "http", r.Host
	c.Header = http.Header{}
	for _, h := range strings.Split(list, ";") {
		if v := r.Header.Values(h); len(v) > 0 {
			c.Header[http.CanonicalHeaderKey(h)] = v
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret", SessionToken: "tok"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, c, hex.EncodeToString(sum[:]), "sqs", "eu-west-1", at); err != nil {
		return false
	}
	return c.Header.Get("Authorization") == auth
}

func (f *fakeSQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("Content-Type") != "application/x-amz-json-1.0" {
		sqsError(w, 400, "InvalidAction", "InvalidAction", "not the JSON protocol: "+r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		return
	}
	if !signedCorrectly(r, body) || r.Header.Get("X-Amz-Security-Token") != "tok" {
		sqsError(w, 403, "InvalidSignature", "InvalidSignature", "signature mismatch")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail > 0 {
		f.fail--
		w.WriteHeader(500)
		io.WriteString(w, `{"__type":"com.amazonaws.sqs#InternalError","message":"try again"}`)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch r.Header.Get("X-Amz-Target") {
	case "AmazonSQS.GetQueueUrl":
		f.lookup++
		var in struct{ QueueName string }
		json.Unmarshal(body, &in)
		if in.QueueName != "sync-sessions" {
			sqsError(w, 400, "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "The specified queue does not exist.")
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
			sqsError(w, 400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "TooManyEntriesInBatchRequest", "too many")
			return
		}
		type ok struct{ Id, MessageId, MD5OfMessageBody string }
		type failed struct {
			Id          string
			SenderFault bool
			Code        string
			Message     string
		}
		res := struct {
			Successful []ok
			Failed     []failed
		}{Successful: []ok{}, Failed: []failed{}}
		for _, e := range in.Entries {
			if e.MessageBody == f.refuse {
				res.Failed = append(res.Failed, failed{e.Id, true, "InvalidMessageContents", "bad body"})
				continue
			}
			f.sent = append(f.sent, e.MessageBody)
			res.Successful = append(res.Successful, ok{e.Id, fmt.Sprintf("m-%d", len(f.sent)), md5Hex(e.MessageBody)})
		}
		json.NewEncoder(w).Encode(res)
	case "AmazonSQS.SendMessage":
		var in struct {
			QueueURL     string `json:"QueueUrl"`
			MessageBody  string
			DelaySeconds int
		}
		json.Unmarshal(body, &in)
		f.sent = append(f.sent, in.MessageBody+"@"+time.Duration(in.DelaySeconds*int(time.Second)).String())
		fmt.Fprintf(w, `{"MessageId":"m-%d","MD5OfMessageBody":%q}`, len(f.sent), md5Hex(in.MessageBody))
	default:
		sqsError(w, 400, "InvalidAction", "InvalidAction", "unknown target "+r.Header.Get("X-Amz-Target"))
	}
}

// noBackoff is the SDK's standard retryer without its waits.
func noBackoff() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

func newTestSQS(t *testing.T, f http.Handler, secret string) *SQS {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	env := map[string]string{"AWS_REGION": "eu-west-1"}
	s, err := NewSQS(func(k string) string { return env[k] }, SQSOptions{Endpoint: srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", secret, "tok"), Retryer: noBackoff})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSQSSendBatchesAndCachesTheURL(t *testing.T) {
	f := &fakeSQS{}
	s := newTestSQS(t, f, "secret")
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
	if err := s.Enqueue(context.Background(), "sync-sessions", []byte(`{"soon":true}`), 1500*time.Millisecond); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	want := append(msgs, `{"late":true}@1m30s`, `{"soon":true}@2s`)
	if diff := cmp.Diff(want, f.sent); diff != "" {
		t.Errorf("messages SQS received (-want +got):\n%s", diff)
	}
	if f.lookup != 1 {
		t.Errorf("GetQueueUrl called %d times, want once", f.lookup)
	}
}

// A server error is retried by the SDK's retryer; the message arrives once.
func TestSQSRetriesServerErrors(t *testing.T) {
	f := &fakeSQS{fail: 2}
	s := newTestSQS(t, f, "secret")
	if err := s.Enqueue(context.Background(), "sync-sessions", []byte(`{}`), 0); err != nil {
		t.Fatalf("Enqueue after two 500s: %v", err)
	}
	if f.calls != 4 || len(f.sent) != 1 { // lookup, two failures, the send
		t.Errorf("%d calls, %d sent; want 4 calls and the message once", f.calls, len(f.sent))
	}
	f = &fakeSQS{fail: 5}
	s = newTestSQS(t, f, "secret")
	if err := s.Enqueue(context.Background(), "sync-sessions", []byte(`{}`), 0); err == nil {
		t.Error("Enqueue succeeded through more failures than the retryer's three attempts")
	}
}

// An acknowledgement whose MD5 does not match the body sent is an error: the
// SDK's check, which the hand-written client lacked.
func TestSQSChecksTheBodyDigest(t *testing.T) {
	f := &fakeSQS{}
	lying := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, r)
		out := bytes.ReplaceAll(rec.Body.Bytes(), []byte(md5Hex(`{"x":1}`)), []byte(md5Hex("other")))
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(out)
	})
	s := newTestSQS(t, lying, "secret")
	if err := s.Enqueue(context.Background(), "sync-sessions", []byte(`{"x":1}`), 0); err == nil || !strings.Contains(strings.ToLower(err.Error()), "md5") {
		t.Errorf("Enqueue with a wrong digest in the answer: %v, want an MD5 error", err)
	}
}

func TestSQSErrors(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		queue  string
		msgs   []string
		want   string
	}{
		{"unknown queue", "secret", "nope", []string{"{}"}, "looking up queue nope"},
		{"refused entry", "secret", "sync-sessions", []string{"{}", "bad", "{}"}, "1 of 3 messages to sync-sessions refused (first: InvalidMessageContents"},
		{"wrong secret", "other", "sync-sessions", []string{"{}"}, "InvalidSignature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSQS(t, &fakeSQS{refuse: "bad"}, tt.secret)
			err := s.Send(context.Background(), tt.queue, tt.msgs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	s := newTestSQS(t, &fakeSQS{}, "secret")
	var missing *types.QueueDoesNotExist
	if err := s.Send(context.Background(), "nope", []string{"{}"}); !errors.As(err, &missing) {
		t.Errorf("unknown queue: %v, want the SDK's QueueDoesNotExist", err)
	}
	if _, err := NewSQS(func(string) string { return "" }, SQSOptions{}); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Errorf("NewSQS without a region: got %v, want an error naming AWS_REGION", err)
	}
	if err := s.Enqueue(context.Background(), "sync-sessions", []byte("{}"), time.Hour); err == nil {
		t.Error("Enqueue accepted a one-hour delay; SQS allows 15 minutes")
	}
}
