package broker

import (
	"context"
	"errors"

	"github.com/enterprise-connect/broker/store"
)

// refresh rotates a refresh token (SPEC §3): a new access token and a new refresh token;
// the old one is used up. Replaying a rotated token revokes its whole family.
func (b *Broker) refresh(ctx context.Context, client store.Client, r TokenRequest) (*TokenResponse, error) {
	raw := r.Params["refresh_token"]
	if raw == "" {
		return nil, errorf(InvalidRequest, "refresh_token is missing")
	}
	hash := HashSecret(raw)
	old, err := b.store.LookupRefreshToken(ctx, hash, b.now())
	if errors.Is(err, store.ErrNotFound) {
		// Unknown, expired, revoked — or used. Only RotateRefresh tells a used token apart
		// (ErrUsed); for a token Lookup refused it can never succeed, so this probe stores
		// nothing.
		probe := store.RefreshToken{Hash: HashSecret(newSecret())}
		old, err = b.store.RotateRefresh(ctx, hash, b.now(), nil, probe)
		if errors.Is(err, store.ErrUsed) {
			return nil, b.refreshReused(ctx, client, old, r.Meta)
		}
		if err == nil || errors.Is(err, store.ErrNotFound) {
			return nil, errorf(InvalidGrant, "the refresh token is unknown, expired or revoked")
		}
		return nil, storeErr("rotate refresh", err)
	}
	if err != nil {
		return nil, storeErr("lookup refresh", err)
	}
	if old.ClientID != client.ID {
		return nil, errorf(InvalidGrant, "the refresh token was issued to another client")
	}
	if old.Kind != store.KindServiceAccount {
		return b.refreshSubject(ctx, client, old, r.Meta)
	}
	g, err := b.activeGrant(ctx, old.GrantID)
	if err != nil {
		return nil, err
	}
	at, rt, res := b.serviceAccountTokens(g, old.FamilyID)
	if _, err := b.store.RotateRefresh(ctx, hash, b.now(), &at, rt); err != nil {
		switch {
		case errors.Is(err, store.ErrUsed):
			return nil, b.refreshReused(ctx, client, old, r.Meta)
		case errors.Is(err, store.ErrNotFound):
			return nil, errorf(InvalidGrant, "the refresh token is unknown, expired or revoked")
		}
		return nil, storeErr("rotate refresh", err)
	}
	if err := b.audit.Record(ctx, Event{Type: EvTokenRefreshed, Domain: g.Domain, ClientID: client.ID, GrantID: g.ID,
		Subject: g.ID, Scope: g.Scope, IP: r.Meta.IP, RequestID: r.Meta.RequestID}); err != nil {
		return nil, err
	}
	return res, nil
}

// refreshReused revokes the family of a replayed refresh token and audits it (SPEC §3).
func (b *Broker) refreshReused(ctx context.Context, client store.Client, old store.RefreshToken, m Meta) error {
	events := []Event{{Type: EvRefreshReused, Domain: old.Domain, ClientID: client.ID, GrantID: old.GrantID,
		Subject: old.Subject, Result: resultFailure, Error: string(InvalidGrant), IP: m.IP, RequestID: m.RequestID}}
	if old.ClientID == client.ID {
		if err := b.store.RevokeFamily(ctx, old.FamilyID); err != nil {
			return storeErr("revoke family", err)
		}
		events = append(events, Event{Type: EvTokenRevoked, Domain: old.Domain, ClientID: client.ID, GrantID: old.GrantID,
			Subject: old.Subject, Error: "refresh_reused", IP: m.IP, RequestID: m.RequestID})
	}
	b.log.WarnContext(ctx, "refresh token replayed; family revoked", "client_id", client.ID, "grant_id", old.GrantID)
	if err := b.audit.Record(ctx, events...); err != nil {
		return err
	}
	return errorf(InvalidGrant, "the refresh token was already used; its token family is revoked")
}

// refreshSubject rotates a per-subject refresh token (SPEC §5): a new refresh token and a
// new delegated JWT for that subject only.
func (b *Broker) refreshSubject(ctx context.Context, client store.Client, old store.RefreshToken, m Meta) (*TokenResponse, error) {
	g, err := b.activeGrant(ctx, old.GrantID)
	if err != nil {
		return nil, err
	}
	refresh := newSecret()
	next := store.RefreshToken{Hash: HashSecret(refresh), FamilyID: old.FamilyID, GrantID: old.GrantID, ClientID: old.ClientID,
		Domain: old.Domain, Kind: old.Kind, Subject: old.Subject, Scope: old.Scope, DelegatedScope: old.DelegatedScope,
		IssuedAt: b.now().UTC()}
	if _, err := b.store.RotateRefresh(ctx, old.Hash, b.now(), nil, next); err != nil {
		switch {
		case errors.Is(err, store.ErrUsed):
			return nil, b.refreshReused(ctx, client, old, m)
		case errors.Is(err, store.ErrNotFound):
			return nil, errorf(InvalidGrant, "the refresh token is unknown, expired or revoked")
		}
		return nil, storeErr("rotate refresh", err)
	}
	if err := b.audit.Record(ctx, Event{Type: EvTokenRefreshed, Domain: g.Domain, ClientID: client.ID, GrantID: g.ID,
		Subject: old.Subject, Scope: old.Scope, IP: m.IP, RequestID: m.RequestID}); err != nil {
		return nil, err
	}
	return b.subjectTokens(ctx, g, old.Subject, old.Scope, old.FamilyID, refresh, m)
}
