package broker

import (
	"context"

	"github.com/enterprise-connect/broker/store"
)

// replay is a single-use secret presented again (SPEC §3): an authorization code redeemed
// a second time or a rotated refresh token, with what revokeReplayed says and revokes.
type replay struct {
	event  string // the audit event: EvCodeReused or EvRefreshReused
	cause  string // the error of the token.revoked event: code_reused or refresh_reused
	log    string // the warning logged
	answer string // the invalid_grant description
	// The replayed record: the client it was issued to and the family it issued into.
	owner, domain, grantID, subject, familyID string
}

// revokeReplayed answers a replay with invalid_grant. When the replayed secret is the
// presenting client's, every token of its family is revoked first; another client's replay
// revokes nothing (a client cannot revoke another client's tokens, SPEC §8). The replay and
// the revocation are audited; a failed revocation or audit write fails the call (fail
// closed).
func (b *Broker) revokeReplayed(ctx context.Context, client store.Client, r replay, m Meta) error {
	events := []Event{{Type: r.event, Domain: r.domain, ClientID: client.ID, GrantID: r.grantID,
		Subject: r.subject, Result: resultFailure, Error: string(InvalidGrant), IP: m.IP, RequestID: m.RequestID}}
	if r.owner == client.ID {
		if err := b.store.RevokeFamily(ctx, r.familyID); err != nil {
			return storeErr("revoke family", err)
		}
		events = append(events, Event{Type: EvTokenRevoked, Domain: r.domain, ClientID: client.ID, GrantID: r.grantID,
			Subject: r.subject, Error: r.cause, IP: m.IP, RequestID: m.RequestID})
	}
	b.log.WarnContext(ctx, r.log, "client_id", client.ID, "grant_id", r.grantID)
	if err := b.audit.Record(ctx, events...); err != nil {
		return err
	}
	return errorf(InvalidGrant, "%s", r.answer)
}
