package notifications

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAnswersNotImplemented(t *testing.T) {
	rec := httptest.NewRecorder()
	New().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/notifications/x", nil))
	if rec.Code != http.StatusNotImplemented {
		t.Errorf("status %d, want 501", rec.Code)
	}
	if got := rec.Body.String(); !strings.Contains(got, "not built yet") {
		t.Errorf("body %q does not say what is missing", got)
	}
}
