package google

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// DelegationTable holds the service account keys organisation admins
// upload for their Workspace domains (domain-wide delegation), sealed.
const DelegationTable = "googledelegation"

// TokenURL is Google's token endpoint, where delegated tokens are minted.
const TokenURL = "https://oauth2.googleapis.com/token"

// Sealer seals small secrets bound to a tenant, a user and a purpose
// (account.KeysSealer).
type Sealer interface {
	Seal(plaintext []byte, tenant, user, purpose string) (string, error)
	Open(sealed, tenant, user, purpose string) ([]byte, error)
}

// ServiceAccountKey is what crmsync keeps of a service account's JSON key
// file: its identity and private key. The file's token_uri is ignored: an
// uploaded file does not choose where crmsync sends signed assertions.
type ServiceAccountKey struct {
	Email, ClientID, PrivateKeyID string
	// PrivateKey is the PEM block of the RSA key.
	PrivateKey []byte
}

// ErrBadKey is a key file that is not a usable service account key; its
// text says what is wrong, for the admin.
var ErrBadKey = errors.New("not a service account key")

// ParseServiceAccountKey reads a service account's JSON key file as Google
// Cloud downloads it.
func ParseServiceAccountKey(b []byte) (ServiceAccountKey, error) {
	bad := func(msg string) (ServiceAccountKey, error) {
		return ServiceAccountKey{}, fmt.Errorf("%w: %s", ErrBadKey, msg)
	}
	var f struct {
		Type         string `json:"type"`
		ClientEmail  string `json:"client_email"`
		ClientID     string `json:"client_id"`
		PrivateKey   string `json:"private_key"`
		PrivateKeyID string `json:"private_key_id"`
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return bad("the file is empty: choose the service account's JSON key file")
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return bad("the file is not JSON: upload the JSON key file Google Cloud creates for the service account (not a P12 key)")
	}
	switch {
	case f.Type == "":
		return bad(`the JSON has no "type": it is not a key file Google Cloud created`)
	case f.Type != "service_account":
		return bad(fmt.Sprintf(`the file is a %q credential, not a service account key ("type" must be "service_account")`, clip(f.Type, 40)))
	}
	if a, err := mail.ParseAddress(f.ClientEmail); err != nil || a.Address != f.ClientEmail {
		return bad(`the key file has no client_email`)
	}
	if f.ClientID == "" {
		return bad(`the key file has no client_id (the number to authorize in the Admin console)`)
	}
	blk, _ := pem.Decode([]byte(f.PrivateKey))
	if blk == nil {
		return bad("the key file's private_key is not a PEM key")
	}
	var key any
	var err error
	if key, err = x509.ParsePKCS8PrivateKey(blk.Bytes); err != nil {
		key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	}
	if _, ok := key.(*rsa.PrivateKey); err != nil || !ok {
		return bad("the key file's private_key is not an RSA key")
	}
	return ServiceAccountKey{Email: f.ClientEmail, ClientID: f.ClientID, PrivateKeyID: f.PrivateKeyID, PrivateKey: []byte(f.PrivateKey)}, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Delegations keeps each Workspace domain's delegated service account: one
// row per domain ("d|<domain>": the owning crmsync organisation, the
// client id and the sealed key file) and one per organisation and domain
// ("o|<org>", row = domain) to list an organisation's. A domain belongs to
// one organisation.
type Delegations struct {
	Store  tablestore.Store
	Sealer Sealer
	// TokenURL is where tokens are minted (TokenURL when empty; the local
	// Google's /token in tests).
	TokenURL   string
	HTTPClient *http.Client
	Now        func() time.Time
}

// Delegation is what an admin sees of a domain's delegation; never the key.
type Delegation struct {
	Domain, ClientID, ServiceAccount string
	Updated                          time.Time
}

const delegationPurpose = "google-delegation"

func (d *Delegations) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Delegations) tokenURL() string {
	if d.TokenURL != "" {
		return d.TokenURL
	}
	return TokenURL
}

// jwtConfig acts as subject through k with Scopes.
func (d *Delegations) jwtConfig(k ServiceAccountKey, subject string) *jwt.Config {
	return &jwt.Config{Email: k.Email, PrivateKey: k.PrivateKey, PrivateKeyID: k.PrivateKeyID, Scopes: Scopes, TokenURL: d.tokenURL(), Subject: subject}
}

// ErrDelegationRefused is Google refusing to mint a delegated token; its
// text says why, for the admin.
var ErrDelegationRefused = errors.New("google refused the delegation")

// Check mints a token acting as subject: it proves the key is live and the
// admin authorized its client for Scopes in the domain's Admin console.
func (d *Delegations) Check(ctx context.Context, k ServiceAccountKey, subject string) error {
	if d.HTTPClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, d.HTTPClient)
	}
	_, err := d.jwtConfig(k, subject).TokenSource(ctx).Token()
	if err == nil {
		return nil
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("google: reaching Google's token endpoint: %w", err)
	}
	scopes := strings.Join(Scopes, ",")
	switch retrieveCode(re) {
	case "unauthorized_client":
		return fmt.Errorf("%w: Google answered unauthorized_client: client ID %s is not authorized for crmsync's scopes in this domain. In the Google Admin console open Security → Access and data control → API controls → Manage domain-wide delegation, and add client ID %s with the scopes %s", ErrDelegationRefused, k.ClientID, k.ClientID, scopes)
	case "invalid_grant":
		return fmt.Errorf("%w: Google answered invalid_grant: the key is deleted or disabled, or %s is not a user of the domain", ErrDelegationRefused, subject)
	default:
		return fmt.Errorf("%w: Google answered %s", ErrDelegationRefused, safeCode(retrieveCode(re)))
	}
}

// retrieveCode is a token error's code: x/oauth2's jwt source leaves
// ErrorCode empty, so the body is read.
func retrieveCode(re *oauth2.RetrieveError) string {
	if re.ErrorCode != "" {
		return re.ErrorCode
	}
	var b struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(re.Body, &b)
	return b.Error
}

func safeCode(c string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, clip(c, 40))
}

// ErrDomainTaken is a domain another organisation delegated.
var ErrDomainTaken = errors.New("the domain's delegation belongs to another crmsync organisation")

// Put keeps raw, the key file of k, as org's delegation for domain,
// replacing the one it had.
func (d *Delegations) Put(ctx context.Context, org, domain string, raw []byte, k ServiceAccountKey) error {
	domain = strings.ToLower(domain)
	if e, err := d.Store.Get(ctx, DelegationTable, "d|"+domain, ""); err == nil {
		if owner, _ := e.Properties["Org"].(string); owner != org {
			return ErrDomainTaken
		}
	} else if !errors.Is(err, tablestore.ErrNotFound) {
		return err
	}
	sealed, err := d.Sealer.Seal(raw, org, "domain|"+domain, delegationPurpose)
	if err != nil {
		return err
	}
	now := d.now().UTC()
	if _, err := d.Store.Upsert(ctx, DelegationTable, tablestore.Entity{PartitionKey: "d|" + domain,
		Properties: map[string]any{"Org": org, "Key": sealed, "ClientID": k.ClientID, "Updated": now}}); err != nil {
		return err
	}
	_, err = d.Store.Upsert(ctx, DelegationTable, tablestore.Entity{PartitionKey: "o|" + org, RowKey: domain,
		Properties: map[string]any{"ClientID": k.ClientID, "ServiceAccount": k.Email, "Updated": now}})
	return err
}

// List returns org's delegated domains.
func (d *Delegations) List(ctx context.Context, org string) ([]Delegation, error) {
	page, err := d.Store.Query(ctx, DelegationTable, tablestore.Query{PartitionKey: "o|" + org})
	if err != nil {
		return nil, err
	}
	var out []Delegation
	for _, e := range page.Entities {
		x := Delegation{Domain: e.RowKey}
		x.ClientID, _ = e.Properties["ClientID"].(string)
		x.ServiceAccount, _ = e.Properties["ServiceAccount"].(string)
		x.Updated, _ = e.Properties["Updated"].(time.Time)
		out = append(out, x)
	}
	return out, nil
}

// Remove ends org's delegation for domain: its users' jwt_bearer
// connections then fail to open and ask for a reconnect.
func (d *Delegations) Remove(ctx context.Context, org, domain string) error {
	domain = strings.ToLower(domain)
	if e, err := d.Store.Get(ctx, DelegationTable, "d|"+domain, ""); err == nil {
		if owner, _ := e.Properties["Org"].(string); owner == org {
			if err := d.Store.Delete(ctx, DelegationTable, "d|"+domain, "", "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
				return err
			}
		}
	} else if !errors.Is(err, tablestore.ErrNotFound) {
		return err
	}
	if err := d.Store.Delete(ctx, DelegationTable, "o|"+org, domain, "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
		return err
	}
	return nil
}

// Config returns the delegation of domain for jwt.Config (Subject unset),
// or nil when the domain has none.
func (d *Delegations) Config(ctx context.Context, domain string) (*jwt.Config, error) {
	cfg, _, err := d.ConfigOf(ctx, domain)
	return cfg, err
}

// ConfigOf is Config with the crmsync organisation that owns the
// delegation: only that organisation's admins may onboard its users.
func (d *Delegations) ConfigOf(ctx context.Context, domain string) (*jwt.Config, string, error) {
	domain = strings.ToLower(domain)
	e, err := d.Store.Get(ctx, DelegationTable, "d|"+domain, "")
	if errors.Is(err, tablestore.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	org, _ := e.Properties["Org"].(string)
	sealed, _ := e.Properties["Key"].(string)
	raw, err := d.Sealer.Open(sealed, org, "domain|"+domain, delegationPurpose)
	if err != nil {
		return nil, "", fmt.Errorf("google: opening the delegation of %s: %w", domain, err)
	}
	k, err := ParseServiceAccountKey(raw)
	if err != nil {
		return nil, "", err
	}
	return d.jwtConfig(k, ""), org, nil
}
