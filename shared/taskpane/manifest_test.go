package taskpane

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var testDeployment = Deployment{BaseURL: "https://crmsync.example.com/", ClientID: "00000000-0000-4000-8000-0000000000c1",
	Resource: "api://crmsync.example.com/00000000-0000-4000-8000-0000000000c1"}

// xmllint finds xmllint (libxml2-utils); without it the XML manifest cannot
// be validated, which fails in CI and skips elsewhere.
func xmllint(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("xmllint")
	if err != nil {
		msg := "xmllint not found; install it with `apt-get install -y --no-install-recommends libxml2-utils` (make test does)"
		if os.Getenv("CI") != "" || os.Getenv("CRMSYNC_REQUIRE_BROWSER") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// validateXML runs xmllint against the transcribed schema and returns its
// complaint ("" when valid).
func validateXML(t *testing.T, doc []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "manifest.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint(t), "--noout", "--nonet", "--schema", "testdata/schemas/addin-xml/offappmanifest-1.1-mail.xsd", f).CombinedOutput()
	if err != nil {
		return string(out)
	}
	return ""
}

// TestXMLManifestValidates: the add-in-only manifest is valid against the
// schema, element order included, and says what the add-in needs: read and
// compose surfaces for messages and appointments, the pane pinnable in read
// mode only, ReadWriteItem and nothing more.
func TestXMLManifestValidates(t *testing.T) {
	doc, err := XML(testDeployment)
	if err != nil {
		t.Fatal(err)
	}
	if problem := validateXML(t, doc); problem != "" {
		t.Fatalf("the XML manifest does not validate:\n%s\n%s", problem, doc)
	}
	s := string(doc)
	for _, want := range []string{
		"<Id>" + AddinID("https://crmsync.example.com") + "</Id>",
		`<SourceLocation DefaultValue="https://crmsync.example.com/api/taskpane/pane.html"/>`,
		`xsi:type="MessageReadCommandSurface"`, `xsi:type="MessageComposeCommandSurface"`,
		`xsi:type="AppointmentAttendeeCommandSurface"`, `xsi:type="AppointmentOrganizerCommandSurface"`,
		"<Permissions>ReadWriteItem</Permissions>",
		`<AppDomain>https://crmsync.example.com</AppDomain>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the XML manifest lacks %s", want)
		}
	}
	// Pinning: once per read surface, in v1.1 only.
	if n := strings.Count(s, "<SupportsPinning>true</SupportsPinning>"); n != 2 {
		t.Errorf("SupportsPinning appears %d times, want 2 (message read and attendee, v1.1)", n)
	}
	for _, never := range []string{"ReadWriteMailbox", "AppendOnSend", "http://crmsync.example.com"} {
		if strings.Contains(s, never) {
			t.Errorf("the XML manifest asks for %s", never)
		}
	}
}

// TestXMLSchemaRefusesMisorderedManifests proves the validation has teeth:
// the same manifest with two elements swapped, pinning in v1.0, or an
// unknown permission is refused.
func TestXMLSchemaRefusesMisorderedManifests(t *testing.T) {
	doc, err := XML(testDeployment)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	pin := "<SupportsPinning>true</SupportsPinning>"
	for name, broken := range map[string]string{
		"version before id": strings.Replace(strings.Replace(s, "  <Version>1.0.0.0</Version>\n", "", 1), "  <Id>", "  <Version>1.0.0.0</Version>\n  <Id>", 1),
		"permissions after rule": strings.Replace(strings.Replace(s, "<Permissions>ReadWriteItem</Permissions>", "", 1),
			"<DisableEntityHighlighting>", "<Permissions>ReadWriteItem</Permissions><DisableEntityHighlighting>", 1),
		"pinning in v1.0":        strings.Replace(s, `<SourceLocation resid="Pane.Url"/>`, `<SourceLocation resid="Pane.Url"/>`+pin, 1),
		"unknown permission":     strings.Replace(s, "<Permissions>ReadWriteItem", "<Permissions>Everything", 1),
		"resources before hosts": strings.Replace(s, "    <Hosts>\n      <Host xsi:type=\"MailHost\">", "    <Resources/>\n    <Hosts>\n      <Host xsi:type=\"MailHost\">", 1),
		// The orders below are those of Microsoft's MailAppVersionOverridesV1_1.xsd.
		"tooltip after supertip":        strings.Replace(s, "</Supertip>", "</Supertip><Tooltip resid=\"Button.Label\"/>", 1),
		"pinning before its location":   strings.Replace(s, v11Pin, pin+`<SourceLocation resid="Pane.Url"/>`, 1),
		"TaskpaneId in a mail add-in":   strings.Replace(s, `<SourceLocation resid="Pane.Url"/>`, `<TaskpaneId>Office.AutoShowTaskpaneWithDocument</TaskpaneId><SourceLocation resid="Pane.Url"/>`, 1),
		"web app info before resources": beforeLast(s, "    <Resources>", webAppInfo),
		"group label after its control": strings.Replace(strings.Replace(s, `<Label resid="Group.Label"/>`, "", 1), "</Control>", `</Control><Label resid="Group.Label"/>`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			if broken == s {
				t.Fatal("the edit changed nothing")
			}
			if validateXML(t, []byte(broken)) == "" {
				t.Errorf("the schema accepted the broken manifest")
			}
		})
	}
}

// v11Pin is the v1.1 ShowTaskpane's location and pinning, in their order.
const v11Pin = "<SourceLocation resid=\"Pane.Url\"/>\n                      <SupportsPinning>true</SupportsPinning>"

// webAppInfo is a VersionOverrides v1.1 WebApplicationInfo (Microsoft's
// order: Id, Resource, Scopes).
const webAppInfo = "<WebApplicationInfo><Id>00000000-0000-4000-8000-000000000001</Id><Resource>api://crmsync.example.com/00000000-0000-4000-8000-000000000001</Resource><Scopes><Scope>openid</Scope></Scopes></WebApplicationInfo>\n"

// beforeLast puts add before the last occurrence of at in s (s unchanged
// when at is absent).
func beforeLast(s, at, add string) string {
	i := strings.LastIndex(s, at)
	if i < 0 {
		return s
	}
	return s[:i] + add + s[i:]
}

// TestXMLSchemaAcceptsWhatMicrosoftsAllows: what Microsoft's
// MailAppVersionOverridesV1_1.xsd allows and crmsync's manifest does not
// use yet is accepted in its place, so the transcription is not narrower
// there: a button's and a group's Tooltip after their Label, and v1.1's
// WebApplicationInfo after its Resources.
func TestXMLSchemaAcceptsWhatMicrosoftsAllows(t *testing.T) {
	doc, err := XML(testDeployment)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	for name, changed := range map[string]string{
		"button tooltip": strings.Replace(s, "<Label resid=\"Button.Label\"/>\n", "<Label resid=\"Button.Label\"/><Tooltip resid=\"Button.Label\"/>\n", 1),
		"group tooltip":  strings.Replace(s, `<Label resid="Group.Label"/>`, `<Label resid="Group.Label"/><Tooltip resid="Button.Tooltip"/>`, 1),
		"web app info":   strings.Replace(s, "</Resources>\n    </VersionOverrides>", "</Resources>\n"+webAppInfo+"    </VersionOverrides>", 1),
	} {
		t.Run(name, func(t *testing.T) {
			if changed == s {
				t.Fatal("the edit changed nothing")
			}
			if problem := validateXML(t, []byte(changed)); problem != "" {
				t.Errorf("refused:\n%s", problem)
			}
		})
	}
}

// TestUnifiedManifestValidates: the unified manifest is valid against
// Microsoft's JSON schema (pinned copy) and says the same as the XML one.
func TestUnifiedManifestValidates(t *testing.T) {
	doc, err := Unified(testDeployment)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(goRegexp)
	schema, err := c.Compile("testdata/schemas/teams-v1.24/MicrosoftTeams.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("the unified manifest does not validate: %v\n%s", err, doc)
	}
	var m struct {
		ID            string `json:"id"`
		Authorization struct {
			Permissions struct {
				ResourceSpecific []struct{ Name, Type string } `json:"resourceSpecific"`
			} `json:"permissions"`
		} `json:"authorization"`
		Extensions []struct {
			Runtimes []struct {
				Code    struct{ Page string } `json:"code"`
				Actions []struct {
					Pinnable bool `json:"pinnable"`
				} `json:"actions"`
			} `json:"runtimes"`
			Ribbons []struct {
				Contexts []string `json:"contexts"`
			} `json:"ribbons"`
		} `json:"extensions"`
	}
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	if m.ID != AddinID("https://crmsync.example.com") {
		t.Errorf("id %s differs from the XML manifest's", m.ID)
	}
	if p := m.Authorization.Permissions.ResourceSpecific; len(p) != 1 || p[0].Name != "MailboxItem.ReadWrite.User" {
		t.Errorf("permissions %+v, want only MailboxItem.ReadWrite.User", p)
	}
	var contexts []string
	for _, r := range m.Extensions[0].Ribbons {
		contexts = append(contexts, r.Contexts...)
	}
	if got := strings.Join(contexts, ","); got != "mailRead,meetingDetailsAttendee,mailCompose,meetingDetailsOrganizer" {
		t.Errorf("ribbon contexts %s", got)
	}
	rt := m.Extensions[0].Runtimes[0]
	if rt.Code.Page != "https://crmsync.example.com/api/taskpane/pane.html" || !rt.Actions[0].Pinnable {
		t.Errorf("runtime %+v", rt)
	}
}

// lookaheadFree is the one pattern of Microsoft's schema that Go's RE2
// cannot compile (a negative lookahead, in the Excel XLL file name, which an
// Outlook manifest never has); it is checked without its lookahead.
const lookaheadFree = `^[\S]*\.xll$`

// goRegexp compiles the schema's patterns with Go's regexp package.
func goRegexp(s string) (jsonschema.Regexp, error) {
	re, err := regexp.Compile(s)
	if err != nil && strings.HasPrefix(s, "^(?!") && strings.HasSuffix(s, `\.xll$`) {
		re, err = regexp.Compile(lookaheadFree)
	}
	if err != nil {
		return nil, err
	}
	return re, nil
}

// TestManifestBadInput: a base URL that is not absolute, or plain http for
// the unified manifest, is refused with an error naming it.
func TestManifestBadInput(t *testing.T) {
	for _, base := range []string{"", "crmsync.example.com", "ftp://x.example", "https://x.example/?a=1"} {
		if _, err := XML(Deployment{BaseURL: base}); err == nil {
			t.Errorf("XML(%q) was accepted", base)
		}
	}
	if _, err := Unified(Deployment{BaseURL: "http://127.0.0.1:7071"}); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("Unified over http: %v", err)
	}
	// The id is stable for a deployment and differs between deployments.
	if AddinID("https://a.example") != AddinID("https://a.example/") || AddinID("https://a.example") == AddinID("https://b.example") {
		t.Error("AddinID is not stable per deployment")
	}
}
