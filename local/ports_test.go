package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// addrDefault matches one address flag and its default in a FlagSet's -h
// output: "  -idp-addr string\n    \t... (default \"127.0.0.1:8803\")".
var addrDefault = regexp.MustCompile(`(?m)^\s+-(\S*addr) string\n\s+.*\(default "([^"]+)"\)$`)

// flagAddrs runs `local <cmd> -h` and returns each address flag's default.
func flagAddrs(t *testing.T, cmd string) map[string]string {
	t.Helper()
	var out, errOut bytes.Buffer
	_ = run(context.Background(), []string{"local", cmd, "-h"}, func(string) string { return "" }, &out, &errOut)
	got := map[string]string{}
	for _, m := range addrDefault.FindAllStringSubmatch(out.String()+errOut.String(), -1) {
		got[m[1]] = m[2]
	}
	if len(got) == 0 {
		t.Fatalf("local %s -h printed no address flags:\n%s%s", cmd, out.String(), errOut.String())
	}
	return got
}

// TestDefaultPortsDistinct: the servers `local` can start — the function host,
// the demo's identity provider and each fake-* subcommand on its own — listen
// on distinct default ports, so running `make run` beside `go run ./local
// fake-c4c` (or any two of them) needs no -addr. The demo's Salesforce and
// Graph are the fake-salesforce and fake-graph servers themselves, so those two
// share their subcommand's default by design (and the demo's C4C and Google
// variants run on the same two addresses); that is checked too.
func TestDefaultPortsDistinct(t *testing.T) {
	serve := flagAddrs(t, "serve")
	for _, f := range []string{"addr", "salesforce-addr", "graph-addr", "idp-addr"} {
		if serve[f] == "" {
			t.Fatalf("serve -h shows no default for -%s: %v", f, serve)
		}
	}
	port := func(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }
	owner := map[string]string{} // port -> server that listens there by default
	claim := func(who, addr string) {
		if prev, ok := owner[port(addr)]; ok {
			t.Errorf("%s and %s both default to port %s", prev, who, port(addr))
			return
		}
		owner[port(addr)] = who
	}
	claim("serve -addr (function host)", serve["addr"])
	claim("serve -salesforce-addr (demo CRM)", serve["salesforce-addr"])
	claim("serve -graph-addr (demo mailbox)", serve["graph-addr"])
	claim("serve -idp-addr (demo identity provider)", serve["idp-addr"])

	same := map[string]string{"fake-salesforce": serve["salesforce-addr"], "fake-graph": serve["graph-addr"]}
	for _, cmd := range []string{"fake-salesforce", "fake-graph", "fake-c4c", "fake-google"} {
		addr := flagAddrs(t, cmd)["addr"]
		if addr == "" {
			t.Fatalf("%s -h shows no default for -addr", cmd)
		}
		if want, ok := same[cmd]; ok {
			if addr != want {
				t.Errorf("%s defaults to %s, want the demo's own %s", cmd, addr, want)
			}
			continue
		}
		claim(cmd, addr)
	}
}
