package msgraph

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
)

// Calendar is one of the mailbox's calendars, for the user's choice of
// which calendars sync.
type Calendar struct {
	ID      string
	Name    string
	Default bool
}

// wireCalendar is a calendar as Graph reports it.
type wireCalendar struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	IsDefaultCalendar bool   `json:"isDefaultCalendar"`
}

// Calendars lists the mailbox's calendars, the default one first, then by
// name.
func (s *Side) Calendars(ctx context.Context) ([]Calendar, error) {
	raw, err := s.c.list(ctx, withQuery(s.c.mailbox()+"/calendars", "$select", "id,name,isDefaultCalendar"))
	if err != nil {
		return nil, err
	}
	out := make([]Calendar, 0, len(raw))
	for _, x := range raw {
		var w wireCalendar
		if err := json.Unmarshal(x, &w); err != nil {
			return nil, malformed("calendar", err)
		}
		out = append(out, Calendar{ID: w.ID, Name: w.Name, Default: w.IsDefaultCalendar})
	}
	slices.SortStableFunc(out, func(a, b Calendar) int {
		switch {
		case a.Default != b.Default:
			if a.Default {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out, nil
}
