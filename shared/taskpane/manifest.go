package taskpane

import (
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"text/template"
)

// Deployment is what a manifest is generated for: one crmsync deployment.
type Deployment struct {
	// BaseURL is the deployment's public URL (https in production; Office
	// refuses add-in pages over plain http).
	BaseURL string
	// ClientID is the add-in's Entra app registration (application id); the
	// unified manifest's webApplicationInfo names it. Empty leaves it out.
	ClientID string
	// Resource is the API's application id URI (e.g. api://<client id>),
	// for webApplicationInfo. Empty leaves it out.
	Resource string
	// Name is the add-in's display name ("crmsync" when empty).
	Name string
	// Version is the add-in version, n.n.n.n ("1.0.0.0" when empty).
	Version string
}

func (d Deployment) normalize() (Deployment, error) {
	d.BaseURL = strings.TrimRight(d.BaseURL, "/")
	u, err := url.Parse(d.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return d, fmt.Errorf("taskpane: the base URL %q is not an absolute http(s) URL without query", d.BaseURL)
	}
	if d.Name == "" {
		d.Name = "crmsync"
	}
	if d.Version == "" {
		d.Version = "1.0.0.0"
	}
	return d, nil
}

// AddinID is the add-in's manifest id for a deployment: a name-based UUID
// (RFC 9562 version 5) of its base URL, so regenerating the manifest for the
// same deployment keeps the id Office installed it under, and two
// deployments never share one.
func AddinID(baseURL string) string {
	ns := []byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8} // URL namespace
	h := sha1.New()
	h.Write(ns)
	h.Write([]byte(strings.TrimRight(baseURL, "/") + "/api/taskpane/"))
	s := h.Sum(nil)[:16]
	s[6] = s[6]&0x0f | 0x50
	s[8] = s[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// Paths of the pages and images a manifest points at, below the base URL.
const (
	PanePath    = Prefix + "/pane.html"
	IconPath    = Prefix + "/icons/%d.png"
	SupportPath = "/api/dashboard/"
)

// Permission the add-in asks for, and why it is the least that works: the
// pane reads the item (people, subject, attachments) and, in compose, writes
// it — the tracking pixel goes into the body (body.prependAsync) and "Share
// when sent" sets a category and an internet header on the draft. Nothing
// reads other items of the mailbox (ReadWriteMailbox is not needed), and the
// pixel is inserted where the user sees it, so the AppendOnSend extended
// permission is not asked for either.
const (
	XMLPermission     = "ReadWriteItem"
	UnifiedPermission = "MailboxItem.ReadWrite.User"
)

var xmlManifest = template.Must(template.New("manifest.xml").Funcs(template.FuncMap{"x": xmlEscape, "surfaces": func() []surface { return surfaces }}).Parse(`<?xml version="1.0" encoding="UTF-8"?>
<OfficeApp xmlns="http://schemas.microsoft.com/office/appforoffice/1.1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:bt="http://schemas.microsoft.com/office/officeappbasictypes/1.0" xmlns:mailappor="http://schemas.microsoft.com/office/mailappversionoverrides/1.0" xsi:type="MailApp">
  <Id>{{.ID}}</Id>
  <Version>{{x .Version}}</Version>
  <ProviderName>crmsync</ProviderName>
  <DefaultLocale>en-US</DefaultLocale>
  <DisplayName DefaultValue="{{x .Name}}"/>
  <Description DefaultValue="The CRM records behind an e-mail's or a meeting's people: search, create and edit, share the e-mail, file attachments, post to Chatter, track opens."/>
  <IconUrl DefaultValue="{{x .Icon64}}"/>
  <HighResolutionIconUrl DefaultValue="{{x .Icon128}}"/>
  <SupportUrl DefaultValue="{{x .Support}}"/>
  <AppDomains>
    <AppDomain>{{x .Origin}}</AppDomain>
  </AppDomains>
  <Hosts>
    <Host Name="Mailbox"/>
  </Hosts>
  <Requirements>
    <Sets>
      <Set Name="Mailbox" MinVersion="1.1"/>
    </Sets>
  </Requirements>
  <FormSettings>
    <Form xsi:type="ItemRead">
      <DesktopSettings>
        <SourceLocation DefaultValue="{{x .Pane}}"/>
        <RequestedHeight>450</RequestedHeight>
      </DesktopSettings>
    </Form>
    <Form xsi:type="ItemEdit">
      <DesktopSettings>
        <SourceLocation DefaultValue="{{x .Pane}}"/>
      </DesktopSettings>
    </Form>
  </FormSettings>
  <Permissions>` + XMLPermission + `</Permissions>
  <Rule xsi:type="RuleCollection" Mode="Or">
    <Rule xsi:type="ItemIs" ItemType="Message" FormType="Read"/>
    <Rule xsi:type="ItemIs" ItemType="Message" FormType="Edit"/>
    <Rule xsi:type="ItemIs" ItemType="Appointment" FormType="Read"/>
    <Rule xsi:type="ItemIs" ItemType="Appointment" FormType="Edit"/>
  </Rule>
  <DisableEntityHighlighting>false</DisableEntityHighlighting>
  <VersionOverrides xmlns="http://schemas.microsoft.com/office/mailappversionoverrides" xsi:type="VersionOverridesV1_0">
    <Requirements>
      <bt:Sets DefaultMinVersion="1.3">
        <bt:Set Name="Mailbox"/>
      </bt:Sets>
    </Requirements>
    <Hosts>
      <Host xsi:type="MailHost">
        <DesktopFormFactor>
{{template "surfaces" false}}
        </DesktopFormFactor>
      </Host>
    </Hosts>
{{template "resources" .}}
    <VersionOverrides xmlns="http://schemas.microsoft.com/office/mailappversionoverrides/1.1" xsi:type="VersionOverridesV1_1">
      <Requirements>
        <bt:Sets DefaultMinVersion="1.5">
          <bt:Set Name="Mailbox"/>
        </bt:Sets>
      </Requirements>
      <Hosts>
        <Host xsi:type="MailHost">
          <DesktopFormFactor>
{{template "surfaces" true}}
          </DesktopFormFactor>
        </Host>
      </Hosts>
{{template "resources" .}}
    </VersionOverrides>
  </VersionOverrides>
</OfficeApp>
{{define "surfaces"}}{{$pin := .}}{{range $s := surfaces}}            <ExtensionPoint xsi:type="{{$s.Point}}">
              <OfficeTab id="TabDefault">
                <Group id="{{$s.Group}}">
                  <Label resid="Group.Label"/>
                  <Control xsi:type="Button" id="{{$s.Button}}">
                    <Label resid="Button.Label"/>
                    <Supertip>
                      <Title resid="Button.Label"/>
                      <Description resid="Button.Tooltip"/>
                    </Supertip>
                    <Icon>
                      <bt:Image size="16" resid="Icon.16"/>
                      <bt:Image size="32" resid="Icon.32"/>
                      <bt:Image size="80" resid="Icon.80"/>
                    </Icon>
                    <Action xsi:type="ShowTaskpane">
                      <SourceLocation resid="Pane.Url"/>{{if and $pin $s.Read}}
                      <SupportsPinning>true</SupportsPinning>{{end}}
                    </Action>
                  </Control>
                </Group>
              </OfficeTab>
            </ExtensionPoint>
{{end}}{{end}}
{{define "resources"}}    <Resources>
      <bt:Images>
        <bt:Image id="Icon.16" DefaultValue="{{x .Icon16}}"/>
        <bt:Image id="Icon.32" DefaultValue="{{x .Icon32}}"/>
        <bt:Image id="Icon.80" DefaultValue="{{x .Icon80}}"/>
      </bt:Images>
      <bt:Urls>
        <bt:Url id="Pane.Url" DefaultValue="{{x .Pane}}"/>
      </bt:Urls>
      <bt:ShortStrings>
        <bt:String id="Group.Label" DefaultValue="{{x .Name}}"/>
        <bt:String id="Button.Label" DefaultValue="CRM"/>
      </bt:ShortStrings>
      <bt:LongStrings>
        <bt:String id="Button.Tooltip" DefaultValue="Show the CRM records of this item's people."/>
      </bt:LongStrings>
    </Resources>{{end}}`))

// surface is one command surface the button appears on.
type surface struct {
	Point, Group, Button string
	// Read surfaces may pin the pane (pinning is read mode only).
	Read bool
}

// surfaces: read and compose, for messages and appointments.
var surfaces = []surface{
	{"MessageReadCommandSurface", "ReadGroup", "ReadButton", true},
	{"MessageComposeCommandSurface", "ComposeGroup", "ComposeButton", false},
	{"AppointmentAttendeeCommandSurface", "AttendeeGroup", "AttendeeButton", true},
	{"AppointmentOrganizerCommandSurface", "OrganizerGroup", "OrganizerButton", false},
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xmlEscapeTo(&b, s)
	return b.String()
}

func xmlEscapeTo(b *bytes.Buffer, s string) error {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	_, err := r.WriteString(b, s)
	return err
}

type xmlData struct {
	Deployment
	ID, Origin, Pane, Support               string
	Icon16, Icon32, Icon64, Icon80, Icon128 string
}

// XML is the add-in-only (XML) manifest for d: read and compose surfaces for
// messages and appointments, the pane pinnable in read mode (VersionOverrides
// 1.1, Mailbox 1.5), ReadWriteItem. It works where the unified manifest does
// not: Exchange Server on premises, Outlook on Mac and mobile, perpetual
// Outlook on Windows.
func XML(d Deployment) ([]byte, error) {
	d, err := d.normalize()
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(d.BaseURL)
	icon := func(n int) string { return d.BaseURL + fmt.Sprintf(IconPath, n) }
	data := xmlData{Deployment: d, ID: AddinID(d.BaseURL), Origin: u.Scheme + "://" + u.Host, Pane: d.BaseURL + PanePath,
		Support: d.BaseURL + SupportPath, Icon16: icon(16), Icon32: icon(32), Icon64: icon(64), Icon80: icon(80), Icon128: icon(128)}
	var b bytes.Buffer
	if err := xmlManifest.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("taskpane: XML manifest: %w", err)
	}
	return b.Bytes(), nil
}

// UnifiedSchema is the Microsoft 365 app manifest version the unified
// manifest is written for (and validated against in the tests).
const (
	UnifiedVersion = "1.24"
	unifiedSchema  = "https://developer.microsoft.com/json-schemas/teams/v1.24/MicrosoftTeams.schema.json"
)

// Unified is the unified manifest for Microsoft 365 (JSON) for d: Outlook on
// the web, new Outlook on Windows, classic Outlook on Windows with a
// Microsoft 365 subscription. Its icons (color.png, outline.png) are files
// of the app package beside it (Package). Office only loads https pages, so
// an http base URL is refused.
func Unified(d Deployment) ([]byte, error) {
	d, err := d.normalize()
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(d.BaseURL, "https://") {
		return nil, errors.New("taskpane: the unified manifest needs an https base URL (Office loads add-in pages over https only); set CRMSYNC_PUBLIC_URL to the deployment's https address")
	}
	u, _ := url.Parse(d.BaseURL)
	icon := func(n int) map[string]any {
		return map[string]any{"size": n, "url": d.BaseURL + fmt.Sprintf(IconPath, n)}
	}
	icons := []any{icon(16), icon(32), icon(80)}
	control := func(id string) map[string]any {
		return map[string]any{"id": id, "type": "button", "label": "CRM", "icons": icons,
			"supertip": map[string]any{"title": "CRM", "description": "Show the CRM records of this item's people."},
			"actionId": "openPane"}
	}
	ribbon := func(contexts []string, id string) map[string]any {
		return map[string]any{"contexts": contexts, "tabs": []any{map[string]any{"builtInTabId": "TabDefault",
			"groups": []any{map[string]any{"id": id + "Group", "label": d.Name, "icons": icons, "controls": []any{control(id + "Button")}}}}}}
	}
	m := map[string]any{
		"$schema":         unifiedSchema,
		"manifestVersion": UnifiedVersion,
		"version":         unifiedVersion(d.Version),
		"id":              AddinID(d.BaseURL),
		"developer": map[string]any{"name": "crmsync", "websiteUrl": d.BaseURL + SupportPath,
			"privacyUrl": d.BaseURL + SupportPath, "termsOfUseUrl": d.BaseURL + SupportPath},
		"name":         map[string]any{"short": d.Name, "full": d.Name + " for Outlook"},
		"description":  map[string]any{"short": "Your CRM beside your mail.", "full": "The CRM records behind an e-mail's or a meeting's people: search, create and edit, share the e-mail, file attachments, post to Chatter, track opens."},
		"icons":        map[string]any{"color": "color.png", "outline": "outline.png"},
		"accentColor":  "#1F6FB2",
		"validDomains": []string{u.Host},
		"authorization": map[string]any{"permissions": map[string]any{"resourceSpecific": []any{
			map[string]any{"name": UnifiedPermission, "type": "Delegated"}}}},
		"extensions": []any{map[string]any{
			"requirements": map[string]any{"scopes": []string{"mail"},
				"capabilities": []any{map[string]any{"name": "Mailbox", "minVersion": "1.3"}}},
			"runtimes": []any{map[string]any{"requirements": map[string]any{"capabilities": []any{map[string]any{"name": "Mailbox", "minVersion": "1.3"}}},
				"id": "TaskPaneRuntime", "type": "general", "code": map[string]any{"page": d.BaseURL + PanePath}, "lifetime": "short",
				"actions": []any{map[string]any{"id": "openPane", "type": "openPage", "pinnable": true, "view": "crmsync"}}}},
			"ribbons": []any{
				ribbon([]string{"mailRead", "meetingDetailsAttendee"}, "Read"),
				ribbon([]string{"mailCompose", "meetingDetailsOrganizer"}, "Compose"),
			},
		}},
	}
	if d.ClientID != "" {
		wai := map[string]any{"id": d.ClientID}
		if d.Resource != "" {
			wai["resource"] = d.Resource
		}
		m["webApplicationInfo"] = wai
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// unifiedVersion turns an XML manifest version (n.n.n.n) into the semantic
// version the unified manifest wants (n.n.n).
func unifiedVersion(v string) string {
	parts := strings.Split(v, ".")
	if len(parts) > 3 {
		parts = parts[:3]
	}
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	return strings.Join(parts, ".")
}
