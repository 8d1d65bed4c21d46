package dashboard

import (
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/insight"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/side"
)

// TestWordsNameTheConnectors: the pages' words name the connectors they are
// given, not a vendor (the Salesforce + Microsoft wording is checked by the
// page tests, which wire those connectors).
func TestWordsNameTheConnectors(t *testing.T) {
	n := namesOf(side.Connector{Name: "Acme CRM"}, side.Connector{Name: "Acme Mail"})
	for got, want := range map[string]string{
		n.countPhrase(CountView{N: 3, Kind: "task", Op: "update", Direction: "to-crm"}): "3 tasks updated in Acme CRM",
		n.outcomePhrase("quota", 0):       "stopped at Acme CRM's API limit",
		n.movedLabel("contact", "to-crm"): "Contacts to Acme CRM",
		n.ruleText("crm-wins"):            "Acme CRM wins",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	charts := n.historyCharts(insightHistoryForTest(), true)
	if last := charts[len(charts)-1]; !strings.HasPrefix(last.Title, "Acme CRM API calls") {
		t.Errorf("calls chart titled %q", last.Title)
	}
	p := newPages(n)
	tpl, err := p.t.New("words-test").Parse(`{{sideLabel "` + string(reconcile.CRM) + `"}}|{{crmName}}|{{mailboxName}}`)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tpl.Execute(&b, nil); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "Acme CRM|Acme CRM|Acme Mail" {
		t.Errorf("template words %q", got)
	}
	if unnamed := namesOf(side.Connector{}, side.Connector{}); unnamed.countPhrase(CountView{N: 1, Kind: "task", Op: "create", Direction: "to-crm"}) != "1 task created in the CRM" {
		t.Errorf("unnamed connector: %q", unnamed.countPhrase(CountView{N: 1, Kind: "task", Op: "create", Direction: "to-crm"}))
	}
}

func insightHistoryForTest() insight.History {
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	return insight.History{Days: []insight.Day{{Day: day, Moved: map[string]int{"contact|to-crm": 2}, CRMCalls: 40, CRMLimit: 15000}},
		Kinds: []string{"contact|to-crm"}}
}
