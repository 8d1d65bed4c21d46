package detector

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/orgwatch"
)

// TestScheduleIsTickOffset: the timer fires when orgwatch's latency bound
// assumes it does (its seconds field is orgwatch.TickOffset), every minute.
func TestScheduleIsTickOffset(t *testing.T) {
	f := strings.Fields(Schedule)
	if len(f) != 6 || strings.Join(f[1:], " ") != "* * * * *" {
		t.Fatalf("Schedule %q is not once a minute", Schedule)
	}
	sec, err := strconv.Atoi(f[0])
	if err != nil || time.Duration(sec)*time.Second != orgwatch.TickOffset {
		t.Fatalf("Schedule %q fires at second %s, orgwatch.TickOffset is %v", Schedule, f[0], orgwatch.TickOffset)
	}
}
