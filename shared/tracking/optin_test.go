package tracking

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOptInTrackingIsOffUntilTurnedOn: with OptIn, a token is refused (409
// tracking_off) until the user turns tracking on; turning it off again
// stops new tokens and keeps the opens of messages tracked before, which
// Recent lists with their hashes.
func TestOptInTrackingIsOffUntilTurnedOn(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.OptIn = true })
	ctx := context.Background()
	if on, err := f.tr.Enabled(ctx, "u1"); on || err != nil {
		t.Fatalf("Enabled before any choice = %v, %v; want off", on, err)
	}
	rec := f.do("u1", "POST", Prefix+"/tokens", `{"messageId":"AAMk1=","recipients":1}`)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "tracking_off") {
		t.Fatalf("mint while off: %d %s, want 409 tracking_off", rec.Code, rec.Body)
	}
	if err := f.tr.SetEnabled(ctx, "u1", true); err != nil {
		t.Fatal(err)
	}
	a := f.mint(t, "u1", "AAMk1=", 1)
	f.clock.Add(time.Minute)
	f.fetch("GET", a.Token, "17.58.0.1", "Mozilla/5.0")
	if err := f.tr.SetEnabled(ctx, "u1", false); err != nil {
		t.Fatal(err)
	}
	if rec := f.do("u1", "POST", Prefix+"/tokens", `{"messageId":"AAMk2=","recipients":1}`); rec.Code != http.StatusConflict {
		t.Errorf("mint after turning off: %d, want 409", rec.Code)
	}
	got, err := f.tr.Recent(ctx, "u1", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Message != f.tr.MessageHash("u1", "AAMk1=") || got[0].Opens != 1 || len(got[0].Events) != 1 {
		t.Errorf("Recent = %+v, want the message tracked before with its open", got)
	}
}
