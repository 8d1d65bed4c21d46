package settings

import (
	"strings"
	"testing"
)

// TestNotificationSettings: a service mailbox needs its tenant, SMTP needs
// host:port and a sender; each problem is named; good values load.
func TestNotificationSettings(t *testing.T) {
	base := map[string]string{NamePort: "1", NameStorage: "embedded", NameDataDir: "/d"}
	for name, tc := range map[string]struct {
		env  map[string]string
		want []string
	}{
		"mailbox without tenant": {map[string]string{NameNotifyMailbox: "crmsync@contoso.example"}, []string{NameNotifyTenant + " is missing"}},
		"mailbox not an address": {map[string]string{NameNotifyMailbox: "crmsync", NameNotifyTenant: "t"}, []string{NameNotifyMailbox + `="crmsync" is not an e-mail address`}},
		"smtp without port":      {map[string]string{NameSMTPAddr: "smtp.example", NameSMTPFrom: "a@b.example"}, []string{NameSMTPAddr + `="smtp.example" is not host:port`}},
		"smtp without sender":    {map[string]string{NameSMTPAddr: "smtp.example:587"}, []string{NameSMTPFrom + " is missing"}},
	} {
		_, err := Load(env(with(base, tc.env)))
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want it to say %q", name, err, w)
			}
		}
	}
	s, err := Load(env(with(base, map[string]string{NameNotifyMailbox: "crmsync@contoso.example", NameNotifyTenant: "tid",
		NameSMTPAddr: "smtp.example:587", NameSMTPFrom: "crmsync@contoso.example", NameSMTPPassword: "pw"})))
	if err != nil || s.NotifyMailbox != "crmsync@contoso.example" || s.NotifyTenant != "tid" || s.SMTPAddr != "smtp.example:587" || s.SMTPPassword != "pw" {
		t.Errorf("good settings: %+v, %v", s, err)
	}
}
