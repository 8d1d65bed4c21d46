package lambdaadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SQS sends messages to Amazon SQS over its JSON protocol, signed with
// Signature Version 4 with the execution role's credentials, which Lambda puts
// in the environment. It is the Sender for output bindings on Lambda, and its
// Enqueue has the shape of queue.Queue's, so a queue wrapper can feed the
// sync-sessions SQS queue. Queue names are resolved to URLs once (GetQueueUrl).
type SQS struct {
	getenv   func(string) string
	endpoint string
	region   string
	client   *http.Client
	now      func() time.Time

	mu   sync.Mutex
	urls map[string]string
}

// SQSOptions tune NewSQS; zero values mean the defaults.
type SQSOptions struct {
	// Endpoint overrides https://sqs.<region>.amazonaws.com (tests, VPC endpoints).
	Endpoint string
	// Client is the HTTP client (http.DefaultClient when nil).
	Client *http.Client
	// Now is the clock for signatures (time.Now when nil).
	Now func() time.Time
}

// NewSQS builds a client from AWS_REGION (set by Lambda). Credentials are read
// from getenv on every request (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN), so a refreshed environment is picked up.
func NewSQS(getenv func(string) string, opts SQSOptions) (*SQS, error) {
	region := strings.TrimSpace(getenv("AWS_REGION"))
	if region == "" {
		return nil, errors.New("lambdaadapter: AWS_REGION is not set (Lambda sets it; elsewhere set it to the queue's region)")
	}
	s := &SQS{getenv: getenv, region: region, endpoint: opts.Endpoint, client: opts.Client, now: opts.Now, urls: map[string]string{}}
	if s.endpoint == "" {
		s.endpoint = "https://sqs." + region + ".amazonaws.com"
	}
	if s.client == nil {
		s.client = http.DefaultClient
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// maxBatch is SQS's limit of entries per SendMessageBatch.
const maxBatch = 10

// Send implements Sender: it sends msgs in batches of ten and fails when any
// entry is refused, naming how many.
func (s *SQS) Send(ctx context.Context, queue string, msgs []string) error {
	qurl, err := s.queueURL(ctx, queue)
	if err != nil {
		return err
	}
	for start := 0; start < len(msgs); start += maxBatch {
		end := min(start+maxBatch, len(msgs))
		type entry struct {
			ID          string `json:"Id"`
			MessageBody string `json:"MessageBody"`
		}
		req := struct {
			QueueURL string  `json:"QueueUrl"`
			Entries  []entry `json:"Entries"`
		}{QueueURL: qurl}
		for i := start; i < end; i++ {
			req.Entries = append(req.Entries, entry{ID: strconv.Itoa(i), MessageBody: msgs[i]})
		}
		var res struct {
			Failed []struct {
				ID      string `json:"Id"`
				Code    string `json:"Code"`
				Message string `json:"Message"`
			} `json:"Failed"`
		}
		if err := s.call(ctx, "SendMessageBatch", req, &res); err != nil {
			return fmt.Errorf("sqs: sending to %s: %w", queue, err)
		}
		if len(res.Failed) > 0 {
			f := res.Failed[0]
			return fmt.Errorf("sqs: %d of %d messages to %s refused (first: %s %s)", len(res.Failed), end-start, queue, f.Code, f.Message)
		}
	}
	return nil
}

// Enqueue sends one message that becomes visible after delay (SQS allows up
// to 15 minutes).
func (s *SQS) Enqueue(ctx context.Context, queue string, body []byte, delay time.Duration) error {
	if delay < 0 || delay > 15*time.Minute {
		return fmt.Errorf("sqs: delay %s is outside 0-15m", delay)
	}
	qurl, err := s.queueURL(ctx, queue)
	if err != nil {
		return err
	}
	req := struct {
		QueueURL     string `json:"QueueUrl"`
		MessageBody  string `json:"MessageBody"`
		DelaySeconds int    `json:"DelaySeconds,omitempty"`
	}{QueueURL: qurl, MessageBody: string(body), DelaySeconds: int(delay / time.Second)}
	if err := s.call(ctx, "SendMessage", req, nil); err != nil {
		return fmt.Errorf("sqs: sending to %s: %w", queue, err)
	}
	return nil
}

// queueURL resolves and caches a queue's URL.
func (s *SQS) queueURL(ctx context.Context, queue string) (string, error) {
	s.mu.Lock()
	u, ok := s.urls[queue]
	s.mu.Unlock()
	if ok {
		return u, nil
	}
	var res struct {
		QueueURL string `json:"QueueUrl"`
	}
	if err := s.call(ctx, "GetQueueUrl", map[string]string{"QueueName": queue}, &res); err != nil {
		return "", fmt.Errorf("sqs: looking up queue %s: %w", queue, err)
	}
	if res.QueueURL == "" {
		return "", fmt.Errorf("sqs: looking up queue %s: empty QueueUrl", queue)
	}
	s.mu.Lock()
	s.urls[queue] = res.QueueURL
	s.mu.Unlock()
	return res.QueueURL, nil
}

// call makes one signed JSON-protocol request.
func (s *SQS) call(ctx context.Context, action string, in, out any) error {
	creds := Credentials{
		AccessKeyID:     s.getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: s.getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    s.getenv("AWS_SESSION_TOKEN"),
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the execution role)")
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	u, err := url.Parse(s.endpoint)
	if err != nil {
		return fmt.Errorf("endpoint %q: %v", s.endpoint, err)
	}
	now := s.now().UTC()
	headers := map[string]string{
		"content-type": "application/x-amz-json-1.0",
		"host":         u.Host,
		"x-amz-date":   now.Format("20060102T150405Z"),
		"x-amz-target": "AmazonSQS." + action,
	}
	if creds.SessionToken != "" {
		headers["x-amz-security-token"] = creds.SessionToken
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range headers {
		if k != "host" {
			req.Header.Set(k, v)
		}
	}
	req.Header.Set("Authorization", signV4(http.MethodPost, path, "", headers, body, creds, s.region, "sqs", now))
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(raw, &e)
		if e.Type == "" {
			return fmt.Errorf("%s: HTTP %d", action, resp.StatusCode)
		}
		return fmt.Errorf("%s: HTTP %d %s: %s", action, resp.StatusCode, e.Type[strings.LastIndex(e.Type, "#")+1:], e.Message)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: malformed response: %v", action, err)
	}
	return nil
}
