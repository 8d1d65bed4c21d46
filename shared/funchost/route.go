package funchost

import (
	"fmt"
	"strings"
)

// RoutePatterns is RoutePattern plus, for a route ending in a catch-all or
// optional parameter, the exact pattern without it, so that "/api/dashboard"
// reaches the same function as "/api/dashboard/x" without a redirect.
func RoutePatterns(prefix, route string) ([]string, error) {
	p, err := RoutePattern(prefix, route)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(p, "...}") {
		return []string{p}, nil
	}
	bare := p[:strings.LastIndex(p, "/")]
	if bare == "" {
		bare = "/{$}"
	}
	return []string{p, bare}, nil
}

// RoutePattern turns a function.json route template ("items/{id}",
// "dashboard/{*path}", "t/{token:alpha}") into an http.ServeMux path pattern
// under the route prefix ("/api/items/{id}", "/api/dashboard/{path...}").
// Constraints are dropped (the handler validates); optional parameters ("{id?}")
// are only supported as the last segment and become a trailing wildcard.
func RoutePattern(prefix, route string) (string, error) {
	route = strings.Trim(route, "/")
	if route == "" {
		return "", fmt.Errorf("route: missing")
	}
	var b strings.Builder
	if prefix = strings.Trim(prefix, "/"); prefix != "" {
		b.WriteString("/" + prefix)
	}
	segs := strings.Split(route, "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		b.WriteString("/")
		if !strings.HasPrefix(seg, "{") {
			if strings.ContainsAny(seg, "{}") {
				return "", fmt.Errorf("route %q: segment %q mixes text and parameters", route, seg)
			}
			b.WriteString(seg)
			continue
		}
		if !strings.HasSuffix(seg, "}") {
			return "", fmt.Errorf("route %q: segment %q is not closed", route, seg)
		}
		name := seg[1 : len(seg)-1]
		if c := strings.IndexByte(name, ':'); c >= 0 {
			name = name[:c]
		}
		wildcard := false
		if strings.HasPrefix(name, "*") {
			name, wildcard = name[1:], true
		}
		if strings.HasSuffix(name, "?") {
			name, wildcard = name[:len(name)-1], true
		}
		if name == "" || strings.ContainsAny(name, "{}*?") {
			return "", fmt.Errorf("route %q: bad parameter %q", route, seg)
		}
		if wildcard && !last {
			return "", fmt.Errorf("route %q: catch-all or optional parameter %q must be last", route, seg)
		}
		if wildcard {
			b.WriteString("{" + name + "...}")
		} else {
			b.WriteString("{" + name + "}")
		}
	}
	return b.String(), nil
}
