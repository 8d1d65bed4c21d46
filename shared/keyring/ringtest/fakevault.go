package ringtest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets/fake"
)

// FakeVaultURL is a vault URL the Key Vault client accepts; the fake transport
// never resolves it.
const FakeVaultURL = "https://crmsync-test.vault.azure.net"

// FakeVault is an in-memory Key Vault (secrets only) behind azsecrets' fake
// transport: the fake server is stateless, so this keeps the state. It keeps
// every Key Vault version of a secret, soft-deletes like Azure does, and
// counts calls so tests can check the ring caches.
type FakeVault struct {
	mu      sync.Mutex
	secrets map[string][]fakeVersion
	deleted map[string][]fakeVersion
	seq     int
	calls   map[string]int
}

type fakeVersion struct {
	id          string
	value       string
	contentType *string
	tags        map[string]*string
	created     time.Time
	enabled     bool
}

// NewFakeVault returns an empty vault.
func NewFakeVault() *FakeVault {
	return &FakeVault{secrets: map[string][]fakeVersion{}, deleted: map[string][]fakeVersion{}, calls: map[string]int{}}
}

// ClientOptions wires an azsecrets client to this vault.
func (v *FakeVault) ClientOptions() *azsecrets.ClientOptions {
	srv := v.server()
	return &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: fake.NewServerTransport(&srv)}}
}

// Credential returns azcore's fake token credential.
func (v *FakeVault) Credential() azcore.TokenCredential { return &azfake.TokenCredential{} }

// Calls reports how many times a client method reached the vault.
func (v *FakeVault) Calls(method string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.calls[method]
}

// Names lists the live secret names.
func (v *FakeVault) Names() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var names []string
	for n := range v.secrets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Set writes a secret version directly, as an operator or a racing instance would.
func (v *FakeVault) Set(name, value string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.set(name, value, nil, nil)
}

// set appends a version. The caller holds v.mu.
func (v *FakeVault) set(name, value string, ct *string, tags map[string]*string) fakeVersion {
	v.seq++
	fv := fakeVersion{
		id:          fmt.Sprintf("%032x", v.seq),
		value:       value,
		contentType: ct,
		tags:        tags,
		// Versions are ordered by creation time; one second apart keeps the
		// order unambiguous.
		created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(v.seq) * time.Second),
		enabled: true,
	}
	v.secrets[name] = append(v.secrets[name], fv)
	return fv
}

func (v *FakeVault) id(name, version string) *azsecrets.ID {
	id := azsecrets.ID(FakeVaultURL + "/secrets/" + name)
	if version != "" {
		id += azsecrets.ID("/" + version)
	}
	return &id
}

func (v *FakeVault) props(name string, fv fakeVersion, withVersion bool) *azsecrets.SecretProperties {
	enabled, created := fv.enabled, fv.created
	ver := ""
	if withVersion {
		ver = fv.id
	}
	return &azsecrets.SecretProperties{
		ID:          v.id(name, ver),
		ContentType: fv.contentType,
		Tags:        fv.tags,
		Attributes:  &azsecrets.SecretAttributes{Enabled: &enabled, Created: &created, Updated: &created},
	}
}

func (v *FakeVault) server() fake.Server {
	return fake.Server{
		GetSecret: func(ctx context.Context, name, version string, _ *azsecrets.GetSecretOptions) (resp azfake.Responder[azsecrets.GetSecretResponse], errResp azfake.ErrorResponder) {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.calls["GetSecret"]++
			versions := v.secrets[name]
			if len(versions) == 0 {
				errResp.SetResponseError(http.StatusNotFound, "SecretNotFound")
				return
			}
			fv := versions[len(versions)-1]
			if version != "" {
				i := slices.IndexFunc(versions, func(x fakeVersion) bool { return x.id == version })
				if i < 0 {
					errResp.SetResponseError(http.StatusNotFound, "SecretNotFound")
					return
				}
				fv = versions[i]
			}
			if !fv.enabled {
				errResp.SetResponseError(http.StatusForbidden, "Forbidden")
				return
			}
			p := v.props(name, fv, true)
			value := fv.value
			resp.SetResponse(http.StatusOK, azsecrets.GetSecretResponse{Secret: azsecrets.Secret{
				ID: p.ID, Value: &value, ContentType: p.ContentType, Tags: p.Tags, Attributes: p.Attributes,
			}}, nil)
			return
		},
		SetSecret: func(ctx context.Context, name string, params azsecrets.SetSecretParameters, _ *azsecrets.SetSecretOptions) (resp azfake.Responder[azsecrets.SetSecretResponse], errResp azfake.ErrorResponder) {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.calls["SetSecret"]++
			if _, gone := v.deleted[name]; gone {
				// Azure refuses to reuse the name of a soft-deleted secret.
				errResp.SetResponseError(http.StatusConflict, "Conflict")
				return
			}
			if params.Value == nil {
				errResp.SetResponseError(http.StatusBadRequest, "BadParameter")
				return
			}
			fv := v.set(name, *params.Value, params.ContentType, params.Tags)
			p := v.props(name, fv, true)
			resp.SetResponse(http.StatusOK, azsecrets.SetSecretResponse{Secret: azsecrets.Secret{
				ID: p.ID, Value: params.Value, ContentType: p.ContentType, Tags: p.Tags, Attributes: p.Attributes,
			}}, nil)
			return
		},
		DeleteSecret: func(ctx context.Context, name string, _ *azsecrets.DeleteSecretOptions) (resp azfake.Responder[azsecrets.DeleteSecretResponse], errResp azfake.ErrorResponder) {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.calls["DeleteSecret"]++
			versions, ok := v.secrets[name]
			if !ok {
				errResp.SetResponseError(http.StatusNotFound, "SecretNotFound")
				return
			}
			delete(v.secrets, name)
			v.deleted[name] = versions
			resp.SetResponse(http.StatusOK, azsecrets.DeleteSecretResponse{DeletedSecret: azsecrets.DeletedSecret{ID: v.id(name, "")}}, nil)
			return
		},
		NewListSecretPropertiesPager: func(_ *azsecrets.ListSecretPropertiesOptions) (resp azfake.PagerResponder[azsecrets.ListSecretPropertiesResponse]) {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.calls["ListSecretProperties"]++
			var all []*azsecrets.SecretProperties
			for name, versions := range v.secrets {
				all = append(all, v.props(name, versions[len(versions)-1], false))
			}
			slices.SortFunc(all, func(a, b *azsecrets.SecretProperties) int { return strings.Compare(string(*a.ID), string(*b.ID)) })
			// Two entries per page exercises paging.
			for page := range slices.Chunk(all, 2) {
				resp.AddPage(http.StatusOK, azsecrets.ListSecretPropertiesResponse{SecretPropertiesListResult: azsecrets.SecretPropertiesListResult{Value: page}}, nil)
			}
			if len(all) == 0 {
				resp.AddPage(http.StatusOK, azsecrets.ListSecretPropertiesResponse{}, nil)
			}
			return
		},
		NewListSecretPropertiesVersionsPager: func(name string, _ *azsecrets.ListSecretPropertiesVersionsOptions) (resp azfake.PagerResponder[azsecrets.ListSecretPropertiesVersionsResponse]) {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.calls["ListSecretPropertiesVersions"]++
			versions, ok := v.secrets[name]
			if !ok {
				resp.AddResponseError(http.StatusNotFound, "SecretNotFound")
				return
			}
			var all []*azsecrets.SecretProperties
			// Key Vault lists versions in no promised order; newest first here.
			for _, fv := range slices.Backward(versions) {
				all = append(all, v.props(name, fv, true))
			}
			resp.AddPage(http.StatusOK, azsecrets.ListSecretPropertiesVersionsResponse{SecretPropertiesListResult: azsecrets.SecretPropertiesListResult{Value: all}}, nil)
			return
		},
	}
}
