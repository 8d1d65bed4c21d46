package dashboard

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/side"
)

// The words the pages use for what the engine records in its own terms: a
// session's counts ("contact|to-crm|create"), outcomes ("partial"), kinds
// and roles. The JSON API keeps the terms; people read these.

// nouns are each kind's singular and plural as a person says them.
var nouns = map[string][2]string{
	string(item.Contact):     {"contact", "contacts"},
	string(item.Task):        {"task", "tasks"},
	string(item.Event):       {"event", "events"},
	string(item.SharedEmail): {"e-mail", "e-mails"},
	"lead":                   {"lead", "leads"},
	"file":                   {"attachment", "attachments"},
}

func noun(kind string, n int) string {
	w, ok := nouns[kind]
	if !ok {
		w = [2]string{kind, kind}
	}
	if n == 1 {
		return w[0]
	}
	return w[1]
}

// kindName is a kind as a table cell: "Contact".
func kindName(kind string) string {
	w := noun(kind, 1)
	return strings.ToUpper(w[:1]) + w[1:]
}

// sideNames are the display names of the connectors the dashboard is given
// (side.Connector.Name), for its words: "3 tasks updated in Salesforce";
// ShareCategory is the CRM's default share category (Salesforce's when
// the CRM is unnamed, as sessions then use).
type sideNames struct{ CRM, Mailbox, ShareCategory string }

// namesOf names the two sides; an unnamed connector is "the CRM" or "the
// mailbox".
func namesOf(crm, mailbox side.Connector) sideNames {
	return sideNames{CRM: cmp.Or(crm.Name, "the CRM"), Mailbox: cmp.Or(mailbox.Name, "the mailbox"),
		ShareCategory: cmp.Or(crm.DefaultShareCategory(), reconcile.DefaultShareCategory)}
}

// countPhrase says what one count of a session did: "3 contacts created in
// Salesforce", "1 event removed from your mailbox".
func (sn sideNames) countPhrase(c CountView) string {
	n, what := c.N, noun(c.Kind, c.N)
	where := map[string]string{"to-crm": sn.CRM, "to-mailbox": "your mailbox"}[c.Direction]
	switch {
	case c.Direction == "link":
		return fmt.Sprintf("%d %s linked", n, what)
	case c.Op == "share":
		return fmt.Sprintf("%d %s shared to %s", n, what, where)
	case c.Op == "create" && c.Kind == "file":
		return fmt.Sprintf("%d %s uploaded to %s", n, what, where)
	case c.Op == "create":
		return fmt.Sprintf("%d %s created in %s", n, what, where)
	case c.Op == "update":
		return fmt.Sprintf("%d %s updated in %s", n, what, where)
	case c.Op == "delete":
		return fmt.Sprintf("%d %s removed from %s", n, what, where)
	case c.Op == "unlink":
		return fmt.Sprintf("%d %s no longer synced with %s", n, what, where)
	case c.Op == "adopt":
		return fmt.Sprintf("%d %s matched with a record already in %s", n, what, where)
	}
	return fmt.Sprintf("%d %s: %s in %s", n, what, c.Op, where)
}

// outcomePhrase says how a session ended: "finished", "finished with 1
// problem", "stopped: Salesforce's daily API limit was reached".
func (sn sideNames) outcomePhrase(outcome string, issues int) string {
	switch outcome {
	case "ok":
		return "finished"
	case "partial":
		if issues <= 0 {
			return "finished with problems"
		}
		return fmt.Sprintf("finished with %d problem%s", issues, plural(issues))
	case "quota":
		return "stopped at " + sn.CRM + "'s API limit"
	case "reconnect":
		return "stopped: a connection needs reconnecting"
	case "busy":
		return "skipped: another sync was running"
	case "retry":
		return "stopped; it is retried"
	case "error":
		return "failed"
	}
	return outcome
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// roleLabel names a role as the pages do.
func roleLabel(role string) string {
	switch role {
	case access.RoleSelf:
		return "User"
	case access.RoleOrgAdmin:
		return "Organisation admin"
	case access.RoleSupport:
		return "Support (reads status only)"
	}
	return role
}

func roleLabels(roles []string) string {
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		out = append(out, roleLabel(r))
	}
	return strings.Join(out, ", ")
}

// fieldLabel names a settings field as the settings page labels it, for
// the error list: "pastDays" → "Days back for tasks and events",
// "contact.customFields[0]" → "Contacts, custom field row 1".
func fieldLabel(field string) string {
	kinds := map[string]string{string(item.Contact): "Contacts", string(item.Task): "Tasks", string(item.Event): "Events"}
	if k, ok := kinds[field]; ok {
		return k
	}
	if kind, rest, ok := strings.Cut(field, ".customFields"); ok {
		k := kinds[kind]
		if k == "" {
			k = kind
		}
		var row int
		if _, err := fmt.Sscanf(rest, "[%d]", &row); err == nil {
			return fmt.Sprintf("%s, custom field row %d", k, row+1)
		}
		return k + ", custom fields"
	}
	switch field {
	case "contactListView":
		return "Contacts to sync"
	case "pastDays":
		return "Days back for tasks and events"
	case "futureDays":
		return "Days ahead for events"
	case "email.ownDomains":
		return "My organisation's domains"
	case "email.shareCategory":
		return "Share category"
	case "email.folder":
		return "Share folder"
	case "settings":
		return "Settings"
	case "plan":
		return "Plan"
	case "customFields", "policies":
		return "Settings"
	}
	return field
}

// planLabel names a plan: "free" → "Free".
func planLabel(plan string) string {
	if plan == "" {
		return plan
	}
	return strings.ToUpper(plan[:1]) + plan[1:]
}

// fieldMessage is a validation message as the page shows it: the engine's
// placeholder "extended:Name" becomes words.
func fieldMessage(msg string) string {
	return strings.ReplaceAll(msg, item.ExtendedPrefix+"Name", item.ExtendedPrefix+" and a name of your own (such as "+item.ExtendedPrefix+"Region)")
}
