package broker_test

import (
	"testing"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/store"
)

// Deleting a client revokes its grants at once, and every revocation is audited (SPEC §9).
func TestDeleteClient_RevokesAndAuditsItsGrants(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := newOAEnv(t, s)
		res, _ := e.tokens(t, e.plain, oaFlowOpts{})
		if err := broker.DeleteClient(t.Context(), s, e.plain.ID, e.clock.Now); err != nil {
			t.Fatalf("DeleteClient: %v", err)
		}
		if _, err := s.GetClient(t.Context(), e.plain.ID); err == nil {
			t.Error("the client is still registered")
		}
		if _, err := s.LookupAccessToken(t.Context(), broker.HashSecret(res.AccessToken), e.clock.Now()); err == nil {
			t.Error("the deleted client's access token still resolves")
		}
		found := false
		for _, ev := range e.auditEvents(t) {
			if ev.Type == broker.EvGrantRevoked && ev.GrantID == res.ServiceAccountID && ev.Actor == "cli" {
				found = true
			}
		}
		if !found {
			t.Errorf("no grant.revoked event (actor cli) for %s", res.ServiceAccountID)
		}
		err := broker.DeleteClient(t.Context(), s, e.plain.ID, e.clock.Now)
		oaWantErrCode(t, err, broker.NotFound)
	})
}
