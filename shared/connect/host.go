package connect

import (
	"net"
	"net/url"
)

// ServiceHost accepts https URLs, and http ones on a loopback address (the
// local servers of the demo and tests): a credential (a password, a signed
// assertion) never travels in clear over a network. Connectors whose admin
// names the service's host (a password connect's instance, a C4C tenant)
// check it with this.
func ServiceHost(v string) bool {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return u.Scheme == "http" && (host == "localhost" || ip != nil && ip.IsLoopback())
}
