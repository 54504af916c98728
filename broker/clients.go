package broker

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/enterprise-connect/broker/scopes"
	"github.com/enterprise-connect/broker/store"
)

const sealLabelCallbackSecret = "callback-secret"

// ClientSpec is what `broker clients create` registers (SPEC §10).
type ClientSpec struct {
	Name           string
	RedirectURIs   []string
	Scope          string // service-account scopes the client may ever ask for
	DelegatedScope string // the widest ceiling it may ever ask for
	RequirePKCE    bool
	JWKS           []byte // public JWKS JSON enabling private_key_jwt and jwt-bearer
}

// ClientCredentials are shown once, at creation (SPEC §10).
type ClientCredentials struct {
	ClientID       string `json:"client_id"`
	ClientSecret   string `json:"client_secret"`
	CallbackSecret string `json:"callback_secret"`
}

// ClientView is a registered client without secrets, for listings.
type ClientView struct {
	ClientID       string   `json:"client_id"`
	Name           string   `json:"name"`
	RedirectURIs   []string `json:"redirect_uris"`
	Scope          string   `json:"scope"`
	DelegatedScope string   `json:"delegated_scope"`
	RequirePKCE    bool     `json:"require_pkce"`
	HasJWKS        bool     `json:"has_jwks"`
	CreatedAt      string   `json:"created_at"`
}

// CreateClient validates spec and registers a client with fresh secrets: the client secret
// and callback secret are 256-bit random strings; the first is stored as its SHA-256 only,
// the second sealed (signing callbacks needs it, SPEC §5).
func CreateClient(ctx context.Context, s store.Clients, sealer *Sealer, spec ClientSpec, now func() time.Time) (ClientCredentials, error) {
	var problems []string
	if strings.TrimSpace(spec.Name) == "" {
		problems = append(problems, "--name: required")
	}
	if len(spec.RedirectURIs) == 0 {
		problems = append(problems, "--redirect-uri: at least one is required")
	}
	for _, u := range spec.RedirectURIs {
		if err := validRedirectURI(u); err != nil {
			problems = append(problems, fmt.Sprintf("--redirect-uri %q: %v", u, err))
		}
	}
	sa, err := scopes.ParseServiceAccount(spec.Scope)
	switch {
	case err != nil:
		problems = append(problems, fmt.Sprintf("--scope: %v", err))
	case sa.IsEmpty():
		problems = append(problems, "--scope: at least one service-account scope is required")
	}
	del, err := scopes.ParseDelegated(spec.DelegatedScope)
	switch {
	case err != nil:
		problems = append(problems, fmt.Sprintf("--delegated-scope: %v", err))
	case del.IsEmpty():
		problems = append(problems, "--delegated-scope: at least one delegated scope is required")
	}
	if spec.JWKS != nil {
		if _, err := ParseClientJWKS(spec.JWKS); err != nil {
			problems = append(problems, fmt.Sprintf("--jwks-file: %v", err))
		}
	}
	if len(problems) > 0 {
		return ClientCredentials{}, &Error{Code: InvalidRequest, Description: strings.Join(problems, "; ")}
	}
	creds := ClientCredentials{ClientID: newID("cli_"), ClientSecret: newSecret(), CallbackSecret: newSecret()}
	c := store.Client{
		ID:             creds.ClientID,
		Name:           strings.TrimSpace(spec.Name),
		SecretHash:     HashSecret(creds.ClientSecret),
		CallbackSecret: sealer.Seal([]byte(creds.CallbackSecret), sealLabelCallbackSecret),
		RedirectURIs:   spec.RedirectURIs,
		Scope:          sa.String(),
		DelegatedScope: del.String(),
		RequirePKCE:    spec.RequirePKCE,
		JWKS:           spec.JWKS,
		CreatedAt:      now().UTC(),
	}
	if err := s.CreateClient(ctx, c); err != nil {
		return ClientCredentials{}, storeErr("create client", err)
	}
	return creds, nil
}

// ListClients returns every client without secrets.
func ListClients(ctx context.Context, s store.Clients) ([]ClientView, error) {
	cs, err := s.ListClients(ctx)
	if err != nil {
		return nil, storeErr("list clients", err)
	}
	out := make([]ClientView, 0, len(cs))
	for _, c := range cs {
		out = append(out, ClientView{ClientID: c.ID, Name: c.Name, RedirectURIs: c.RedirectURIs,
			Scope: c.Scope, DelegatedScope: c.DelegatedScope, RequirePKCE: c.RequirePKCE,
			HasJWKS: len(c.JWKS) > 0, CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339)})
	}
	return out, nil
}

// DeleteClient revokes every active grant of the client (and so every token derived from
// them), each audited as grant.revoked with actor "cli", then removes it. Unknown id:
// not_found.
func DeleteClient(ctx context.Context, s store.Store, id string, now func() time.Time) error {
	if _, err := s.GetClient(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(NotFound, "no client %q", id)
		}
		return storeErr("get client", err)
	}
	b := storeBroker(s, now)
	for { // revoked grants leave the active list, so the first page is always the next one
		gs, _, err := s.ListGrants(ctx, store.GrantFilter{ClientID: id, Status: store.GrantActive, Limit: 500})
		if err != nil {
			return storeErr("list grants", err)
		}
		if len(gs) == 0 {
			break
		}
		for _, g := range gs {
			if err := b.revokeGrant(ctx, g, cliActor, Meta{}); err != nil {
				return err
			}
		}
	}
	if err := s.DeleteClient(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return storeErr("delete client", err)
	}
	return nil
}

func validRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme == "" || u.Host == "" {
		return errors.New("must be an absolute URL")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return errors.New("must not contain a fragment (RFC 6749 §3.1.2)")
	}
	return nil
}

// ParseClientJWKS parses a client's public JWKS; it accepts Ed25519, P-256 and RSA (≥ 2048
// bits) public keys, each with a kid, and refuses private keys (SPEC §3).
func ParseClientJWKS(raw []byte) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return set, fmt.Errorf("not a JWKS: %v", err)
	}
	if len(set.Keys) == 0 {
		return set, errors.New("the JWKS has no keys")
	}
	for i, k := range set.Keys {
		if !k.IsPublic() {
			return set, fmt.Errorf("keys[%d] holds a private key; register public keys only", i)
		}
		switch pub := k.Key.(type) {
		case ed25519.PublicKey:
		case *ecdsa.PublicKey:
			if pub.Curve != elliptic.P256() {
				return set, fmt.Errorf("keys[%d]: only P-256 EC keys are supported", i)
			}
		case *rsa.PublicKey:
			if pub.N.BitLen() < 2048 {
				return set, fmt.Errorf("keys[%d]: RSA keys need at least 2048 bits", i)
			}
		default:
			return set, fmt.Errorf("keys[%d]: unsupported key type %T", i, k.Key)
		}
	}
	return set, nil
}
