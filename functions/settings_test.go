package main

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/settings"
)

var updateReadme = flag.Bool("update", false, "rewrite the settings table in README.md")

const (
	beginMarker = "<!-- settings:begin (generated from shared/settings and the connectors' Settings; go test ./functions -run Readme -update) -->\n"
	endMarker   = "<!-- settings:end -->"
)

// TestReadmeListsEverySetting keeps README.md's table equal to allSpecs: the
// generic settings and every connector's, one table.
func TestReadmeListsEverySetting(t *testing.T) {
	const path = "../README.md"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read README: %v", err)
	}
	readme := string(raw)
	start := strings.Index(readme, beginMarker)
	end := strings.Index(readme, endMarker)
	if start < 0 || end < start {
		t.Fatalf("README.md lacks the markers %q … %q", beginMarker, endMarker)
	}
	got := readme[start+len(beginMarker) : end]
	want := settings.MarkdownTable(allSpecs())
	if *updateReadme {
		readme = readme[:start+len(beginMarker)] + want + readme[end:]
		if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("README settings table differs from allSpecs (-want +got); run go test ./functions -run Readme -update:\n%s", diff)
	}
}

// TestSettingsAreComplete: every setting, generic or a connector's, is listed
// once, with a description; each connector's setting is parsed by its own
// Parse or documented as read with another.
func TestSettingsAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range allSpecs() {
		if seen[s.Name] {
			t.Errorf("setting %s listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Description == "" {
			t.Errorf("setting %s has no description", s.Name)
		}
	}
	for _, name := range []string{salesforce.NameClientID, google.NameClientID, settings.NameCRM} {
		if !seen[name] {
			t.Errorf("allSpecs lacks %s", name)
		}
	}
}

// TestSettingsNameEveryConnectorsProblem: loadConfig validates the generic
// settings and each connector's with one collector, so one error names a bad
// generic setting and bad settings of two connectors; good values reach the
// connectors' configs.
func TestSettingsNameEveryConnectorsProblem(t *testing.T) {
	base := map[string]string{settings.NamePort: "1", settings.NameStorage: "embedded", settings.NameDataDir: t.TempDir()}
	load := func(extra map[string]string) (config, error) {
		return loadConfig(func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return base[k]
		})
	}
	_, err := load(map[string]string{settings.NameLogLevel: "loud", salesforce.NameMaxShare: "2",
		settings.NameMailbox: settings.MailboxGoogle, google.NameBaseURL: "localhost:9"})
	for _, name := range []string{settings.NameLogLevel, salesforce.NameMaxShare, google.NameClientID, google.NameBaseURL} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
	cfg, err := load(map[string]string{salesforce.NameClientID: "ck", salesforce.NameUserShare: "0.1",
		settings.NameMailbox: settings.MailboxGoogle, google.NameClientID: "gid", google.NameClientSecret: "gs"})
	if err != nil || cfg.Salesforce.ClientID != "ck" || cfg.Salesforce.UserShare != 0.1 || cfg.Google.ClientID != "gid" ||
		cfg.Microsoft.BaseURL == "" || cfg.Mailbox != settings.MailboxGoogle {
		t.Errorf("good settings: %+v, %v", cfg, err)
	}
}
