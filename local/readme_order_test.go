package main

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeShowsTheBaseDemoFirst: "What `make run` shows" opens with the
// base demo (Salesforce and Microsoft 365) and only then describes the
// C4C and Google variants, which are told as changes to it, so a newcomer
// reads what they will see from a plain `make run` first.
func TestReadmeShowsTheBaseDemoFirst(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### What `make run` shows\n")
	if !ok {
		t.Fatal("the README has no \"### What `make run` shows\" section")
	}
	section, _, _ = strings.Cut(section, "\n### ")
	if first := strings.TrimLeft(section, "\n"); !strings.HasPrefix(first, "`make run` starts") {
		t.Errorf("the section opens with %.80q, want the base demo (\"`make run` starts …\")", first)
	}
	base := strings.Index(section, "`make run` starts")
	for _, variant := range []string{"`make run CRM=c4c`", "`make run MAILBOX=google`"} {
		at := strings.Index(section, variant)
		if at < 0 {
			t.Errorf("the section does not describe %s", variant)
			continue
		}
		if at < base {
			t.Errorf("the section describes %s before the base demo", variant)
		}
	}
}
