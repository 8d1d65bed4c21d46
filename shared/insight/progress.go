package insight

import (
	"context"
	"errors"
	"time"

	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// progressKey is the RowKey of a user's progress row.
const progressKey = "progress"

// Progress writes a running session's counts to the user's own row: one
// write every session.ProgressEvery at most (the runner paces the calls).
func (s *Store) Progress(ctx context.Context, p session.Progress) {
	_, err := s.tables.Upsert(ctx, ProgressTable, tablestore.Entity{PartitionKey: p.User, RowKey: progressKey, Properties: map[string]any{
		"SessionID": p.SessionID, "Started": p.Started.UTC(), "At": p.At.UTC(), "Kind": string(p.Kind),
		"Read": int64(p.Read), "Planned": int64(p.Planned), "Written": int64(p.Written), "Failed": int64(p.Failed), "Done": p.Done,
	}})
	if err != nil {
		s.log.Warn("progress not saved", "user", p.User, "session", p.SessionID, "err", err)
	}
}

// Live is a session's progress as the overview shows it.
type Live struct {
	SessionID string    `json:"sessionId"`
	Started   time.Time `json:"started"`
	At        time.Time `json:"at"`
	Kind      string    `json:"kind,omitempty"`
	Read      int       `json:"read"`
	Planned   int       `json:"planned"`
	Written   int       `json:"written"`
	Failed    int       `json:"failed"`
	Done      bool      `json:"done"`
	// Stale is set when a session that is not done has reported nothing for
	// StaleAfter: it probably died and the next one starts over.
	Stale bool `json:"stale"`
	// Percent is the share of the planned actions applied (0–100).
	Percent int `json:"percent"`
	// RemainingSeconds estimates the time left from the rate so far (-1:
	// no estimate yet).
	RemainingSeconds int `json:"remainingSeconds"`
}

// StaleAfter is how long a running session may stay silent before its
// progress is shown as stale (several missed reports and a lease expiry).
const StaleAfter = time.Minute + 4*session.ProgressEvery

// ReadProgress returns user's current or last session's progress; ok is
// false when none was ever reported. One table read.
func (s *Store) ReadProgress(ctx context.Context, user string) (Live, bool, error) {
	e, err := s.tables.Get(ctx, ProgressTable, user, progressKey)
	if errors.Is(err, tablestore.ErrNotFound) {
		return Live{}, false, nil
	}
	if err != nil {
		return Live{}, false, err
	}
	num := func(k string) int { n, _ := e.Properties[k].(int64); return int(n) }
	l := Live{Read: num("Read"), Planned: num("Planned"), Written: num("Written"), Failed: num("Failed")}
	l.SessionID, _ = e.Properties["SessionID"].(string)
	l.Kind, _ = e.Properties["Kind"].(string)
	l.Started, _ = e.Properties["Started"].(time.Time)
	l.At, _ = e.Properties["At"].(time.Time)
	l.Done, _ = e.Properties["Done"].(bool)
	l.estimate(s.now())
	return l, true, nil
}

// estimate fills Percent, RemainingSeconds and Stale as of now.
func (l *Live) estimate(now time.Time) {
	l.RemainingSeconds = -1
	l.Stale = !l.Done && now.Sub(l.At) > StaleAfter
	done := l.Written + l.Failed
	switch {
	case l.Done:
		l.Percent, l.RemainingSeconds = 100, 0
	case l.Planned > 0:
		l.Percent = min(100, done*100/l.Planned)
		elapsed := l.At.Sub(l.Started).Seconds()
		if done > 0 && elapsed > 0 && done < l.Planned {
			l.RemainingSeconds = int(float64(l.Planned-done) * elapsed / float64(done))
		}
	}
}
