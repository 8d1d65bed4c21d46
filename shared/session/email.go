package session

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/side"
)

// shareEmails turns messages the user shared (by folder or category) into
// CRM e-mail activities. Each message is shared at most once: an intent is
// recorded before the Task is created, a rerun adopts the Task a killed
// session created, and the message is marked shared once the Task exists.
func (s *run) shareEmails(ctx context.Context) error {
	es := s.settings.Email
	scope := item.Scope{Kind: item.SharedEmail, Container: es.Folder, ShareCategory: es.ShareCategory}
	if scope.ShareCategory == "" {
		scope.ShareCategory = reconcile.DefaultShareCategory
	}
	cursors, err := s.st.LoadCursors(ctx, item.SharedEmail)
	if err != nil {
		return err
	}
	ch, err := s.sides.Mailbox.SharedEmails(ctx, scope, cursors.Old[reconcile.Mailbox])
	if err != nil {
		return fmt.Errorf("shared e-mails in the mailbox: %w", err)
	}
	s.problems(item.SharedEmail, reconcile.Mailbox, ch.Problems)
	reported := map[string]bool{}
	for _, msg := range ch.Records {
		reported[reconcile.MarkerFor(item.SharedEmail, reconcile.Mailbox, msg.ID)] = true
	}
	ledger, err := s.ledger(ctx)
	if err != nil {
		return err
	}
	if err := s.relateDeferred(ctx); err != nil {
		return err
	}
	if len(ch.Records) > 0 {
		people, err := s.people(ctx, ch.Records)
		if err != nil {
			return err
		}
		// Messages a killed session was sharing go first: adopting their
		// Tasks records them in the ledger, so a copy of the same e-mail
		// reported in this pass relates to that Task instead of making a
		// second one (sides property seed 951).
		msgs := slices.Clone(ch.Records)
		slices.SortStableFunc(msgs, func(a, b item.Record) int {
			_, pa := s.pending[reconcile.MarkerFor(item.SharedEmail, reconcile.Mailbox, a.ID)]
			_, pb := s.pending[reconcile.MarkerFor(item.SharedEmail, reconcile.Mailbox, b.ID)]
			switch {
			case pa && !pb:
				return -1
			case pb && !pa:
				return 1
			}
			return 0
		})
		for _, msg := range msgs {
			if err := s.shareOne(ctx, msg, people, ledger); err != nil {
				if c := fault.ClassOf(err); c != fault.Permanent && c != fault.Gone {
					return err // temporary, quota, reconnect: the session stops
				}
				s.issues = append(s.issues, Issue{Kind: item.SharedEmail, Side: reconcile.Mailbox, RecordID: msg.ID,
					Name: msg.Name(), Code: "share-failed", Reason: "could not share the e-mail: " + Explain(err)})
				if ferr := s.sides.Mailbox.FlagIssue(ctx, item.SharedEmail, msg.ID, true); ferr != nil {
					s.log.Warn("sync error category not set", "err", ferr)
				}
			}
		}
	}
	// Settle before the cursor moves on: a kill in between then leaves the
	// old cursor, from which the next pass judges the same intents again.
	if err := s.settleSharedIntents(ctx, cursors, reported); err != nil {
		return err
	}
	return s.st.SaveCursors(ctx, item.SharedEmail, cursors, map[reconcile.Side]string{reconcile.Mailbox: ch.Cursor},
		len(ch.Records) == 0 && !ch.Full, s.now)
}

// settleSharedIntents clears the intents of killed sessions whose message this
// pass did not report although it read from a cursor older than the intent:
// such a message was marked shared just before the kill (or the user no longer
// shares it), so it never comes round again and no later pass can adopt its
// Task. Left alone, the intent would stay pending for ever.
func (s *run) settleSharedIntents(ctx context.Context, cursors Cursors, reported map[string]bool) error {
	var stale []string
	for m, in := range s.pending {
		if in.Kind == item.SharedEmail && !reported[m] && !in.Since.Before(cursors.saved) {
			stale = append(stale, m)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	if err := s.st.ClearIntents(ctx, stale); err != nil {
		return err
	}
	for _, m := range stale {
		delete(s.pending, m)
	}
	return nil
}

// addresses returns a message's participants' addresses, lower case, once each.
func addresses(msg item.Record) []string {
	var out []string
	for _, f := range []string{item.From, item.To, item.Cc} {
		for _, a := range strings.Split(msg.Fields[f], ",") {
			a = strings.ToLower(strings.TrimSpace(a))
			if a != "" && strings.Contains(a, "@") && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// people resolves every participant of msgs to a CRM person in one lookup,
// creating Leads for unknown external addresses when the user enabled it.
func (s *run) people(ctx context.Context, msgs []item.Record) (map[string]item.Person, error) {
	var all []string
	for _, m := range msgs {
		for _, a := range addresses(m) {
			if !slices.Contains(all, a) && a != strings.ToLower(s.settings.Email.OwnAddress) {
				all = append(all, a)
			}
		}
	}
	people, err := s.sides.CRM.FindPeople(ctx, all)
	if err != nil {
		return nil, fmt.Errorf("finding e-mail participants in the CRM: %w", err)
	}
	if people == nil {
		people = map[string]item.Person{}
	}
	if !s.settings.Email.CreateLeads {
		return people, nil
	}
	var leads []item.Record
	var leadAddrs []string
	for _, a := range all {
		if _, known := people[a]; known || !LeadCandidate(a, s.settings.Email) {
			continue
		}
		leads = append(leads, LeadFromAddress(a))
		leadAddrs = append(leadAddrs, a)
	}
	if len(leads) == 0 {
		return people, nil
	}
	res, err := s.sides.CRM.CreateLeads(ctx, leads)
	if err != nil {
		return nil, fmt.Errorf("creating leads: %w", err)
	}
	for i, r := range res {
		if i >= len(leadAddrs) {
			break
		}
		if r.Err != nil {
			name := leads[i].Name()
			if name == "" {
				name = "a new Lead"
			}
			s.issues = append(s.issues, Issue{Kind: item.SharedEmail, Side: reconcile.CRM, RecordID: s.leadIssueID(leadAddrs[i]),
				Name: name, Code: leadFailed, Reason: "could not create a Lead for a participant: " + Explain(r.Err)})
			continue
		}
		people[leadAddrs[i]] = item.Person{ID: r.ID, Object: "Lead"}
		s.rep.Counts["lead|to-crm|create"]++
	}
	s.clearResolvedLeads(ctx, people)
	return people, nil
}

// leadFailed is the issue code of a Lead that could not be created.
const leadFailed = "lead-failed"

// leadIssueID names the Lead an address would become, for its issue: a keyed
// fingerprint, since storage never holds an address, nor an unkeyed hash of
// one that a list of addresses would reverse.
func (s *run) leadIssueID(addr string) string {
	return "lead:" + item.Fingerprint(s.settings.FingerprintKey, item.SharedEmail, item.Email, addr)
}

// clearResolvedLeads clears the issues of failed Leads whose address is now a
// CRM person: created by a later share, or by the user in the CRM.
func (s *run) clearResolvedLeads(ctx context.Context, people map[string]item.Person) {
	for addr := range people {
		if k := issueKey(item.SharedEmail, reconcile.CRM, s.leadIssueID(addr)); s.openIssues[k] {
			s.cleared = append(s.cleared, k)
		}
	}
	s.clearSynced(ctx)
}

// legacyLeadIssues are open failed-Lead issues named by their address, as
// sessions before the privacy fix stored them: cleared, so no address stays
// in storage (a failure that persists is raised again, named properly).
func legacyLeadIssues(open []Issue) []string {
	var out []string
	for _, is := range open {
		if is.Code == leadFailed && strings.Contains(is.Name, "@") {
			out = append(out, issueKey(is.Kind, is.Side, is.RecordID))
		}
	}
	return out
}

// shareOne makes one e-mail a CRM Task, or, when a copy of it (same
// Internet message id, in another folder or a colleague's mailbox) became
// one already, relates its people to that Task instead.
func (s *run) shareOne(ctx context.Context, msg item.Record, people map[string]item.Person, ledger *emailLedger) error {
	marker := reconcile.MarkerFor(item.SharedEmail, reconcile.Mailbox, msg.ID)
	var who []string
	what := ""
	for _, a := range addresses(msg) {
		p, ok := people[a]
		if !ok || slices.Contains(who, p.ID) {
			continue
		}
		who = append(who, p.ID)
		if what == "" && p.AccountID != "" {
			what = p.AccountID
		}
	}
	fp := ledger.fingerprint(msg.Fields[item.MessageID])
	var taskID string
	if in, ok := s.pending[marker]; ok {
		found, err := s.sides.CRM.FindCreated(ctx, item.SharedEmail, []item.Intent{{Marker: marker, Since: in.Since, Record: msg}})
		if err != nil {
			return err
		}
		taskID = found[marker]
	}
	if taskID == "" {
		t, ok, err := ledger.find(ctx, fp)
		if err != nil {
			return err
		}
		if ok {
			return s.shareCopy(ctx, msg, t, fp, who, ledger)
		}
	}
	if taskID == "" {
		if err := s.st.RecordIntents(ctx, []Intent{{Marker: marker, Kind: item.SharedEmail, Target: reconcile.CRM, Since: s.now,
			Link: reconcile.Link{Kind: item.SharedEmail, MailboxID: msg.ID}}}); err != nil {
			return err
		}
		id, err := s.sides.CRM.LogEmail(ctx, msg, who, what, marker)
		if err != nil {
			return err
		}
		taskID = id
		if err := s.attach(ctx, msg.ID, taskID); err != nil {
			return err
		}
	} else {
		s.rep.Counts["email|to-crm|adopt"]++
	}
	if err := ledger.record(ctx, fp, taskID, s.user); err != nil {
		return err
	}
	if err := s.sides.Mailbox.MarkShared(ctx, msg.ID, taskID); err != nil {
		return err
	}
	if err := s.st.ClearIntents(ctx, []string{marker}); err != nil {
		return err
	}
	delete(s.pending, marker)
	s.rep.Counts["email|to-crm|share"]++
	s.cleared = append(s.cleared, issueKey(item.SharedEmail, reconcile.Mailbox, msg.ID))
	s.clearSynced(ctx)
	return nil
}

// shareCopy shares a copy of an e-mail that is a Task already: its people
// are related to that Task (by its owner's next session when this user may
// not edit it), and the message is marked shared with it.
func (s *run) shareCopy(ctx context.Context, msg item.Record, t sharedTask, fp string, who []string, ledger *emailLedger) error {
	if rel, ok := s.sides.CRM.(side.EmailRelater); ok && len(who) > 0 {
		err := rel.RelateEmail(ctx, t.TaskID, who)
		switch {
		case err == nil:
		case fault.ClassOf(err) == fault.Permanent && t.Owner != "" && t.Owner != s.user:
			if err := ledger.deferRelate(ctx, t, fp, s.user, who); err != nil {
				return err
			}
		default:
			return err
		}
	}
	if err := s.sides.Mailbox.MarkShared(ctx, msg.ID, t.TaskID); err != nil {
		return err
	}
	s.rep.Counts["email|to-crm|merge"]++
	s.cleared = append(s.cleared, issueKey(item.SharedEmail, reconcile.Mailbox, msg.ID))
	s.clearSynced(ctx)
	return nil
}

// attach copies a message's attachments (not inline images) to the Task,
// streaming each one from the mailbox to the CRM without storing it.
func (s *run) attach(ctx context.Context, messageID, taskID string) error {
	atts, err := s.sides.Mailbox.Attachments(ctx, messageID)
	if err != nil {
		return err
	}
	for _, a := range atts {
		if a.Inline {
			continue
		}
		rc, err := s.sides.Mailbox.OpenAttachment(ctx, messageID, a.ID)
		if err != nil {
			return err
		}
		_, err = s.sides.CRM.AttachFile(ctx, taskID, a.Name, a.Size, rc)
		rc.Close()
		if err != nil {
			return err
		}
		s.rep.Counts["file|to-crm|create"]++
	}
	return nil
}

// roleLocalParts are mailbox names that belong to a function, not a person;
// they never become Leads.
var roleLocalParts = []string{
	"noreply", "no-reply", "donotreply", "do-not-reply", "mailer-daemon", "postmaster", "bounce", "bounces",
	"info", "support", "help", "sales", "admin", "administrator", "billing", "invoices", "accounts", "office",
	"contact", "hello", "team", "marketing", "news", "newsletter", "notifications", "notification", "alerts",
	"jobs", "careers", "hr", "security", "abuse", "webmaster", "root", "service", "feedback", "press",
}

// freeMailDomains are consumer mail providers; with SkipFreeMail their
// addresses never become Leads.
var freeMailDomains = []string{
	"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
	"ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "gmx.com", "gmx.de", "gmx.net", "web.de",
	"proton.me", "protonmail.com", "mail.com", "yandex.ru", "yandex.com", "mail.ru", "zoho.com", "fastmail.com",
	"t-online.de", "orange.fr", "free.fr", "libero.it", "qq.com", "163.com",
}

// LeadCandidate reports whether an unknown address may become a Lead: not the
// user's own domain, not a role address, not free mail when so configured.
func LeadCandidate(addr string, es EmailSettings) bool {
	local, domain, ok := strings.Cut(strings.ToLower(addr), "@")
	if !ok || local == "" || domain == "" || !strings.Contains(domain, ".") {
		return false
	}
	own := es.OwnDomains
	if _, d, ok := strings.Cut(strings.ToLower(es.OwnAddress), "@"); ok {
		own = append(slices.Clone(own), d)
	}
	for _, d := range own {
		d = strings.ToLower(d)
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return false
		}
	}
	base, _, _ := strings.Cut(local, "+")
	if slices.Contains(roleLocalParts, base) {
		return false
	}
	if es.SkipFreeMail && slices.Contains(freeMailDomains, domain) {
		return false
	}
	return true
}

// LeadFromAddress makes a Lead from an address alone: "jane.doe@acme.com"
// becomes Jane Doe of Acme.
func LeadFromAddress(addr string) item.Record {
	local, domain, _ := strings.Cut(strings.ToLower(addr), "@")
	local, _, _ = strings.Cut(local, "+")
	parts := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' })
	first, last := "", local
	if len(parts) >= 2 {
		first, last = title(parts[0]), title(strings.Join(parts[1:], " "))
	} else if len(parts) == 1 {
		last = title(parts[0])
	}
	company := domain
	if i := strings.Index(domain, "."); i > 0 {
		company = title(domain[:i])
	}
	return item.Record{Kind: item.Contact, Fields: map[string]string{
		item.FirstName: first, item.LastName: last, item.Email: strings.ToLower(addr), item.Company: company,
	}}
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
