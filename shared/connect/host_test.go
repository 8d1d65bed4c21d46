package connect

import "testing"

func TestServiceHost(t *testing.T) {
	for _, c := range []struct {
		host string
		ok   bool
	}{
		{"https://my.salesforce.com", true},
		{"https://my123456.crm.ondemand.com/", true},
		{"http://127.0.0.1:8443", true},
		{"http://localhost:9000", true},
		{"http://[::1]:9000", true},
		{"http://my.salesforce.com", false},          // a credential in clear over a network
		{"http://10.0.0.5", false},                   // private, not loopback
		{"https://user:pw@my.salesforce.com", false}, // credentials in the URL
		{"https://my.salesforce.com/services", false},
		{"https://my.salesforce.com/?x=1", false},
		{"ftp://localhost", false},
		{"my.salesforce.com", false},
		{"", false},
	} {
		if got := ServiceHost(c.host); got != c.ok {
			t.Errorf("ServiceHost(%q) = %v, want %v", c.host, got, c.ok)
		}
	}
}
