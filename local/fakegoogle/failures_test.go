package fakegoogle

import "testing"

// TestClearFailures: failures queued with FailNext and FailAt answer the
// requests they were armed for, and none is left once cleared.
func TestClearFailures(t *testing.T) {
	c := newClient(t)
	c.s.FailNext("tasks", 429, "rateLimitExceeded", "2")
	if code, body := c.do("GET", "/tasks/v1/users/@me/lists", nil); code != 429 || errReason(body) != "rateLimitExceeded" {
		t.Fatalf("armed 429: %d %v", code, body)
	}
	c.s.FailAt("gmail", 1, 403, "userRateLimitExceeded")
	c.s.FailNext("people", 429, "RATE_LIMIT_EXCEEDED", "")
	if code, _ := c.do("GET", "/gmail/v1/users/me/labels", nil); code != 200 {
		t.Fatalf("request skipped by FailAt: %d, want 200", code)
	}
	c.s.ClearFailures()
	for _, path := range []string{"/gmail/v1/users/me/labels", "/v1/contactGroups", "/tasks/v1/users/@me/lists"} {
		if code, body := c.do("GET", path, nil); code != 200 {
			t.Errorf("%s after ClearFailures: %d %v, want 200", path, code, body)
		}
	}
	c.s.FailNext("calendar", 403, "rateLimitExceeded", "")
	if code, body := c.do("GET", "/calendar/v3/calendars/primary/events", nil); code != 403 || errReason(body) != "rateLimitExceeded" {
		t.Fatalf("failure armed after ClearFailures: %d %v", code, body)
	}
}
