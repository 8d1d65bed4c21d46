package host

import (
	"context"
	"time"
)

// runTimer fires a timer function on its schedule until ctx ends. Ticks never
// overlap and are not retried, as with the Functions host. The first tick
// carries a null ScheduleStatus (nothing monitored yet); later ones carry it.
func (h *Host) runTimer(ctx context.Context, fn AppFunction) {
	binding := fn.Trigger().Name
	log := h.log.With("function", fn.Name)
	var last time.Time
	for {
		next := fn.Schedule.Next(time.Now())
		if next.IsZero() {
			log.Error("timer schedule never fires again", "schedule", fn.Schedule.String())
			return
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		now := time.Now()
		var status any // null
		if !last.IsZero() {
			status = map[string]string{"Last": hostTime(last), "Next": hostTime(fn.Schedule.Next(now)), "LastUpdated": hostTime(now)}
		}
		data := map[string]any{binding: map[string]any{
			"Schedule":       map[string]bool{"AdjustForDST": true},
			"ScheduleStatus": status,
			"IsPastDue":      now.Sub(next) > 5*time.Second,
		}}
		start := time.Now()
		if _, err := h.invoke(ctx, fn, data, nil); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("timer invocation failed (timers are not retried)", "error", err)
		} else {
			log.Info("timer invocation succeeded", "took", time.Since(start).Round(time.Millisecond))
		}
		last = next
	}
}
