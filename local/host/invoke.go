package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/funchost"
)

// HostVersion is what the local host reports as the Functions host version.
const HostVersion = "crmsync-local"

// invocationResult is the handler's answer to a payload-mode invocation.
type invocationResult struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []string                   `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
}

// invokeError is a failed invocation; Status is 0 when the handler was not reached.
type invokeError struct {
	Status int
	Detail string
}

func (e *invokeError) Error() string {
	if e.Status == 0 {
		return "handler unreachable: " + e.Detail
	}
	return fmt.Sprintf("handler answered %d: %s", e.Status, e.Detail)
}

// invoke POSTs an invocation to /<FunctionName> the way the Functions host does,
// with Metadata values in the host's JSON-in-a-string form, and returns the
// handler's result. Any non-2xx answer is a failed invocation.
func (h *Host) invoke(ctx context.Context, fn AppFunction, data, metadata map[string]any) (invocationResult, error) {
	var res invocationResult
	base := h.handler.URL()
	if base == "" {
		return res, &invokeError{Detail: errNoHandler.Error()}
	}
	id := newID()
	if metadata == nil {
		metadata = map[string]any{}
	}
	metadata["sys"] = map[string]any{"MethodName": fn.Name, "UtcNow": time.Now().UTC().Format(time.RFC3339Nano), "RandGuid": newID()}
	body, err := json.Marshal(map[string]any{"Data": data, "Metadata": metadata})
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, h.app.Settings.FunctionTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/"+fn.Name, bytes.NewReader(body))
	if err != nil {
		return res, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(funchost.InvocationIDHeader, id)
	req.Header.Set("X-Azure-Functions-HostVersion", HostVersion)
	req.Header.Set("User-Agent", "Azure-Functions-Host/"+HostVersion)
	resp, err := h.client.Do(req)
	if err != nil {
		return res, &invokeError{Detail: err.Error()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, funchost.DefaultMaxBodyBytes))
	if err != nil {
		return res, &invokeError{Status: resp.StatusCode, Detail: "reading answer: " + err.Error()}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return res, &invokeError{Status: resp.StatusCode, Detail: failureDetail(raw)}
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return res, &invokeError{Status: resp.StatusCode, Detail: "answer is not invocation JSON: " + err.Error()}
	}
	for _, line := range res.Logs {
		h.log.Info("function log", "function", fn.Name, "invocation", id, "line", line)
	}
	return res, nil
}

// failureDetail extracts the handler's reason from a failed invocation's body.
func failureDetail(raw []byte) string {
	var v struct {
		Error string   `json:"error"`
		Logs  []string `json:"Logs"`
	}
	if json.Unmarshal(raw, &v) == nil {
		switch {
		case v.Error != "":
			return v.Error
		case len(v.Logs) > 0:
			return strings.Join(v.Logs, "; ")
		}
	}
	s := strings.TrimSpace(string(raw))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// queueOutputs reads the queue output bindings of a result. A value is a string
// or an array; each string goes through the host's base64 treatment.
func queueOutputs(fn AppFunction, res invocationResult) (map[string][][]byte, error) {
	out := map[string][][]byte{}
	for _, b := range fn.Config.Bindings {
		if b.Type != funchost.TypeQueue {
			continue
		}
		raw, ok := res.Outputs[b.Name]
		if !ok || len(raw) == 0 || string(raw) == "null" {
			continue
		}
		var many []json.RawMessage
		if err := json.Unmarshal(raw, &many); err != nil {
			many = []json.RawMessage{raw}
		}
		for _, item := range many {
			var s string
			if err := json.Unmarshal(item, &s); err != nil {
				// A JSON value that is not a string is sent as its JSON text.
				s = string(item)
			}
			msg := []byte(s)
			if decoded, ok := funchost.DecodeHostString(s); ok {
				msg = decoded
			}
			out[b.QueueName] = append(out[b.QueueName], msg)
		}
	}
	return out, nil
}

// enqueueOutputs sends a successful invocation's queue outputs.
func (h *Host) enqueueOutputs(ctx context.Context, fn AppFunction, res invocationResult) error {
	outs, err := queueOutputs(fn, res)
	if err != nil {
		return err
	}
	for q, msgs := range outs {
		for _, m := range msgs {
			if err := h.queue.Enqueue(ctx, q, m, 0); err != nil {
				return fmt.Errorf("output binding to queue %s: %w", q, err)
			}
		}
	}
	return nil
}

// quoted renders a Metadata string the way the host does: JSON text inside a
// string, so an id arrives with its own quotes.
func quoted(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// hostTime renders a time as the host's DateTimeOffset form.
func hostTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.9999999+00:00")
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
