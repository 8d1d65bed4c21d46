package c4c

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// chunk is how many addresses go in one $filter: "or" is allowed across one
// property (DEVGUIDE "Known Limitations"), and URLs stay short.
const chunk = 40

// FindPeople implements side.CRM: Contacts by Email, then Leads by
// ContactEMail, each an or-list of one property.
func (s *Side) FindPeople(ctx context.Context, addresses []string) (map[string]item.Person, error) {
	out := map[string]item.Person{}
	var addrs []string
	for _, a := range addresses {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			addrs = append(addrs, a)
		}
	}
	look := func(coll, prop, object, account string) error {
		for start := 0; start < len(addrs); start += chunk {
			var terms []string
			for _, a := range addrs[start:min(start+chunk, len(addrs))] {
				if _, ok := out[a]; !ok {
					terms = append(terms, prop+" eq "+Quote(a))
				}
			}
			if len(terms) == 0 {
				continue
			}
			sel := "ObjectID," + prop
			if account != "" {
				sel += "," + account
			}
			q := url.Values{"$filter": {strings.Join(terms, " or ")}, "$select": {sel}}
			if err := s.c.List(ctx, coll, q, func(e Entity) error {
				a := strings.ToLower(e.String(prop))
				if _, ok := out[a]; !ok && a != "" {
					out[a] = item.Person{ID: e.ID(), Object: object, AccountID: e.String(account)}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	}
	if err := look("ContactCollection", "Email", "Contact", "AccountID"); err != nil {
		return nil, err
	}
	if err := look("LeadCollection", "ContactEMail", "Lead", ""); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateLeads implements side.CRM: one $batch, a changeset per lead.
func (s *Side) CreateLeads(ctx context.Context, leads []item.Record) ([]side.Result, error) {
	ops := make([]Op, len(leads))
	for i, l := range leads {
		f := l.Fields
		name := strings.TrimSpace(f[item.FirstName] + " " + f[item.LastName])
		if f[item.Company] != "" {
			name += ", " + f[item.Company]
		}
		ops[i] = Op{Method: http.MethodPost, Path: "LeadCollection", Body: map[string]any{
			"Name": name, "ContactFirstName": f[item.FirstName], "ContactLastName": f[item.LastName],
			"ContactEMail": strings.ToLower(f[item.Email]), "Company": f[item.Company],
		}}
	}
	res, err := s.c.Batch(ctx, ops)
	if err != nil {
		return nil, err
	}
	out := make([]side.Result, len(leads))
	for i, r := range res {
		if r.Err != nil {
			out[i].Err = r.Err
			continue
		}
		out[i].ID = r.Entity.ID()
	}
	return out, nil
}

// LogEmail implements side.CRM: an e-mail activity (EMailCollection) with
// the contacts among whoIDs as recipient parties (EMailToRecipients, deep
// insert), the first as main contact, whatID's account as main account,
// and marker in GroupwareItemID, the field SAP's own groupware integration
// keeps the mail item's identity in. Parties are named by business ID
// (ContactID, AccountID), which one $batch of reads looks up. A whoID that
// is not a contact (a lead) is left out: C4C relates business partners.
// The body is not logged: no EMail property for it is documented.
func (s *Side) LogEmail(ctx context.Context, email item.Record, whoIDs []string, whatID, marker string) (string, error) {
	var ops []Op
	for _, id := range whoIDs {
		ops = append(ops, Op{Method: http.MethodGet, Path: "ContactCollection('" + id + "')?$select=ObjectID,ContactID"})
	}
	if whatID != "" {
		// The account by ObjectID, or by its business ID as the add-in's
		// people name it (a 404 otherwise failed the whole share).
		path := "CorporateAccountCollection('" + whatID + "')?$select=ObjectID,AccountID"
		if !isObjectID(whatID) {
			path = "CorporateAccountCollection?" + encode(url.Values{"$filter": {"AccountID eq " + Quote(whatID)}, "$select": {"ObjectID,AccountID"}, "$top": {"1"}})
		}
		ops = append(ops, Op{Method: http.MethodGet, Path: path})
	}
	got, err := s.c.Batch(ctx, ops)
	if err != nil {
		return "", err
	}
	var parties []map[string]any
	mainContact := ""
	for i, id := range whoIDs {
		switch r := got[i]; {
		case r.Status == http.StatusNotFound:
			s.log.Info("c4c: e-mail party is not a contact; not related", "id", id)
		case r.Err != nil:
			return "", r.Err
		default:
			parties = append(parties, map[string]any{"PartyID": r.Entity.String("ContactID")})
			if mainContact == "" {
				mainContact = id
			}
		}
	}
	body := map[string]any{"Subject": email.Fields[item.Subject], "GroupwareItemID": marker}
	if sent, err := time.Parse(time.RFC3339, email.Fields[item.Sent]); err == nil {
		body["DateTime"] = FormatDate(sent)
	}
	if len(parties) > 0 {
		body["MainContactPartyID"] = parties[0]["PartyID"]
		body["EMailToRecipients"] = parties
	}
	if whatID != "" {
		r := got[len(whoIDs)]
		if r.Err != nil {
			return "", r.Err
		}
		acct := r.Entity
		if !isObjectID(whatID) {
			found := children(r.Entity, "results")
			if len(found) == 0 {
				return "", fault.New(fault.Gone, "NOT_FOUND", "no account with AccountID "+whatID)
			}
			acct = found[0]
		}
		body["MainAccountPartyID"] = acct.String("AccountID")
	}
	res, err := s.c.Batch(ctx, []Op{{Method: http.MethodPost, Path: "EMailCollection", Body: body}})
	if err != nil {
		return "", err
	}
	if res[0].Err != nil {
		return "", res[0].Err
	}
	if res[0].Entity.ID() == "" {
		return "", fault.New(fault.Temporary, "no_object_id", "C4C created the e-mail but its answer carried no ObjectID")
	}
	if mainContact != "" {
		s.mu.Lock()
		if s.emailContact == nil {
			s.emailContact = map[string]string{}
		}
		s.emailContact[res[0].Entity.ID()] = mainContact
		s.mu.Unlock()
	}
	return res[0].Entity.ID(), nil
}

// findEmails finds logged e-mails by the marker in GroupwareItemID.
func (s *Side) findEmails(ctx context.Context, intents []item.Intent) (map[string]string, error) {
	out := map[string]string{}
	for _, in := range intents {
		if in.Marker == "" {
			continue
		}
		q := url.Values{"$filter": {"GroupwareItemID eq " + Quote(in.Marker)}, "$select": {"ObjectID"}, "$top": {"2"}}
		var ids []string
		if err := s.c.List(ctx, "EMailCollection", q, func(e Entity) error { ids = append(ids, e.ID()); return nil }); err != nil {
			return nil, err
		}
		if len(ids) == 1 {
			out[in.Marker] = ids[0]
		}
	}
	return out, nil
}

// AttachmentTypeCode is the document type of attachments crmsync uploads;
// SAP's sample uses 10001 ("check your system for valid values").
const AttachmentTypeCode = "10001"

// maxAttachment bounds a file of unknown size read into memory: its
// Binary goes base64 in one JSON body (the add-in caps its uploads lower).
const maxAttachment = 100 << 20

// AttachFile implements side.CRM (size -1 when unknown): the content goes
// base64 in Binary of a ContactAttachmentFolder entity whose ParentObjectID
// is the contact (an AccountAttachmentCollection one for an account). The
// session attaches a shared e-mail's files to the e-mail LogEmail returned;
// C4C documents no attachment collection of EMail, so they go to the
// e-mail's main contact (the sender or first recipient who is a contact).
func (s *Side) AttachFile(ctx context.Context, parentID, name string, size int64, content io.Reader) (string, error) {
	folder, parentID, err := s.attachParent(ctx, parentID)
	if err != nil {
		return "", err
	}
	limit := size
	if size < 0 { // unknown, as the add-in's uploads are (side.CRM's contract)
		limit = maxAttachment
	}
	b, err := io.ReadAll(io.LimitReader(content, limit+1))
	if err != nil {
		return "", fault.Wrap(fault.Temporary, err)
	}
	if size < 0 && int64(len(b)) > maxAttachment {
		return "", fault.New(fault.Permanent, "size", fmt.Sprintf("attachment %q is larger than %d MB", name, maxAttachment>>20))
	}
	if size >= 0 && int64(len(b)) != size {
		return "", fault.New(fault.Permanent, "size", fmt.Sprintf("attachment %q has %d bytes, %d announced", name, len(b), size))
	}
	mt := mime.TypeByExtension(path.Ext(name))
	if mt == "" {
		mt = "application/octet-stream"
	}
	res, err := s.c.Batch(ctx, []Op{{Method: http.MethodPost, Path: folder, Body: map[string]any{
		"ParentObjectID": parentID, "Name": name, "MimeType": mt, "TypeCode": AttachmentTypeCode,
		"Binary": base64.StdEncoding.EncodeToString(b),
	}}})
	if err != nil {
		return "", err
	}
	if res[0].Err != nil {
		return "", res[0].Err
	}
	return res[0].Entity.ID(), nil
}

// Attachment collections: C4C keeps files on contacts (the
// ContactAttachmentFolder navigation) and accounts
// (AccountAttachmentCollection), each entry with the parent's ObjectID.
const (
	contactFiles = "ContactAttachmentFolder"
	accountFiles = "AccountAttachmentCollection"
)

// attachParent returns where a file for parentID goes: the attachment
// collection and the parent's ObjectID. A contact or an account keeps its
// own files (an account may be named by its business ID, as the add-in's
// account pane names it); an e-mail activity's go to its main contact
// (remembered from LogEmail, or read: MainContactPartyID is the contact's
// business ID). Anything else is refused in words. The lookups go in one
// $batch.
func (s *Side) attachParent(ctx context.Context, parentID string) (string, string, error) {
	s.mu.Lock()
	contact, ok := s.emailContact[parentID]
	s.mu.Unlock()
	if ok {
		return contactFiles, contact, nil
	}
	if !isObjectID(parentID) {
		acct, err := s.readRecord(ctx, "Account", parentID, []string{"ObjectID"})
		if err != nil {
			return "", "", err
		}
		return accountFiles, acct.ID(), nil
	}
	res, err := s.c.Batch(ctx, []Op{
		{Method: http.MethodGet, Path: "EMailCollection('" + parentID + "')?$select=ObjectID,MainContactPartyID"},
		{Method: http.MethodGet, Path: "ContactCollection('" + parentID + "')?$select=ObjectID"},
		{Method: http.MethodGet, Path: "CorporateAccountCollection('" + parentID + "')?$select=ObjectID"},
	})
	if err != nil {
		return "", "", err
	}
	for _, r := range res {
		if r.Err != nil && r.Status != http.StatusNotFound {
			return "", "", r.Err
		}
	}
	switch email := res[0]; {
	case res[1].Status != http.StatusNotFound:
		return contactFiles, parentID, nil
	case res[2].Status != http.StatusNotFound:
		return accountFiles, parentID, nil
	case email.Status == http.StatusNotFound:
		return "", "", fault.New(fault.Permanent, "no_files", "SAP Cloud for Customer keeps files on contacts and accounts; file it on one of them")
	case email.Entity.String("MainContactPartyID") == "":
		return "", "", fault.New(fault.Permanent, "no_contact", "C4C keeps attachments on contacts, and this e-mail is related to none")
	default:
		q := url.Values{"$filter": {"ContactID eq " + Quote(email.Entity.String("MainContactPartyID"))}, "$select": {"ObjectID"}, "$top": {"1"}}
		err := s.c.List(ctx, "ContactCollection", q, func(e Entity) error { contact = e.ID(); return nil })
		if err != nil {
			return "", "", err
		}
		if contact == "" {
			return "", "", fault.New(fault.Permanent, "no_contact", "the e-mail's main contact is gone from C4C; its attachments have nowhere to go")
		}
		return contactFiles, contact, nil
	}
}
