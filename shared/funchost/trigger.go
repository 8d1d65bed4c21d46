package funchost

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// QueueTrigger is one decoded queue-trigger invocation.
type QueueTrigger struct {
	// Body is the message text as the host decoded it from the queue.
	Body            []byte
	ID              string
	PopReceipt      string
	DequeueCount    int
	InsertionTime   time.Time
	ExpirationTime  time.Time
	NextVisibleTime time.Time
	// InvocationID is the host's id for this invocation, for logs.
	InvocationID string
}

// TimerTrigger is one decoded timer-trigger invocation.
type TimerTrigger struct {
	AdjustForDST bool
	// ScheduleStatus is nil when the host does not monitor the schedule.
	ScheduleStatus *ScheduleStatus
	IsPastDue      bool
	InvocationID   string
}

// ScheduleStatus is the host's record of a timer's last and next run.
type ScheduleStatus struct {
	Last        time.Time
	Next        time.Time
	LastUpdated time.Time
}

// decodeQueueTrigger reads a queue invocation. The host sends Metadata values
// as JSON text inside strings: Id and PopReceipt carry an extra pair of quotes
// and DequeueCount is "1"; older docs show clean values. Both are accepted.
func decodeQueueTrigger(inv invocation, binding string) (QueueTrigger, error) {
	var q QueueTrigger
	raw, ok := inv.Data[binding]
	if !ok || isNull(raw) {
		return q, fmt.Errorf("field Data.%s: missing", binding)
	}
	body, err := messageBody(raw)
	if err != nil {
		return q, fmt.Errorf("field Data.%s: %w", binding, err)
	}
	q.Body = body
	if q.ID, err = metaString(inv.Metadata, "Id"); err != nil {
		return q, err
	}
	if q.PopReceipt, err = metaString(inv.Metadata, "PopReceipt"); err != nil {
		return q, err
	}
	if q.DequeueCount, err = metaInt(inv.Metadata, "DequeueCount"); err != nil {
		return q, err
	}
	if q.InsertionTime, err = metaTime(inv.Metadata, "InsertionTime"); err != nil {
		return q, err
	}
	if q.ExpirationTime, err = metaTime(inv.Metadata, "ExpirationTime"); err != nil {
		return q, err
	}
	if q.NextVisibleTime, err = metaTime(inv.Metadata, "NextVisibleTime"); err != nil {
		return q, err
	}
	return q, nil
}

// decodeTimerTrigger reads a timer invocation; the timer object may itself
// arrive as a JSON string, and ScheduleStatus may be null.
func decodeTimerTrigger(inv invocation, binding string) (TimerTrigger, error) {
	var t TimerTrigger
	raw, ok := inv.Data[binding]
	if !ok || isNull(raw) {
		return t, fmt.Errorf("field Data.%s: missing", binding)
	}
	if s, isString := jsonString(raw); isString {
		raw = json.RawMessage(s)
	}
	var d timerData
	if err := json.Unmarshal(raw, &d); err != nil {
		return t, fmt.Errorf("field Data.%s: not a timer object: %w", binding, err)
	}
	t.AdjustForDST = d.Schedule.AdjustForDST
	t.IsPastDue = d.IsPastDue
	if d.ScheduleStatus != nil {
		var st ScheduleStatus
		var err error
		for _, f := range []struct {
			name string
			raw  json.RawMessage
			dst  *time.Time
		}{{"Last", d.ScheduleStatus.Last, &st.Last}, {"Next", d.ScheduleStatus.Next, &st.Next}, {"LastUpdated", d.ScheduleStatus.LastUpdated, &st.LastUpdated}} {
			if *f.dst, err = parseTimeValue(f.raw); err != nil {
				return t, fmt.Errorf("field Data.%s.ScheduleStatus.%s: %w", binding, f.name, err)
			}
		}
		t.ScheduleStatus = &st
	}
	return t, nil
}

// messageBody turns a queue trigger's Data value into the message bytes: a JSON
// string (possibly JSON-quoted once more) is the text; an object or array is
// the JSON itself.
func messageBody(raw json.RawMessage) ([]byte, error) {
	s, isString := jsonString(raw)
	if !isString {
		if !json.Valid(raw) {
			return nil, fmt.Errorf("not JSON")
		}
		return bytes.Clone(raw), nil
	}
	if inner, ok := jsonString(json.RawMessage(s)); ok {
		return []byte(inner), nil
	}
	return []byte(s), nil
}

// metaString reads a Metadata string, stripping one extra level of JSON quoting.
func metaString(meta map[string]json.RawMessage, key string) (string, error) {
	raw, ok := meta[key]
	if !ok || isNull(raw) {
		return "", nil
	}
	s, isString := jsonString(raw)
	if !isString {
		return "", fmt.Errorf("field Metadata.%s: not a string", key)
	}
	if inner, ok := jsonString(json.RawMessage(s)); ok {
		return inner, nil
	}
	return s, nil
}

// metaInt reads a Metadata number sent as 1, "1" or "\"1\"".
func metaInt(meta map[string]json.RawMessage, key string) (int, error) {
	raw, ok := meta[key]
	if !ok || isNull(raw) {
		return 0, nil
	}
	text := string(bytes.TrimSpace(raw))
	if s, isString := jsonString(raw); isString {
		text = s
		if inner, ok := jsonString(json.RawMessage(s)); ok {
			text = inner
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("field Metadata.%s: %q is not a count", key, text)
	}
	return n, nil
}

// metaTime reads a Metadata time; absent is the zero time.
func metaTime(meta map[string]json.RawMessage, key string) (time.Time, error) {
	t, err := parseTimeValue(meta[key])
	if err != nil {
		return time.Time{}, fmt.Errorf("field Metadata.%s: %w", key, err)
	}
	return t, nil
}

// timeLayouts are the forms .NET serializers produce; a time without a zone is UTC.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "01/02/2006 15:04:05 -07:00", "01/02/2006 15:04:05"}

func parseTimeValue(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || isNull(raw) {
		return time.Time{}, nil
	}
	s, isString := jsonString(raw)
	if !isString {
		return time.Time{}, fmt.Errorf("not a time string")
	}
	if inner, ok := jsonString(json.RawMessage(s)); ok {
		s = inner
	}
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time", s)
}

// jsonString unquotes raw when it is a JSON string literal.
func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// DecodeHostString applies the Functions host's treatment of an output string:
// when the string is valid base64 (as .NET's Convert.FromBase64String reads it:
// whitespace ignored, length a multiple of 4), the host uses the decoded bytes.
// ok is false when the host would use the string as it is.
func DecodeHostString(s string) (decoded []byte, ok bool) {
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	if len(clean)%4 != 0 {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return nil, false
	}
	return b, true
}

// EncodeHostString returns the string to send so that the host ends up with
// exactly b: text that the host would not mistake for base64 goes as it is
// (JSON always does, it holds braces and quotes); anything else goes as base64,
// which the host decodes back to b.
func EncodeHostString(b []byte) string {
	s := string(b)
	if _, looksBase64 := DecodeHostString(s); !looksBase64 && strings.ToValidUTF8(s, "\uFFFD") == s {
		return s
	}
	return base64.StdEncoding.EncodeToString(b)
}
