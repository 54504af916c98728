package broker

import (
	"context"
	"errors"

	"github.com/enterprise-connect/broker/store"
)

// refresh rotates a refresh token (SPEC §3): a new access token and a new refresh token;
// the old one is used up. Replaying a rotated token revokes its whole family.
//
// The new secrets are drawn first and the store checks and rotates in one call
// (RotateRefresh copies the old token's fields into the successors), so a refresh costs
// one store round trip plus the audit event. A service-account answer is built from the
// returned old record alone: its fields were copied from the grant at issue, and a grant's
// fields never change after approval (a re-approval is a new grant), so nothing can fail
// between the rotation and the answer but the audit write.
func (b *Broker) refresh(ctx context.Context, client store.Client, r TokenRequest) (*TokenResponse, error) {
	raw := r.Params["refresh_token"]
	if raw == "" {
		return nil, errorf(InvalidRequest, "refresh_token is missing")
	}
	now := b.now().UTC()
	access, refresh := newSecret(), newSecret()
	// The store keeps the access token only for a service-account token; a per-subject
	// refresh answers with a delegated JWT instead (refreshSubject).
	rot := store.RefreshRotation{ClientID: client.ID, IssuedAt: now, RefreshHash: HashSecret(refresh),
		AccessHash: HashSecret(access), AccessExpiresAt: now.Add(b.opts.AccessTokenTTL)}
	old, err := b.store.RotateRefresh(ctx, HashSecret(raw), now, rot)
	switch {
	case errors.Is(err, store.ErrUsed):
		return nil, b.revokeReplayed(ctx, client, replay{event: EvRefreshReused, cause: "refresh_reused",
			log: "refresh token replayed; family revoked", answer: "the refresh token was already used; its token family is revoked",
			owner: old.ClientID, domain: old.Domain, grantID: old.GrantID, subject: old.Subject, familyID: old.FamilyID}, r.Meta)
	case errors.Is(err, store.ErrWrongClient):
		return nil, errorf(InvalidGrant, "the refresh token was issued to another client")
	case errors.Is(err, store.ErrNotFound):
		return nil, errorf(InvalidGrant, "the refresh token is unknown, expired or revoked")
	case err != nil:
		return nil, storeErr("rotate refresh", err)
	}
	if old.Kind != store.KindServiceAccount {
		return b.refreshSubject(ctx, client, old, refresh, r.Meta)
	}
	// old.GrantID is the service account's id (ser_…), its Subject too.
	if err := b.audit.Record(ctx, Event{Type: EvTokenRefreshed, Domain: old.Domain, ClientID: client.ID, GrantID: old.GrantID,
		Subject: old.GrantID, Scope: old.Scope, IP: r.Meta.IP, RequestID: r.Meta.RequestID}); err != nil {
		return nil, err
	}
	return &TokenResponse{TokenType: "bearer", AccessToken: access, ExpiresIn: int64(b.opts.AccessTokenTTL.Seconds()),
		RefreshToken: refresh, Scope: old.Scope, DelegatedScope: old.DelegatedScope, Domain: old.Domain,
		ServiceAccountID: old.GrantID}, nil
}

// refreshSubject answers the rotation of a per-subject refresh token (SPEC §5), already
// stored under the new secret refresh: a new delegated JWT for that subject only. The grant
// comes from the cache: the store refused the rotation had the grant been revoked, and
// minting needs only its fields that never change.
func (b *Broker) refreshSubject(ctx context.Context, client store.Client, old store.RefreshToken, refresh string, m Meta) (*TokenResponse, error) {
	g, err := b.grantFields(ctx, old.GrantID)
	if err != nil {
		return nil, err
	}
	if err := b.audit.Record(ctx, Event{Type: EvTokenRefreshed, Domain: g.Domain, ClientID: client.ID, GrantID: g.ID,
		Subject: old.Subject, Scope: old.Scope, IP: m.IP, RequestID: m.RequestID}); err != nil {
		return nil, err
	}
	return b.subjectTokens(ctx, g, old.Subject, old.Scope, old.FamilyID, refresh, m)
}
