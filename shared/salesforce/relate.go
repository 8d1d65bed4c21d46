package salesforce

import (
	"context"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
)

// RelateEmail relates more people to the Task of a shared e-mail: the same
// e-mail shared again from another folder or a colleague's mailbox adds its
// participants to the one Task instead of making a second. People already
// related are left alone; the Task keeps Shared Activities' rule (one lead,
// or up to 50 contacts). A Task the user may not edit is a Permanent
// INSUFFICIENT_ACCESS error (its owner's session can relate them).
func (s *Side) RelateEmail(ctx context.Context, taskID string, whoIDs []string) error {
	if !validID(taskID) {
		return fault.New(fault.Permanent, "MALFORMED_ID", "not a record id")
	}
	for _, id := range whoIDs {
		if !validID(id) {
			return fault.New(fault.Permanent, "MALFORMED_ID", "not a record id")
		}
	}
	var have []string
	err := s.c.Query(ctx, "SELECT RelationId FROM TaskRelation WHERE TaskId = '"+taskID+"' AND IsWhat = false", func(r Record) error {
		have = append(have, r.String("RelationId"))
		return nil
	})
	if err != nil {
		return err
	}
	contacts := slices.ContainsFunc(have, func(id string) bool { return strings.HasPrefix(id, "003") })
	var add []Record
	for _, id := range whos(whoIDs) {
		if slices.Contains(have, id) || len(have)+len(add) >= maxWhos {
			continue
		}
		if !strings.HasPrefix(id, "003") && (contacts || len(have)+len(add) > 0) {
			continue // a lead only ever alone on a Task
		}
		rel := NewRecord("TaskRelation")
		rel["TaskId"], rel["RelationId"], rel["IsWhat"] = taskID, id, false
		add = append(add, rel)
	}
	if len(add) == 0 {
		return nil
	}
	res, err := s.c.Create(ctx, add)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil && !strings.Contains(r.Err.Error(), "DUPLICATE_VALUE") {
			return r.Err // a concurrent relation is fine; anything else is not
		}
	}
	return nil
}
