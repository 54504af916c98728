package broker

import (
	"context"
	"errors"
	"strings"

	"github.com/enterprise-connect/broker/store"
)

// RevokeRequest is a parsed revocation request (RFC 7009; SPEC §8).
type RevokeRequest struct {
	Params map[string]string
	Client ClientCredentialsIn
	Meta   Meta
}

// Revoke serves POST /oauth/token/revoke. It answers nil (200) for unknown tokens and for
// tokens of other clients, which it leaves alone (RFC 7009 §2.2). A refresh token revokes
// its family; an access token itself; a delegated JWT is denied until it expires. Instead of
// token, Cronofy's sub may name a grant (ser_…) or a subject's account (acc_…); token wins
// when both are sent.
func (b *Broker) Revoke(ctx context.Context, r RevokeRequest) error {
	client, err := b.authenticateClient(ctx, r.Client, r.Meta)
	if err != nil {
		return err
	}
	tok, sub := r.Params["token"], r.Params["sub"]
	switch {
	case tok != "":
		return b.revokeToken(ctx, client, tok, r.Meta)
	case strings.HasPrefix(sub, "ser_"):
		return b.revokeGrantAsClient(ctx, client, sub, r.Meta)
	case strings.HasPrefix(sub, "acc_"):
		return b.revokeAccount(ctx, client, sub, r.Meta)
	case sub != "":
		return nil
	}
	return errorf(InvalidRequest, "token (or sub) is missing")
}

func (b *Broker) revokeToken(ctx context.Context, client store.Client, tok string, m Meta) error {
	if strings.Count(tok, ".") == 2 {
		return b.revokeDelegated(ctx, client, tok, m)
	}
	hash := HashSecret(tok)
	if at, err := b.store.LookupAccessToken(ctx, hash, b.now()); err == nil {
		if at.ClientID != client.ID {
			return nil
		}
		if err := b.store.RevokeAccessToken(ctx, hash); err != nil {
			return storeErr("revoke access token", err)
		}
		return b.audit.Record(ctx, Event{Type: EvTokenRevoked, Domain: at.Domain, ClientID: client.ID, GrantID: at.GrantID,
			Subject: at.Subject, Scope: at.Scope, IP: m.IP, RequestID: m.RequestID})
	} else if !errors.Is(err, store.ErrNotFound) {
		return storeErr("lookup access token", err)
	}
	rt, err := b.store.LookupRefreshToken(ctx, hash, b.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeErr("lookup refresh token", err)
	}
	if rt.ClientID != client.ID {
		return nil
	}
	if err := b.store.RevokeFamily(ctx, rt.FamilyID); err != nil {
		return storeErr("revoke family", err)
	}
	return b.audit.Record(ctx, Event{Type: EvTokenRevoked, Domain: rt.Domain, ClientID: client.ID, GrantID: rt.GrantID,
		Subject: rt.Subject, Scope: rt.Scope, IP: m.IP, RequestID: m.RequestID})
}

// revokeGrantAsClient lets a client revoke its own grant by id.
func (b *Broker) revokeGrantAsClient(ctx context.Context, client store.Client, id string, m Meta) error {
	g, err := b.store.GetGrant(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && g.ClientID != client.ID {
		return nil
	}
	if err != nil {
		return storeErr("get grant", err)
	}
	return b.revokeGrant(ctx, g, client.ID, m)
}

// revokeGrant revokes g and every token derived from it, at once and on every replica (the
// store's token lookups check the grant's status), and audits it.
func (b *Broker) revokeGrant(ctx context.Context, g store.Grant, actor string, m Meta) error {
	if g.Status == store.GrantRevoked {
		return nil
	}
	if _, err := b.store.RevokeGrant(ctx, g.ID, b.now()); err != nil {
		return storeErr("revoke grant", err)
	}
	return b.audit.Record(ctx, Event{Type: EvGrantRevoked, Domain: g.Domain, ClientID: g.ClientID, GrantID: g.ID,
		Actor: actor, Subject: g.ID, IP: m.IP, RequestID: m.RequestID})
}

// revokeAccount revokes the per-subject tokens of the account acc_… under the client's grant
// for the account's domain.
func (b *Broker) revokeAccount(ctx context.Context, client store.Client, accID string, m Meta) error {
	acc, err := b.store.AccountByID(ctx, accID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeErr("account", err)
	}
	g, err := b.store.ActiveGrant(ctx, client.ID, acc.Domain)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeErr("active grant", err)
	}
	if err := b.store.RevokeSubject(ctx, g.ID, acc.Subject, b.now()); err != nil {
		return storeErr("revoke subject", err)
	}
	return b.audit.Record(ctx, Event{Type: EvTokenRevoked, Domain: g.Domain, ClientID: client.ID, GrantID: g.ID,
		Subject: acc.Subject, IP: m.IP, RequestID: m.RequestID})
}
