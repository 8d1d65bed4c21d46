package addin

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// CRM is what the add-in backend needs from a CRM: the contract's optional
// record operations (side.RecordCRM) and, from side.CRM, e-mail logging and
// files. A side.CRM with the RecordCRM ability satisfies it (SideOpener). It
// is always opened with the calling user's own credentials so the CRM's
// sharing rules hold. Errors are classified with shared/fault; the status
// they become is decided in one table (errors.go).
type CRM interface {
	side.RecordCRM
	// LogEmail is side.CRM's: the e-mail (item.SharedEmail) becomes a
	// completed activity related to whoIDs and whatID.
	LogEmail(ctx context.Context, email item.Record, whoIDs []string, whatID, marker string) (string, error)
	// AttachFile is side.CRM's: it streams a file to the CRM, linked to
	// parentID; size is -1 when unknown. It returns the file's id.
	AttachFile(ctx context.Context, parentID, name string, size int64, content io.Reader) (string, error)
}

// CRMOpener opens a user's CRM with that user's own stored credentials.
// A missing or revoked connection is a fault.Reconnect error.
type CRMOpener interface {
	OpenCRM(ctx context.Context, user string) (CRM, error)
}

// The add-in's record types are the contract's (shared/side).
type (
	Person     = side.Person
	Summary    = side.Summary
	Account    = side.Account
	Hit        = side.Hit
	ObjectInfo = side.ObjectInfo
	Field      = side.Field
	Object     = side.Object
)

// Email is an e-mail shared from the add-in. It passes through memory only.
type Email struct {
	Subject string
	From    string
	To      []string
	Cc      []string
	Sent    time.Time
	Body    string
	// Direction is "Inbound" or "Outbound".
	Direction string
}

// SideOpener opens a user's CRM side (the connector's opener) and serves it
// to the add-in when the connector has the add-in's record operations.
type SideOpener func(ctx context.Context, user string) (side.CRM, error)

// OpenCRM implements CRMOpener.
func (f SideOpener) OpenCRM(ctx context.Context, user string) (CRM, error) {
	s, err := f(ctx, user)
	if err != nil {
		return nil, err
	}
	crm, ok := s.(CRM)
	if !ok {
		return nil, fault.New(fault.Permanent, "NOT_SUPPORTED", fmt.Sprintf("the CRM (%T) offers no add-in record operations", s))
	}
	return crm, nil
}

// maxDescription is the longest activity description the add-in sends
// (Salesforce's Task.Description holds 32,000 characters).
const maxDescription = 32000

// emailRecord is the shared e-mail as the contract's record
// (item.SharedEmail): a header with sender, recipients and date, then the
// body, cut to maxDescription.
func emailRecord(e Email) item.Record {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\nTo: %s\n", e.From, strings.Join(e.To, ", "))
	if len(e.Cc) > 0 {
		fmt.Fprintf(&b, "Cc: %s\n", strings.Join(e.Cc, ", "))
	}
	if !e.Sent.IsZero() {
		fmt.Fprintf(&b, "Date: %s\n", e.Sent.UTC().Format(time.RFC1123Z))
	}
	b.WriteString("\n")
	b.WriteString(e.Body)
	desc := b.String()
	if r := []rune(desc); len(r) > maxDescription {
		desc = string(r[:maxDescription])
	}
	rec := item.Record{Kind: item.SharedEmail, Fields: map[string]string{
		item.Subject: e.Subject, item.Description: desc, item.From: e.From, item.To: strings.Join(e.To, ","),
		item.Cc: strings.Join(e.Cc, ","), item.Direction: e.Direction,
	}}
	if !e.Sent.IsZero() {
		rec.Fields[item.Sent] = e.Sent.UTC().Format(time.RFC3339)
	}
	return rec
}
