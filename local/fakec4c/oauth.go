package fakec4c

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

// TokenPath is the OAuth 2.0 token endpoint of a tenant (SAP's
// OAuthSAMLClient sample: https://<tenant>/sap/bc/sec/oauth2/token).
const TokenPath = "/sap/bc/sec/oauth2/token"

// OAuth is a tenant's SAML bearer setup: the OAuth client registered under
// Administrator > OAuth Client Registration and the identity provider
// registered as trusted (its name and signing certificate).
type OAuth struct {
	ClientID, ClientSecret string
	// Issuer is the identity provider's name; Cert verifies its signatures.
	Issuer string
	Cert   *x509.Certificate
	// Users are the business users an assertion's NameID may name (user
	// IDs or e-mail addresses, compared without case).
	Users []string
	// Audience is the tenant's host an assertion must be for ("" = the
	// host the request was sent to).
	Audience string
	// TokenTTL is how long tokens live (0 = 1 hour).
	TokenTTL time.Duration
}

type bearer struct {
	user    string
	expires time.Time
}

// tokenErr is an RFC 6749 §5.2 error answer.
func tokenErr(status int, code, desc string) reply {
	return jsonReply(status, map[string]string{"error": code, "error_description": desc})
}

const (
	nsSAML = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig = "http://www.w3.org/2000/09/xmldsig#"
)

// token answers POST TokenPath: the SAML 2.0 bearer assertion grant
// (RFC 7522), as SAP's sample calls it: client_id, grant_type, scope and
// assertion (base64) as a form, the client authenticated by Basic auth (or
// client_secret in the form). The assertion must be signed by the
// registered IdP over its exclusive canonical form, issued by it, for this
// tenant (Audience = host), to this endpoint (Recipient), not expired, and
// name a business user.
func (s *Server) token(r *http.Request) reply {
	o := s.opts.OAuth
	if r.Method != http.MethodPost {
		return tokenErr(405, "invalid_request", "POST only")
	}
	if o == nil {
		return tokenErr(401, "invalid_client", "no OAuth client is registered")
	}
	if err := r.ParseForm(); err != nil {
		return tokenErr(400, "invalid_request", "the body is not a form")
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != o.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(o.ClientSecret)) != 1 {
		return tokenErr(401, "invalid_client", "Client authentication failed")
	}
	if g := r.PostForm.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:saml2-bearer" {
		return tokenErr(400, "unsupported_grant_type", fmt.Sprintf("grant type %q is not supported", g))
	}
	raw := r.PostForm.Get("assertion")
	doc, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		if doc, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(raw, "=")); err != nil {
			return tokenErr(400, "invalid_grant", "the assertion is not base64")
		}
	}
	s.mu.Lock()
	now := s.opts.Now()
	s.mu.Unlock()
	user, err := verifyAssertion(doc, o, "https://"+r.Host, "http://"+r.Host, now)
	if err != nil {
		return tokenErr(400, "invalid_grant", err.Error())
	}
	ttl := o.TokenTTL
	if ttl == 0 {
		ttl = time.Hour
	}
	tok := randToken()
	s.mu.Lock()
	s.bearers[tok] = bearer{user: user, expires: now.Add(ttl)}
	s.calls["POST token"]++
	s.mu.Unlock()
	return jsonReply(200, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl / time.Second), "scope": r.PostForm.Get("scope")})
}

// bearerUser returns the business user of a valid bearer token.
func (s *Server) bearerUser(tok string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.bearers[tok]
	if !ok || !s.opts.Now().Before(b.expires) {
		return "", false
	}
	return b.user, true
}

// ExpireBearerTokens forgets every issued access token.
func (s *Server) ExpireBearerTokens() {
	s.mu.Lock()
	s.bearers = map[string]bearer{}
	s.mu.Unlock()
}

// verifyAssertion checks a SAML 2.0 assertion and returns its user. It
// canonicalizes with its own exclusive C14N over the parsed tree (not the
// signer's bytes), so any change to a signed part breaks the digest.
func verifyAssertion(doc []byte, o *OAuth, hostS, hostP string, now time.Time) (string, error) {
	root, err := parseXML(doc)
	if err != nil {
		return "", fmt.Errorf("the assertion is not XML: %v", err)
	}
	if root.uri != nsSAML || root.local != "Assertion" {
		return "", errors.New("the document is not a SAML 2.0 Assertion")
	}
	sig := root.child(nsDSig, "Signature")
	if sig == nil {
		return "", errors.New("the assertion is not signed")
	}
	si := sig.child(nsDSig, "SignedInfo")
	ref := si.child(nsDSig, "Reference")
	if si == nil || ref == nil || ref.attr("URI") != "#"+root.attr("ID") || root.attr("ID") == "" {
		return "", errors.New("the signature does not reference the assertion")
	}
	if alg := si.child(nsDSig, "CanonicalizationMethod").attr("Algorithm"); alg != "http://www.w3.org/2001/10/xml-exc-c14n#" {
		return "", fmt.Errorf("canonicalization %q is not exclusive C14N", alg)
	}
	var transforms []string
	for _, t := range ref.child(nsDSig, "Transforms").children(nsDSig, "Transform") {
		transforms = append(transforms, t.attr("Algorithm"))
	}
	if strings.Join(transforms, " ") != "http://www.w3.org/2000/09/xmldsig#enveloped-signature http://www.w3.org/2001/10/xml-exc-c14n#" {
		return "", fmt.Errorf("transforms %v are not enveloped-signature then exclusive C14N", transforms)
	}
	var dh hash.Hash
	switch ref.child(nsDSig, "DigestMethod").attr("Algorithm") {
	case "http://www.w3.org/2001/04/xmlenc#sha256":
		dh = sha256.New()
	case "http://www.w3.org/2000/09/xmldsig#sha1":
		dh = sha1.New()
	default:
		return "", errors.New("unsupported digest method")
	}
	var body bytes.Buffer
	c14n(&body, root, nil, sig)
	dh.Write(body.Bytes())
	want, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(ref.child(nsDSig, "DigestValue").text()))
	if !bytes.Equal(dh.Sum(nil), want) {
		return "", errors.New("the assertion's digest does not match: it was changed after signing")
	}
	var sh crypto.Hash
	switch si.child(nsDSig, "SignatureMethod").attr("Algorithm") {
	case "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256":
		sh = crypto.SHA256
	case "http://www.w3.org/2000/09/xmldsig#rsa-sha1":
		sh = crypto.SHA1
	default:
		return "", errors.New("unsupported signature method")
	}
	var signed bytes.Buffer
	c14n(&signed, si, nil, nil)
	h := sh.New()
	h.Write(signed.Bytes())
	sv, _ := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sig.child(nsDSig, "SignatureValue").text()), ""))
	pub, ok := o.Cert.PublicKey.(*rsa.PublicKey)
	if !ok || rsa.VerifyPKCS1v15(pub, sh, h.Sum(nil), sv) != nil {
		return "", errors.New("the signature is not the registered identity provider's")
	}
	if iss := root.child(nsSAML, "Issuer").text(); iss != o.Issuer {
		return "", fmt.Errorf("issuer %q is not a registered identity provider", iss)
	}
	cond := root.child(nsSAML, "Conditions")
	if err := window(cond.attr("NotBefore"), cond.attr("NotOnOrAfter"), now); err != nil {
		return "", err
	}
	aud := cond.child(nsSAML, "AudienceRestriction").child(nsSAML, "Audience").text()
	if want := o.Audience; aud != want && !(want == "" && aud == strings.TrimPrefix(hostS, "https://")) {
		return "", fmt.Errorf("audience %q is not this tenant", aud)
	}
	subj := root.child(nsSAML, "Subject")
	conf := subj.child(nsSAML, "SubjectConfirmation")
	if conf.attr("Method") != "urn:oasis:names:tc:SAML:2.0:cm:bearer" {
		return "", errors.New("the subject confirmation is not bearer")
	}
	data := conf.child(nsSAML, "SubjectConfirmationData")
	if rcp := data.attr("Recipient"); rcp != hostS+TokenPath && rcp != hostP+TokenPath {
		return "", fmt.Errorf("recipient %q is not this token endpoint", rcp)
	}
	if err := window("", data.attr("NotOnOrAfter"), now); err != nil {
		return "", err
	}
	name := strings.TrimSpace(subj.child(nsSAML, "NameID").text())
	for _, u := range o.Users {
		if strings.EqualFold(u, name) {
			return u, nil
		}
	}
	return "", fmt.Errorf("user %q of the assertion is not a business user of this tenant", name)
}

// window checks NotBefore <= now < NotOnOrAfter (NotOnOrAfter required).
func window(nb, noa string, now time.Time) error {
	end, err := time.Parse(time.RFC3339, noa)
	if err != nil {
		return errors.New("the assertion has no valid NotOnOrAfter")
	}
	if !now.Before(end) {
		return fmt.Errorf("the assertion expired at %s", noa)
	}
	if nb != "" {
		start, err := time.Parse(time.RFC3339, nb)
		if err != nil || now.Before(start) {
			return errors.New("the assertion is not valid yet")
		}
	}
	return nil
}

// node is an element of a parsed document, prefixes kept.
type node struct {
	prefix, local, uri string
	decls              map[string]string // prefix → URI declared here ("" = default)
	attrs              []xml.Attr        // raw: Name.Space is the prefix
	kids               []any             // *node or string
	scope              map[string]string // in-scope declarations, including decls
}

func (n *node) attr(local string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func (n *node) children(uri, local string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, k := range n.kids {
		if c, ok := k.(*node); ok && c.uri == uri && c.local == local {
			out = append(out, c)
		}
	}
	return out
}

func (n *node) child(uri, local string) *node {
	if cs := n.children(uri, local); len(cs) == 1 {
		return cs[0]
	}
	return nil
}

func (n *node) text() string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	for _, k := range n.kids {
		if t, ok := k.(string); ok {
			b.WriteString(t)
		}
	}
	return b.String()
}

// parseXML reads a document into a tree, refusing DTDs (no entity tricks).
func parseXML(doc []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	var stack []*node
	var root *node
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, errors.New("DTDs are not accepted")
		case xml.StartElement:
			n := &node{prefix: t.Name.Space, local: t.Name.Local, decls: map[string]string{}, scope: map[string]string{"xml": "http://www.w3.org/XML/1998/namespace"}}
			if len(stack) > 0 {
				for k, v := range stack[len(stack)-1].scope {
					n.scope[k] = v
				}
			}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					n.decls[a.Name.Local] = a.Value
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					n.decls[""] = a.Value
				default:
					n.attrs = append(n.attrs, a)
				}
			}
			for k, v := range n.decls {
				n.scope[k] = v
			}
			n.uri = n.scope[n.prefix]
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else if root != nil {
				return nil, errors.New("more than one root element")
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, string(t))
			}
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	return root, nil
}

// c14n writes the exclusive canonical form (XML-EXC-C14N, without
// comments) of n's subtree, skipping the element skip (the enveloped
// signature). rendered are the declarations in force in the output.
func c14n(w *bytes.Buffer, n *node, rendered map[string]string, skip *node) {
	used := map[string]bool{n.prefix: true}
	for _, a := range n.attrs {
		if a.Name.Space != "" && a.Name.Space != "xml" {
			used[a.Name.Space] = true
		}
	}
	out := map[string]string{}
	for k, v := range rendered {
		out[k] = v
	}
	var decl []string
	for p := range used {
		uri := n.scope[p]
		if have, ok := rendered[p]; (ok && have == uri) || (!ok && p == "" && uri == "") {
			continue
		}
		decl = append(decl, p)
		out[p] = uri
	}
	sort.Strings(decl)
	name := n.local
	if n.prefix != "" {
		name = n.prefix + ":" + n.local
	}
	w.WriteString("<" + name)
	for _, p := range decl {
		if p == "" {
			w.WriteString(` xmlns="` + escAttr(out[p]) + `"`)
		} else {
			w.WriteString(" xmlns:" + p + `="` + escAttr(out[p]) + `"`)
		}
	}
	attrs := append([]xml.Attr(nil), n.attrs...)
	uriOf := func(a xml.Attr) string {
		if a.Name.Space == "" {
			return ""
		}
		return n.scope[a.Name.Space]
	}
	sort.Slice(attrs, func(i, j int) bool {
		if ui, uj := uriOf(attrs[i]), uriOf(attrs[j]); ui != uj {
			return ui < uj
		}
		return attrs[i].Name.Local < attrs[j].Name.Local
	})
	for _, a := range attrs {
		an := a.Name.Local
		if a.Name.Space != "" {
			an = a.Name.Space + ":" + an
		}
		w.WriteString(" " + an + `="` + escAttr(a.Value) + `"`)
	}
	w.WriteString(">")
	for _, k := range n.kids {
		switch c := k.(type) {
		case string:
			w.WriteString(escText(c))
		case *node:
			if c != skip {
				c14n(w, c, out, skip)
			}
		}
	}
	w.WriteString("</" + name + ">")
}

func escText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;").Replace(s)
}

func escAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;", "\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;").Replace(s)
}
