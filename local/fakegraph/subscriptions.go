package fakegraph

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// subscription is a change-notification subscription.
type subscription struct {
	id           string
	mailbox      string
	kind         string
	container    string // "" = any
	resource     string
	changeTypes  []string
	url          string
	lifecycleURL string
	clientState  string
	expires      time.Time
}

func (sub *subscription) json() map[string]any {
	out := map[string]any{
		"id": sub.id, "resource": sub.resource, "changeType": strings.Join(sub.changeTypes, ","),
		"notificationUrl": sub.url, "expirationDateTime": sub.expires.Format(time.RFC3339Nano),
		"clientState": nil, "latestSupportedTlsVersion": "v1_2",
	}
	if sub.lifecycleURL != "" {
		out["lifecycleNotificationUrl"] = sub.lifecycleURL
	}
	return out
}

// delivery is one POST to a webhook, sent after the request that caused it.
type delivery struct {
	url  string
	body []byte
}

// parseResource maps a subscription resource to (mailbox, kind, container).
func (s *Server) parseResource(who tokenInfo, res string) (*mailbox, string, string, error) {
	seg := strings.Split(strings.Trim(res, "/"), "/")
	var m *mailbox
	switch {
	case strings.EqualFold(seg[0], "me") && who.mailbox != "":
		m, seg = s.mailboxes[who.mailbox], seg[1:]
	case strings.EqualFold(seg[0], "users") && len(seg) > 1:
		m, seg = s.mailboxFor(seg[1]), seg[2:]
	}
	if m == nil || who.mailbox != "" && who.mailbox != m.id {
		return nil, "", "", fmt.Errorf("unknown or forbidden mailbox in resource")
	}
	c := &call{s: s, m: m}
	// mailFolders('Inbox') is accepted as well as mailFolders/{id}.
	if len(seg) > 0 && strings.HasPrefix(strings.ToLower(seg[0]), "mailfolders(") {
		name := strings.Trim(seg[0][len("mailFolders("):], "')")
		seg = append([]string{"mailFolders", name}, seg[1:]...)
	}
	at := func(i int, n string) bool { return len(seg) > i && strings.EqualFold(seg[i], n) }
	switch {
	case len(seg) == 1 && at(0, "events"):
		return m, kEvent, m.calendar, nil
	case len(seg) == 1 && at(0, "contacts"):
		return m, kContact, "", nil
	case len(seg) == 1 && at(0, "messages"):
		return m, kMessage, "", nil
	case len(seg) == 3 && at(0, "contactFolders") && at(2, "contacts"):
		if f := c.folder(kContactFolder, seg[1]); f != nil {
			return m, kContact, f.id, nil
		}
	case len(seg) == 3 && at(0, "mailFolders") && at(2, "messages"):
		if f := c.folder(kMailFolder, seg[1]); f != nil {
			return m, kMessage, f.id, nil
		}
	case len(seg) == 4 && at(0, "todo") && at(1, "lists") && at(3, "tasks"):
		if f := c.folder(kTaskList, seg[2]); f != nil {
			return m, kTask, f.id, nil
		}
	}
	return nil, "", "", fmt.Errorf("resource %q is not supported", res)
}

func (s *Server) serveSubscriptions(who tokenInfo, method string, seg []string, body []byte) response {
	switch {
	case len(seg) == 0 && method == http.MethodPost:
		return s.createSubscription(who, body)
	case len(seg) == 0 && method == http.MethodGet:
		s.mu.Lock()
		defer s.mu.Unlock()
		var out []map[string]any
		for _, sub := range s.subs {
			if who.mailbox == "" || who.mailbox == sub.mailbox {
				out = append(out, sub.json())
			}
		}
		return ok(map[string]any{"value": nonNil(out)})
	case len(seg) == 1:
		s.mu.Lock()
		defer s.mu.Unlock()
		sub, found := s.subs[seg[0]]
		if !found || who.mailbox != "" && who.mailbox != sub.mailbox {
			return fail(&apiError{status: 404, code: "ResourceNotFound", message: "The object was not found."})
		}
		switch method {
		case http.MethodGet:
			return ok(sub.json())
		case http.MethodDelete:
			delete(s.subs, sub.id)
			return response{status: http.StatusNoContent}
		case http.MethodPatch:
			b, aerr := readBody(body)
			if aerr != nil {
				return fail(aerr)
			}
			exp, aerr := s.expiry(b)
			if aerr != nil {
				return fail(aerr)
			}
			sub.expires = exp
			return ok(sub.json())
		}
	}
	return fail(&apiError{status: 405, code: "MethodNotAllowed", message: "Method not allowed."})
}

func (s *Server) expiry(b map[string]any) (time.Time, *apiError) {
	exp, err := time.Parse(time.RFC3339Nano, str(b["expirationDateTime"]))
	if err != nil {
		return time.Time{}, badRequest("InvalidRequest", "expirationDateTime is required.")
	}
	now := s.now()
	if !exp.After(now) {
		return time.Time{}, badRequest("InvalidRequest", "Subscription expiration can only be in the future.")
	}
	if exp.After(now.Add(MaxSubscriptionMinutes * time.Minute)) {
		return time.Time{}, badRequest("InvalidRequest", fmt.Sprintf("Subscription expiration exceeds the maximum allowed of %d minutes.", MaxSubscriptionMinutes))
	}
	if exp.Before(now.Add(45 * time.Minute)) {
		exp = now.Add(45 * time.Minute) // Graph raises short lifetimes to 45 minutes.
	}
	return exp.UTC(), nil
}

func (s *Server) createSubscription(who tokenInfo, body []byte) response {
	b, aerr := readBody(body)
	if aerr != nil {
		return fail(aerr)
	}
	for k := range b {
		switch k {
		case "changeType", "notificationUrl", "lifecycleNotificationUrl", "resource", "expirationDateTime",
			"clientState", "latestSupportedTlsVersion", "@odata.type":
		default:
			return fail(badRequest("RequestBodyRead", "The property '"+k+"' does not exist on type 'microsoft.graph.subscription'."))
		}
	}
	if len(str(b["clientState"])) > 128 {
		return fail(badRequest("InvalidRequest", "clientState is limited to 128 characters."))
	}
	notifyURL, lifeURL := str(b["notificationUrl"]), str(b["lifecycleNotificationUrl"])
	if u, err := url.Parse(notifyURL); err != nil || u.Host == "" {
		return fail(badRequest("InvalidRequest", "notificationUrl must be an absolute URL."))
	}
	var types []string
	for _, t := range strings.Split(str(b["changeType"]), ",") {
		t = strings.TrimSpace(t)
		if t != "created" && t != "updated" && t != "deleted" {
			return fail(badRequest("InvalidRequest", "changeType must be created, updated and/or deleted."))
		}
		types = append(types, t)
	}
	s.mu.Lock()
	m, kind, container, err := s.parseResource(who, str(b["resource"]))
	var exp time.Time
	if err == nil {
		exp, aerr = s.expiry(b)
	}
	s.mu.Unlock()
	if err != nil {
		return fail(badRequest("InvalidRequest", err.Error()))
	}
	if aerr != nil {
		return fail(aerr)
	}
	// The validation handshake, as Graph does it, before the subscription exists.
	for _, u := range []string{notifyURL, lifeURL} {
		if u == "" {
			continue
		}
		if err := s.validateEndpoint(u); err != nil {
			return fail(badRequest("ValidationError", "Subscription validation request failed. "+err.Error()))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := &subscription{id: newGUID(), mailbox: m.id, kind: kind, container: container, resource: str(b["resource"]),
		changeTypes: types, url: notifyURL, lifecycleURL: lifeURL, clientState: str(b["clientState"]), expires: exp}
	s.subs[sub.id] = sub
	return response{status: http.StatusCreated, body: sub.json()}
}

// validateEndpoint POSTs ?validationToken=… and wants the token back as text/plain.
func (s *Server) validateEndpoint(endpoint string) error {
	token := "Validation: Testing client application reachability for subscription Request-Id: " + newGUID()
	sep := "?"
	if strings.Contains(endpoint, "?") {
		sep = "&"
	}
	req, err := http.NewRequest(http.MethodPost, endpoint+sep+"validationToken="+url.QueryEscape(token), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("the endpoint did not answer")
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the endpoint answered %d", resp.StatusCode)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		return fmt.Errorf("the response must be text/plain")
	}
	if string(got) != token {
		return fmt.Errorf("the response must exactly match the validationToken query parameter")
	}
	return nil
}

// notify queues notifications for e's change (caller holds s.mu).
func (s *Server) notify(m *mailbox, e *entry, changeType string) {
	now := s.now()
	for _, sub := range s.subs {
		if sub.mailbox != m.id || sub.kind != e.kind || sub.container != "" && sub.container != e.container || now.After(sub.expires) {
			continue
		}
		wanted := false
		for _, t := range sub.changeTypes {
			wanted = wanted || t == changeType
		}
		if !wanted {
			continue
		}
		odataType := map[string]string{kContact: "#Microsoft.Graph.Contact", kEvent: "#Microsoft.Graph.Event", kMessage: "#Microsoft.Graph.Message", kTask: "#Microsoft.Graph.todoTask"}[e.kind]
		res := fmt.Sprintf("Users/%s/%ss/%s", m.id, strings.TrimPrefix(odataType, "#Microsoft.Graph."), e.id)
		n := map[string]any{
			"subscriptionId": sub.id, "subscriptionExpirationDateTime": sub.expires.Format(time.RFC3339Nano),
			"changeType": changeType, "resource": res, "clientState": sub.clientState, "tenantId": s.opts.TenantID,
			"resourceData": map[string]any{"@odata.type": odataType, "@odata.id": res, "@odata.etag": `W/"` + e.changeKey() + `"`, "id": e.id},
		}
		b, _ := json.Marshal(map[string]any{"value": []any{n}})
		s.pending = append(s.pending, delivery{url: sub.url, body: b})
	}
}

// deliver sends queued notifications (after the request that caused them).
func (s *Server) deliver() {
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, d := range pending {
		resp, err := s.opts.HTTPClient.Post(d.url, "application/json", bytes.NewReader(d.body))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}

// Lifecycle sends a lifecycle notification (reauthorizationRequired,
// subscriptionRemoved or missed) for a subscription, to its
// lifecycleNotificationUrl (or notificationUrl when it has none).
// subscriptionRemoved also deletes the subscription, as Graph does.
func (s *Server) Lifecycle(subscriptionID, event string) error {
	s.mu.Lock()
	sub, found := s.subs[subscriptionID]
	if !found {
		s.mu.Unlock()
		return fmt.Errorf("fakegraph: no subscription %q", subscriptionID)
	}
	if event == "subscriptionRemoved" {
		delete(s.subs, subscriptionID)
	}
	target := sub.lifecycleURL
	if target == "" {
		target = sub.url
	}
	n := map[string]any{"subscriptionId": sub.id, "subscriptionExpirationDateTime": sub.expires.Format(time.RFC3339Nano),
		"lifecycleEvent": event, "clientState": sub.clientState, "tenantId": s.opts.TenantID, "resource": sub.resource}
	b, _ := json.Marshal(map[string]any{"value": []any{n}})
	s.pending = append(s.pending, delivery{url: target, body: b})
	s.mu.Unlock()
	s.deliver()
	return nil
}

// Subscriptions returns the ids of the live subscriptions of a mailbox.
func (s *Server) Subscriptions(upn string) map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]time.Time{}
	m := s.mailboxFor(upn)
	for _, sub := range s.subs {
		if m != nil && sub.mailbox == m.id {
			out[sub.id] = sub.expires
		}
	}
	return out
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
