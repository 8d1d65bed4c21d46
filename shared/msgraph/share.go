package msgraph

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// Shared e-mails come from two places: the share folder ("Salesforce
// Emails"), read by its messages delta, and any folder, for messages with the
// share category, read by a $filter on categories with a last-modified
// watermark (messages delta cannot filter on categories). A shared message
// gets the extended property crmsyncShared = CRM id and is skipped from then
// on. The share category is left on the message: it is the user's own mark,
// and removing it would hide from them what was shared.

const messageSelect = "subject,body,from,toRecipients,ccRecipients,sentDateTime,receivedDateTime,lastModifiedDateTime,changeKey,categories,hasAttachments,parentFolderId,internetMessageId"

// SharedEmails reports messages to share since cursor, not yet marked shared.
func (s *Side) SharedEmails(ctx context.Context, scope item.Scope, cur string) (item.Changes, error) {
	cur = s.current(cur)
	ch, err := s.sharedEmails(ctx, scope, cur)
	if fault.Is(err, fault.Gone) && cur != "" {
		s.forgetContainers()
		return s.sharedEmails(ctx, scope, "")
	}
	return ch, err
}

func (s *Side) sharedEmails(ctx context.Context, scope item.Scope, cur string) (item.Changes, error) {
	s.remember("mailFolders", or(scope.Container, DefaultShareFolder), cur)
	fid, err := s.shareFolder(ctx, scope)
	if err != nil {
		return item.Changes{}, err
	}
	c, cerr := parseCursor(cur)
	full := cerr != nil || c.Delta == ""
	if full {
		// Users pick the share category from the master list: make sure it is there.
		if err := s.ensureCategories(ctx); err != nil {
			return item.Changes{}, err
		}
	}
	start := withQuery(s.c.mailbox()+"/mailFolders/"+fid+"/messages/delta", "$select", messageSelect, "$expand", expandProp(sharedProp))
	next := c.Delta
	if full {
		next = start
	}
	entries, link, err := s.c.delta(ctx, next, s.opts.PageSize)
	if fault.Is(err, fault.Expired) && !full {
		full = true
		entries, link, err = s.c.delta(ctx, start, s.opts.PageSize)
	}
	if err != nil {
		return item.Changes{}, err
	}
	category := or(scope.ShareCategory, s.opts.ShareCategory)
	filter := "categories/any(c:c eq " + q(category) + ")"
	if !c.Since.IsZero() {
		filter += " and lastModifiedDateTime ge " + c.Since.UTC().Format(time.RFC3339)
	}
	tagged, err := s.c.list(ctx, withQuery(s.c.mailbox()+"/messages", "$filter", filter, "$select", messageSelect, "$expand", expandProp(sharedProp)))
	if err != nil {
		return item.Changes{}, err
	}
	ch := item.Changes{Kind: item.SharedEmail, Full: full}
	seen := map[string]bool{}
	since := c.Since
	owner := ""
	var full2 []wireMessage
	var partial []string
	for _, raw := range entries {
		var w wireMessage
		if err := json.Unmarshal(raw, &w); err != nil {
			return item.Changes{}, malformed("message", err)
		}
		if w.Removed != nil || w.ID == "" {
			continue
		}
		switch lightweight(raw) {
		case lightIgnore:
			continue // a read-state or flag change: nothing to share
		case lightRead:
			if !slices.Contains(partial, w.ID) {
				partial = append(partial, w.ID)
			}
			continue
		}
		full2 = append(full2, w)
	}
	for _, raw := range tagged {
		var w wireMessage
		if err := json.Unmarshal(raw, &w); err != nil {
			return item.Changes{}, malformed("message", err)
		}
		full2 = append(full2, w)
	}
	// A partial entry that may matter is read in full, 20 to a $batch.
	read, err := s.readMessages(ctx, slices.DeleteFunc(partial, func(id string) bool {
		return slices.ContainsFunc(full2, func(w wireMessage) bool { return w.ID == id })
	}))
	if err != nil {
		return item.Changes{}, err
	}
	for _, w := range append(full2, read...) {
		if seen[w.ID] {
			continue
		}
		seen[w.ID] = true
		if t := parseInstant(w.LastModifiedDateTime); t.After(since) && slices.ContainsFunc(w.Categories, func(c string) bool { return strings.EqualFold(c, category) }) {
			since = t
		}
		if extProp(w.ExtProps, sharedProp) != "" {
			continue // shared before: never twice
		}
		if len(w.ToRecipients)+len(w.CcRecipients) == 0 {
			// Graph leaves out empty recipient lists: a message without any
			// has no one to relate a Task to, and would make a blank one.
			ch.Problems = append(ch.Problems, item.Problem{ID: w.ID, Name: w.Subject, Code: "email-incomplete",
				Reason: "the e-mail has no recipients, so it cannot be shared"})
			continue
		}
		if owner == "" {
			// Read only when there is something to map: an idle check costs
			// just the two queries.
			if owner, err = s.ownerAddress(ctx); err != nil {
				return item.Changes{}, err
			}
		}
		ch.Records = append(ch.Records, emailRecord(w, owner))
	}
	// The watermark is the newest change seen, compared with "ge": the
	// newest message is read again next time and skipped once marked.
	ch.Cursor = cursor{Delta: link, Container: fid, Since: since}.String()
	return ch, nil
}

// How a messages delta entry is read (see lightweight).
const (
	lightFull   = iota // a full entry: use it as it is
	lightIgnore        // a lightweight entry of read state or flag only
	lightRead          // a lightweight entry that may matter: read in full
)

// ignoredChanges are message properties whose change alone never makes a
// message (more) shareable.
var ignoredChanges = []string{"isRead", "flag"}

// lightweight classifies a messages delta entry. Graph answers a change of
// read state or flag with an entry holding only id, the changed property and
// parentFolderId, whatever $select asked for; a full entry always carries the
// changeKey crmsync selects.
func lightweight(raw json.RawMessage) int {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return lightRead
	}
	if _, ok := m["changeKey"]; ok {
		return lightFull
	}
	changed := 0
	for k := range m {
		switch {
		case k == "id" || k == "parentFolderId" || strings.HasPrefix(k, "@"):
		case slices.Contains(ignoredChanges, k):
			changed++
		default:
			return lightRead
		}
	}
	if changed == 0 {
		return lightRead // nothing says what changed: look
	}
	return lightIgnore
}

// readMessages reads messages in full in $batch GETs of up to BatchSize; a
// message gone since the delta was read is left out.
func (s *Side) readMessages(ctx context.Context, ids []string) ([]wireMessage, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	parts := make([]part, len(ids))
	for i, id := range ids {
		parts[i] = part{method: http.MethodGet, path: withQuery(s.c.mailbox()+"/messages/"+id, "$select", messageSelect, "$expand", expandProp(sharedProp))}
	}
	res, err := s.c.batch(ctx, parts)
	if err != nil {
		return nil, err
	}
	var out []wireMessage
	for i, p := range res {
		switch {
		case fault.Is(p.err, fault.Gone):
			continue
		case p.err != nil:
			return nil, p.err
		}
		var w wireMessage
		if err := json.Unmarshal(p.body, &w); err != nil {
			return nil, malformed("message", err)
		}
		if w.ID == "" {
			w.ID = ids[i]
		}
		out = append(out, w)
	}
	return out, nil
}

// emailRecord maps a message to a SharedEmail record.
func emailRecord(w wireMessage, owner string) item.Record {
	addrs := func(rs []wireRecipient) string {
		var out []string
		for _, r := range rs {
			if a := strings.ToLower(strings.TrimSpace(r.EmailAddress.Address)); a != "" {
				out = append(out, a)
			}
		}
		slices.Sort(out)
		return strings.Join(slices.Compact(out), ",")
	}
	// A draft has no from (Graph leaves the property out): the user wrote it.
	from := owner
	if w.From != nil && w.From.EmailAddress.Address != "" {
		from = strings.ToLower(w.From.EmailAddress.Address)
	}
	dir := "Inbound"
	if owner != "" && from == owner {
		dir = "Outbound"
	}
	sent := parseInstant(w.SentDateTime)
	if sent.IsZero() {
		sent = parseInstant(w.ReceivedDateTime)
	}
	f := map[string]string{
		item.Subject: w.Subject, item.From: from, item.To: addrs(w.ToRecipients), item.Cc: addrs(w.CcRecipients),
		item.Direction: dir, item.Description: "", item.Sent: "",
	}
	if !sent.IsZero() {
		f[item.Sent] = sent.Format(time.RFC3339)
	}
	if w.Body != nil {
		f[item.Description] = bodyText(*w.Body)
	}
	f = normalized(f)
	if id := strings.TrimSpace(w.InternetMessageID); id != "" {
		f[item.MessageID] = id // as is: message ids are case-sensitive
	}
	return item.Record{
		Kind: item.SharedEmail, ID: w.ID, Version: w.ChangeKey, Modified: parseInstant(w.LastModifiedDateTime),
		Fields: f, Categories: w.Categories,
	}
}

// ownerAddress is the mailbox owner's address, read once per Side.
func (s *Side) ownerAddress(ctx context.Context) (string, error) {
	s.mu.Lock()
	a := s.address
	s.mu.Unlock()
	if a != "" {
		return a, nil
	}
	var u wireUser
	if err := s.c.getJSON(ctx, withQuery(s.c.mailbox(), "$select", "id,mail,userPrincipalName"), &u); err != nil {
		return "", err
	}
	a = strings.ToLower(or(u.Mail, u.UserPrincipalName))
	s.mu.Lock()
	s.address = a
	s.mu.Unlock()
	return a, nil
}

// Attachments lists a message's attachments (without their content).
func (s *Side) Attachments(ctx context.Context, messageID string) ([]item.Attachment, error) {
	raw, err := s.c.list(ctx, withQuery(s.c.mailbox()+"/messages/"+messageID+"/attachments", "$select", "id,name,contentType,size,isInline"))
	if err != nil {
		return nil, err
	}
	out := make([]item.Attachment, 0, len(raw))
	for _, x := range raw {
		var w wireAttachment
		if err := json.Unmarshal(x, &w); err != nil {
			return nil, malformed("attachment", err)
		}
		out = append(out, item.Attachment{ID: w.ID, Name: w.Name, ContentType: w.ContentType, Size: w.Size, Inline: w.IsInline})
	}
	return out, nil
}

// OpenAttachment streams one attachment's raw content ($value), so large
// files never sit in memory. The stream holds one of the mailbox's request
// slots until it is closed.
func (s *Side) OpenAttachment(ctx context.Context, messageID, attachmentID string) (io.ReadCloser, error) {
	resp, err := s.c.call(ctx, request{method: http.MethodGet, path: s.c.mailbox() + "/messages/" + messageID + "/attachments/" + attachmentID + "/$value", stream: true})
	if err != nil {
		return nil, err
	}
	return resp.stream, nil
}

// MarkShared stamps a message with the CRM id it was shared as.
func (s *Side) MarkShared(ctx context.Context, messageID, crmID string) error {
	if crmID == "" {
		return fault.New(fault.Permanent, "InvalidArgument", "msgraph: MarkShared needs the CRM id")
	}
	body := map[string]any{"singleValueExtendedProperties": []wireExtProp{{ID: sharedProp, Value: crmID}}}
	return s.c.sendJSON(ctx, http.MethodPatch, s.c.mailbox()+"/messages/"+messageID, body, nil)
}

// FlagIssue sets or clears the issue category on an item.
func (s *Side) FlagIssue(ctx context.Context, kind item.Kind, id string, failing bool) error {
	if err := s.ensureCategories(ctx); err != nil {
		return err
	}
	path, err := s.itemPath(ctx, kind, id)
	if err != nil {
		return err
	}
	var w struct {
		Categories []string `json:"categories"`
	}
	if err := s.c.getJSON(ctx, withQuery(path, "$select", "categories"), &w); err != nil {
		return err
	}
	has := slices.ContainsFunc(w.Categories, func(c string) bool { return strings.EqualFold(c, s.opts.IssueCategory) })
	if has == failing {
		return nil
	}
	cats := slices.DeleteFunc(slices.Clone(w.Categories), func(c string) bool { return strings.EqualFold(c, s.opts.IssueCategory) })
	if failing {
		cats = append(cats, s.opts.IssueCategory)
	}
	if cats == nil {
		cats = []string{}
	}
	return s.c.sendJSON(ctx, http.MethodPatch, path, map[string]any{"categories": cats}, nil)
}
