package host

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// HostJSON is the part of host.json the local host reads.
type HostJSON struct {
	Version         string `json:"version"`
	FunctionTimeout string `json:"functionTimeout"`
	CustomHandler   struct {
		Description struct {
			DefaultExecutablePath string   `json:"defaultExecutablePath"`
			WorkingDirectory      string   `json:"workingDirectory"`
			Arguments             []string `json:"arguments"`
		} `json:"description"`
		EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
		EnableProxyingHTTPRequest   bool `json:"enableProxyingHttpRequest"`
	} `json:"customHandler"`
	Extensions struct {
		HTTP struct {
			RoutePrefix *string `json:"routePrefix"`
		} `json:"http"`
		Queues struct {
			BatchSize          *int   `json:"batchSize"`
			NewBatchThreshold  *int   `json:"newBatchThreshold"`
			MaxDequeueCount    *int   `json:"maxDequeueCount"`
			VisibilityTimeout  string `json:"visibilityTimeout"`
			MaxPollingInterval string `json:"maxPollingInterval"`
			MessageEncoding    string `json:"messageEncoding"`
		} `json:"queues"`
	} `json:"extensions"`
}

// Settings are host.json's values with defaults applied, as the Functions host
// (Storage Queues extension 5.x) would use them.
type Settings struct {
	Executable       string
	WorkingDirectory string
	Arguments        []string
	// Forwarding is true when HTTP requests go to the handler raw, at their
	// own path, for functions with exactly httpTrigger-in and http-out.
	Forwarding      bool
	RoutePrefix     string
	FunctionTimeout time.Duration
	Queues          QueueSettings
}

// QueueSettings drive the queue listeners.
type QueueSettings struct {
	BatchSize          int
	NewBatchThreshold  int
	MaxDequeueCount    int
	VisibilityTimeout  time.Duration
	MaxPollingInterval time.Duration
}

// ReadHostJSON reads and validates appDir/host.json. Errors name the file and field.
func ReadHostJSON(appDir string) (Settings, error) {
	path := filepath.Join(appDir, "host.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return Settings{}, err
	}
	s, err := ParseHostJSON(raw)
	if err != nil {
		return Settings{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseHostJSON validates host.json content and applies defaults.
func ParseHostJSON(raw []byte) (Settings, error) {
	var h HostJSON
	if err := json.Unmarshal(raw, &h); err != nil {
		return Settings{}, fmt.Errorf("not valid host.json: %w", err)
	}
	if h.Version != "2.0" {
		return Settings{}, fmt.Errorf("version: %q, want \"2.0\"", h.Version)
	}
	d := h.CustomHandler.Description
	if d.DefaultExecutablePath == "" {
		return Settings{}, fmt.Errorf("customHandler.description.defaultExecutablePath: missing")
	}
	s := Settings{
		Executable:       d.DefaultExecutablePath,
		WorkingDirectory: d.WorkingDirectory,
		Arguments:        d.Arguments,
		Forwarding:       h.CustomHandler.EnableForwardingHTTPRequest || h.CustomHandler.EnableProxyingHTTPRequest,
		RoutePrefix:      "api",
		FunctionTimeout:  5 * time.Minute,
		Queues: QueueSettings{
			BatchSize:          16,
			MaxDequeueCount:    5,
			VisibilityTimeout:  0,
			MaxPollingInterval: time.Minute,
		},
	}
	if p := h.Extensions.HTTP.RoutePrefix; p != nil {
		s.RoutePrefix = strings.Trim(*p, "/")
	}
	var err error
	if h.FunctionTimeout != "" {
		if s.FunctionTimeout, err = ParseTimeSpan(h.FunctionTimeout); err != nil || s.FunctionTimeout <= 0 {
			return Settings{}, fmt.Errorf("functionTimeout: %q is not a positive time span (hh:mm:ss)", h.FunctionTimeout)
		}
	}
	q := h.Extensions.Queues
	if q.BatchSize != nil {
		if *q.BatchSize < 1 || *q.BatchSize > 32 {
			return Settings{}, fmt.Errorf("extensions.queues.batchSize: %d is not in 1..32", *q.BatchSize)
		}
		s.Queues.BatchSize = *q.BatchSize
	}
	s.Queues.NewBatchThreshold = s.Queues.BatchSize / 2
	if q.NewBatchThreshold != nil {
		if *q.NewBatchThreshold < 0 {
			return Settings{}, fmt.Errorf("extensions.queues.newBatchThreshold: %d is negative", *q.NewBatchThreshold)
		}
		s.Queues.NewBatchThreshold = *q.NewBatchThreshold
	}
	if q.MaxDequeueCount != nil {
		if *q.MaxDequeueCount < 1 {
			return Settings{}, fmt.Errorf("extensions.queues.maxDequeueCount: %d is not at least 1", *q.MaxDequeueCount)
		}
		s.Queues.MaxDequeueCount = *q.MaxDequeueCount
	}
	if q.VisibilityTimeout != "" {
		if s.Queues.VisibilityTimeout, err = ParseTimeSpan(q.VisibilityTimeout); err != nil || s.Queues.VisibilityTimeout < 0 {
			return Settings{}, fmt.Errorf("extensions.queues.visibilityTimeout: %q is not a time span (hh:mm:ss)", q.VisibilityTimeout)
		}
	}
	if q.MaxPollingInterval != "" {
		if s.Queues.MaxPollingInterval, err = ParseTimeSpan(q.MaxPollingInterval); err != nil || s.Queues.MaxPollingInterval <= 0 {
			return Settings{}, fmt.Errorf("extensions.queues.maxPollingInterval: %q is not a positive time span (hh:mm:ss)", q.MaxPollingInterval)
		}
	}
	switch q.MessageEncoding {
	case "", "base64":
	case "none":
		// The queue implementations hand over raw bytes either way; "none" only
		// changes what other producers must write, which crmsync does not rely on.
	default:
		return Settings{}, fmt.Errorf("extensions.queues.messageEncoding: %q is not base64 or none", q.MessageEncoding)
	}
	return s, nil
}

// ParseTimeSpan reads a .NET TimeSpan as host.json writes it: "hh:mm:ss",
// "hh:mm:ss.fff" or "d.hh:mm:ss".
func ParseTimeSpan(s string) (time.Duration, error) {
	days := 0
	rest := s
	if i := strings.IndexByte(s, ':'); i > 0 {
		if j := strings.IndexByte(s[:i], '.'); j >= 0 {
			d, err := strconv.Atoi(s[:j])
			if err != nil {
				return 0, fmt.Errorf("time span %q: bad days", s)
			}
			days, rest = d, s[j+1:]
		}
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("time span %q: want hh:mm:ss", s)
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec >= 60 {
		return 0, fmt.Errorf("time span %q: want hh:mm:ss", s)
	}
	return time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(sec*float64(time.Second)), nil
}
