package fakesalesforce

import (
	"net/http"
	"time"
)

// Fault makes matching API calls fail (or slow down). Resource names are those
// of the call log: "query", "queryAll", "sobject", "collections", "composite",
// "batch", "updated", "deleted", "describe", "describeGlobal", "search",
// "parameterizedSearch", "listviews", "chatter", "limits"; "" matches any of
// those. "versions" (GET /services/data/, not counted) fails only for a fault
// that names it.
type Fault struct {
	Resource string
	// Method, when set, matches only calls with this HTTP method ("DELETE":
	// a collections delete, not a create through the same resource).
	Method string
	// Skip lets this many matching calls through first.
	Skip int
	// Times is how many calls fail (0 means 1).
	Times int
	// Status, ErrorCode and Message make the error answer, in the real
	// JSON-array shape. Status 0 with Latency only delays the call.
	Status    int
	ErrorCode string
	Message   string
	// Body replaces the JSON error with raw text (an HTML page from a proxy, a
	// truncated JSON body), sent with ContentType.
	Body        string
	ContentType string
	// Latency delays the answer (real time).
	Latency time.Duration
}

// Inject adds a fault; faults are consumed in the order added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// LockRows makes the next n records written through sObject Collections fail
// with UNABLE_TO_LOCK_ROW, as under contention on a shared parent.
func (s *Server) LockRows(n int) {
	s.mu.Lock()
	s.lockRows = n
	s.mu.Unlock()
}

// ExpireSessions invalidates every access token (refresh tokens stay valid),
// as when the org's session timeout passes.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	s.tokens = map[string]*grant{}
	s.mu.Unlock()
}

// SetAPIUsage sets the number of API requests used today.
func (s *Server) SetAPIUsage(used int) {
	s.mu.Lock()
	s.used = used
	s.mu.Unlock()
}

// APIUsage returns the requests used today and the daily limit.
func (s *Server) APIUsage() (used, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, s.opts.DailyLimit
}

// Calls returns the number of API calls answered per resource (counted calls
// only: not /services/data/, OAuth or identity).
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// ResetCalls clears the call log (not the daily usage).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	s.calls = map[string]int{}
	s.mu.Unlock()
}

// takeFault returns the fault for this call, if any; s.mu is held.
func (s *Server) takeFault(resource, method string) *Fault {
	for i, f := range s.faults {
		if f.Resource != resource && (f.Resource != "" || resource == "versions") {
			continue
		}
		if f.Method != "" && f.Method != method {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			return nil
		}
		f.Times--
		if f.Times <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		return f
	}
	return nil
}

func (f *Fault) write(w http.ResponseWriter) {
	if f.Body != "" {
		ct := f.ContentType
		if ct == "" {
			ct = "text/html"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	writeErrors(w, f.Status, apiError{Message: msg, ErrorCode: f.ErrorCode})
}
