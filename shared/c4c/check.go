package c4c

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
)

// ErrCredentials is Check's answer when the tenant refuses the
// communication user's name or password.
var ErrCredentials = errors.New("SAP Cloud for Customer refused the user name and password")

// Check signs in to the tenant at o.Host as the communication user (the
// CSRF token fetch every write starts with: one GET of the service root)
// before a connection is stored, and returns the tenant its connection is
// to: the host's first label ("my000123" of my000123.crm.ondemand.com), or
// the whole host:port of an address without a domain (a local C4C). Its
// errors never carry the password.
func Check(ctx context.Context, o Options) (tenant string, err error) {
	c, err := New(o)
	if err != nil {
		return "", err
	}
	if _, err := c.csrf(ctx, true); err != nil {
		if fault.Is(err, fault.Reconnect) {
			return "", ErrCredentials
		}
		return "", errors.New("SAP Cloud for Customer could not be reached at that host: " + err.Error())
	}
	return tenantOf(o.Host)
}

// tenantOf is the tenant of a host: its first label, or host:port of an
// address without a domain.
func tenantOf(h string) (string, error) {
	u, err := url.Parse(h)
	if err != nil {
		return "", err
	}
	host := strings.ToLower(u.Hostname())
	if label, _, ok := strings.Cut(host, "."); ok && net.ParseIP(host) == nil {
		return label, nil
	}
	return strings.ToLower(u.Host), nil
}
