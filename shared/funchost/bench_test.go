package funchost

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// BenchmarkInvocationOverhead measures decode+dispatch+encode of one invocation
// with a function that does nothing, i.e. the protocol's cost per call.
func BenchmarkInvocationOverhead(b *testing.B) {
	for _, fx := range []struct{ fixture, path string }{
		{"queue_quoted.json", "/syncworker"},
		{"timer_with_status.json", "/scheduler"},
		{"http_query_string.json", "/echo"},
	} {
		body, err := os.ReadFile("testdata/" + fx.fixture)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.TrimSuffix(fx.fixture, ".json"), func(b *testing.B) {
			s := newTestServer(b, &captured{})
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, fx.path, strings.NewReader(string(body)))
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
			b.ReportMetric(float64(len(body)), "request-bytes/op")
		})
	}
}
