package ncrontab

import (
	"strings"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestNext(t *testing.T) {
	tests := []struct {
		name, expr, from string
		want             []string
	}{
		{"every minute", "0 * * * * *", "2026-05-01T10:00:00Z", []string{"2026-05-01T10:01:00Z", "2026-05-01T10:02:00Z"}},
		{"every second", "* * * * * *", "2026-05-01T10:00:00.5Z", []string{"2026-05-01T10:00:01Z", "2026-05-01T10:00:02Z"}},
		{"every 15 minutes", "0 */15 * * * *", "2026-05-01T10:07:00Z", []string{"2026-05-01T10:15:00Z", "2026-05-01T10:30:00Z", "2026-05-01T10:45:00Z", "2026-05-01T11:00:00Z"}},
		{"daily at 3", "0 0 3 * * *", "2026-05-01T03:00:00Z", []string{"2026-05-02T03:00:00Z"}},
		{"range with step", "0 0 9-17/4 * * *", "2026-05-01T00:00:00Z", []string{"2026-05-01T09:00:00Z", "2026-05-01T13:00:00Z", "2026-05-01T17:00:00Z", "2026-05-02T09:00:00Z"}},
		{"value with step", "10/20 * * * * *", "2026-05-01T00:00:00Z", []string{"2026-05-01T00:00:10Z", "2026-05-01T00:00:30Z", "2026-05-01T00:00:50Z", "2026-05-01T00:01:10Z"}},
		{"list", "0 0 8,12,18 * * *", "2026-05-01T12:00:00Z", []string{"2026-05-01T18:00:00Z", "2026-05-02T08:00:00Z"}},
		{"weekday names", "0 30 9 * * MON-FRI", "2026-05-01T10:00:00Z", []string{"2026-05-04T09:30:00Z", "2026-05-05T09:30:00Z"}}, // 1 May 2026 is a Friday
		{"sunday as 7", "0 0 0 * * 7", "2026-05-01T00:00:00Z", []string{"2026-05-03T00:00:00Z"}},
		{"month names", "0 0 0 1 jan,JUL *", "2026-05-01T00:00:00Z", []string{"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
		{"day and weekday both must match", "0 0 0 13 * FRI", "2026-01-01T00:00:00Z", []string{"2026-02-13T00:00:00Z", "2026-03-13T00:00:00Z", "2026-11-13T00:00:00Z"}},
		{"leap day", "0 0 12 29 2 *", "2026-01-01T00:00:00Z", []string{"2028-02-29T12:00:00Z"}},
		{"year end", "59 59 23 31 12 *", "2026-12-31T23:59:59Z", []string{"2027-12-31T23:59:59Z"}},
		{"input zone ignored", "0 0 3 * * *", "2026-05-01T04:30:00+02:00", []string{"2026-05-01T03:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.expr)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			from := at(tt.from)
			for i, w := range tt.want {
				got := s.Next(from)
				if !got.Equal(at(w)) {
					t.Fatalf("occurrence %d: got %s, want %s", i, got.Format(time.RFC3339), w)
				}
				if got.Location() != time.UTC {
					t.Errorf("occurrence %d not in UTC", i)
				}
				from = got
			}
		})
	}
}

func TestNeverOccurs(t *testing.T) {
	s, err := Parse("0 0 0 31 2 *")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Next(at("2026-01-01T00:00:00Z")); !got.IsZero() {
		t.Errorf("Next = %v, want zero time", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr, want string
	}{
		{"* * * * *", "5 fields, want 6"},
		{"0 * * * * * *", "7 fields"},
		{"60 * * * * *", `second field "60": 60 is out of range 0-59`},
		{"0 0 24 * * *", "hour field"},
		{"0 0 0 0 * *", "day field"},
		{"0 0 0 * 13 *", "month field"},
		{"0 0 0 * * 8", "day-of-week field"},
		{"0 0 0 * FOO *", `"FOO" is not a number or name`},
		{"*/0 * * * * *", "step"},
		{"0 5-1 * * * *", "runs backwards"},
		{"0 1,,2 * * * *", "empty list item"},
		{"0 x/5 * * * *", "not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := Parse(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error = %v, want one containing %q", tt.expr, err, tt.want)
			}
		})
	}
}
