package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeNamesEveryServeFlag: the README's table of serve flags names
// every flag serve takes (a newcomer reading it for `make run CRM=c4c`
// finds -crm and -mailbox there), and no flag serve does not take.
func TestReadmeNamesEveryServeFlag(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "`serve` flags:")
	if !ok {
		t.Fatal("the README has no table of serve flags (\"`serve` flags:\")")
	}
	// The table is the block of "|" lines that follows.
	var rows []string
	for _, line := range strings.Split(strings.TrimLeft(table, "\n"), "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		rows = append(rows, line)
	}
	table = strings.Join(rows, "\n")
	var usage bytes.Buffer
	_ = run(context.Background(), []string{"local", "serve", "-h"}, func(string) string { return "" }, &usage, &usage)
	flags := regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(usage.String(), -1)
	if len(flags) < 5 {
		t.Fatalf("serve -h listed %d flags:\n%s", len(flags), usage.String())
	}
	took := map[string]bool{}
	for _, f := range flags {
		took[f[1]] = true
		if !strings.Contains(table, "`-"+f[1]+"`") {
			t.Errorf("the README's serve flags do not name -%s", f[1])
		}
	}
	for _, m := range regexp.MustCompile("`-([a-z-]+)`").FindAllStringSubmatch(table, -1) {
		if !took[m[1]] {
			t.Errorf("the README names -%s, which serve does not take", m[1])
		}
	}
}

// TestMakeRunKeepsEachWorldsData: `make run`, `make run CRM=c4c` and `make
// run MAILBOX=google` (and both) each serve from their own data folder, so
// switching worlds does not sync one world's stored links against the
// other's CRM or mailbox; DATA= still chooses.
func TestMakeRunKeepsEachWorldsData(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make on PATH")
	}
	seen := map[string]string{}
	for _, c := range []struct{ args, data string }{
		{"", ".crmsync-data"},
		{"CRM=c4c", ".crmsync-data-c4c"},
		{"MAILBOX=google", ".crmsync-data-google"},
		{"CRM=c4c MAILBOX=google", ".crmsync-data-c4c-google"},
		{"CRM=salesforce MAILBOX=microsoft", ".crmsync-data"},
		{"DATA=/srv/crmsync CRM=c4c", "/srv/crmsync"},
	} {
		cmd := exec.Command("make", append([]string{"-n", "-C", "..", "run"}, strings.Fields(c.args)...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -n run %s: %v\n%s", c.args, err, out)
		}
		m := regexp.MustCompile(`serve -app \S+ -data (\S+) `).FindSubmatch(out)
		if m == nil {
			t.Fatalf("make -n run %s starts no serve:\n%s", c.args, out)
		}
		if got := string(m[1]); got != c.data {
			t.Errorf("make run %s serves from %s, want %s", c.args, got, c.data)
		}
		if other, ok := seen[string(m[1])]; ok && !strings.Contains(c.args, "=salesforce") {
			t.Errorf("make run %s and make run %s share the data folder %s", c.args, other, m[1])
		}
		seen[string(m[1])] = c.args
	}
}
