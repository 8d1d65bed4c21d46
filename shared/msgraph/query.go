package msgraph

import (
	"net/url"
	"strings"
)

// escapeQuery escapes an OData expression for a query string; Graph wants
// spaces as %20, not "+".
func escapeQuery(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// withQuery appends OData options to path in the given order.
func withQuery(path string, kv ...string) string {
	var b strings.Builder
	b.WriteString(path)
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		b.WriteString(sep)
		b.WriteString(kv[i])
		b.WriteString("=")
		b.WriteString(escapeQuery(kv[i+1]))
		sep = "&"
	}
	return b.String()
}
