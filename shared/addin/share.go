package addin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// SharesTable remembers which messages a user shared from the add-in, so a
// double click shares once. PartitionKey is the user id, RowKey a keyed
// hash of the message's immutable id; the row holds only the Task id, a
// state and the time. No subject, address or body is ever stored.
const SharesTable = "addinshares"

// pendingTTL is how long a share in progress blocks another attempt for the
// same message. A share whose process died is taken over after it; the
// Task it may have created is then created again (at most once more), which
// is the price of storing nothing that could find it.
const pendingTTL = 2 * time.Minute

// Share limits.
const (
	maxMessageID   = 1024
	maxRecipients  = 500
	maxAttachments = 100
	// maxWho is how many Contacts one Salesforce activity can relate to
	// (Shared Activities).
	maxWho = 50
)

// ShareRequest is an e-mail the user shares now from the add-in.
type ShareRequest struct {
	// MessageID is the message's immutable id (the idempotency key).
	MessageID string   `json:"messageId"`
	Subject   string   `json:"subject"`
	From      string   `json:"from"`
	To        []string `json:"to"`
	Cc        []string `json:"cc"`
	Sent      string   `json:"sent"`
	Body      string   `json:"body"`
	// Direction is "Inbound" or "Outbound".
	Direction string `json:"direction"`
	// UserAddress is the user's own address, left out of the people looked up.
	UserAddress string `json:"userAddress"`
	// Attachments the add-in will upload to the Task afterwards.
	Attachments []ShareAttachment `json:"attachments"`
}

// ShareAttachment names a file the add-in uploads separately.
type ShareAttachment struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// ShareAnswer is the Task a share created (or found).
type ShareAnswer struct {
	TaskID string `json:"taskId"`
	// AlreadyShared is true when the message had been shared before.
	AlreadyShared bool `json:"alreadyShared"`
	// People is how many CRM people the Task is related to.
	People int `json:"people"`
	// Uploads are where the add-in uploads each attachment.
	Uploads []Upload `json:"uploads"`
}

// Upload tells the add-in where one attachment goes.
type Upload struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// share answers POST /share.
func (a *API) share(w http.ResponseWriter, r *http.Request) {
	var req ShareRequest
	if !readJSON(w, r, &req) {
		return
	}
	email, problem := req.email()
	if problem != "" {
		writeError(w, http.StatusBadRequest, "bad_share", problem)
		return
	}
	ctx := r.Context()
	who := callerOf(ctx)
	key := a.messageKey(who.user, req.MessageID)

	claim, done, err := a.claimShare(ctx, who.user, key)
	switch {
	case errors.Is(err, errInProgress):
		writeError(w, http.StatusConflict, "in_progress", "this e-mail is being shared already")
		return
	case err != nil:
		a.log.ErrorContext(ctx, "share state unavailable", "user", who.user, "err", err)
		writeError(w, http.StatusServiceUnavailable, "storage", "could not record the share; try again")
		return
	case done != "":
		writeJSON(w, http.StatusOK, ShareAnswer{TaskID: done, AlreadyShared: true, Uploads: uploads(done, req.Attachments)})
		return
	}
	taskID, people, err := a.logEmail(ctx, email, req.UserAddress)
	if err != nil {
		// Free the claim so the user can retry.
		if derr := a.cfg.Store.Delete(ctx, SharesTable, who.user, key, claim); derr != nil {
			a.log.WarnContext(ctx, "share claim not released", "user", who.user, "err", derr)
		}
		a.crmError(w, r, "share", err)
		return
	}
	finished := tablestore.Entity{PartitionKey: who.user, RowKey: key, Properties: map[string]any{
		"State": "done", "TaskID": taskID, "Created": a.now().UTC(),
	}}
	if _, err := a.cfg.Store.Update(ctx, SharesTable, finished, claim); err != nil {
		// The Task exists, so the answer is still success. The row still
		// says pending, so a click after pendingTTL would share again; the
		// log tells support why.
		a.log.ErrorContext(ctx, "share not recorded after the Task was created", "user", who.user, "err", err)
	}
	writeJSON(w, http.StatusCreated, ShareAnswer{TaskID: taskID, People: people, Uploads: uploads(taskID, req.Attachments)})
}

var errInProgress = errors.New("addin: share in progress")

// claimShare records that this request shares the message. It returns the
// claim's ETag, or the Task id of an earlier share, or errInProgress when
// another request holds a fresh claim.
func (a *API) claimShare(ctx context.Context, user, key string) (etag, taskID string, err error) {
	pending := tablestore.Entity{PartitionKey: user, RowKey: key, Properties: map[string]any{
		"State": "pending", "Created": a.now().UTC(),
	}}
	etag, err = a.cfg.Store.Insert(ctx, SharesTable, pending)
	if err == nil {
		return etag, "", nil
	}
	if !errors.Is(err, tablestore.ErrExists) {
		return "", "", err
	}
	old, err := a.cfg.Store.Get(ctx, SharesTable, user, key)
	if errors.Is(err, tablestore.ErrNotFound) {
		return "", "", errInProgress // released meanwhile; the user retries
	}
	if err != nil {
		return "", "", err
	}
	if id, _ := old.Properties["TaskID"].(string); id != "" {
		return "", id, nil
	}
	created, _ := old.Properties["Created"].(time.Time)
	if a.now().Sub(created) < pendingTTL {
		return "", "", errInProgress
	}
	etag, err = a.cfg.Store.Update(ctx, SharesTable, pending, old.ETag)
	if errors.Is(err, tablestore.ErrPrecondition) || errors.Is(err, tablestore.ErrNotFound) {
		return "", "", errInProgress
	}
	return etag, "", err
}

// logEmail finds the e-mail's people and logs it as a Task related to them.
func (a *API) logEmail(ctx context.Context, e Email, own string) (string, int, error) {
	crm, err := a.cfg.CRM.OpenCRM(ctx, callerOf(ctx).user)
	if err != nil {
		return "", 0, err
	}
	own = strings.ToLower(own)
	var addrs []string
	for _, s := range append(append([]string{e.From}, e.To...), e.Cc...) {
		s = strings.ToLower(s)
		if s != "" && s != own && !contains(addrs, s) {
			addrs = append(addrs, s)
		}
	}
	ans, err := lookupPeople(ctx, crm, addrs)
	if err != nil {
		return "", 0, err
	}
	who, what := relate(addrs, ans)
	id, err := crm.LogEmail(ctx, emailRecord(e), who, what, "")
	return id, len(who), err
}

// relate picks whom the Task relates to, in address order: up to 50
// Contacts (and the first one's account), or else one Lead, as Salesforce's
// Shared Activities allow.
func relate(addrs []string, ans PeopleAnswer) (who []string, what string) {
	var lead string
	for _, addr := range addrs {
		for _, p := range ans.People[addr] {
			switch {
			case p.Object == "Contact" && len(who) < maxWho && !contains(who, p.ID):
				who = append(who, p.ID)
				if what == "" {
					what = p.AccountID
				}
			case p.Object == "Lead" && lead == "":
				lead = p.ID
			}
		}
	}
	if len(who) == 0 && lead != "" {
		who = []string{lead}
	}
	return who, what
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// messageKey is the stored form of a message id: HMAC-SHA256 keyed with the
// deployment's share key over the user and the id, so equal messages of two
// users do not match and the id cannot be recovered.
func (a *API) messageKey(user, messageID string) string {
	m := hmac.New(sha256.New, a.cfg.ShareKey)
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(messageID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

func uploads(taskID string, atts []ShareAttachment) []Upload {
	out := make([]Upload, 0, len(atts))
	for _, at := range atts {
		out = append(out, Upload{Name: at.Name, Path: Prefix + "/records/" + taskID + "/files"})
	}
	return out
}

// email checks the request and returns the e-mail, or what is wrong.
func (req ShareRequest) email() (Email, string) {
	e := Email{Subject: req.Subject, Body: req.Body, Direction: req.Direction}
	switch {
	case strings.TrimSpace(req.MessageID) == "":
		return e, "messageId is required"
	case len(req.MessageID) > maxMessageID:
		return e, "messageId is too long"
	case req.Direction != "Inbound" && req.Direction != "Outbound":
		return e, `direction must be "Inbound" or "Outbound"`
	case len(req.To)+len(req.Cc) > maxRecipients:
		return e, "too many recipients"
	case len(req.Attachments) > maxAttachments:
		return e, "too many attachments"
	}
	var ok bool
	if e.From, ok = plainAddress(req.From); !ok {
		return e, "from must be an e-mail address"
	}
	for _, list := range []struct {
		name string
		in   []string
		out  *[]string
	}{{"to", req.To, &e.To}, {"cc", req.Cc, &e.Cc}} {
		for _, s := range list.in {
			addr, ok := plainAddress(s)
			if !ok {
				return e, list.name + " must hold e-mail addresses"
			}
			*list.out = append(*list.out, addr)
		}
	}
	if req.Sent != "" {
		t, err := time.Parse(time.RFC3339, req.Sent)
		if err != nil {
			return e, "sent must be a time like 2026-11-24T09:30:00Z"
		}
		e.Sent = t.UTC()
	}
	for _, at := range req.Attachments {
		if strings.TrimSpace(at.Name) == "" || len(at.Name) > 255 || at.Size < 0 {
			return e, "each attachment needs a name (at most 255 bytes) and a size"
		}
	}
	return e, ""
}

// plainAddress parses "a@x.com" or "Name <a@x.com>" to the lower-case address.
func plainAddress(s string) (string, bool) {
	a, err := mail.ParseAddress(strings.TrimSpace(s))
	if err != nil {
		return "", false
	}
	return strings.ToLower(a.Address), true
}
