package broker

import (
	"strings"

	"github.com/enterprise-connect/broker/scopes"
)

// Metadata is the RFC 8414 authorization server metadata (SPEC §8).
type Metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValues          []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	ScopesSupported                            []string `json:"scopes_supported"`
	DelegatedScopesSupported                   []string `json:"delegated_scopes_supported"`
	AuthorizationResponseISSParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

// Metadata describes this broker; it lists only what is implemented.
func (b *Broker) Metadata() Metadata {
	base := strings.TrimRight(b.opts.Issuer, "/")
	auth := []string{"client_secret_basic", "client_secret_post", "private_key_jwt"}
	return Metadata{
		Issuer:                                     b.opts.Issuer,
		AuthorizationEndpoint:                      base + "/enterprise_connect/oauth/authorize",
		TokenEndpoint:                              base + "/oauth/token",
		JWKSURI:                                    base + "/.well-known/jwks.json",
		RevocationEndpoint:                         base + "/oauth/token/revoke",
		IntrospectionEndpoint:                      base + "/oauth/introspect",
		ResponseTypesSupported:                     []string{"code"},
		GrantTypesSupported:                        b.grantTypes(),
		TokenEndpointAuthMethodsSupported:          auth,
		TokenEndpointAuthSigningAlgValues:          []string{"EdDSA", "ES256", "RS256"},
		RevocationEndpointAuthMethodsSupported:     auth,
		IntrospectionEndpointAuthMethodsSupported:  auth,
		CodeChallengeMethodsSupported:              []string{"S256"},
		ScopesSupported:                            scopes.ServiceAccountScopes(),
		DelegatedScopesSupported:                   scopes.DelegatedScopes(),
		AuthorizationResponseISSParameterSupported: true,
	}
}

// grantTypes lists the token endpoint's grant types.
func (b *Broker) grantTypes() []string {
	return []string{GrantAuthorizationCode, GrantRefreshToken, GrantJWTBearer}
}
