package session

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/side"
)

// fieldMapping is the code of a kind's issue about custom fields that cannot
// sync; it names fields (configuration), never a value.
const fieldMapping = "field-mapping"

// fieldsKey is the issue key of a kind's field-mapping issue (it names no item).
func fieldsKey(kind item.Kind) string { return issueKey(kind, reconcile.CRM, "") }

// checkFields asks a CRM that can check fields whether kind's custom fields
// exist and can sync as text. Fields that cannot are left out of this
// session's policy and named in one issue of the kind, which clears once
// every field syncs; the others sync as usual.
func (s *run) checkFields(ctx context.Context, kind item.Kind) error {
	pol := s.settings.Policies[kind].WithDefaults(kind)
	if !slices.ContainsFunc(pol.Fields, item.IsCustom) {
		s.cleared = append(s.cleared, fieldsKey(kind))
		return nil
	}
	fc, ok := s.sides.CRM.(side.FieldChecker)
	if !ok {
		return nil
	}
	bad, err := fc.CheckFields(ctx, kind)
	if err != nil {
		return fmt.Errorf("checking the %s fields in the CRM: %w", kind, err)
	}
	if len(bad) == 0 {
		s.cleared = append(s.cleared, fieldsKey(kind))
		return nil
	}
	// The settings' map and slices may be shared with the source: copy.
	s.settings.Policies = maps.Clone(s.settings.Policies)
	if s.settings.Policies == nil {
		s.settings.Policies = map[item.Kind]reconcile.Policy{}
	}
	pol.Fields = slices.DeleteFunc(slices.Clone(pol.Fields), func(f string) bool { _, no := bad[f]; return no })
	s.settings.Policies[kind] = pol
	var why []string
	for _, f := range slices.Sorted(maps.Keys(bad)) {
		why = append(why, strings.TrimPrefix(f, item.CustomPrefix)+": "+bad[f])
	}
	s.issues = append(s.issues, Issue{Kind: kind, Side: reconcile.CRM, Code: fieldMapping,
		Reason: "custom fields not synced until the mapping is fixed: " + strings.Join(why, "; ")})
	return nil
}
