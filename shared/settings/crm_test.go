package settings

import (
	"strings"
	"testing"
)

// TestCRMSetting: CRMSYNC_CRM picks the deployment's CRM, Salesforce unless
// told; anything else is refused naming the setting and the choices.
func TestCRMSetting(t *testing.T) {
	base := map[string]string{NamePort: "1", NameStorage: "embedded", NameDataDir: "/d"}
	for _, tt := range []struct{ value, want string }{{"", CRMSalesforce}, {"salesforce", CRMSalesforce}, {"c4c", CRMC4C}} {
		vars := with(base, nil)
		if tt.value != "" {
			vars[NameCRM] = tt.value
		}
		got, err := Load(env(vars))
		if err != nil {
			t.Fatalf("%s=%q: %v", NameCRM, tt.value, err)
		}
		if got.CRM != tt.want {
			t.Errorf("%s=%q: CRM %q, want %q", NameCRM, tt.value, got.CRM, tt.want)
		}
	}
	_, err := Load(env(with(base, map[string]string{NameCRM: "dynamics"})))
	if err == nil || !strings.Contains(err.Error(), NameCRM) || !strings.Contains(err.Error(), `"dynamics"`) || !strings.Contains(err.Error(), "c4c") {
		t.Errorf("%s=dynamics: err %v, want one naming the setting, the value and the choices", NameCRM, err)
	}
}
