package fakegoogle

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

type client struct {
	t     *testing.T
	s     *Server
	token string
}

func newClient(t *testing.T) *client {
	s := New(Options{})
	access, _ := s.AddUser("u@example.test")
	return &client{t: t, s: s, token: access}
}

// do sends a request and decodes the JSON answer into a map.
func (c *client) do(method, path string, body any, hdr ...string) (int, map[string]any) {
	c.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	r := httptest.NewRequest(method, path, rd)
	r.Header.Set("Authorization", "Bearer "+c.token)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	c.s.ServeHTTP(w, r)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func errReason(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	if ds, ok := e["details"].([]any); ok && len(ds) > 0 {
		return ds[0].(map[string]any)["reason"].(string)
	}
	if es, ok := e["errors"].([]any); ok && len(es) > 0 {
		return es[0].(map[string]any)["reason"].(string)
	}
	if s, ok := e["status"].(string); ok {
		return s
	}
	return ""
}

const conns = "/v1/people/me/connections?personFields=names,metadata&pageSize=2&requestSyncToken=true"

func TestPeopleSyncTokens(t *testing.T) {
	c := newClient(t)
	var names []string
	for _, n := range []string{"Ada", "Grace", "Alan"} {
		code, p := c.do("POST", "/v1/people:createContact", map[string]any{"names": []map[string]string{{"givenName": n}}})
		if code != 200 {
			t.Fatalf("create: %d %v", code, p)
		}
		names = append(names, p["resourceName"].(string))
	}
	if code, m := c.do("GET", "/v1/people/me/connections", nil); code != 400 || errReason(m) != "INVALID_ARGUMENT" {
		t.Errorf("no personFields: %d %v, want 400 INVALID_ARGUMENT", code, m)
	}
	code, p1 := c.do("GET", conns, nil)
	if code != 200 || len(p1["connections"].([]any)) != 2 || p1["nextSyncToken"] != nil {
		t.Fatalf("page 1: %d %v", code, p1)
	}
	// A page token with other parameters is refused.
	if code, _ := c.do("GET", "/v1/people/me/connections?personFields=names&pageSize=2&requestSyncToken=true&pageToken="+p1["nextPageToken"].(string), nil); code != 400 {
		t.Errorf("page token with other params: %d, want 400", code)
	}
	code, p2 := c.do("GET", conns+"&pageToken="+p1["nextPageToken"].(string), nil)
	tok, _ := p2["nextSyncToken"].(string)
	if code != 200 || len(p2["connections"].([]any)) != 1 || tok == "" {
		t.Fatalf("page 2: %d %v", code, p2)
	}
	if code, _ := c.do("DELETE", "/v1/"+names[1]+":deleteContact", nil); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	code, inc := c.do("GET", conns+"&syncToken="+url.QueryEscape(tok), nil)
	if code != 200 {
		t.Fatalf("incremental: %d %v", code, inc)
	}
	got := inc["connections"].([]any)
	if len(got) != 1 || got[0].(map[string]any)["metadata"].(map[string]any)["deleted"] != true {
		t.Errorf("incremental after delete: %v, want one person with metadata.deleted", got)
	}
	if code, _ := c.do("GET", "/v1/people/me/connections?personFields=names&requestSyncToken=true&syncToken="+url.QueryEscape(tok), nil); code != 400 {
		t.Errorf("sync token with other params: %d, want 400", code)
	}
	c.s.ExpireSyncTokens("u@example.test")
	if code, m := c.do("GET", conns+"&syncToken="+url.QueryEscape(inc["nextSyncToken"].(string)), nil); code != 400 || errReason(m) != "EXPIRED_SYNC_TOKEN" {
		t.Errorf("expired: %d %v, want 400 EXPIRED_SYNC_TOKEN", code, m)
	}
}

func TestPeopleUpdateEtag(t *testing.T) {
	c := newClient(t)
	_, p := c.do("POST", "/v1/people:createContact", map[string]any{"names": []map[string]string{{"givenName": "Ada"}}})
	name, etag := p["resourceName"].(string), p["etag"].(string)
	upd := "/v1/" + name + ":updateContact?updatePersonFields=names"
	if code, _ := c.do("PATCH", upd, map[string]any{"names": []map[string]string{{"givenName": "X"}}}); code != 400 {
		t.Errorf("no etag: %d, want 400", code)
	}
	if code, _ := c.do("PATCH", upd, map[string]any{"etag": etag, "names": []map[string]string{{"givenName": "A"}, {"givenName": "B"}}}); code != 400 {
		t.Errorf("two names: %d, want 400", code)
	}
	code, p2 := c.do("PATCH", upd, map[string]any{"etag": etag, "names": []map[string]string{{"givenName": "Ada B"}}})
	if code != 200 || p2["etag"] == etag {
		t.Fatalf("update: %d %v", code, p2)
	}
	if code, m := c.do("PATCH", upd, map[string]any{"etag": etag, "names": []map[string]string{{"givenName": "Stale"}}}); code != 400 || errReason(m) != "failedPrecondition" {
		t.Errorf("stale etag: %d %v, want 400 failedPrecondition", code, m)
	}
	if code, _ := c.do("PATCH", "/v1/"+name+":updateContact?updatePersonFields=memberships", map[string]any{"etag": p2["etag"], "memberships": []any{}}); code != 400 {
		t.Errorf("memberships without a group: %d, want 400", code)
	}
}

const evs = "/calendar/v3/calendars/primary/events"

func TestCalendarSync(t *testing.T) {
	c := newClient(t)
	at := map[string]string{"dateTime": "2026-12-10T10:00:00+01:00", "timeZone": "Europe/Paris"}
	end := map[string]string{"dateTime": "2026-12-10T11:00:00+01:00", "timeZone": "Europe/Paris"}
	code, series := c.do("POST", evs, map[string]any{"summary": "Weekly", "start": at, "end": end, "recurrence": []string{"RRULE:FREQ=WEEKLY;COUNT=4"},
		"extendedProperties": map[string]any{"private": map[string]string{"crmsync": "m1"}}})
	if code != 200 {
		t.Fatalf("insert: %d %v", code, series)
	}
	id := series["id"].(string)
	_, full := c.do("GET", evs+"?timeMin=2026-12-01T00:00:00Z&showDeleted=true", nil)
	tok := full["nextSyncToken"].(string)
	if n := len(full["items"].([]any)); n != 1 {
		t.Fatalf("full: %d items", n)
	}
	if code, m := c.do("GET", evs+"?timeMin=2026-12-01T00:00:00Z&syncToken="+url.QueryEscape(tok), nil); code != 400 || errReason(m) != "invalid" {
		t.Errorf("syncToken+timeMin: %d %v, want 400", code, m)
	}
	// Cancel the second occurrence, move the third.
	if code, _ := c.do("DELETE", evs+"/"+id+"_20261217T090000Z", nil); code != 204 {
		t.Fatalf("cancel occurrence: %d", code)
	}
	if code, m := c.do("PATCH", evs+"/"+id+"_20261224T090000Z", map[string]any{"summary": "Moved"}); code != 200 || m["recurringEventId"] != id {
		t.Fatalf("exception: %d %v", code, m)
	}
	if code, _ := c.do("PATCH", evs+"/"+id+"_20261224T093000Z", map[string]any{"summary": "no such"}); code != 404 {
		t.Errorf("not an occurrence: %d, want 404", code)
	}
	_, inc := c.do("GET", evs+"?syncToken="+url.QueryEscape(tok), nil)
	items := inc["items"].([]any)
	states := map[string]any{}
	for _, it := range items {
		m := it.(map[string]any)
		states[m["id"].(string)] = m["status"]
		if m["originalStartTime"] == nil {
			t.Errorf("exception without originalStartTime: %v", m)
		}
	}
	if len(items) != 2 || states[id+"_20261217T090000Z"] != "cancelled" {
		t.Errorf("incremental: %v", states)
	}
	// Cancelled instances come back even with showDeleted=false.
	_, plain := c.do("GET", evs, nil)
	if n := len(plain["items"].([]any)); n != 3 {
		t.Errorf("list without showDeleted: %d items, want series + moved + cancelled instance", n)
	}
	_, byProp := c.do("GET", evs+"?privateExtendedProperty=crmsync%3Dm1", nil)
	// Exceptions carry the series' private properties.
	if n := len(byProp["items"].([]any)); n != 3 {
		t.Errorf("privateExtendedProperty: %d items, want 3", n)
	}
	if _, none := c.do("GET", evs+"?privateExtendedProperty=crmsync%3Dother", nil); len(none["items"].([]any)) != 0 {
		t.Errorf("privateExtendedProperty of another value matched")
	}
	if code, m := c.do("PATCH", evs+"/"+id, map[string]any{"summary": "x"}, "If-Match", `"stale"`); code != 412 || errReason(m) != "conditionNotMet" {
		t.Errorf("stale If-Match: %d %v", code, m)
	}
	c.s.ExpireSyncTokens("u@example.test")
	if code, m := c.do("GET", evs+"?syncToken="+url.QueryEscape(inc["nextSyncToken"].(string)), nil); code != 410 || errReason(m) != "fullSyncRequired" {
		t.Errorf("expired: %d %v, want 410 fullSyncRequired", code, m)
	}
	if code, _ := c.do("DELETE", evs+"/"+id, nil); code != 204 {
		t.Fatal("delete series")
	}
	if code, m := c.do("DELETE", evs+"/"+id, nil); code != 410 || errReason(m) != "deleted" {
		t.Errorf("delete again: %d %v, want 410 deleted", code, m)
	}
}

func TestTasks(t *testing.T) {
	c := newClient(t)
	_, l := c.do("POST", "/tasks/v1/users/@me/lists", map[string]any{"title": "crmsync"})
	base := "/tasks/v1/lists/" + l["id"].(string) + "/tasks"
	code, tk := c.do("POST", base, map[string]any{"title": "Call", "due": "2026-12-07T15:30:00Z"})
	if code != 200 || tk["due"] != "2026-12-07T00:00:00.000Z" {
		t.Fatalf("insert: %d due=%v, want the date only", code, tk["due"])
	}
	if code, _ := c.do("GET", base+"?maxResults=101", nil); code != 400 {
		t.Errorf("maxResults=101: %d, want 400", code)
	}
	c.do("DELETE", base+"/"+tk["id"].(string), nil)
	_, plain := c.do("GET", base, nil)
	if plain["items"] != nil && len(plain["items"].([]any)) != 0 {
		t.Errorf("deleted task listed without showDeleted: %v", plain["items"])
	}
	_, del := c.do("GET", base+"?showDeleted=true&showHidden=true&updatedMin="+url.QueryEscape(tk["updated"].(string)), nil)
	if items := del["items"].([]any); len(items) != 1 || items[0].(map[string]any)["deleted"] != true {
		t.Errorf("showDeleted: %v", del["items"])
	}
}

func TestTokenEndpoint(t *testing.T) {
	s := New(Options{})
	_, refresh := s.AddUser("u@example.test")
	post := func(form url.Values) (int, map[string]any) {
		r := httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		var m map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &m)
		return w.Code, m
	}
	code, m := post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if code != 200 || m["access_token"] == nil {
		t.Fatalf("refresh: %d %v", code, m)
	}
	s.RevokeRefresh(refresh)
	if code, m := post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}); code != 400 || m["error"] != "invalid_grant" {
		t.Errorf("revoked: %d %v, want 400 invalid_grant", code, m)
	}
	r := httptest.NewRequest("GET", conns, nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("no token: %d", w.Code)
	}
}

// An unchanged occurrence reads as an instance of the series but is no
// exception: listings and sync tokens do not report it.
func TestOccurrenceReadIsNotAnException(t *testing.T) {
	c := newClient(t)
	at := map[string]string{"dateTime": "2026-12-10T09:00:00Z", "timeZone": "UTC"}
	end := map[string]string{"dateTime": "2026-12-10T10:00:00Z", "timeZone": "UTC"}
	_, series := c.do("POST", evs, map[string]any{"summary": "Daily", "start": at, "end": end, "recurrence": []string{"RRULE:FREQ=DAILY;COUNT=5"}})
	id := series["id"].(string)
	_, full := c.do("GET", evs, nil)
	code, inst := c.do("GET", evs+"/"+id+"_20261211T090000Z", nil)
	if code != 200 || inst["recurringEventId"] != id || inst["originalStartTime"] == nil {
		t.Fatalf("occurrence: %d %v", code, inst)
	}
	_, inc := c.do("GET", evs+"?syncToken="+url.QueryEscape(full["nextSyncToken"].(string)), nil)
	if n := len(inc["items"].([]any)); n != 0 {
		t.Errorf("reading an occurrence reported %d changes", n)
	}
	if _, plain := c.do("GET", evs, nil); len(plain["items"].([]any)) != 1 {
		t.Errorf("reading an occurrence added an exception to the listing")
	}
}

func TestGmailHistoryAndAttachments(t *testing.T) {
	c := newClient(t)
	_, lbl := c.do("POST", "/gmail/v1/users/me/labels", map[string]any{"name": "Salesforce"})
	lid := lbl["id"].(string)
	raw := "From: a@example.com\r\nTo: b@example.com\r\nSubject: Hi\r\nMessage-ID: <x@example.com>\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n" +
		"--q\r\nContent-Type: text/plain\r\n\r\nBody\r\n--q\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n/+8=\r\n--q--\r\n"
	_, prof := c.do("GET", "/gmail/v1/users/me/profile", nil)
	start := prof["historyId"].(string)
	code, m := c.do("POST", "/gmail/v1/users/me/messages", map[string]any{"raw": base64.RawURLEncoding.EncodeToString([]byte(raw)), "labelIds": []string{"INBOX"}})
	if code != 200 {
		t.Fatalf("insert: %d %v", code, m)
	}
	id := m["id"].(string)
	c.do("POST", "/gmail/v1/users/me/messages/"+id+"/modify", map[string]any{"addLabelIds": []string{lid}})
	_, h := c.do("GET", "/gmail/v1/users/me/history?startHistoryId="+start+"&historyTypes=labelAdded&labelId="+lid, nil)
	if hs := h["history"].([]any); len(hs) != 1 || hs[0].(map[string]any)["labelsAdded"] == nil {
		t.Errorf("history of label adds: %v", h["history"])
	}
	_, meta := c.do("GET", "/gmail/v1/users/me/messages/"+id+"?format=metadata&metadataHeaders=Subject", nil)
	if hs := meta["payload"].(map[string]any)["headers"].([]any); len(hs) != 1 {
		t.Errorf("metadata headers: %v, want Subject only", hs)
	}
	_, full := c.do("GET", "/gmail/v1/users/me/messages/"+id+"?format=full", nil)
	part := full["payload"].(map[string]any)["parts"].([]any)[1].(map[string]any)
	aid := part["body"].(map[string]any)["attachmentId"].(string)
	_, att := c.do("GET", "/gmail/v1/users/me/messages/"+id+"/attachments/"+aid, nil)
	if d := att["data"].(string); d != "_-8" {
		t.Errorf("attachment data %q, want unpadded base64url of ff ef", d)
	}
	c.s.ExpireSyncTokens("u@example.test")
	if code, m := c.do("GET", "/gmail/v1/users/me/history?startHistoryId="+start, nil); code != 404 || errReason(m) != "notFound" {
		t.Errorf("old history id: %d %v, want 404", code, m)
	}
	if code, _ := c.do("GET", "/gmail/v1/users/me/history?startHistoryId=0", nil); code != 404 {
		t.Errorf("history id 0: %d, want 404", code)
	}
}

func TestPeopleBatches(t *testing.T) {
	c := newClient(t)
	many := make([]map[string]any, 201)
	for i := range many {
		many[i] = map[string]any{"contactPerson": map[string]any{"names": []map[string]string{{"givenName": "A"}}}}
	}
	if code, _ := c.do("POST", "/v1/people:batchCreateContacts", map[string]any{"contacts": many, "readMask": "names"}); code != 400 {
		t.Errorf("201 contacts: %d, want 400", code)
	}
	bad := []map[string]any{many[0], {"contactPerson": map[string]any{"names": []map[string]string{{"givenName": "A"}, {"givenName": "B"}}}}}
	if code, _ := c.do("POST", "/v1/people:batchCreateContacts", map[string]any{"contacts": bad, "readMask": "names"}); code != 400 {
		t.Errorf("one invalid contact: %d, want 400", code)
	}
	if _, list := c.do("GET", conns, nil); list["connections"] != nil {
		t.Errorf("a refused batch created contacts: %v", list["connections"])
	}
	code, ok := c.do("POST", "/v1/people:batchCreateContacts", map[string]any{"contacts": many[:2], "readMask": "names"})
	made := ok["createdPeople"].([]any)
	if code != 200 || len(made) != 2 {
		t.Fatalf("batch create: %d %v", code, ok)
	}
	n0 := made[0].(map[string]any)["person"].(map[string]any)["resourceName"].(string)
	if code, _ := c.do("POST", "/v1/people:batchDeleteContacts", map[string]any{"resourceNames": []string{n0, "people/c0"}}); code != 404 {
		t.Errorf("delete with a missing contact: %d, want 404", code)
	}
	if code, _ := c.do("POST", "/v1/people:batchDeleteContacts", map[string]any{"resourceNames": []string{n0}}); code != 200 {
		t.Errorf("batch delete: %d", code)
	}
}

func TestJWTBearerGrant(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	sa := "sa@p.iam.gserviceaccount.com"
	s := New(Options{ServiceAccounts: map[string]ServiceAccount{sa: {Key: &key.PublicKey, Scopes: []string{"s1"}}}})
	s.AddUser("u@example.test")
	now := time.Now()
	grant := func(claims map[string]any, signer *rsa.PrivateKey) (int, map[string]any) {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
		b, _ := json.Marshal(claims)
		unsigned := h + "." + base64.RawURLEncoding.EncodeToString(b)
		sum := sha256.Sum256([]byte(unsigned))
		sig, _ := rsa.SignPKCS1v15(rand.Reader, signer, crypto.SHA256, sum[:])
		form := url.Values{"grant_type": {jwtBearer}, "assertion": {unsigned + "." + base64.RawURLEncoding.EncodeToString(sig)}}
		r := httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		var m map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &m)
		return w.Code, m
	}
	base := func() map[string]any {
		return map[string]any{"iss": sa, "scope": "s1", "aud": "https://oauth2.googleapis.com/token", "sub": "u@example.test", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	if code, m := grant(base(), key); code != 200 || m["access_token"] == nil {
		t.Fatalf("valid grant: %d %v", code, m)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	if code, m := grant(base(), other); code != 400 || m["error"] != "invalid_grant" {
		t.Errorf("wrong key: %d %v", code, m)
	}
	c := base()
	c["scope"] = "s1 s2"
	if code, m := grant(c, key); code != 401 || m["error"] != "unauthorized_client" {
		t.Errorf("scope not granted: %d %v", code, m)
	}
	c = base()
	delete(c, "sub")
	if code, m := grant(c, key); code != 400 {
		t.Errorf("no sub: %d %v", code, m)
	}
	c = base()
	c["exp"] = now.Add(2 * time.Hour).Unix()
	if code, _ := grant(c, key); code != 400 {
		t.Errorf("two-hour token: %d", code)
	}
}

// TestBatch: parts answer in application/http parts with Content-ID
// "response-<id>"; full URLs and other APIs' paths fail their part; Gmail
// takes at most 100 calls.
func TestBatch(t *testing.T) {
	c := newClient(t)
	send := func(path string, parts []string) (int, string) {
		var b strings.Builder
		for i, p := range parts {
			fmt.Fprintf(&b, "--B\r\nContent-Type: application/http\r\nContent-ID: <c%d>\r\n\r\n%s\r\n\r\n", i, p)
		}
		b.WriteString("--B--\r\n")
		r := httptest.NewRequest("POST", path, strings.NewReader(b.String()))
		r.Header.Set("Content-Type", "multipart/mixed; boundary=B")
		r.Header.Set("Authorization", "Bearer "+c.token)
		w := httptest.NewRecorder()
		c.s.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	code, body := send("/batch/calendar/v3", []string{
		"GET /calendar/v3/calendars/primary/events HTTP/1.1\r\n",
		"GET https://www.googleapis.com/calendar/v3/calendars/primary/events HTTP/1.1\r\n",
		"GET /tasks/v1/users/@me/lists HTTP/1.1\r\n",
	})
	if code != 200 || !strings.Contains(body, "Content-Id: response-c0") && !strings.Contains(body, "Content-ID: response-c0") {
		t.Fatalf("batch: %d %s", code, body)
	}
	if strings.Count(body, "HTTP/1.1 200") != 1 || strings.Count(body, "HTTP/1.1 400") != 2 {
		t.Errorf("parts: %s", body)
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = "GET /gmail/v1/users/me/labels HTTP/1.1\r\n"
	}
	if code, _ := send("/batch/gmail/v1", many); code != 400 {
		t.Errorf("101 Gmail calls: %d, want 400", code)
	}
}
