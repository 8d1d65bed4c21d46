package soql

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want *Query
	}{
		{"simple", "SELECT Id, Name FROM Contact", &Query{Fields: []string{"Id", "Name"}, Object: "Contact", Limit: -1}},
		{"count", "select count() from Lead where Email = 'a@b.c'", &Query{Count: true, Object: "Lead", Limit: -1,
			Where: &Compare{"Email", "=", Str("a@b.c")}}},
		{"escapes", `SELECT Id FROM Contact WHERE LastName = 'O\'Brien \\ \n'`, &Query{Fields: []string{"Id"}, Object: "Contact", Limit: -1,
			Where: &Compare{"LastName", "=", Str("O'Brien \\ \n")}}},
		{"and or not in", "SELECT Id FROM Task WHERE OwnerId = '005' AND (IsClosed = false OR ActivityDate >= LAST_N_DAYS:14) AND NOT Id IN ('a','b')",
			&Query{Fields: []string{"Id"}, Object: "Task", Limit: -1, Where: &And{[]Expr{
				&Compare{"OwnerId", "=", Str("005")},
				&Or{[]Expr{&Compare{"IsClosed", "=", Value{Kind: Bool, Text: "false"}}, &Compare{"ActivityDate", ">=", Value{Kind: DateLiteral, Text: "LAST_N_DAYS", N: 14}}}},
				&Not{&In{Field: "Id", Values: []Value{Str("a"), Str("b")}}},
			}}}},
		{"not in, like, null, dates, order, limit", "SELECT Owner.Alias FROM Event USING SCOPE mine WHERE Id NOT IN ('x') AND Subject LIKE 'a\\%b%' AND Location != null AND StartDateTime < 2026-05-01T10:00:00Z AND ActivityDate = 2026-05-01 ORDER BY StartDateTime DESC, Id ASC NULLS LAST LIMIT 10 OFFSET 5",
			&Query{Fields: []string{"Owner.Alias"}, Object: "Event", Scope: "mine", Limit: 10, Offset: 5,
				Where: &And{[]Expr{
					&In{Field: "Id", Not: true, Values: []Value{Str("x")}},
					&Compare{"Subject", "LIKE", Str(`a\%b%`)},
					&Compare{"Location", "!=", Value{Kind: Null, Text: "null"}},
					&Compare{"StartDateTime", "<", Value{Kind: DateTime, Text: "2026-05-01T10:00:00Z"}},
					&Compare{"ActivityDate", "=", Value{Kind: Date, Text: "2026-05-01"}},
				}},
				OrderBy: []Order{{Field: "StartDateTime", Desc: true, NullsLast: true}, {Field: "Id", NullsLast: true}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for name, src := range map[string]string{
		"mixed and or":         "SELECT Id FROM Contact WHERE a = 1 AND b = 2 OR c = 3",
		"unterminated":         "SELECT Id FROM Contact WHERE a = 'x",
		"trailing garbage":     "SELECT Id FROM Contact WHERE a = 'x' 'y'",
		"injected or":          "SELECT Id FROM Contact WHERE a = 'x' OR Id != null' ",
		"no from":              "SELECT Id Contact",
		"bad escape":           `SELECT Id FROM Contact WHERE a = '\q'`,
		"percent outside like": `SELECT Id FROM Contact WHERE a = '\%'`,
		"null compare":         "SELECT Id FROM Contact WHERE a > null",
	} {
		t.Run(name, func(t *testing.T) {
			if q, err := Parse(src); err == nil {
				t.Errorf("Parse(%q) = %v, want an error", src, q.Where)
			}
		})
	}
}

func TestLike(t *testing.T) {
	tests := []struct {
		s, p string
		want bool
	}{
		{"Smith", "sm%", true},
		{"Smith", "s_ith", true},
		{"100%", `100\%`, true},
		{"1000", `100\%`, false},
		{"a_b", `a\_b`, true},
		{"axb", `a\_b`, false},
		{`a\b`, `a\\b`, true},
	}
	for _, tt := range tests {
		if got := Like(tt.s, tt.p); got != tt.want {
			t.Errorf("Like(%q, %q) = %v, want %v", tt.s, tt.p, got, tt.want)
		}
	}
}

func TestRange(t *testing.T) {
	now := time.Date(2026, 5, 10, 15, 0, 0, 0, time.UTC)
	lo, hi, err := Value{Kind: DateLiteral, Text: "LAST_N_DAYS", N: 2}.Range(now)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 5, 8, 0, 0, 0, 0, time.UTC); !lo.Equal(want) {
		t.Errorf("lo = %v, want %v", lo, want)
	}
	if want := time.Date(2026, 5, 11, 0, 0, 0, 0, time.UTC); !hi.Equal(want) {
		t.Errorf("hi = %v, want %v", hi, want)
	}
}
