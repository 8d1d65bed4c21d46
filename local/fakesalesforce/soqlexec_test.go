package fakesalesforce

import (
	"net/url"
	"testing"
)

func TestQueryEvaluation(t *testing.T) {
	f := newFixture(t, Options{})
	acct, _ := f.srv.Insert(f.user, "Account", map[string]any{"Name": "Acme"})
	today := f.clock.Now().Format("2006-01-02")
	_, _ = f.srv.Insert(f.user, "Contact", map[string]any{"LastName": "Alpha", "FirstName": "Ann", "AccountId": acct, "Email": "ann@acme.example"})
	_, _ = f.srv.Insert(f.user, "Contact", map[string]any{"LastName": "Beta", "Title": "CTO"})
	_, _ = f.srv.Insert(f.user, "Contact", map[string]any{"LastName": "Gamma", "Title": "CEO", "AccountId": acct})
	_, _ = f.srv.Insert(f.user, "Task", map[string]any{"Subject": "due today", "ActivityDate": today})
	_, _ = f.srv.Insert(f.user, "Task", map[string]any{"Subject": "old", "ActivityDate": "2026-01-01", "Status": "Completed"})
	tests := []struct {
		soql string
		want int
	}{
		{"SELECT Id FROM Contact", 3},
		{"select id from contact where lastname = 'alpha'", 1},
		{"SELECT Id FROM Contact WHERE Account.Name = 'Acme'", 2},
		{"SELECT Id FROM Contact WHERE AccountId = null", 1},
		{"SELECT Id FROM Contact WHERE Title != 'CTO'", 2},
		{"SELECT Id FROM Contact WHERE Title IN ('CTO', 'CEO') AND NOT LastName = 'Beta'", 1},
		{"SELECT Id FROM Contact WHERE Title NOT IN ('CTO')", 2},
		{"SELECT Id FROM Contact WHERE LastName LIKE '_eta'", 1},
		{"SELECT Id FROM Contact WHERE (Title = 'CTO' OR Title = 'CEO') AND AccountId != null", 1},
		{"SELECT Id FROM Contact WHERE CreatedDate = TODAY", 3},
		{"SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:3", 3},
		{"SELECT Id FROM Contact WHERE CreatedDate < YESTERDAY", 0},
		{"SELECT Id FROM Contact WHERE CreatedDate > 2026-05-10T11:00:00Z", 3},
		{"SELECT Id FROM Task WHERE ActivityDate = TODAY", 1},
		{"SELECT Id FROM Task WHERE ActivityDate < " + today + " AND IsClosed = true", 1},
		{"SELECT Id FROM Task WHERE IsClosed = false OR ActivityDate >= LAST_N_DAYS:14", 1},
		{"SELECT Id FROM Contact ORDER BY Title DESC NULLS LAST LIMIT 2", 2},
		{"SELECT Id FROM Contact ORDER BY LastName LIMIT 10 OFFSET 2", 1},
		{"SELECT Id FROM Contact USING SCOPE mine", 3},
	}
	for _, tt := range tests {
		var page struct {
			TotalSize int
			Records   []map[string]any
		}
		resp := f.do("GET", v+"/query?q="+url.QueryEscape(tt.soql), nil, &page)
		if resp.StatusCode != 200 || page.TotalSize != tt.want {
			t.Errorf("%s: status %d, %d rows, want %d", tt.soql, resp.StatusCode, page.TotalSize, tt.want)
		}
	}
	var page struct{ Records []map[string]any }
	f.do("GET", v+"/query?q="+url.QueryEscape("SELECT LastName, Title FROM Contact ORDER BY Title DESC NULLS LAST, LastName"), nil, &page)
	var order []any
	for _, r := range page.Records {
		order = append(order, r["LastName"])
	}
	if len(order) != 3 || order[0] != "Beta" || order[1] != "Gamma" || order[2] != "Alpha" {
		t.Errorf("ORDER BY Title DESC NULLS LAST = %v, want [Beta Gamma Alpha]", order)
	}
	for _, bad := range []struct{ soql, code string }{
		{"SELECT Id FROM Nope", "INVALID_TYPE"},
		{"SELECT Nope FROM Contact", "INVALID_FIELD"},
		{"SELECT Id FROM Contact WHERE CreatedDate = '2026-01-01'", "INVALID_FIELD"},
		{"SELECT Id FROM Contact WHERE IsDeleted = 'false'", "INVALID_FIELD"},
		{"SELECT Id FROM Contact WHERE a = 1 AND b = 2 OR c = 3", "MALFORMED_QUERY"},
		{"SELECT Id FROM Contact WHERE Nope.Name = 'x'", "INVALID_FIELD"},
	} {
		var errs []map[string]any
		resp := f.do("GET", v+"/query?q="+url.QueryEscape(bad.soql), nil, &errs)
		if resp.StatusCode != 400 || len(errs) != 1 || errs[0]["errorCode"] != bad.code {
			t.Errorf("%s: %d %v, want %s", bad.soql, resp.StatusCode, errs, bad.code)
		}
	}
}
