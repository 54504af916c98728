package broker

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/enterprise-connect/broker/store"
)

// Grant types of the token endpoint (SPEC §3).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
)

// TokenRequest is a parsed token-endpoint request: each body parameter once (the handler
// refuses repeats) and the client credentials.
type TokenRequest struct {
	Params map[string]string
	Client ClientCredentialsIn
	Meta   Meta
}

// TokenResponse is the token endpoint's answer. Fields a grant type does not use are empty
// and omitted (SPEC §3, §5).
type TokenResponse struct {
	TokenType        string          `json:"token_type"`
	AccessToken      string          `json:"access_token"`
	ExpiresIn        int64           `json:"expires_in"`
	RefreshToken     string          `json:"refresh_token,omitempty"`
	Scope            string          `json:"scope"`
	DelegatedScope   string          `json:"delegated_scope,omitempty"`
	Domain           string          `json:"domain,omitempty"`
	ServiceAccountID string          `json:"service_account_id,omitempty"`
	Sub              string          `json:"sub,omitempty"`
	Kind             string          `json:"kind,omitempty"`
	AccountID        string          `json:"account_id,omitempty"`
	LinkingProfile   *LinkingProfile `json:"linking_profile,omitempty"`
}

// LinkingProfile is Cronofy's profile object of a per-subject token (SPEC §5).
type LinkingProfile struct {
	ProviderName string `json:"provider_name"`
	ProfileID    string `json:"profile_id"`
	ProfileName  string `json:"profile_name"`
}

// Token serves POST /oauth/token (SPEC §3). The answer is a *TokenResponse, or for the
// jwt-bearer grant §4's single mint (*Minted).
func (b *Broker) Token(ctx context.Context, r TokenRequest) (any, error) {
	gt := r.Params["grant_type"]
	if gt == GrantJWTBearer && !r.Client.HasBasic && !r.Client.HasClientSecret && !r.Client.HasAssn && !r.Client.HasAssertionType {
		return b.jwtBearer(ctx, nil, r)
	}
	client, err := b.authenticateClient(ctx, r.Client, r.Meta)
	if err != nil {
		return nil, err
	}
	switch gt {
	case "":
		return nil, errorf(InvalidRequest, "grant_type is missing")
	case GrantAuthorizationCode:
		return b.redeemCode(ctx, client, r)
	case GrantRefreshToken:
		return b.refresh(ctx, client, r)
	case GrantJWTBearer:
		return b.jwtBearer(ctx, &client, r)
	default:
		return nil, errorf(UnsupportedGrantType, "grant_type %q is not supported", truncate(gt, 64))
	}
}

// redeemCode exchanges an authorization code (RFC 6749 §4.1.3). The code is consumed
// atomically before anything is checked, so it can never be redeemed twice; a second
// redemption revokes every token issued from it (SPEC §3). For an admin code the store
// stores the new token pair in the same step when the request matches what the code is
// bound to (one round trip, SPEC §11); the checks below stay the authority either way.
func (b *Broker) redeemCode(ctx context.Context, client store.Client, r TokenRequest) (*TokenResponse, error) {
	raw := r.Params["code"]
	if raw == "" {
		return nil, errorf(InvalidRequest, "code is missing")
	}
	redirect, given := r.Params["redirect_uri"]
	verifier, verifierSent := r.Params["code_verifier"]
	now := b.now().UTC()
	access, refresh := newSecret(), newSecret()
	red := store.CodeRedemption{
		ClientID: client.ID, RedirectURIGiven: given, RedirectURI: redirect, CodeChallenge: s256Challenge(verifier, verifierSent),
		IssuedAt: now, AccessHash: HashSecret(access), AccessExpiresAt: now.Add(b.opts.AccessTokenTTL), RefreshHash: HashSecret(refresh),
	}
	c, issued, err := b.store.RedeemCode(ctx, HashSecret(raw), now, red)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errorf(InvalidGrant, "the code is unknown or expired")
	case errors.Is(err, store.ErrUsed):
		return nil, b.revokeReplayed(ctx, client, replay{event: EvCodeReused, cause: "code_reused",
			log: "authorization code reused", answer: "the code was already used; tokens issued from it are revoked",
			owner: c.ClientID, domain: c.Domain, grantID: c.GrantID, subject: c.Subject, familyID: c.FamilyID}, r.Meta)
	case err != nil:
		return nil, storeErr("consume code", err)
	}
	if err := checkRedemption(c, red, verifier, verifierSent); err != nil {
		if issued {
			// The store's match and these checks disagree: fail closed. The pair's secrets
			// were never shown; revoking its family makes sure they never work.
			if rerr := b.store.RevokeFamily(ctx, c.FamilyID); rerr != nil {
				return nil, storeErr("revoke family", rerr)
			}
		}
		return nil, err
	}
	if c.Subject != "" {
		return b.redeemSubjectCode(ctx, client, c, r.Meta)
	}
	// The grant's fields never change (cached); its status was checked by the store step
	// that stored the tokens.
	g, err := b.grantFields(ctx, c.GrantID)
	if err != nil {
		return nil, err
	}
	res := b.serviceAccountResponse(g, access, refresh)
	if !issued {
		// Not stored with the code: its grant is revoked or gone, or the code was stored by
		// an older version. Issue in a step of its own, which says which.
		if res, err = b.issueServiceAccountTokens(ctx, g, c.FamilyID); err != nil {
			return nil, err
		}
	}
	ev := Event{Domain: g.Domain, ClientID: client.ID, GrantID: g.ID, Subject: g.ID, Scope: g.Scope, IP: r.Meta.IP, RequestID: r.Meta.RequestID}
	redeemed, issuedEv := ev, ev
	redeemed.Type, issuedEv.Type = EvCodeRedeemed, EvTokenIssued
	if err := b.audit.Record(ctx, redeemed, issuedEv); err != nil {
		return nil, err
	}
	return res, nil
}

// checkRedemption checks a consumed code against the request that presents it (r, with the
// code_verifier as sent): the same client, the authorization request's redirect_uri
// (RFC 6749 §4.1.3) and its PKCE challenge (RFC 7636 §4.6).
func checkRedemption(c store.Code, r store.CodeRedemption, verifier string, verifierSent bool) error {
	if c.ClientID != r.ClientID {
		return errorf(InvalidGrant, "the code was issued to another client")
	}
	switch {
	case c.RedirectURIGiven && !r.RedirectURIGiven:
		return errorf(InvalidRequest, "redirect_uri is required: the authorization request carried one")
	case r.RedirectURIGiven && r.RedirectURI != c.RedirectURI:
		return errorf(InvalidGrant, "redirect_uri differs from the authorization request's")
	}
	return checkPKCE(c.CodeChallenge, verifier, verifierSent, r.CodeChallenge)
}

// s256Challenge is the S256 challenge (RFC 7636 §4.2) a code_verifier answers, "" when none
// was sent: what the store compares with the code's challenge.
func s256Challenge(verifier string, sent bool) string {
	if !sent {
		return ""
	}
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// checkPKCE enforces RFC 7636 §4.6: a verifier exactly when the code has a challenge, and
// one whose S256 challenge (answer, from s256Challenge) is the code's.
func checkPKCE(challenge, verifier string, sent bool, answer string) error {
	switch {
	case challenge == "" && sent:
		return errorf(InvalidGrant, "code_verifier sent, but the authorization request had no code_challenge")
	case challenge == "":
		return nil
	case !sent || verifier == "":
		return errorf(InvalidGrant, "code_verifier is required: the authorization request used PKCE")
	}
	if subtle.ConstantTimeCompare([]byte(answer), []byte(challenge)) != 1 {
		return errorf(InvalidGrant, "code_verifier does not match the code_challenge")
	}
	return nil
}

// grantFields returns the grant's fields (cached; they never change) for a token step whose
// store operation checks the grant's status itself; an unknown grant is invalid_grant.
func (b *Broker) grantFields(ctx context.Context, id string) (store.Grant, error) {
	g, err := b.grant(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return g, errorf(InvalidGrant, "the grant behind this code was revoked")
	}
	if err != nil {
		return g, storeErr("get grant", err)
	}
	return g, nil
}

// activeGrant returns the grant if it is still active; a revoked or unknown one is
// invalid_grant.
func (b *Broker) activeGrant(ctx context.Context, id string) (store.Grant, error) {
	g, err := b.store.GetGrant(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && g.Status != store.GrantActive {
		return g, errorf(InvalidGrant, "the grant behind this code was revoked")
	}
	if err != nil {
		return g, storeErr("get grant", err)
	}
	return g, nil
}

// serviceAccountTokens mints a new access and refresh token pair of grant g in family
// familyID: the records to store and the response that shows the secrets once.
func (b *Broker) serviceAccountTokens(g store.Grant, familyID string) (store.AccessToken, store.RefreshToken, *TokenResponse) {
	now := b.now().UTC()
	access, refresh := newSecret(), newSecret()
	at := store.AccessToken{Hash: HashSecret(access), FamilyID: familyID, GrantID: g.ID, ClientID: g.ClientID, Domain: g.Domain,
		Kind: store.KindServiceAccount, Subject: g.ID, Scope: g.Scope, DelegatedScope: g.DelegatedScope,
		IssuedAt: now, ExpiresAt: now.Add(b.opts.AccessTokenTTL)}
	rt := store.RefreshToken{Hash: HashSecret(refresh), FamilyID: familyID, GrantID: g.ID, ClientID: g.ClientID, Domain: g.Domain,
		Kind: store.KindServiceAccount, Subject: g.ID, Scope: g.Scope, DelegatedScope: g.DelegatedScope, IssuedAt: now}
	return at, rt, b.serviceAccountResponse(g, access, refresh)
}

// serviceAccountResponse is the token response showing a new pair of grant g (SPEC §3).
func (b *Broker) serviceAccountResponse(g store.Grant, access, refresh string) *TokenResponse {
	return &TokenResponse{TokenType: "bearer", AccessToken: access, ExpiresIn: int64(b.opts.AccessTokenTTL.Seconds()),
		RefreshToken: refresh, Scope: g.Scope, DelegatedScope: g.DelegatedScope, Domain: g.Domain, ServiceAccountID: g.ID}
}

// issueServiceAccountTokens stores a new token pair in a new family of g.
func (b *Broker) issueServiceAccountTokens(ctx context.Context, g store.Grant, familyID string) (*TokenResponse, error) {
	at, rt, res := b.serviceAccountTokens(g, familyID)
	f := store.Family{ID: familyID, GrantID: g.ID, ClientID: g.ClientID, Domain: g.Domain, Kind: store.KindServiceAccount, Subject: g.ID}
	err := b.store.IssueTokens(ctx, f, &at, &rt)
	if errors.Is(err, store.ErrNotFound) {
		// Refused: the grant was revoked, or a concurrent second redemption of the same code
		// revoked the family since this one consumed it. In the second case this
		// redemption still won (SPEC §3: exactly one of any number succeeds), and every
		// token issued from the code is revoked: its tokens are answered but were never
		// stored, so they are dead on arrival, exactly as if issued and revoked at once.
		if _, err := b.activeGrant(ctx, g.ID); err != nil {
			return nil, err
		}
		return res, nil
	}
	if err != nil {
		return nil, storeErr("issue tokens", err)
	}
	return res, nil
}

func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
