package notice

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// digestShown bounds the users one digest lists.
const digestShown = 50

// DigestResult says what a digest run did.
type DigestResult struct {
	// Attention counts the members who needed attention.
	Attention int
	// Sent counts the admins written to (not those already written to today
	// or who turned the digest off).
	Sent int
}

// Digest writes to org's admins about the members who needed attention
// today or yesterday (UTC): each listed with what happened. Once a day per
// admin (the same claim as every notice); nothing is sent when nobody needs
// attention. It reads the org's members and one row per member: run it
// once a day, from a timer.
func (n *Notifier) Digest(ctx context.Context, org string) (DigestResult, error) {
	members, err := n.d.Profiles.Members(ctx, org)
	if err != nil {
		return DigestResult{}, err
	}
	now := n.d.Now().UTC()
	recent := []string{now.Format(time.DateOnly), now.AddDate(0, 0, -1).Format(time.DateOnly)}
	var lines []string
	var admins []string
	for _, m := range members {
		if slices.Contains(m.Roles, access.RoleOrgAdmin) {
			admins = append(admins, m.User)
		}
		e, err := n.d.Tables.Get(ctx, Table, m.User, attentionKey)
		if errors.Is(err, tablestore.ErrNotFound) {
			continue
		}
		if err != nil {
			return DigestResult{}, err
		}
		if day, _ := e.Properties["Day"].(string); !slices.Contains(recent, day) {
			continue
		}
		who := m.Email
		if who == "" {
			who = "A user without an address (" + m.User + ")"
		}
		kinds, _ := e.Properties["Kinds"].(string)
		lines = append(lines, who+": "+kindWords(kinds))
	}
	res := DigestResult{Attention: len(lines)}
	if len(lines) == 0 {
		return res, nil
	}
	slices.Sort(lines)
	shown := lines[:min(len(lines), digestShown)]
	text := fmt.Sprintf("%d user%s of your organisation needed attention since yesterday:\n\n- %s\n", len(lines), plural(len(lines)), strings.Join(shown, "\n- "))
	if more := len(lines) - len(shown); more > 0 {
		text += fmt.Sprintf("- and %d more\n", more)
	}
	text += "\nThe organisation page of the dashboard shows each user's state."
	m := note{kind: Digest, subject: fmt.Sprintf("crmsync: %d user%s need attention", len(lines), plural(len(lines))), text: text}
	for _, admin := range admins {
		if n.send(ctx, admin, m) {
			res.Sent++
		}
	}
	return res, nil
}

func kindWords(kinds string) string {
	var out []string
	for _, k := range strings.Split(kinds, ",") {
		switch Kind(k) {
		case Reconnect:
			out = append(out, "a connection needs reconnecting")
		case Failing:
			out = append(out, "items keep failing")
		case Guard:
			out = append(out, "removals held back")
		}
	}
	if len(out) == 0 {
		return "needs a look"
	}
	return strings.Join(out, "; ")
}

// DigestAll runs Digest for every organisation with a member who needed
// attention today or yesterday. It finds them by the users' attention rows
// (one query over the table's "attention" rows, paged), so its cost follows
// the users needing attention, not all users.
func (n *Notifier) DigestAll(ctx context.Context) (DigestResult, error) {
	now := n.d.Now().UTC()
	recent := []string{now.Format(time.DateOnly), now.AddDate(0, 0, -1).Format(time.DateOnly)}
	orgs := map[string]bool{}
	q := tablestore.Query{RowKeyFrom: attentionKey, RowKeyTo: attentionKey + "!"}
	for {
		page, err := n.d.Tables.Query(ctx, Table, q)
		if err != nil {
			return DigestResult{}, err
		}
		for _, e := range page.Entities {
			if day, _ := e.Properties["Day"].(string); e.RowKey != attentionKey || !slices.Contains(recent, day) {
				continue
			}
			p, err := n.d.Profiles.Profile(ctx, e.PartitionKey)
			if err != nil {
				n.d.Log.Warn("notice: digest skips a user without a profile", "user", e.PartitionKey, "err", err)
				continue
			}
			if p.Org != "" {
				orgs[p.Org] = true
			}
		}
		if page.Continuation == "" {
			break
		}
		q.Continuation = page.Continuation
	}
	var total DigestResult
	var errs []error
	for _, org := range slices.Sorted(maps.Keys(orgs)) {
		res, err := n.Digest(ctx, org)
		total.Attention += res.Attention
		total.Sent += res.Sent
		if err != nil {
			errs = append(errs, fmt.Errorf("digest of %s: %w", org, err))
		}
	}
	return total, errors.Join(errs...)
}
