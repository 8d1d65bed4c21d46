package tracking

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkPixel measures the pixel handler: a known token whose open is
// recorded (embedded store), a repeat from the same client (deduplicated in
// memory, one token lookup saved), and an unknown token.
func BenchmarkPixel(b *testing.B) {
	cases := []struct {
		name   string
		unique bool
		known  bool
	}{
		{"known-recorded", true, true},
		{"known-deduplicated", false, true},
		{"unknown", true, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			f := newFixture(b, func(cfg *Config) { cfg.MaxOpensPerWindow = 1 << 30 })
			token := "AAAAAAAAAAAAAAAAAAAAAA"
			if c.known {
				var err error
				token, _, err = f.tr.Mint(b.Context(), "u1", "msg", 2)
				if err != nil {
					b.Fatal(err)
				}
			}
			f.clock.Add(time.Hour)
			path := Prefix + "/" + token + ".gif"
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", path, nil)
				req.Header.Set("User-Agent", outlook)
				ip := "203.0.113.9"
				if c.unique {
					i++
					ip = fmt.Sprintf("198.%d.%d.%d", i>>16&255, i>>8&255, i&255)
				}
				req.Header.Set("X-Forwarded-For", ip)
				rec := httptest.NewRecorder()
				f.tr.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}

// BenchmarkClassify measures classification alone.
func BenchmarkClassify(b *testing.B) {
	nets := DefaultNetworks()
	h := Hit{Method: "GET", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
		Sent: time.Unix(0, 0), At: time.Unix(3600, 0)}
	b.ReportAllocs()
	for b.Loop() {
		_ = Classify(h, nets, DefaultPrefetchWindow)
	}
}
