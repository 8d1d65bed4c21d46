package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/c4c"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestC4CSAMLBearerThroughTheDashboard: in a CRMSYNC_CRM=c4c deployment an
// org admin sets the SAML bearer assertion up through the dashboard's
// admin route (a setup C4C refuses stores nothing), connects themself as a
// user with no password, and the first session syncs their employee's
// records; the private key and client secret reach no log.
func TestC4CSAMLBearerThroughTheDashboard(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "crmsync"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	srv := fakec4c.New(fakec4c.Options{OAuth: &fakec4c.OAuth{ClientID: "CRMSYNC", ClientSecret: "c4c-client-secret", Issuer: "crmsync",
		Cert: cert, Users: []string{fakec4c.DemoEmployeeEmail}}})
	if err := fakec4c.SeedDemo(srv, time.Now()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	w := newTestWorld(t, worldOptions{email: fakec4c.DemoEmployeeEmail,
		env: map[string]string{settings.NameCRM: settings.CRMC4C, settings.NameAdminEmails: fakec4c.DemoEmployeeEmail}})
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	w.secrets.add("C4C OAuth client secret", "c4c-client-secret")
	w.secrets.add("SAML IdP private key", strings.Split(keyPEM, "\n")[2])
	b := w.newBrowser()
	w.signIn(t, b)
	user := w.signedInUser(t, b)
	token := w.csrf(t, b)
	post := func(path string, body any) (int, string) {
		t.Helper()
		j, _ := json.Marshal(body)
		status, _, resp := b.fetch(t, "POST", w.srv.URL+"/api/dashboard/connect/admin/c4c/"+path, strings.NewReader(string(j)),
			map[string]string{"Content-Type": "application/json", "X-CSRF-Token": token})
		return status, resp
	}
	setup := map[string]string{"host": hs.URL, "client_id": "CRMSYNC", "client_secret": "c4c-client-secret", "issuer": "crmsync",
		"key": keyPEM, "certificate": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), "check_user": fakec4c.DemoEmployeeEmail}
	bad := map[string]string{}
	for k, v := range setup {
		bad[k] = v
	}
	bad["issuer"] = "someone-else"
	if status, body := post("saml", bad); status != http.StatusUnprocessableEntity || !strings.Contains(body, "issuer") {
		t.Fatalf("a setup with an unregistered issuer: %d %s", status, body)
	}
	org, err := w.app.accounts.OrgOf(t.Context(), user)
	if err != nil || org == "" {
		t.Fatalf("the admin's org: %q %v", org, err)
	}
	if _, err := w.app.conns.Get(t.Context(), c4c.SAMLSetupUser(org), c4c.Provider); err == nil {
		t.Fatal("a refused setup was stored")
	}
	if status, body := post("saml", setup); status != http.StatusOK {
		t.Fatalf("the setup: %d %s", status, body)
	}
	if c, err := w.app.conns.Get(t.Context(), c4c.SAMLSetupUser(org), c4c.Provider); err != nil || c.Flow != connection.FlowSAMLBearer {
		t.Fatalf("the stored setup: %+v %v", c, err)
	}
	if status, body := post("saml/users", map[string]any{"lines": []string{fakec4c.DemoEmployeeEmail}}); status != http.StatusOK || !strings.Contains(body, `"connected":1`) {
		t.Fatalf("connecting the admin as a user: %d %s", status, body)
	}
	w.connectMicrosoft(t, b)
	if got := w.connectionStatus(t, user); got[c4c.Provider] != connection.Connected {
		t.Fatalf("after connecting: %v", got)
	}
	first := w.runSession(t, user)
	if first.Outcome != "ok" || first.Counts["contact|to-mailbox|create"] != 5 {
		t.Fatalf("first session: %q (%s), counts %v; want ok with the employee's 5 contacts", first.Outcome, first.Detail, first.Counts)
	}
	if found := w.secrets.foundIn(w.logs.String(), nil); len(found) > 0 {
		t.Errorf("secrets in the log: %v", found)
	}
}
