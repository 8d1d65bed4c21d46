package settings

import (
	"flag"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite the settings table in README.md")

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// azureBase are the settings an Azure deployment must give besides storage.
var azureBase = map[string]string{
	NameKeyRing: "https://crmsync.vault.azure.net/", NamePublicURL: "https://crmsync.example",
	NameSessionKey: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
}

func with(base, extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func TestLoad(t *testing.T) {
	// The fields checked here; the identity and web settings have their own test.
	only := cmpopts.IgnoreFields(Settings{}, "KeyRing", "SessionKey", "PublicURL", "DefaultPlan", "EntraAuthority", "MicrosoftLoginURL", "EntraTenant",
		"EntraAllowedTenants", "GraphBaseURL", "SalesforceLoginURL", "SalesforceAllowedOrgs", "SalesforceMaxShare",
		"AddinScope", "AddinOrigins", "SignInRate", "MaxBodyBytes", "CRM", "Mailbox")
	tests := []struct {
		name string
		env  map[string]string
		want Settings
	}{
		{
			name: "azure with defaults",
			env:  with(azureBase, map[string]string{NamePort: "8080", NameConnection: "UseDevelopmentStorage=true"}),
			want: Settings{Port: 8080, Storage: StorageAzure, ConnectionString: "UseDevelopmentStorage=true", LogLevel: slog.LevelInfo},
		},
		{
			name: "azure with managed identity",
			env:  with(azureBase, map[string]string{NamePort: "8080", NameStorageAccount: "crmsyncst", NameStorageClientID: "c1"}),
			want: Settings{Port: 8080, Storage: StorageAzure, StorageAccount: "crmsyncst", StorageClientID: "c1", LogLevel: slog.LevelInfo},
		},
		{
			name: "embedded demo debug",
			env:  map[string]string{NamePort: "1", NameStorage: "embedded", NameDataDir: "/d", NameDemo: "true", NameLogLevel: "debug"},
			want: Settings{Port: 1, Storage: StorageEmbedded, DataDir: "/d", Demo: true, LogLevel: slog.LevelDebug},
		},
		{
			name: "lambda needs no port",
			env:  map[string]string{NameLambdaRuntime: "127.0.0.1:9001", NameStorage: "embedded", NameDataDir: "/tmp/x"},
			want: Settings{Lambda: true, Storage: StorageEmbedded, DataDir: "/tmp/x", LogLevel: slog.LevelInfo},
		},
		{
			name: "local host keys",
			env:  with(azureBase, map[string]string{NamePort: "2", NameConnection: "c", NameFunctionKey: "fk", NameAdminKey: "ak"}),
			want: Settings{Port: 2, Storage: StorageAzure, ConnectionString: "c", LogLevel: slog.LevelInfo, FunctionKey: "fk", AdminKey: "ak"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(env(tt.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, only); diff != "" {
				t.Errorf("Load mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadIdentityAndWebSettings(t *testing.T) {
	got, err := Load(env(map[string]string{NamePort: "1", NameStorage: "embedded", NameDataDir: "/d",
		NameEntraClientID: "app", NameSalesforceAllowedOrgs: "00D1, 00D2", NameSalesforceMaxShare: "0.25", NameSalesforceUserShare: "0.05",
		NameTrustedProxies: "1"}))
	if err != nil {
		t.Fatal(err)
	}
	if got.KeyRing != "/d/keyring.json" || got.PublicURL != "http://127.0.0.1:7071" || got.DefaultPlan != "free" {
		t.Errorf("embedded defaults: keyring %q, public URL %q, plan %q", got.KeyRing, got.PublicURL, got.DefaultPlan)
	}
	if diff := cmp.Diff([]string{"app", "api://app"}, got.AddinAudiences); diff != "" {
		t.Errorf("add-in audiences default to the client id (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"00D1", "00D2"}, got.SalesforceAllowedOrgs); diff != "" {
		t.Errorf("allowed orgs (-want +got):\n%s", diff)
	}
	if got.MicrosoftLoginURL != "https://login.microsoftonline.com" || got.EntraTenant != "organizations" {
		t.Errorf("authority split into %q and %q", got.MicrosoftLoginURL, got.EntraTenant)
	}
	if got.SalesforceMaxShare != 0.25 || got.SalesforceUserShare != 0.05 || got.TrustedProxies != 1 || got.EntraAuthority != DefaultEntraAuthority {
		t.Errorf("got %+v", got)
	}
	_, err = Load(env(map[string]string{NamePort: "1", NameConnection: "c", NameSessionKey: "short",
		NamePublicURL: "not a url", NameSalesforceMaxShare: "2", NameDefaultPlan: "gold", NameSignInRate: "-1",
		NameAdminEmails: "admin@a.example, not-an-address"}))
	for _, name := range []string{NameKeyRing, NameSessionKey, NamePublicURL, NameSalesforceMaxShare, NameDefaultPlan, NameSignInRate, NameAdminEmails} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
}

func TestLoadNamesEveryProblem(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		wantNames []string
	}{
		{
			name:      "nothing set",
			env:       map[string]string{},
			wantNames: []string{NamePort, NameConnection, NameKeyRing, NameSessionKey, NamePublicURL},
		},
		{
			name:      "all bad",
			env:       map[string]string{NamePort: "99999", NameStorage: "s3", NameLogLevel: "loud", NameDemo: "maybe"},
			wantNames: []string{NamePort, NameStorage, NameLogLevel, NameDemo},
		},
		{
			name:      "user share above the max share",
			env:       map[string]string{NamePort: "x", NameSalesforceMaxShare: "0.2", NameSalesforceUserShare: "0.3"},
			wantNames: []string{NamePort, NameSalesforceUserShare},
		},
		{
			name:      "shares not shares",
			env:       map[string]string{NameSalesforceUserShare: "NaN", NameSalesforceMaxShare: "NaN", NameLogLevel: "loud"},
			wantNames: []string{NameSalesforceUserShare, NameSalesforceMaxShare, NameLogLevel},
		},
		{
			name:      "embedded without folder",
			env:       map[string]string{NamePort: "x", NameStorage: "embedded"},
			wantNames: []string{NamePort, NameDataDir},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.env))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, name := range tt.wantNames {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not name %s", err, name)
				}
			}
		})
	}
}

func TestSecretValuesNotInErrors(t *testing.T) {
	_, err := Load(env(map[string]string{NameConnection: "AccountKey=supersecret", NameLogLevel: "nope"}))
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	if strings.Contains(err.Error(), "supersecret") {
		t.Errorf("error %q leaks the connection string", err)
	}
}

func TestSpecsAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Specs() {
		if seen[s.Name] {
			t.Errorf("setting %s listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Description == "" {
			t.Errorf("setting %s has no description", s.Name)
		}
	}
}

const (
	beginMarker = "<!-- settings:begin (generated from shared/settings; go test ./shared/settings -update) -->\n"
	endMarker   = "<!-- settings:end -->"
)

// TestReadmeListsEverySetting keeps README.md's table equal to Specs.
func TestReadmeListsEverySetting(t *testing.T) {
	const path = "../../README.md"
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
	want := MarkdownTable()
	if *update {
		readme = readme[:start+len(beginMarker)] + want + readme[end:]
		if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("README settings table differs from settings.Specs (-want +got); run go test ./shared/settings -update:\n%s", diff)
	}
}
