package lambdaadapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQS sends messages to Amazon SQS with the AWS SDK's SQS client, which
// brings what a hand-written client lacked: credentials from the SDK's
// default chain (on Lambda, the execution role's, which Lambda provides),
// the standard retryer (backoff on throttling, 5xx and connection errors),
// endpoint resolution (FIPS, dual-stack, VPC endpoints through
// AWS_ENDPOINT_URL_SQS) and the MD5 check of every message body SQS
// acknowledges. It is the Sender for output bindings on Lambda, and its
// Enqueue has the shape of queue.Queue's, so the sync-sessions SQS queue can
// take session requests. Queue names are resolved to URLs once (GetQueueUrl).
type SQS struct {
	client *sqs.Client

	mu   sync.Mutex
	urls map[string]string
}

// SQSOptions tune NewSQS; zero values mean the defaults.
type SQSOptions struct {
	// Endpoint overrides the resolved SQS endpoint (tests).
	Endpoint string
	// Client is the HTTP client (the SDK's default when nil).
	Client *http.Client
	// Credentials replace the SDK's default credential chain (tests).
	Credentials aws.CredentialsProvider
	// Retryer replaces the SDK's standard retryer (three attempts with
	// jittered exponential backoff) when set.
	Retryer func() aws.Retryer
}

// NewSQS builds a client for the region in AWS_REGION (set by Lambda).
func NewSQS(getenv func(string) string, opts SQSOptions) (*SQS, error) {
	region := strings.TrimSpace(getenv("AWS_REGION"))
	if region == "" {
		return nil, errors.New("lambdaadapter: AWS_REGION is not set (Lambda sets it; elsewhere set it to the queue's region)")
	}
	load := []func(*config.LoadOptions) error{config.WithRegion(region)}
	if opts.Client != nil {
		load = append(load, config.WithHTTPClient(opts.Client))
	}
	if opts.Credentials != nil {
		load = append(load, config.WithCredentialsProvider(opts.Credentials))
	}
	if opts.Retryer != nil {
		load = append(load, config.WithRetryer(opts.Retryer))
	}
	// Loading reads the environment and shared config files only; the
	// credentials themselves are fetched (and cached) on first use.
	cfg, err := config.LoadDefaultConfig(context.Background(), load...)
	if err != nil {
		return nil, fmt.Errorf("lambdaadapter: AWS configuration: %w", err)
	}
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	})
	return &SQS{client: client, urls: map[string]string{}}, nil
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
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(qurl)}
		for i := start; i < end; i++ {
			in.Entries = append(in.Entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(msgs[i])})
		}
		out, err := s.client.SendMessageBatch(ctx, in)
		if err != nil {
			return fmt.Errorf("sqs: sending to %s: %w", queue, err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return fmt.Errorf("sqs: %d of %d messages to %s refused (first: %s %s)", len(out.Failed), end-start, queue,
				aws.ToString(f.Code), aws.ToString(f.Message))
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
	in := &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String(string(body))}
	if delay > 0 {
		// Whole seconds, rounded up so a delayed message is never early.
		in.DelaySeconds = int32((delay + time.Second - 1) / time.Second)
	}
	if _, err := s.client.SendMessage(ctx, in); err != nil {
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
	out, err := s.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queue)})
	if err != nil {
		return "", fmt.Errorf("sqs: looking up queue %s: %w", queue, err)
	}
	if aws.ToString(out.QueueUrl) == "" {
		return "", fmt.Errorf("sqs: looking up queue %s: empty QueueUrl", queue)
	}
	s.mu.Lock()
	s.urls[queue] = *out.QueueUrl
	s.mu.Unlock()
	return *out.QueueUrl, nil
}
