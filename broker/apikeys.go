package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// APIKeyCreated is shown once, at creation (SPEC §10 `apikeys create --json` → {"id","key"}).
type APIKeyCreated struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Role   string `json:"role"`
	Domain string `json:"domain"`
}

// APIKeyView is an API key without its secret, for listings.
type APIKeyView struct {
	ID        string `json:"id"`
	Role      string `json:"role"`
	Domain    string `json:"domain"`
	CreatedAt string `json:"created_at"`
}

// CreateAPIKey makes a key for role, limited to domain when not "" (SPEC §9). Only the key's
// SHA-256 is stored. knownDomain reports whether a domain is configured.
func CreateAPIKey(ctx context.Context, s store.APIKeys, role, domain string, knownDomain func(string) bool, now time.Time) (APIKeyCreated, error) {
	r := store.APIKeyRole(role)
	switch r {
	case store.RoleAuditor, store.RoleOperator, store.RoleIntrospect:
	default:
		return APIKeyCreated{}, errorf(InvalidRequest, "--role %q: want auditor, operator or introspect", role)
	}
	domain = strings.ToLower(strings.TrimSpace(domain))
	if domain != "" && knownDomain != nil && !knownDomain(domain) {
		return APIKeyCreated{}, errorf(InvalidRequest, "--domain %q: not a configured domain", domain)
	}
	key := "eck_" + newSecret()
	k := store.APIKey{ID: newID("key_"), Hash: HashSecret(key), Role: r, Domain: domain, CreatedAt: now.UTC()}
	if err := s.CreateAPIKey(ctx, k); err != nil {
		return APIKeyCreated{}, storeErr("create api key", err)
	}
	return APIKeyCreated{ID: k.ID, Key: key, Role: role, Domain: domain}, nil
}

// ListAPIKeys returns every key without its secret.
func ListAPIKeys(ctx context.Context, s store.APIKeys) ([]APIKeyView, error) {
	ks, err := s.ListAPIKeys(ctx)
	if err != nil {
		return nil, storeErr("list api keys", err)
	}
	out := make([]APIKeyView, 0, len(ks))
	for _, k := range ks {
		out = append(out, APIKeyView{ID: k.ID, Role: string(k.Role), Domain: k.Domain, CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339)})
	}
	return out, nil
}

// DeleteAPIKey removes a key; unknown id: not_found.
func DeleteAPIKey(ctx context.Context, s store.APIKeys, id string) error {
	if err := s.DeleteAPIKey(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(NotFound, "no API key %q", id)
		}
		return storeErr("delete api key", err)
	}
	return nil
}

// APIKeyCaller is an authenticated API key (SPEC §9).
type APIKeyCaller struct {
	ID     string
	Role   store.APIKeyRole
	Domain string // "" = every domain
}

// AuthenticateAPIKey resolves a presented API key. The lookup is by SHA-256, so no timing
// reveals how much of a key matched. Unknown: unauthenticated.
func (b *Broker) AuthenticateAPIKey(ctx context.Context, key string) (APIKeyCaller, error) {
	if key == "" {
		return APIKeyCaller{}, errorf(Unauthenticated, "an API key is required (Authorization: Bearer <key>)")
	}
	k, err := b.store.APIKeyByHash(ctx, HashSecret(key))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return APIKeyCaller{}, errorf(Unauthenticated, "unknown API key")
		}
		return APIKeyCaller{}, storeErr("api key", err)
	}
	return APIKeyCaller{ID: k.ID, Role: k.Role, Domain: k.Domain}, nil
}

// requireRole refuses a caller without one of roles (403).
func (c APIKeyCaller) requireRole(roles ...store.APIKeyRole) error {
	for _, r := range roles {
		if c.Role == r {
			return nil
		}
	}
	return &Error{Code: Forbidden, Description: fmt.Sprintf("API key role %q may not do this", c.Role)}
}
