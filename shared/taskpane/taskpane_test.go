package taskpane

import (
	"bytes"
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Result()
}

// TestPagesAndPolicy: the pane loads Office.js from Microsoft's CDN and
// nothing else from outside, with no inline script; the harness exists in
// demo mode only and then loads no Office.js; assets, icons and manifests
// are served with their types; the MSAL bundle is served from crmsync.
func TestPagesAndPolicy(t *testing.T) {
	prod, err := New(Config{Deployment: Deployment{BaseURL: "https://crmsync.example.com"}, Authority: "https://login.microsoftonline.com/organizations/v2.0",
		ClientID: "c1", Scope: "api://crmsync/access_as_user", FrameAncestors: []string{"https://outlook.office.com"}})
	if err != nil {
		t.Fatal(err)
	}
	demo, err := New(Config{Deployment: Deployment{BaseURL: "http://127.0.0.1:7071"}, Demo: true})
	if err != nil {
		t.Fatal(err)
	}

	resp := get(t, prod, PanePath)
	body, _ := io.ReadAll(resp.Body)
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || !strings.Contains(csp, "script-src 'self' https://appsforoffice.microsoft.com https://ajax.aspnetcdn.com;") ||
		strings.Contains(csp, "'unsafe-eval'") || strings.Contains(strings.Split(strings.Split(csp, "script-src")[1], ";")[0], "unsafe-inline") ||
		!strings.Contains(csp, "frame-ancestors 'self' https://outlook.office.com") {
		t.Errorf("pane: %d, CSP %q", resp.StatusCode, csp)
	}
	scripts := regexp.MustCompile(`<script[^>]*src="([^"]+)"`).FindAllStringSubmatch(string(body), -1)
	for _, s := range scripts {
		if strings.HasPrefix(s[1], "http") && s[1] != OfficeJS {
			t.Errorf("the pane loads %s from outside", s[1])
		}
	}
	if strings.Contains(string(body), "<script>") || !strings.Contains(string(body), `data-client-id="c1"`) ||
		!strings.Contains(string(body), `data-authority="https://login.microsoftonline.com/organizations"`) {
		t.Errorf("pane page: %s", body)
	}
	if resp := get(t, prod, Prefix+"/harness"); resp.StatusCode != 404 {
		t.Errorf("the harness outside demo mode: %d", resp.StatusCode)
	}
	resp = get(t, demo, PanePath+"?host=harness")
	body, _ = io.ReadAll(resp.Body)
	if strings.Contains(string(body), OfficeJS) || strings.Contains(resp.Header.Get("Content-Security-Policy"), "appsforoffice") {
		t.Errorf("the harness's pane loads Office.js: %s", body)
	}
	for path, ctype := range map[string]string{
		Prefix + "/static/pane.js": "text/javascript; charset=utf-8", Prefix + "/static/msal-browser.min.js": "text/javascript; charset=utf-8",
		Prefix + "/static/pane.css": "text/css; charset=utf-8", Prefix + "/icons/80.png": "image/png",
		Prefix + "/manifest.xml": "application/xml; charset=utf-8", Prefix + "/manifest.json": "application/json",
	} {
		if resp := get(t, prod, path); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ctype {
			t.Errorf("%s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	for _, path := range []string{Prefix + "/static/pane.html", Prefix + "/static/msal-browser.LICENSE", Prefix + "/static/nothing.js", Prefix + "/icons/7.png"} {
		if resp := get(t, prod, path); resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
	if resp := get(t, demo, Prefix+"/manifest.json"); resp.StatusCode != http.StatusConflict {
		t.Errorf("unified manifest over http: %d", resp.StatusCode)
	}
	if resp := get(t, demo, Prefix+"/signin"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("sign-in without an app registration: %d", resp.StatusCode)
	}
	img, err := png.Decode(bytes.NewReader(Icon(32, true)))
	if err != nil || img.Bounds().Dx() != 32 {
		t.Errorf("outline icon: %v", err)
	}
}

// TestMSALBundleHasLicence: the bundled MSAL ships with its licence and
// the nestable client the pane calls.
func TestMSALBundleHasLicence(t *testing.T) {
	lic, err := fs.ReadFile(static, "static/msal-browser.LICENSE")
	if err != nil || !strings.Contains(string(lic), "MIT License") || !strings.Contains(string(lic), "@azure/msal-browser@5.29.0") {
		t.Errorf("licence: %v", err)
	}
	js, err := fs.ReadFile(static, "static/msal-browser.min.js")
	if err != nil || !bytes.Contains(js, []byte("createNestablePublicClientApplication")) {
		t.Errorf("bundle: %v", err)
	}
}

// TestInstallPageNamesTheCRM: the install page names the deployment's CRM
// and promises posts to its feed only when it has one.
func TestInstallPageNamesTheCRM(t *testing.T) {
	for _, tc := range []struct {
		cfg       Config
		want, not []string
	}{
		{Config{CRMName: "Salesforce", Feed: "Chatter"}, []string{"against the local Salesforce", "post to Chatter"}, nil},
		{Config{CRMName: "SAP Cloud for Customer"}, []string{"against the local SAP Cloud for Customer"}, []string{"Chatter", "Salesforce", "post to"}},
	} {
		tc.cfg.Deployment, tc.cfg.Demo = Deployment{BaseURL: "http://127.0.0.1:7071"}, true
		h, err := New(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		resp := get(t, h, Prefix+"/")
		body, _ := io.ReadAll(resp.Body)
		for _, w := range tc.want {
			if !strings.Contains(string(body), w) {
				t.Errorf("%s: the install page lacks %q", tc.cfg.CRMName, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(string(body), n) {
				t.Errorf("%s: the install page says %q", tc.cfg.CRMName, n)
			}
		}
	}
}
