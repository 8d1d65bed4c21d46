package fakegraph

import (
	"net/http"
	"strings"
	"testing"
)

func mail(subject string, to ...string) map[string]any {
	var rs []any
	for _, a := range to {
		rs = append(rs, map[string]any{"emailAddress": map[string]any{"address": a}})
	}
	return map[string]any{"message": map[string]any{"subject": subject, "body": map[string]any{"contentType": "Text", "content": "Hello"},
		"toRecipients": rs}}
}

// TestSendMail: sendMail answers 202 with no body, the message is recorded
// for tests, saved in Sent Items and delivered to a mailbox of this server;
// with saveToSentItems false no copy is kept; an app token sends as the
// mailbox named in the path.
func TestSendMail(t *testing.T) {
	r := newRig(t, Options{})
	r.s.AddMailbox("grace@contoso.test", "Grace")
	st, out, _ := r.do(http.MethodPost, "me/sendMail", mail("Hi Grace", "grace@contoso.test"))
	if st != http.StatusAccepted || out != nil {
		t.Fatalf("sendMail: %d %v, want 202 and no body", st, out)
	}
	sent := r.s.Sent()
	if len(sent) != 1 || sent[0].From != r.upn || sent[0].Subject != "Hi Grace" || sent[0].To[0] != "grace@contoso.test" || sent[0].Body != "Hello" {
		t.Fatalf("recorded %+v", sent)
	}
	_, items, _ := r.do(http.MethodGet, "me/mailFolders/sentitems/messages", nil)
	if v := values(items); len(v) != 1 || v[0]["subject"] != "Hi Grace" {
		t.Errorf("Sent Items: %v", items)
	}
	r.tok = r.s.Token("grace@contoso.test")
	_, inbox, _ := r.do(http.MethodGet, "me/mailFolders/inbox/messages", nil)
	if v := values(inbox); len(v) != 1 || v[0]["subject"] != "Hi Grace" {
		t.Errorf("Grace's Inbox: %v", inbox)
	}
	r.tok = r.s.AppToken()
	body := mail("From the service", "someone@fabrikam.test")
	body["saveToSentItems"] = false
	if st, out, _ := r.do(http.MethodPost, "users/grace@contoso.test/sendMail", body); st != http.StatusAccepted {
		t.Fatalf("app-only sendMail: %d %v", st, out)
	}
	r.tok = r.s.Token("grace@contoso.test")
	if _, items, _ := r.do(http.MethodGet, "me/mailFolders/sentitems/messages", nil); len(values(items)) != 0 {
		t.Errorf("saveToSentItems false kept a copy: %v", items)
	}
	if got := r.s.Sent(); len(got) != 2 || got[1].From != "grace@contoso.test" {
		t.Errorf("recorded %+v", got)
	}
}

// TestSendMailRefusals: Graph's recorded answers for a message without
// recipients, an address it cannot resolve (two joined by ";") and an
// unknown parameter; none is recorded.
func TestSendMailRefusals(t *testing.T) {
	r := newRig(t, Options{})
	for name, tc := range map[string]struct {
		body      map[string]any
		code, msg string
	}{
		"no recipients": {mail("x"), "ErrorInvalidRecipients", "A message can't be sent because it contains no recipients."},
		"joined":        {mail("x", "a@b.test;c@d.test"), "ErrorInvalidRecipients", "isn't resolved"},
		"unknown":       {map[string]any{"message": mail("x", "a@b.test")["message"], "urgent": true}, "RequestBodyRead", "'urgent'"},
	} {
		st, out, _ := r.do(http.MethodPost, "me/sendMail", tc.body)
		e, _ := out["error"].(map[string]any)
		if st != http.StatusBadRequest || e["code"] != tc.code || !strings.Contains(e["message"].(string), tc.msg) {
			t.Errorf("%s: %d %v, want 400 %s", name, st, out, tc.code)
		}
	}
	if n := len(r.s.Sent()); n != 0 {
		t.Errorf("%d refused messages recorded", n)
	}
}

// TestSendMailBounce: a bouncing address is still accepted (202: Graph only
// takes the message in); the sender finds a non-delivery report in the Inbox.
func TestSendMailBounce(t *testing.T) {
	r := newRig(t, Options{})
	r.s.Bounce("gone@fabrikam.test")
	if st, out, _ := r.do(http.MethodPost, "me/sendMail", mail("Status", "gone@fabrikam.test")); st != http.StatusAccepted {
		t.Fatalf("sendMail: %d %v", st, out)
	}
	if s := r.s.Sent(); len(s) != 1 || !s[0].Bounced {
		t.Errorf("recorded %+v, want one bounced", s)
	}
	_, inbox, _ := r.do(http.MethodGet, "me/mailFolders/inbox/messages", nil)
	if v := values(inbox); len(v) != 1 || v[0]["subject"] != "Undeliverable: Status" {
		t.Errorf("Inbox: %v, want the non-delivery report", inbox)
	}
}
