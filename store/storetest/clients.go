package storetest

import (
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// newClient returns a client with every field set.
func newClient(clientID string, created time.Time) store.Client {
	return store.Client{
		ID:             clientID,
		Name:           "Client " + clientID,
		SecretHash:     hashOf("secret of " + clientID),
		CallbackSecret: []byte{0x00, 0x01, 0xfe, 0xff, 'x'},
		RedirectURIs:   []string{"https://app.example/cb", "https://app.example/cb2"},
		Scope:          "service_account/accounts/manage service_account/resources/manage",
		DelegatedScope: "list_calendars read_account read_events read_free_busy",
		RequirePKCE:    true,
		JWKS:           []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`),
		CreatedAt:      created,
	}
}

func testClients(t *testing.T, open Opener) {
	t.Run("CreateGetRoundTrip", func(t *testing.T) {
		ctx, s := fresh(t, open)
		full := newClient("cli_full", at(123*ms))
		bare := store.Client{ID: "cli_bare", Name: "Bare", SecretHash: hashOf("b"), CreatedAt: at(time.Second)}
		for _, c := range []store.Client{full, bare} {
			must(t, "CreateClient "+c.ID, s.CreateClient(ctx, c))
			got, err := s.GetClient(ctx, c.ID)
			must(t, "GetClient "+c.ID, err)
			if d := diff(c, got); d != "" {
				t.Errorf("GetClient %s (-want +got):\n%s", c.ID, d)
			}
		}
	})
	t.Run("CreateExisting", func(t *testing.T) {
		ctx, s := fresh(t, open)
		first := newClient("cli_1", at(0))
		must(t, "CreateClient", s.CreateClient(ctx, first))
		second := newClient("cli_1", at(time.Minute))
		second.Name = "Impostor"
		wantErr(t, "CreateClient again", s.CreateClient(ctx, second), store.ErrExists)
		got, err := s.GetClient(ctx, "cli_1")
		must(t, "GetClient", err)
		if d := diff(first, got); d != "" {
			t.Errorf("the failed create changed the client (-want +got):\n%s", d)
		}
	})
	t.Run("GetUnknown", func(t *testing.T) {
		ctx, s := fresh(t, open)
		_, err := s.GetClient(ctx, "cli_nobody")
		wantErr(t, "GetClient", err, store.ErrNotFound)
	})
	t.Run("ListOldestFirst", func(t *testing.T) {
		ctx, s := fresh(t, open)
		got, err := s.ListClients(ctx)
		must(t, "ListClients (empty)", err)
		if len(got) != 0 {
			t.Fatalf("ListClients of an empty store = %d clients, want 0", len(got))
		}
		// Ids in reverse lexical order, so that sorting by id is caught.
		var want []store.Client
		for i, cid := range []string{"cli_z", "cli_m", "cli_b", "cli_a"} {
			c := newClient(cid, at(time.Duration(i)*time.Minute))
			must(t, "CreateClient", s.CreateClient(ctx, c))
			want = append(want, c)
		}
		got, err = s.ListClients(ctx)
		must(t, "ListClients", err)
		if d := diff(want, got); d != "" {
			t.Errorf("ListClients, oldest first (-want +got):\n%s", d)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		ctx, s := fresh(t, open)
		must(t, "CreateClient", s.CreateClient(ctx, newClient("cli_1", at(0))))
		must(t, "CreateClient", s.CreateClient(ctx, newClient("cli_2", at(time.Second))))
		must(t, "DeleteClient", s.DeleteClient(ctx, "cli_1"))
		_, err := s.GetClient(ctx, "cli_1")
		wantErr(t, "GetClient after delete", err, store.ErrNotFound)
		wantErr(t, "DeleteClient again", s.DeleteClient(ctx, "cli_1"), store.ErrNotFound)
		wantErr(t, "DeleteClient unknown", s.DeleteClient(ctx, "cli_nobody"), store.ErrNotFound)
		list, err := s.ListClients(ctx)
		must(t, "ListClients", err)
		if len(list) != 1 || list[0].ID != "cli_2" {
			t.Errorf("ListClients after delete = %v, want only cli_2", clientIDs(list))
		}
		// The id is free again.
		must(t, "CreateClient after delete", s.CreateClient(ctx, newClient("cli_1", at(time.Minute))))
	})
}

func clientIDs(cs []store.Client) []string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func newAPIKey(keyID string, role store.APIKeyRole, domain string, created time.Time) store.APIKey {
	return store.APIKey{ID: keyID, Hash: hashOf("key " + keyID), Role: role, Domain: domain, CreatedAt: created}
}

func testAPIKeys(t *testing.T, open Opener) {
	t.Run("CreateByHashRoundTrip", func(t *testing.T) {
		ctx, s := fresh(t, open)
		keys := []store.APIKey{
			newAPIKey("key_1", store.RoleAuditor, "example.com", at(5*ms)),
			newAPIKey("key_2", store.RoleOperator, "", at(time.Second)),
			newAPIKey("key_3", store.RoleIntrospect, "", at(2*time.Second)),
		}
		for _, k := range keys {
			must(t, "CreateAPIKey "+k.ID, s.CreateAPIKey(ctx, k))
		}
		for _, k := range keys {
			got, err := s.APIKeyByHash(ctx, k.Hash)
			must(t, "APIKeyByHash "+k.ID, err)
			if d := diff(k, got); d != "" {
				t.Errorf("APIKeyByHash %s (-want +got):\n%s", k.ID, d)
			}
		}
		_, err := s.APIKeyByHash(ctx, hashOf("no such key"))
		wantErr(t, "APIKeyByHash unknown", err, store.ErrNotFound)
	})
	t.Run("CreateExisting", func(t *testing.T) {
		ctx, s := fresh(t, open)
		k := newAPIKey("key_1", store.RoleAuditor, "", at(0))
		must(t, "CreateAPIKey", s.CreateAPIKey(ctx, k))

		sameID := newAPIKey("key_1", store.RoleOperator, "", at(time.Second))
		sameID.Hash = hashOf("another key")
		wantErr(t, "CreateAPIKey with a taken id", s.CreateAPIKey(ctx, sameID), store.ErrExists)
		_, err := s.APIKeyByHash(ctx, sameID.Hash)
		wantErr(t, "APIKeyByHash of the refused key", err, store.ErrNotFound)

		sameHash := newAPIKey("key_2", store.RoleOperator, "", at(time.Second))
		sameHash.Hash = k.Hash
		wantErr(t, "CreateAPIKey with a taken hash", s.CreateAPIKey(ctx, sameHash), store.ErrExists)

		got, err := s.APIKeyByHash(ctx, k.Hash)
		must(t, "APIKeyByHash", err)
		if d := diff(k, got); d != "" {
			t.Errorf("a refused create changed the key (-want +got):\n%s", d)
		}
		list, err := s.ListAPIKeys(ctx)
		must(t, "ListAPIKeys", err)
		if len(list) != 1 {
			t.Errorf("ListAPIKeys = %d keys, want 1", len(list))
		}
	})
	t.Run("ListOldestFirst", func(t *testing.T) {
		ctx, s := fresh(t, open)
		got, err := s.ListAPIKeys(ctx)
		must(t, "ListAPIKeys (empty)", err)
		if len(got) != 0 {
			t.Fatalf("ListAPIKeys of an empty store = %d keys, want 0", len(got))
		}
		var want []store.APIKey
		for i, kid := range []string{"key_z", "key_c", "key_a"} {
			k := newAPIKey(kid, store.RoleAuditor, "", at(time.Duration(i)*time.Minute))
			must(t, "CreateAPIKey", s.CreateAPIKey(ctx, k))
			want = append(want, k)
		}
		got, err = s.ListAPIKeys(ctx)
		must(t, "ListAPIKeys", err)
		if d := diff(want, got); d != "" {
			t.Errorf("ListAPIKeys, oldest first (-want +got):\n%s", d)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		ctx, s := fresh(t, open)
		k1 := newAPIKey("key_1", store.RoleAuditor, "", at(0))
		k2 := newAPIKey("key_2", store.RoleOperator, "", at(time.Second))
		must(t, "CreateAPIKey", s.CreateAPIKey(ctx, k1))
		must(t, "CreateAPIKey", s.CreateAPIKey(ctx, k2))
		must(t, "DeleteAPIKey", s.DeleteAPIKey(ctx, "key_1"))
		_, err := s.APIKeyByHash(ctx, k1.Hash)
		wantErr(t, "APIKeyByHash after delete", err, store.ErrNotFound)
		wantErr(t, "DeleteAPIKey again", s.DeleteAPIKey(ctx, "key_1"), store.ErrNotFound)
		if _, err := s.APIKeyByHash(ctx, k2.Hash); err != nil {
			t.Errorf("APIKeyByHash of the other key: %v", err)
		}
		list, err := s.ListAPIKeys(ctx)
		must(t, "ListAPIKeys", err)
		if len(list) != 1 || list[0].ID != "key_2" {
			t.Errorf("ListAPIKeys after delete = %d keys, want only key_2", len(list))
		}
	})
}
