package settings

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

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
	only := cmpopts.IgnoreFields(Settings{}, "KeyRing", "SessionKey", "PublicURL", "DefaultPlan", "EntraAuthority",
		"EntraAllowedTenants", "AddinScope", "AddinOrigins", "SignInRate", "MaxBodyBytes", "CRM", "Mailbox")
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
		NameEntraClientID: "app", NameTrustedProxies: "1"}))
	if err != nil {
		t.Fatal(err)
	}
	if got.KeyRing != "/d/keyring.json" || got.PublicURL != "http://127.0.0.1:7071" || got.DefaultPlan != "free" {
		t.Errorf("embedded defaults: keyring %q, public URL %q, plan %q", got.KeyRing, got.PublicURL, got.DefaultPlan)
	}
	if diff := cmp.Diff([]string{"app", "api://app"}, got.AddinAudiences); diff != "" {
		t.Errorf("add-in audiences default to the client id (-want +got):\n%s", diff)
	}
	if got.TrustedProxies != 1 || got.EntraAuthority != DefaultEntraAuthority {
		t.Errorf("got %+v", got)
	}
	_, err = Load(env(map[string]string{NamePort: "1", NameConnection: "c", NameSessionKey: "short",
		NamePublicURL: "not a url", NameDefaultPlan: "gold", NameSignInRate: "-1",
		NameAdminEmails: "admin@a.example, not-an-address"}))
	for _, name := range []string{NameKeyRing, NameSessionKey, NamePublicURL, NameDefaultPlan, NameSignInRate, NameAdminEmails} {
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

// TestLoadRunsConnectorSpecs: a connector's Parse runs with the same problem
// collector as the generic settings, so one error names a bad generic setting
// and every connector's bad setting; a connector's setting required only when
// its connector is picked is refused only then.
func TestLoadRunsConnectorSpecs(t *testing.T) {
	var got struct{ a, b string }
	picked := func(name string, into *string) []Spec {
		return []Spec{{Name: name, Description: "d", RequiredWhen: "CRMSYNC_MAILBOX is `google`", Parse: func(getenv func(string) string, bad func(string, ...any)) {
			*into = getenv(name)
			if *into == "bad" || (*into == "" && Picked(getenv, NameMailbox, MailboxGoogle)) {
				bad("%s=%q is refused", name, *into)
			}
		}}}
	}
	base := map[string]string{NamePort: "1", NameStorage: "embedded", NameDataDir: "/d"}
	if _, err := Load(env(with(base, map[string]string{"A": "ok", "B": "fine"})), picked("A", &got.a), picked("B", &got.b)); err != nil || got.a != "ok" || got.b != "fine" {
		t.Fatalf("good values: %v, parsed %+v", err, got)
	}
	_, err := Load(env(map[string]string{NamePort: "x", NameStorage: "embedded", NameDataDir: "/d", "A": "bad", "B": "bad"}), picked("A", &got.a), picked("B", &got.b))
	for _, name := range []string{NamePort, "A=", "B="} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
	if _, err := Load(env(base), picked("A", &got.a)); err != nil {
		t.Errorf("A unset, its connector not picked: %v", err)
	}
	if _, err := Load(env(with(base, map[string]string{NameMailbox: MailboxGoogle})), picked("A", &got.a)); err == nil || !strings.Contains(err.Error(), "A=") {
		t.Errorf("A unset, its connector picked: %v, want A refused", err)
	}
}

// TestAllPlacesConnectorSpecs: All keeps the generic order and puts each
// connector's specs after the setting their After names, the rest of a list
// following its first; a list without After goes at the end.
func TestAllPlacesConnectorSpecs(t *testing.T) {
	all := All(
		[]Spec{{Name: "X1", After: NameMailbox}, {Name: "X2"}},
		[]Spec{{Name: "Y1", After: NameMailbox}},
		[]Spec{{Name: "Z1", After: NameEntraAuthority}, {Name: "Z2", After: NameEntraAllowedTenants}},
		[]Spec{{Name: "W1"}},
	)
	var names []string
	for _, s := range all {
		names = append(names, s.Name)
	}
	order := strings.Join(names, " ")
	for _, want := range []string{NameMailbox + " Y1 X1 X2 " + NameAddinAudiences, NameEntraAuthority + " Z1 " + NameEntraClientID, NameEntraAllowedTenants + " Z2 " + NameCRM} {
		if !strings.Contains(order, want) {
			t.Errorf("order %q lacks %q", order, want)
		}
	}
	if names[len(names)-1] != "W1" || len(all) != len(Specs())+6 {
		t.Errorf("order %q: want W1 last and every spec once", order)
	}
}

// TestMarkdownTableReadsBack: ParseMarkdownTable gives back what the Bicep
// check needs (name, required, condition, default) of every row.
func TestMarkdownTableReadsBack(t *testing.T) {
	want := All([]Spec{{Name: "CRMSYNC_X", Description: "x `y` z.", Default: "a b", RequiredWhen: "CRMSYNC_CRM is `x`", Secret: true, Parse: func(func(string) string, func(string, ...any)) {}}})
	for i := range want {
		want[i].Secret, want[i].Parse, want[i].After = false, nil, ""
	}
	if diff := cmp.Diff(want, ParseMarkdownTable(MarkdownTable(want)), cmpopts.IgnoreFields(Spec{}, "Parse")); diff != "" {
		t.Errorf("table read back (-want +got):\n%s", diff)
	}
}
