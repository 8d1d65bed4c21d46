package fakegraph

import (
	"net/http"
	"testing"
)

// Shapes from microsoftgraph/microsoft-graph-docs issue #7776 (a read-state
// toggle comes back as id, isRead and parentFolderId only) and the message
// resource page (flag is a followupFlag). See FIDELITY.md.
func TestMessagesDeltaReportsReadAndFlagChangesAsLightweightEntries(t *testing.T) {
	r := newRig(t, Options{})
	fid := r.create("me/mailFolders", map[string]any{"displayName": "Salesforce Emails"})
	read := r.create("me/mailFolders/"+fid+"/messages", map[string]any{"subject": "Quote",
		"from": map[string]any{"emailAddress": map[string]any{"address": "ann@acme.test"}}, "toRecipients": []any{}})
	edited := r.create("me/mailFolders/"+fid+"/messages", map[string]any{"subject": "Offer"})
	link := "me/mailFolders/" + fid + "/messages/delta?$select=subject,from,toRecipients,changeKey"
	st, out, _ := r.do(http.MethodGet, link, nil, `IdType="ImmutableId"`)
	if st != 200 {
		t.Fatalf("first round: %d %v", st, out)
	}
	first := values(out)
	if len(first) != 2 || first[0]["subject"] != "Quote" {
		t.Fatalf("first round = %v", first)
	}
	if _, has := first[0]["toRecipients"]; has {
		t.Errorf("an empty toRecipients is reported; Graph leaves the property out")
	}
	if _, has := first[1]["from"]; has {
		t.Errorf("a draft without sender reports from; Graph leaves it out")
	}
	delta := out["@odata.deltaLink"].(string)

	if st, out, _ := r.do(http.MethodPatch, "me/messages/"+read, map[string]any{"isRead": true}, `IdType="ImmutableId"`); st != 200 {
		t.Fatalf("isRead PATCH: %d %v", st, out)
	}
	if st, out, _ := r.do(http.MethodPatch, "me/messages/"+read, map[string]any{"flag": map[string]any{"flagStatus": "flagged"}}, `IdType="ImmutableId"`); st != 200 {
		t.Fatalf("flag PATCH: %d %v", st, out)
	}
	if st, out, _ := r.do(http.MethodPatch, "me/messages/"+edited, map[string]any{"subject": "Offer 2"}, `IdType="ImmutableId"`); st != 200 {
		t.Fatalf("subject PATCH: %d %v", st, out)
	}
	st, out, _ = r.do(http.MethodGet, delta, nil, `IdType="ImmutableId"`)
	if st != 200 {
		t.Fatalf("second round: %d %v", st, out)
	}
	got := values(out)
	if len(got) != 2 {
		t.Fatalf("second round = %v, want two entries", got)
	}
	light := got[0]
	if light["id"] != read || light["isRead"] != true || light["parentFolderId"] != fid || light["flag"] == nil {
		t.Errorf("lightweight entry = %v, want id, isRead, flag and parentFolderId", light)
	}
	for _, k := range []string{"subject", "from", "changeKey", "lastModifiedDateTime"} {
		if _, has := light[k]; has {
			t.Errorf("lightweight entry carries %s: %v", k, light)
		}
	}
	if got[1]["id"] != edited || got[1]["subject"] != "Offer 2" || got[1]["changeKey"] == nil {
		t.Errorf("a subject change = %v, want the full entry", got[1])
	}
}

func TestUnknownSelectAndBadFlagAreRejected(t *testing.T) {
	r := newRig(t, Options{})
	id := r.create("me/messages", map[string]any{"subject": "Hi"})
	for _, tc := range []struct{ name, path, code string }{
		{"message", "me/messages/" + id + "?$select=subject,isJunk", "RequestBroker--ParseUri"},
		{"event list", "me/events?$select=subject,madeUp", "RequestBroker--ParseUri"},
		{"contact on a user path", "users/" + r.upn + "/contacts?$select=nickname2", "RequestBroker--ParseUri"},
	} {
		st, out, _ := r.do(http.MethodGet, tc.path, nil)
		if st != 400 || errCode(out) != tc.code {
			t.Errorf("%s: %d %v, want 400 %s", tc.name, st, out, tc.code)
		}
	}
	if st, out, _ := r.do(http.MethodGet, "me/messages/"+id+"?$select=subject,internetMessageId,flag,isRead", nil); st != 200 {
		t.Errorf("known properties: %d %v", st, out)
	}
	if st, out, _ := r.do(http.MethodPatch, "me/messages/"+id, map[string]any{"flag": map[string]any{"flagStatus": "red"}}); st != 400 {
		t.Errorf("bad flagStatus: %d %v, want 400", st, out)
	}
}

// Sources: graph/errors (401 InvalidAuthenticationToken), the recorded
// "Lifetime validation failed, the token is expired." answer, and
// graph/delta-query-overview with Microsoft's devblog on delta token
// lifetime (a token the service cannot use is a 400 BadRequest).
func TestInjectedTokenFaults(t *testing.T) {
	r := newRig(t, Options{})
	fid := r.create("me/contactFolders", map[string]any{"displayName": "Business Contacts"})
	st, out, _ := r.do(http.MethodGet, "me/contactFolders/"+fid+"/contacts/delta", nil)
	if st != 200 {
		t.Fatalf("delta: %d %v", st, out)
	}
	link := out["@odata.deltaLink"].(string)
	r.s.CorruptDeltaTokens(r.upn)
	if st, out, _ := r.do(http.MethodGet, link, nil); st != 400 || errCode(out) != "BadRequest" {
		t.Errorf("corrupted token: %d %v, want 400 BadRequest", st, out)
	}
	if st, out, _ := r.do(http.MethodGet, "me/contactFolders/"+fid+"/contacts/delta", nil); st != 200 {
		t.Errorf("a new round after corruption: %d %v", st, out)
	}
	r.s.ExpireAccessTokens()
	if st, out, _ := r.do(http.MethodGet, "me/contactFolders", nil); st != 401 || errCode(out) != "InvalidAuthenticationToken" {
		t.Errorf("expired token: %d %v, want 401 InvalidAuthenticationToken", st, out)
	}
	r.tok = r.s.Token(r.upn)
	if st, out, _ := r.do(http.MethodGet, "me/contactFolders", nil); st != 200 {
		t.Errorf("a new token: %d %v", st, out)
	}
}
