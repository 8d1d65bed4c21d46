package reconcile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/shared/item"
)

// Direction says which way changes of one kind flow.
type Direction string

// The sync directions a user can choose per kind.
const (
	// Both syncs changes both ways (the default).
	Both Direction = "both"
	// CRMToMailbox mirrors the CRM into the mailbox: mailbox edits are not sent
	// to the CRM (they stay until the CRM changes that field), mailbox deletes
	// only unlink.
	CRMToMailbox Direction = "crm-to-mailbox"
	// MailboxToCRM sends mailbox items to the CRM: CRM edits are not sent to the
	// mailbox, CRM deletes and scope changes only unlink.
	MailboxToCRM Direction = "mailbox-to-crm"
	// Off plans nothing for the kind.
	Off Direction = "off"
)

// ConflictRule settles a field changed on both sides since the last sync.
type ConflictRule string

// The conflict rules a user can choose per kind.
const (
	// NewerWins keeps the value of the record modified last (the default); a
	// tie or an unknown time goes to the CRM, so the outcome is deterministic.
	NewerWins ConflictRule = "newer-wins"
	// CRMWins always keeps the CRM's value.
	CRMWins ConflictRule = "crm-wins"
	// MailboxWins always keeps the mailbox's value.
	MailboxWins ConflictRule = "mailbox-wins"
)

// MailboxDelete says what a delete in the mailbox does to the linked CRM record.
type MailboxDelete string

// The mailbox-delete behaviours.
const (
	// Unlink keeps the CRM record and stops syncing it to the mailbox (the
	// default): the link becomes detached (Link.Detached) so the record is not
	// put back into the mailbox, not even by a full re-read.
	Unlink MailboxDelete = "unlink"
	// DeleteInCRM deletes the CRM record too (opt-in per kind).
	DeleteInCRM MailboxDelete = "delete-in-crm"
)

// NewItems says which mailbox items that crmsync has not linked yet are
// created in the CRM.
type NewItems string

// The new-mailbox-item behaviours.
const (
	// NewAll creates every new item of the synced folder or list in the CRM
	// (the default for contacts and tasks).
	NewAll NewItems = "all"
	// NewShared creates only items that carry the share category (the default
	// for events, since a calendar holds private appointments too).
	NewShared NewItems = "shared"
	// NewNone never creates CRM records from the mailbox.
	NewNone NewItems = "none"
)

// ScopeLoss says what happens to the mailbox copy when a CRM record leaves
// the CRM's scope (list view filter, window, ownership).
type ScopeLoss string

// The scope-loss behaviours.
const (
	// RemoveFromMailbox deletes the mailbox copy (the default for contacts and
	// tasks, as the design's sync rules say): the mailbox shows what is in
	// scope in the CRM.
	RemoveFromMailbox ScopeLoss = "remove"
	// KeepInMailbox leaves the mailbox copy in place and drops the link, so
	// the copy becomes an ordinary mailbox item (edited, it is created in the
	// CRM again where NewItems allows). The default for events, whose window
	// slides past them: past meetings stay in the calendar. A record that
	// comes back into the CRM's scope is copied again, so this suits scopes
	// that only move on, like a time window.
	KeepInMailbox ScopeLoss = "keep"
)

// Guard holds the limits that stop deletions when a side looks wiped.
type Guard struct {
	// MaxRemoveShare is the largest share of a kind's live links that one
	// session may delete or unlink (0 = the default, 0.5). It applies once the
	// kind has at least MinLinks live links.
	MaxRemoveShare float64
	// MinLinks is the number of live links from which MaxRemoveShare applies
	// (0 = the default, 10): below it, losing half of 4 contacts is ordinary
	// housekeeping rather than a sign of a wiped side.
	MinLinks int
}

// Default guard limits.
const (
	DefaultMaxRemoveShare = 0.5
	DefaultMinLinks       = 10
)

// Policy is a user's settings for one kind. It is plain data: the dashboard
// stores it and the session runner passes it in. Zero values mean the
// defaults (see DefaultPolicy).
type Policy struct {
	// Direction says which way changes flow.
	Direction Direction
	// Conflict settles a field changed on both sides.
	Conflict ConflictRule
	// MailboxDelete says what a mailbox delete does in the CRM.
	MailboxDelete MailboxDelete
	// NewItems says which new mailbox items are created in the CRM.
	NewItems NewItems
	// ScopeLoss says what a CRM record leaving scope does to its mailbox copy.
	ScopeLoss ScopeLoss
	// ShareCategory is the mailbox category that shares an item into the CRM
	// ("" = "Salesforce").
	ShareCategory string
	// Fields are the canonical fields synced for the kind (nil =
	// item.DefaultFields[kind]); custom fields are added here by name.
	Fields []string
	// Guard holds the limits that stop mass removals.
	Guard Guard
}

// DefaultShareCategory is the category that shares a mailbox item into the CRM.
const DefaultShareCategory = "Salesforce"

// DefaultPolicy returns the default settings for kind, with every field filled.
func DefaultPolicy(kind item.Kind) Policy {
	p := Policy{
		Direction:     Both,
		Conflict:      NewerWins,
		MailboxDelete: Unlink,
		NewItems:      NewAll,
		ScopeLoss:     RemoveFromMailbox,
		ShareCategory: DefaultShareCategory,
		Fields:        slices.Clone(item.DefaultFields[kind]),
		Guard:         Guard{MaxRemoveShare: DefaultMaxRemoveShare, MinLinks: DefaultMinLinks},
	}
	if kind == item.Event {
		// A calendar holds private appointments: only shared ones go to the
		// CRM. And events leave the CRM's scope mostly because the window
		// slides past them: a past meeting must stay in the calendar.
		p.NewItems = NewShared
		p.ScopeLoss = KeepInMailbox
	}
	return p
}

// WithDefaults returns p with every zero value replaced by kind's default.
func (p Policy) WithDefaults(kind item.Kind) Policy {
	d := DefaultPolicy(kind)
	if p.Direction == "" {
		p.Direction = d.Direction
	}
	if p.Conflict == "" {
		p.Conflict = d.Conflict
	}
	if p.MailboxDelete == "" {
		p.MailboxDelete = d.MailboxDelete
	}
	if p.NewItems == "" {
		p.NewItems = d.NewItems
	}
	if p.ScopeLoss == "" {
		p.ScopeLoss = d.ScopeLoss
	}
	if p.ShareCategory == "" {
		p.ShareCategory = d.ShareCategory
	}
	if p.Fields == nil {
		p.Fields = d.Fields
	}
	if p.Guard.MaxRemoveShare == 0 {
		p.Guard.MaxRemoveShare = d.Guard.MaxRemoveShare
	}
	if p.Guard.MinLinks == 0 {
		p.Guard.MinLinks = d.Guard.MinLinks
	}
	return p
}

// Validate reports every unknown setting in p (zero values are fine: they
// mean the default) in one error.
func (p Policy) Validate() error {
	var bad []string
	check := func(name, v string, ok ...string) {
		if v != "" && !slices.Contains(ok, v) {
			bad = append(bad, fmt.Sprintf("%s %q is not one of %s", name, v, strings.Join(ok, ", ")))
		}
	}
	check("direction", string(p.Direction), string(Both), string(CRMToMailbox), string(MailboxToCRM), string(Off))
	check("conflict rule", string(p.Conflict), string(NewerWins), string(CRMWins), string(MailboxWins))
	check("mailbox delete", string(p.MailboxDelete), string(Unlink), string(DeleteInCRM))
	check("new items", string(p.NewItems), string(NewAll), string(NewShared), string(NewNone))
	check("scope loss", string(p.ScopeLoss), string(RemoveFromMailbox), string(KeepInMailbox))
	if p.Guard.MaxRemoveShare < 0 || p.Guard.MaxRemoveShare > 1 {
		bad = append(bad, fmt.Sprintf("guard share %v is not between 0 and 1", p.Guard.MaxRemoveShare))
	}
	if p.Guard.MinLinks < 0 {
		bad = append(bad, fmt.Sprintf("guard minimum %d is negative", p.Guard.MinLinks))
	}
	if p.Fields != nil && len(p.Fields) == 0 {
		bad = append(bad, "field list is empty (leave it nil for the defaults)")
	}
	seen := make(map[string]bool, len(p.Fields))
	for _, f := range p.Fields {
		switch {
		case f == "" || strings.ContainsAny(f, "| \t\n"):
			bad = append(bad, fmt.Sprintf("field name %q is not a field name", f))
		case f == item.SeriesID || f == item.OriginalStart:
			bad = append(bad, fmt.Sprintf("field %s links exceptions to their series and cannot be synced as a value", f))
		case seen[f]:
			bad = append(bad, fmt.Sprintf("field %s is listed twice", f))
		}
		seen[f] = true
	}
	if len(bad) > 0 {
		return fmt.Errorf("reconcile: bad policy: %s", strings.Join(bad, "; "))
	}
	return nil
}

// sendsToMailbox reports whether CRM changes flow to the mailbox.
func (p Policy) sendsToMailbox() bool { return p.Direction == Both || p.Direction == CRMToMailbox }

// sendsToCRM reports whether mailbox changes flow to the CRM.
func (p Policy) sendsToCRM() bool { return p.Direction == Both || p.Direction == MailboxToCRM }
