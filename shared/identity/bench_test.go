package identity_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/crmsync/crmsync/shared/access"
)

func BenchmarkBearerValidate(b *testing.B) {
	f := newFixture(b)
	bearer, _ := f.bearer(b)
	tok, err := f.idp.AccessToken(userA, dashboard, addinScope)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := bearer.Validate(ctx, tok); err != nil {
		b.Fatal(err)
	}
	before := bearer.KeySet().Fetches()
	for b.Loop() {
		if _, err := bearer.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(bearer.KeySet().Fetches()-before)/float64(b.N), "jwks-fetches/op")
}

func BenchmarkSessionDecode(b *testing.B) {
	f := newFixture(b)
	rec := httptest.NewRecorder()
	if _, err := f.sessions.Start(rec, access.Principal{User: "u-1", Org: tenantA}); err != nil {
		b.Fatal(err)
	}
	v := rec.Result().Cookies()[0].Value
	for b.Loop() {
		if _, err := f.sessions.Decode(v); err != nil {
			b.Fatal(err)
		}
	}
}
