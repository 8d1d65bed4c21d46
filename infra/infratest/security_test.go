package infratest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	tree_sitter "github.com/tree-sitter/go-tree-sitter"
)

// securityRule is one property a deployed resource must have, with its value
// as written in Bicep (a literal: true, false, 'TLS1_2').
type securityRule struct {
	file string
	// resourceType is the type without its API version.
	resourceType string
	// path is the property's dotted path in the resource body.
	path string
	want string
}

// securityRules are the deployment's security properties README's "What gets
// created" promises: no shared keys and TLS 1.2 on storage, an RBAC vault that
// keeps deleted secrets, an HTTPS-only app on TLS 1.2 without publishing
// passwords.
var securityRules = []securityRule{
	{"bicep/storage.bicep", "Microsoft.Storage/storageAccounts", "properties.allowSharedKeyAccess", "false"},
	{"bicep/storage.bicep", "Microsoft.Storage/storageAccounts", "properties.minimumTlsVersion", "'TLS1_2'"},
	{"bicep/storage.bicep", "Microsoft.Storage/storageAccounts", "properties.supportsHttpsTrafficOnly", "true"},
	{"bicep/storage.bicep", "Microsoft.Storage/storageAccounts", "properties.allowBlobPublicAccess", "false"},
	{"bicep/keyvault.bicep", "Microsoft.KeyVault/vaults", "properties.enableRbacAuthorization", "true"},
	{"bicep/keyvault.bicep", "Microsoft.KeyVault/vaults", "properties.enablePurgeProtection", "true"},
	{"bicep/keyvault.bicep", "Microsoft.KeyVault/vaults", "properties.enableSoftDelete", "true"},
	// The retention is a parameter whose @minValue(7) is Azure's own minimum.
	{"bicep/keyvault.bicep", "Microsoft.KeyVault/vaults", "properties.softDeleteRetentionInDays", "softDeleteRetentionInDays"},
	{"bicep/functionapp.bicep", "Microsoft.Web/sites", "properties.httpsOnly", "true"},
	{"bicep/functionapp.bicep", "Microsoft.Web/sites", "properties.siteConfig.minTlsVersion", "'1.2'"},
	{"bicep/functionapp.bicep", "Microsoft.Web/sites", "properties.siteConfig.scmMinTlsVersion", "'1.2'"},
	{"bicep/functionapp.bicep", "Microsoft.Web/sites", "properties.siteConfig.ftpsState", "'Disabled'"},
	{"bicep/functionapp.bicep", "Microsoft.Web/sites/basicPublishingCredentialsPolicies", "properties.allow", "false"},
}

// lookup follows a dotted property path through nested object literals.
func (f *bicepFile) lookup(t *testing.T, obj *tree_sitter.Node, path string) (*tree_sitter.Node, bool) {
	t.Helper()
	key, rest, nested := strings.Cut(path, ".")
	for _, p := range f.objectProperties(t, obj) {
		if p.key != key {
			continue
		}
		if !nested {
			return p.value, true
		}
		if p.value.Kind() != "object" {
			return nil, false
		}
		return f.lookup(t, p.value, rest)
	}
	return nil, false
}

// securityViolations checks the rules against the templates under root and
// says, for each one broken, the file, the resource and the property.
func securityViolations(t *testing.T, root string, rules []securityRule) []string {
	t.Helper()
	files := map[string]*bicepFile{}
	var out []string
	for _, r := range rules {
		f, ok := files[r.file]
		if !ok {
			f = parseBicep(t, root, r.file)
			files[r.file] = f
		}
		res := f.resources(r.resourceType)
		if len(res) == 0 {
			out = append(out, fmt.Sprintf("%s: declares no %s resource, so %s cannot be checked", r.file, r.resourceType, r.path))
			continue
		}
		for _, res := range res {
			if res.body.Kind() != "object" {
				out = append(out, fmt.Sprintf("%s: %s %s is not a plain object, so %s cannot be checked", f.line(res.decl), r.resourceType, res.symbol, r.path))
				continue
			}
			v, ok := f.lookup(t, res.body, r.path)
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("%s: %s sets no %s, want %s", f.line(res.body), r.resourceType, r.path, r.want))
			case f.text(v) != r.want:
				out = append(out, fmt.Sprintf("%s: %s has %s: %s, want %s", f.line(v), r.resourceType, r.path, f.text(v), r.want))
			}
		}
	}
	return out
}

func TestDeploymentSecurityProperties(t *testing.T) {
	for _, v := range securityViolations(t, repoRoot(t), securityRules) {
		t.Error(v)
	}
}

// TestSecurityViolationsReported proves the check can fail: a weakened and an
// incomplete template each produce a message naming the file and property.
func TestSecurityViolationsReported(t *testing.T) {
	root := t.TempDir()
	src := `resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'x'
  properties: {
    allowSharedKeyAccess: true
  }
}
`
	if err := os.WriteFile(filepath.Join(root, "weak.bicep"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got := securityViolations(t, root, []securityRule{
		{"weak.bicep", "Microsoft.Storage/storageAccounts", "properties.allowSharedKeyAccess", "false"},
		{"weak.bicep", "Microsoft.Storage/storageAccounts", "properties.minimumTlsVersion", "'TLS1_2'"},
		{"weak.bicep", "Microsoft.KeyVault/vaults", "properties.enablePurgeProtection", "true"},
	})
	want := []string{
		"weak.bicep:4: Microsoft.Storage/storageAccounts has properties.allowSharedKeyAccess: true, want false",
		"weak.bicep:1: Microsoft.Storage/storageAccounts sets no properties.minimumTlsVersion, want 'TLS1_2'",
		"weak.bicep: declares no Microsoft.KeyVault/vaults resource, so properties.enablePurgeProtection cannot be checked",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
}
