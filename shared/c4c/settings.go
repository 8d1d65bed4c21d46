package c4c

import "github.com/crmsync/crmsync/shared/settings"

// Config is the C4C connector's own settings. C4C is connected per user on the
// dashboard's Connections page (tenant host, communication user and password,
// or SAML bearer), so a deployment sets none yet; a setting it comes to need is
// added here, with its spec in Settings, and the wiring passes it on.
type Config struct{}

// Settings lists the C4C settings (for the README table and the Bicep check)
// whose Parse fill c when settings.Load runs them: none yet.
func (c *Config) Settings() []settings.Spec { return nil }
