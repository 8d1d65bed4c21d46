package infratest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/settings"
)

const module = "github.com/crmsync/crmsync"

// platformProvided are settings the code reads that the hosting platform sets,
// never the template.
var platformProvided = map[string]string{
	settings.NamePort:          "the Functions host picks the port and sets it for the custom handler process",
	settings.NameLambdaRuntime: "AWS Lambda sets it; on Azure its absence selects custom-handler mode",
}

// satisfiedBy are settings whose RequiredWhen text names only one way to
// satisfy them, while the code (settings.Load) also accepts another that the
// template uses instead; the test checks the template sets that other one.
var satisfiedBy = map[string]struct{ alternative, reason string }{
	settings.NameConnection: {
		alternative: settings.NameStorageAccount,
		reason: "shared-key access is off, so there is no connection string; settings.Load accepts identity-based " +
			"storage when AzureWebJobsStorage__accountName is set (its RequiredWhen text does not say so)",
	},
}

// sdkSettings are app settings the template sets that no crmsync setting
// names but an SDK the code calls reads from the environment.
var sdkSettings = map[string]struct{ reason, importPath, name string }{}

// awaitingCode are app settings the template sets for code that does not read
// them yet; shared/settings should adopt these names. The test fails when a
// name shows up in the settings table (settings.Specs and the connectors' Settings), so the entry is removed then.
var awaitingCode = map[string]string{}

// templateSettings gathers every app setting the template can set, with the
// literal value where there is one ("" for expressions), and crmsync's own
// settings separately.
func templateSettings(t *testing.T, root string) (all map[string]string, own map[string]string) {
	t.Helper()
	main := parseBicep(t, root, "infra/main.bicep")
	app := parseBicep(t, root, "bicep/functionapp.bicep")
	all, own = map[string]string{}, map[string]string{}
	for _, p := range main.objectProperties(t, main.variable(t, "crmsyncSettings")) {
		v, _ := main.stringValue(p.value)
		own[p.key], all[p.key] = v, v
	}
	for _, name := range []string{"hostSettings", "classicSettings"} {
		for _, k := range app.objectKeys(t, name, false) {
			all[k] = ""
		}
	}
	for _, k := range app.objectKeys(t, "packageSettings", true) {
		all[k] = ""
	}
	return all, own
}

var (
	condIs    = regexp.MustCompile("^`?([A-Za-z_][A-Za-z0-9_]*)`? is `([^`]*)`$")
	condUnset = regexp.MustCompile("^`?([A-Za-z_][A-Za-z0-9_]*)`? is unset$")
	condSet   = regexp.MustCompile("^`?([A-Za-z_][A-Za-z0-9_]*)`? is set$")
)

// requiredOnAzure evaluates a spec's requirement against the values the
// template sets (falling back to each setting's default). A condition in a form
// it cannot read counts as required.
func requiredOnAzure(s settings.Spec, values map[string]string, defaults map[string]string) bool {
	if s.Required {
		return true
	}
	if s.RequiredWhen == "" {
		return false
	}
	value := func(name string) (string, bool) {
		if v, ok := values[name]; ok {
			return v, true
		}
		d, ok := defaults[name]
		return d, ok && d != ""
	}
	for _, cond := range strings.Split(s.RequiredWhen, " and ") {
		cond = strings.TrimSpace(cond)
		if m := condIs.FindStringSubmatch(cond); m != nil {
			if v, _ := value(m[1]); v != m[2] {
				return false
			}
			continue
		}
		if m := condUnset.FindStringSubmatch(cond); m != nil {
			if _, set := value(m[1]); set {
				return false
			}
			continue
		}
		if m := condSet.FindStringSubmatch(cond); m != nil {
			if _, set := value(m[1]); !set {
				return false
			}
			continue
		}
		return true // a condition this reader cannot evaluate: assume it holds
	}
	return true
}

func TestEverySettingTheCodeReadsIsSet(t *testing.T) {
	root := repoRoot(t)
	all, own := templateSettings(t, root)
	defaults := map[string]string{}
	specs := map[string]settings.Spec{}
	every := allSpecs(t, root)
	for _, s := range every {
		defaults[s.Name] = s.Default
		specs[s.Name] = s
	}
	for _, s := range every {
		_, set := all[s.Name]
		switch {
		case set:
		case platformProvided[s.Name] != "":
		case !requiredOnAzure(s, own, defaults):
			// Optional: the code's default (or "off") applies.
		case satisfiedBy[s.Name].alternative != "":
			alt := satisfiedBy[s.Name]
			if _, ok := all[alt.alternative]; !ok {
				t.Errorf("setting %s is required and the template sets neither it nor %s (%s)", s.Name, alt.alternative, alt.reason)
			}
		default:
			cond := "always"
			if s.RequiredWhen != "" {
				cond = "when " + s.RequiredWhen
			}
			t.Errorf("setting %s is required (%s) but infra/main.bicep does not set it: add it to crmsyncSettings", s.Name, cond)
		}
	}
	for name := range satisfiedBy {
		if _, listed := specs[name]; !listed {
			t.Errorf("satisfiedBy lists %s, which the settings table no longer has: remove the entry", name)
		}
	}
}

func TestEveryTemplateSettingIsRead(t *testing.T) {
	root := repoRoot(t)
	_, own := templateSettings(t, root)
	specs := map[string]bool{}
	for _, s := range allSpecs(t, root) {
		specs[s.Name] = true
	}
	var names []string
	for name := range own {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch {
		case specs[name]:
			if awaitingCode[name] != "" {
				t.Errorf("%s is now read by the code (the settings table lists it): remove it from awaitingCode", name)
			}
		case sdkSettings[name].reason != "":
			sdk := sdkSettings[name]
			if len(uses(goFiles(t, root, "shared", "functions"), sdk.importPath, sdk.name)) == 0 {
				t.Errorf("infra/main.bicep sets %s for %s, but no code calls %s any more", name, sdk.reason, sdk.name)
			}
		case awaitingCode[name] != "":
			t.Logf("AWAITING CODE %s: %s", name, awaitingCode[name])
		default:
			t.Errorf("infra/main.bicep sets %s, which no code reads (not in the settings table): remove it or add it to shared/settings or its connector's Settings", name)
		}
	}
	for name := range awaitingCode {
		if _, ok := own[name]; !ok {
			t.Errorf("awaitingCode lists %s, which the template no longer sets: remove the entry", name)
		}
	}
}

// functionConfigs reads every functions/<name>/function.json.
func functionConfigs(t *testing.T, root string) map[string]funchost.Config {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(root, "functions", "*", "function.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no functions/*/function.json found")
	}
	out := map[string]funchost.Config{}
	for _, p := range paths {
		c, err := funchost.ReadConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(filepath.Dir(p))] = c
	}
	return out
}

// TestTablesAndQueuesMatchCode derives table and queue names from the deployed
// code (shared/ and functions/): table names are string constants named Table
// or …Table, queue names come from function.json bindings and constants named
// Queue or …Queue. The template must create exactly those, plus a poison queue
// per queue trigger.
func TestTablesAndQueuesMatchCode(t *testing.T) {
	root := repoRoot(t)
	main := parseBicep(t, root, "infra/main.bicep")
	files := goFiles(t, root, "shared", "functions")

	var tables []string
	for _, c := range stringConsts(files, func(n string) bool { return n == "Table" || strings.HasSuffix(n, "Table") }) {
		tables = append(tables, c.value)
	}
	sort.Strings(tables)
	tables = slices.Compact(tables)
	got := main.stringArray(t, "tables")
	sort.Strings(got)
	if diff := cmp.Diff(tables, got); diff != "" {
		t.Errorf("tables in infra/main.bicep differ from the table-name constants (…Table) in the code (-code +template):\n%s\ncode declares: %s", diff, strings.Join(tables, " "))
	}

	// Queues: every queue a function binds to, and the poison queue of each
	// queue trigger.
	var queues []string
	for name, c := range functionConfigs(t, root) {
		for _, b := range c.Bindings {
			switch b.Type {
			case funchost.TypeQueueTrigger:
				queues = append(queues, b.QueueName, b.QueueName+"-poison")
			case funchost.TypeQueue:
				queues = append(queues, b.QueueName)
			default:
				continue
			}
			if b.Connection != "" && b.Connection != "AzureWebJobsStorage" {
				t.Errorf("functions/%s binds queue %s through connection %q; the template only provides AzureWebJobsStorage", name, b.QueueName, b.Connection)
			}
		}
	}
	for _, c := range stringConsts(files, func(n string) bool { return n == "Queue" || strings.HasSuffix(n, "Queue") }) {
		if strings.HasPrefix(c.where, "shared/funchost/") { // binding type names, not queues
			continue
		}
		queues = append(queues, c.value)
	}
	sort.Strings(queues)
	queues = slices.Compact(queues)
	gotQ := main.stringArray(t, "queues")
	sort.Strings(gotQ)
	if diff := cmp.Diff(queues, gotQ); diff != "" {
		t.Errorf("queues in infra/main.bicep differ from the code's (-code +template):\n%s", diff)
	}
}

// roleUse says why a role is in the template and how to see the code needs it.
type roleUse struct {
	role   string
	reason string
	// evidence returns where the need shows; empty means nothing needs the role.
	evidence func(c *codeFacts) []string
}

// codeFacts is what the role checks look at.
type codeFacts struct {
	files     []goFile
	functions map[string]funchost.Config
	deploy    string
	plan      string
}

func bindingsOfType(c *codeFacts, types ...string) []string {
	var where []string
	for name, cfg := range c.functions {
		for _, b := range cfg.Bindings {
			if slices.Contains(types, b.Type) {
				where = append(where, "functions/"+name+"/function.json ("+b.Type+")")
			}
		}
	}
	sort.Strings(where)
	return where
}

// roleUses maps each roleIds key in bicep/roles.bicep to why it is there.
var roleUses = map[string]roleUse{
	"storageTableDataContributor": {
		role:   "Storage Table Data Contributor",
		reason: "tablestore.NewAzureWithCredential (the managed identity) reads and writes crmsync's tables and creates them on first use",
		evidence: func(c *codeFacts) []string {
			return uses(c.files, module+"/shared/tablestore", "NewAzureWithCredential")
		},
	},
	"storageQueueDataContributor": {
		role:   "Storage Queue Data Contributor",
		reason: "queue.NewAzureWithCredential (the managed identity) enqueues sessions; the queue trigger reads, deletes and poisons messages",
		evidence: func(c *codeFacts) []string {
			return append(uses(c.files, module+"/shared/queue", "NewAzureWithCredential"), bindingsOfType(c, funchost.TypeQueueTrigger, funchost.TypeQueue)...)
		},
	},
	"storageBlobDataOwner": {
		role: "Storage Blob Data Owner",
		reason: "the Functions host keeps timer schedule monitors, singleton leases and host keys in AzureWebJobsStorage blobs, " +
			"and Flex Consumption reads the deployment package from the package container",
		evidence: func(c *codeFacts) []string {
			where := bindingsOfType(c, funchost.TypeTimerTrigger)
			if c.plan == "FlexConsumption" {
				where = append(where, "infra/main.bicep plan FlexConsumption (deployment storage)")
			}
			return where
		},
	},
	"keyVaultSecretsOfficer": {
		role: "Key Vault Secrets Officer",
		reason: "the Key Vault key ring reads key versions and key rotation writes new ones (Secrets User could not); " +
			"the platform resolves Key Vault references in app settings with the same identity",
		evidence: func(c *codeFacts) []string {
			// keyring.Open gives a KeyVaultRing for the https:// CRMSYNC_KEYRING
			// the template sets.
			return append(uses(c.files, module+"/shared/keyring", "Open"), uses(c.files, module+"/shared/keyring", "NewKeyVaultRing")...)
		},
	},
	"storageBlobDataContributor": {
		role:   "Storage Blob Data Contributor (deployer, Consumption plan only)",
		reason: "infra/deploy.sh uploads dist/app.zip as the run-from-package blob, because shared-key access is off",
		evidence: func(c *codeFacts) []string {
			if strings.Contains(c.deploy, "az storage blob upload") {
				return []string{"infra/deploy.sh (az storage blob upload)"}
			}
			return nil
		},
	},
}

func TestEveryRoleIsOneTheCodeUses(t *testing.T) {
	root := repoRoot(t)
	roles := parseBicep(t, root, "bicep/roles.bicep")
	main := parseBicep(t, root, "infra/main.bicep")
	deploy, err := os.ReadFile(filepath.Join(root, "infra", "deploy.sh"))
	if err != nil {
		t.Fatal(err)
	}
	plan := ""
	if m := regexp.MustCompile(`param plan string = '([A-Za-z]+)'`).FindSubmatch(main.src); m != nil {
		plan = string(m[1])
	}
	facts := &codeFacts{
		files:     goFiles(t, root, "shared", "functions"),
		functions: functionConfigs(t, root),
		deploy:    string(deploy),
		plan:      plan,
	}
	ids := roles.stringMap(t, "roleIds")
	assigned := roles.roleAssignments(t)
	if len(assigned) == 0 {
		t.Fatal("bicep/roles.bicep assigns no roles")
	}
	seen := map[string]bool{}
	for _, ra := range assigned {
		if _, ok := ids[ra.roleKey]; !ok {
			t.Errorf("%s: %s uses roleIds.%s, which roleIds does not define", ra.where, ra.symbol, ra.roleKey)
			continue
		}
		use, ok := roleUses[ra.roleKey]
		if !ok {
			t.Errorf("%s: %s assigns roleIds.%s, which no code is known to need; add it to roleUses with a reason, or remove it", ra.where, ra.symbol, ra.roleKey)
			continue
		}
		seen[ra.roleKey] = true
		where := use.evidence(facts)
		if len(where) == 0 {
			t.Errorf("%s: %s (%s) is assigned for %q, but nothing in the code needs it any more", ra.where, ra.symbol, use.role, use.reason)
			continue
		}
		t.Logf("%s: %s — %s [%s]", ra.symbol, use.role, use.reason, strings.Join(where, "; "))
	}
	for key, use := range roleUses {
		if !seen[key] {
			t.Errorf("roleUses explains %s (%s), but bicep/roles.bicep does not assign it: remove the entry", key, use.role)
		}
	}
}
