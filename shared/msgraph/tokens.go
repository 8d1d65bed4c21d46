package msgraph

import (
	"sync"

	"golang.org/x/oauth2"
)

// Renewable is a token source over a factory of self-renewing sources, such
// as clientcredentials' (a cached token is handed out until its expiry):
// Invalidate drops the current source when Graph refused its token, so the
// next Token call fetches a new token instead of the refused one.
type Renewable struct {
	newSource func() oauth2.TokenSource

	mu   sync.Mutex
	cur  oauth2.TokenSource
	last string
}

// NewRenewable returns a Renewable over newSource, which must return a new
// source (with an empty cache) on every call.
func NewRenewable(newSource func() oauth2.TokenSource) *Renewable {
	return &Renewable{newSource: newSource}
}

// Token returns the current source's token.
func (r *Renewable) Token() (*oauth2.Token, error) {
	r.mu.Lock()
	if r.cur == nil {
		r.cur = r.newSource()
	}
	src := r.cur
	r.mu.Unlock()
	tok, err := src.Token()
	if err == nil {
		r.mu.Lock()
		r.last = tok.AccessToken
		r.mu.Unlock()
	}
	return tok, err
}

// Invalidate drops the source whose token Graph refused. A token that is no
// longer the one handed out (another request renewed it already) is ignored,
// so a burst of 401s costs one renewal.
func (r *Renewable) Invalidate(accessToken string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if accessToken != "" && accessToken != r.last {
		return
	}
	r.cur = nil
}
