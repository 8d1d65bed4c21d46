package salesforce

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/local/fakesalesforce/soql"
	"github.com/crmsync/crmsync/shared/fault"
)

// hostile are filter values that would change a query's meaning if they
// reached SOQL unescaped.
var hostile = []string{
	`'`, `\`, `\'`, `\\'`, `''`, `"quoted"`,
	`' OR Id != null`, `x' OR LastName != '`, `') OR (Id != null`, `' OR Id != null OR LastName = '`,
	"\u2019 OR Id != null", "\uff07 OR Id != null", "\u02bc OR Id != null", "\u201c x \u201d",
	"line1\nline2", "tab\there", "cr\rlf", `\n literal`, `\u0027 OR Id != null`,
	`%`, `_`, `a%b_c`, `100%_off`, `{!$User.Id}`, `:bind`, `-- comment`, `/* c */`, `; DELETE`,
	"Ünïcødé ☃ 名前",
}

func TestSOQLInjection(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	ctx := t.Context()
	ids := map[string]string{}
	for _, v := range hostile {
		id, err := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": v, "Email": "x@example.com"})
		if err != nil {
			t.Fatalf("seed %q: %v", v, err)
		}
		ids[v] = id
	}
	decoy, err := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "decoy"})
	if err != nil {
		t.Fatal(err)
	}
	_ = decoy
	for _, v := range hostile {
		t.Run(v, func(t *testing.T) {
			q, err := l.client.Build(ctx, Select{Object: "Contact", Fields: []string{"Id", "LastName"},
				Where: And(Eq("OwnerId", l.user), Eq("LastName", v))})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			parsed, err := soql.Parse(q)
			if err != nil {
				t.Fatalf("the local Salesforce cannot parse %q: %v", q, err)
			}
			want := &soql.And{Terms: []soql.Expr{
				&soql.Compare{Field: "OwnerId", Op: "=", Value: soql.Str(l.user)},
				&soql.Compare{Field: "LastName", Op: "=", Value: soql.Str(v)},
			}}
			if diff := cmp.Diff(soql.Expr(want), parsed.Where); diff != "" {
				t.Errorf("WHERE tree of %q differs (-want +got):\n%s", q, diff)
			}
			recs, err := l.client.Collect(ctx, q)
			if err != nil {
				t.Fatalf("query: %v", err)
			}
			if len(recs) != 1 || recs[0].ID() != ids[v] {
				t.Errorf("query for %q returned %d records, want exactly %s", v, len(recs), ids[v])
			}

			// LIKE: % and _ in the value match themselves only.
			q, err = l.client.Build(ctx, Select{Object: "Contact", Fields: []string{"Id"}, Where: StartsWith("LastName", v)})
			if err != nil {
				t.Fatalf("Build LIKE: %v", err)
			}
			parsed, err = soql.Parse(q)
			if err != nil {
				t.Fatalf("parse LIKE %q: %v", q, err)
			}
			cmpNode, ok := parsed.Where.(*soql.Compare)
			if !ok || cmpNode.Op != "LIKE" || cmpNode.Field != "LastName" || !soql.Like(v, cmpNode.Value.Text) || !soql.Like(v+"tail", cmpNode.Value.Text) {
				t.Errorf("LIKE tree of %q = %v, want LastName LIKE <literal prefix>", q, parsed.Where)
			}
			recs, err = l.client.Collect(ctx, q)
			if err != nil {
				t.Fatalf("LIKE query: %v", err)
			}
			for _, r := range recs {
				var name string
				for k, id := range ids {
					if id == r.ID() {
						name = k
					}
				}
				if !strings.HasPrefix(strings.ToLower(name), strings.ToLower(v)) {
					t.Errorf("LIKE prefix %q matched %q", v, name)
				}
			}

			// IN lists escape every element.
			q, err = l.client.Build(ctx, Select{Object: "Contact", Fields: []string{"Id"}, Where: In("LastName", []string{v, "nobody"})})
			if err != nil {
				t.Fatalf("Build IN: %v", err)
			}
			parsed, err = soql.Parse(q)
			if err != nil {
				t.Fatalf("parse IN %q: %v", q, err)
			}
			wantIn := &soql.In{Field: "LastName", Values: []soql.Value{soql.Str(v), soql.Str("nobody")}}
			if diff := cmp.Diff(soql.Expr(wantIn), parsed.Where); diff != "" {
				t.Errorf("IN tree of %q differs (-want +got):\n%s", q, diff)
			}
		})
	}
}

func TestSOQLBuilderRefusesBadNames(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	tests := []struct {
		name string
		sel  Select
	}{
		{"field with operator", Select{Object: "Contact", Fields: []string{"Id"}, Where: Eq("LastName = 'x' OR Id", "y")}},
		{"unknown field", Select{Object: "Contact", Fields: []string{"Id", "Password__c"}}},
		{"object with clause", Select{Object: "Contact WHERE Id != null", Fields: []string{"Id"}}},
		{"order by injection", Select{Object: "Contact", Fields: []string{"Id"}, OrderBy: []string{"LastName; DROP"}}},
		{"sort direction", Select{Object: "Contact", Fields: []string{"Id"}, OrderBy: []string{"LastName DESC, Id"}}},
		{"control character", Select{Object: "Contact", Fields: []string{"Id"}, Where: Eq("LastName", "a\x00b")}},
		{"wrong value type", Select{Object: "Contact", Fields: []string{"Id"}, Where: Eq("CreatedDate", "2026-01-01' OR Id != null")}},
		{"unknown relationship", Select{Object: "Contact", Fields: []string{"Secret.Name"}}},
		{"bad date literal", Select{Object: "Contact", Fields: []string{"Id"}, Where: Ge("CreatedDate", RelativeDate{Name: "TODAY OR Id != null"})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := l.client.Build(t.Context(), tt.sel)
			if err == nil {
				t.Fatalf("Build = %q, want an error", q)
			}
			if !fault.Is(err, fault.Permanent) {
				t.Errorf("err = %v, want Permanent", err)
			}
		})
	}
}

func TestSOSLTerm(t *testing.T) {
	got := SOSLTerm(`jane} RETURNING User(Id) {x*`)
	if want := `jane\} RETURNING User\(Id\) \{x\*`; got != want {
		t.Errorf("SOSLTerm = %q, want %q", got, want)
	}
}
