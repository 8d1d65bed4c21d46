package reconcile

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/crmsync/crmsync/shared/item"
)

// MarkerFor returns the marker for creating the copy of source record
// sourceID (on side from) on the other side. It is deterministic, so a
// replayed plan carries the same marker and the runner finds the record a
// killed session created; it reveals nothing about the record.
func MarkerFor(kind item.Kind, from Side, sourceID string) string {
	sum := sha256.Sum256([]byte("crmsync-marker|" + string(kind) + "|" + string(from) + "|" + sourceID))
	return "crmsync-" + base64.RawURLEncoding.EncodeToString(sum[:15])
}

// Plan decides what to do for one kind of one user's session. It returns an
// error only for input it cannot plan from (a bad policy, a short key, no
// time, records of another kind, links without a CRM ID or sharing an ID),
// naming every problem; per-record problems become Output.Issues.
func Plan(in Input) (Output, error) {
	bad := validate(in)
	pl, linkErrs := newPlanner(in)
	if bad = append(bad, linkErrs...); len(bad) > 0 {
		return Output{}, fmt.Errorf("reconcile: cannot plan: %w", errors.Join(bad...))
	}
	return pl.plan(), nil
}

// validate checks in for problems that make planning impossible (the links
// are checked while the planner indexes them).
func validate(in Input) []error {
	var bad []error
	switch in.Kind {
	case item.Contact, item.Task, item.Event:
	default:
		bad = append(bad, fmt.Errorf("kind %q is not a two-way kind", in.Kind))
	}
	if err := in.Policy.Validate(); err != nil {
		bad = append(bad, err)
	}
	if in.Now.IsZero() {
		bad = append(bad, errors.New("now is not set (the planner reads no clock)"))
	}
	if len(in.Key) < item.MinKeyBytes {
		bad = append(bad, fmt.Errorf("fingerprint key has %d bytes, want at least %d", len(in.Key), item.MinKeyBytes))
	}
	if c := in.Counts; c != nil {
		switch {
		case c.Live < 0 || c.All < c.Live:
			bad = append(bad, fmt.Errorf("link counts %d (%d live) are impossible", c.All, c.Live))
		case len(in.Links) > c.All:
			bad = append(bad, fmt.Errorf("%d links given, more than the %d counted", len(in.Links), c.All))
		case in.CRM.Full || in.Mailbox.Full:
			bad = append(bad, errors.New("a full listing needs every link, not counts and a subset"))
		}
	}
	for _, sc := range []struct {
		side Side
		ch   item.Changes
	}{{CRM, in.CRM}, {Mailbox, in.Mailbox}} {
		side, ch := sc.side, sc.ch
		if ch.Kind != "" && ch.Kind != in.Kind {
			bad = append(bad, fmt.Errorf("%s changes are of kind %q, want %q", side, ch.Kind, in.Kind))
		}
		for _, r := range ch.Records {
			if r.ID == "" {
				bad = append(bad, fmt.Errorf("%s reported a record without an ID", side))
				break
			}
			if r.Kind != "" && r.Kind != in.Kind {
				bad = append(bad, fmt.Errorf("%s record %s is of kind %q, want %q", side, r.ID, r.Kind, in.Kind))
				break
			}
		}
		for _, rm := range ch.Removed {
			if rm.ID == "" || (rm.Reason != item.Deleted && rm.Reason != item.LeftScope) {
				bad = append(bad, fmt.Errorf("%s reported a removal without an ID or with an unknown reason", side))
				break
			}
		}
	}
	return bad
}
