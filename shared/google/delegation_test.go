package google

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// saKeyFile is a service account JSON key file as Google Cloud writes it.
func saKeyFile(t testing.TB, email string) ([]byte, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	b, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "crmsync-test", "private_key_id": "k1",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), "client_email": email,
		"client_id": "104242424242424242424", "token_uri": "https://attacker.example/token"})
	return b, key
}

func TestParseServiceAccountKey(t *testing.T) {
	good, _ := saKeyFile(t, "sync@crmsync-test.iam.gserviceaccount.com")
	with := func(field, value string) []byte {
		var m map[string]any
		_ = json.Unmarshal(good, &m)
		if value == "" {
			delete(m, field)
		} else {
			m[field] = value
		}
		b, _ := json.Marshal(m)
		return b
	}
	for _, tc := range []struct {
		name string
		file []byte
		want string // "" = accepted
	}{
		{"a service account key", good, ""},
		{"empty", nil, "empty"},
		{"a P12 key", []byte{0x30, 0x82, 0x09, 0x6e, 0x02, 0x01}, "not JSON"},
		{"an OAuth client file", []byte(`{"web":{"client_id":"x.apps.googleusercontent.com"}}`), `no "type"`},
		{"a user credential", with("type", "authorized_user"), `"authorized_user" credential, not a service account key`},
		{"no client_email", with("client_email", ""), "client_email"},
		{"no client_id", with("client_id", ""), "client_id"},
		{"a private key that is not PEM", with("private_key", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), "not a PEM key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseServiceAccountKey(tc.file)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "" && (k.Email == "" || k.ClientID == "" || len(k.PrivateKey) == 0):
				t.Fatalf("parsed %+v", k)
			case tc.want != "" && (!errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want ErrBadKey saying %q", err, tc.want)
			}
		})
	}
}

// TestDelegations: Check mints a token as a user of the domain and tells a
// client the admin did not authorize for the scopes (unauthorized_client)
// by its client ID; Put seals the key file (no key material in the table)
// and a domain belongs to one organisation; Config gives the jwt.Config
// minting through the configured token URL, not the file's token_uri;
// Remove ends it.
func TestDelegations(t *testing.T) {
	ctx := t.Context()
	const sa, partial = "sync@crmsync-test.iam.gserviceaccount.com", "partial@crmsync-test.iam.gserviceaccount.com"
	file, key := saKeyFile(t, sa)
	pfile, pkey := saKeyFile(t, partial)
	fg := fakegoogle.New(fakegoogle.Options{ServiceAccounts: map[string]fakegoogle.ServiceAccount{
		sa: {Key: &key.PublicKey, Scopes: Scopes}, partial: {Key: &pkey.PublicKey, Scopes: Scopes[:2]}}})
	fg.AddUser(testUser)
	store, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "s.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ring, err := keyring.OpenFileRing(filepath.Join(t.TempDir(), "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := &Delegations{Store: store, Sealer: account.KeysSealer{Keys: ring}, TokenURL: "http://google.local/token",
		HTTPClient: &http.Client{Transport: fg.Transport()}}
	pk, _ := ParseServiceAccountKey(pfile)
	err = d.Check(ctx, pk, testUser)
	if !errors.Is(err, ErrDelegationRefused) || !strings.Contains(err.Error(), "unauthorized_client") || !strings.Contains(err.Error(), pk.ClientID) {
		t.Errorf("a client not authorized for the scopes: %v", err)
	}
	k, _ := ParseServiceAccountKey(file)
	if err := d.Check(ctx, k, "nobody@elsewhere.test"); !errors.Is(err, ErrDelegationRefused) {
		t.Errorf("a subject outside the domain: %v", err)
	}
	if err := d.Check(ctx, k, testUser); err != nil {
		t.Fatalf("an authorized key: %v", err)
	}
	if err := d.Put(ctx, "org-a", "Example.test", file, k); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, "org-b", "example.test", file, k); !errors.Is(err, ErrDomainTaken) {
		t.Errorf("another org's Put of the domain: %v, want ErrDomainTaken", err)
	}
	page, _ := store.Query(ctx, DelegationTable, tablestore.Query{})
	for _, e := range page.Entities {
		b, _ := json.Marshal(e.Properties)
		if strings.Contains(string(b), "PRIVATE KEY") || strings.Contains(string(b), "attacker") {
			t.Errorf("the table holds the key file in clear: %s", b)
		}
	}
	list, err := d.List(ctx, "org-a")
	if err != nil || len(list) != 1 || list[0].Domain != "example.test" || list[0].ClientID != k.ClientID {
		t.Errorf("List: %+v %v", list, err)
	}
	cfg, err := d.Config(ctx, "EXAMPLE.test")
	if err != nil || cfg == nil || cfg.TokenURL != "http://google.local/token" || cfg.Email != sa {
		t.Fatalf("Config: %+v %v", cfg, err)
	}
	if err := d.Remove(ctx, "org-a", "example.test"); err != nil {
		t.Fatal(err)
	}
	if cfg, err := d.Config(ctx, "example.test"); err != nil || cfg != nil {
		t.Errorf("after Remove: %v %v", cfg, err)
	}
}
