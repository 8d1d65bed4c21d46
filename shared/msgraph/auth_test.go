package msgraph

import (
	"net/http"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// renewingGraph is a local Graph side whose token source mints a new
// delegated token each time a new source is made, counting them.
func renewingGraph(t *testing.T, mint func(fg *fakegraph.Server, upn string) string) (*fakegraph.Server, *Side, *atomic.Int32) {
	t.Helper()
	fg := fakegraph.New(fakegraph.Options{})
	upn := "user@contoso.test"
	fg.AddMailbox(upn, "Test User")
	var made atomic.Int32
	src := NewRenewable(func() oauth2.TokenSource {
		made.Add(1)
		return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: mint(fg, upn), TokenType: "Bearer"})
	})
	c, err := New(Options{BaseURL: "http://graph.local/v1.0", TokenSource: src, HTTPClient: &http.Client{Transport: fg.Transport()}})
	if err != nil {
		t.Fatal(err)
	}
	return fg, NewSide(c, SideOptions{}), &made
}

// TestExpiredTokenIsRenewedOnce: a token that expires in flight gets a 401
// InvalidAuthenticationToken; the client asks its source for a new one and
// the read goes through (the previous client reported "needs reconnect").
func TestExpiredTokenIsRenewedOnce(t *testing.T) {
	fg, side, made := renewingGraph(t, func(fg *fakegraph.Server, upn string) string { return fg.Token(upn) })
	scope := item.Scope{Kind: item.Contact}
	ch, err := side.Changes(t.Context(), scope, "")
	if err != nil {
		t.Fatal(err)
	}
	fg.ExpireAccessTokens()
	if _, err := side.Changes(t.Context(), scope, ch.Cursor); err != nil {
		t.Fatalf("after the token expired: %v, want the read to go through with a new token", err)
	}
	if got := made.Load(); got != 2 {
		t.Errorf("%d token sources made, want 2 (one renewal)", got)
	}
}

// TestSecond401MeansReconnect: when the new token is refused too, the
// client stops after one renewal with fault.Reconnect.
func TestSecond401MeansReconnect(t *testing.T) {
	fg, side, made := renewingGraph(t, func(fg *fakegraph.Server, upn string) string {
		tok := fg.Token(upn)
		fg.ExpireAccessTokens() // every token is dead on arrival
		return tok
	})
	before, _ := fg.Requests()
	_, err := side.Changes(t.Context(), item.Scope{Kind: item.Contact}, "")
	if !fault.Is(err, fault.Reconnect) {
		t.Fatalf("err = %v, want Reconnect", err)
	}
	after, _ := fg.Requests()
	if got := after - before; got != 2 {
		t.Errorf("%d requests, want 2 (the first and one retry)", got)
	}
	if got := made.Load(); got != 2 {
		t.Errorf("%d token sources made, want 2", got)
	}
}

// TestSameTokenAgainMeansReconnect: a source that cannot renew (it hands
// back the refused token) is not retried against Graph.
func TestSameTokenAgainMeansReconnect(t *testing.T) {
	fg := fakegraph.New(fakegraph.Options{})
	upn := "user@contoso.test"
	fg.AddMailbox(upn, "Test User")
	tok := fg.Token(upn)
	fg.ExpireAccessTokens()
	c, err := New(Options{BaseURL: "http://graph.local/v1.0", HTTPClient: &http.Client{Transport: fg.Transport()},
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok})})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewSide(c, SideOptions{}).Changes(t.Context(), item.Scope{Kind: item.Contact}, "")
	if !fault.Is(err, fault.Reconnect) {
		t.Fatalf("err = %v, want Reconnect", err)
	}
	if n, _ := fg.Requests(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// TestMalformedDeltaTokenRestartsTheResource: a stored delta link the
// service calls malformed (400) makes that resource start over, like a 410,
// with nothing reported twice (the previous client failed on it for ever).
func TestMalformedDeltaTokenRestartsTheResource(t *testing.T) {
	fg, side, upn := localGraph(t, fakegraph.Options{})
	ctx := t.Context()
	contacts := item.Scope{Kind: item.Contact}
	start, err := side.Changes(ctx, contacts, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := side.Create(ctx, item.Contact, []item.Record{{Kind: item.Contact, Fields: map[string]string{item.LastName: "Lee", item.Email: "ann@acme.test"}}}, []string{"m1"}); err != nil {
		t.Fatal(err)
	}
	mails := item.Scope{Kind: item.SharedEmail}
	m0, err := side.SharedEmails(ctx, mails, "")
	if err != nil {
		t.Fatal(err)
	}
	msg := email(t, side, "Quote", "bob@acme.test")
	m1, err := side.SharedEmails(ctx, mails, m0.Cursor)
	if err != nil || len(m1.Records) != 1 {
		t.Fatalf("shared e-mails: %v %+v", err, m1.Records)
	}
	if err := side.MarkShared(ctx, msg, "00T000000000001"); err != nil {
		t.Fatal(err)
	}
	fg.CorruptDeltaTokens(upn)
	ch, err := side.Changes(ctx, contacts, start.Cursor)
	if err != nil {
		t.Fatalf("contacts after a malformed token: %v", err)
	}
	if !ch.Full || len(ch.Records) != 1 {
		t.Errorf("contacts: full %v, %d records; want a full read of the one contact", ch.Full, len(ch.Records))
	}
	m2, err := side.SharedEmails(ctx, mails, m1.Cursor)
	if err != nil {
		t.Fatalf("e-mails after a malformed token: %v", err)
	}
	if len(m2.Records) != 0 {
		t.Errorf("the restart reported %d e-mails, want none (the one there is shared)", len(m2.Records))
	}
	again, err := side.Changes(ctx, contacts, ch.Cursor)
	if err != nil || again.Full || len(again.Records) != 0 {
		t.Errorf("the next round: full %v, %d records, %v; want an empty incremental round", again.Full, len(again.Records), err)
	}
}

func TestBadTokenErrorsExpire(t *testing.T) {
	tests := []struct {
		name, code, msg string
		want            fault.Class
	}{
		{"badly formed", "BadRequest", "Badly formed token.", fault.Expired},
		{"malformed", "BadRequest", "The delta token is malformed.", fault.Expired},
		{"sync state invalid", "syncStateInvalid", "x", fault.Expired},
		{"resync required", "resyncRequired", "x", fault.Expired},
		{"invalid sync state text", "ErrorInvalidSyncStateData", "The sync state data is corrupt or otherwise invalid.", fault.Expired},
		{"another bad request", "ErrorInvalidUrlQuery", "The $select is not supported.", fault.Permanent},
	}
	for _, tc := range tests {
		err := badToken(&fault.Error{Class: fault.Permanent, Code: tc.code, Message: tc.msg})
		if got := fault.ClassOf(err); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := fault.ClassOf(badToken(&fault.Error{Class: fault.Throttled, Code: "x", Message: "token invalid"})); got != fault.Throttled {
		t.Errorf("a throttled answer became %v", got)
	}
}
