package main

import (
	"bytes"
	"context"
	"os"
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
