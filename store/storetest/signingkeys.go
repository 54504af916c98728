package storetest

import (
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// newSigningKey returns a current (unretired) key created at created.
func newSigningKey(kid, alg string, created time.Time) store.SigningKey {
	return store.SigningKey{
		ID:        kid,
		Alg:       alg,
		Private:   []byte("sealed private key of " + kid + "\x00\xff"),
		Public:    []byte(`{"kty":"OKP","crv":"Ed25519","kid":"` + kid + `","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`),
		CreatedAt: created,
	}
}

// retired returns k retired at when.
func retired(k store.SigningKey, when time.Time) store.SigningKey {
	k.RetiredAt = when
	return k
}

// wantKeys fails the test unless ListSigningKeys returns want.
func wantKeys(t *testing.T, s store.Store, what string, want ...store.SigningKey) {
	t.Helper()
	got, err := s.ListSigningKeys(t.Context())
	must(t, "ListSigningKeys", err)
	if d := diff(want, got); d != "" {
		t.Errorf("ListSigningKeys %s, newest first (-want +got):\n%s", what, d)
	}
}

func testSigningKeys(t *testing.T, open Opener) {
	t.Run("InitFirstWins", func(t *testing.T) {
		ctx, s := fresh(t, open)
		wantKeys(t, s, "of an empty store")
		k1 := newSigningKey("kid-1", "EdDSA", at(13*ms))
		got, err := s.InitSigningKey(ctx, k1)
		must(t, "InitSigningKey", err)
		if d := diff(k1, got); d != "" {
			t.Errorf("InitSigningKey of an empty store (-want +got):\n%s", d)
		}
		got, err = s.InitSigningKey(ctx, newSigningKey("kid-2", "ES256", at(time.Second)))
		must(t, "InitSigningKey again", err)
		if d := diff(k1, got); d != "" {
			t.Errorf("InitSigningKey with a key present must return the current key (-want +got):\n%s", d)
		}
		wantKeys(t, s, "after two inits", k1)
	})
	t.Run("InitRace", func(t *testing.T) {
		ctx, s := fresh(t, open)
		const n = 10
		got := make([]store.SigningKey, n)
		errs := race(n, func(i int) error {
			var err error
			got[i], err = s.InitSigningKey(ctx, newSigningKey(name("kid-%d", i), "EdDSA", at(time.Duration(i)*ms)))
			return err
		})
		for i, err := range errs {
			must(t, name("InitSigningKey %d", i), err)
		}
		for i := range got {
			if d := diff(got[0], got[i]); d != "" {
				t.Errorf("replicas disagree on the key: InitSigningKey %d vs 0 (-0 +%d):\n%s", i, i, d)
			}
		}
		wantKeys(t, s, "after concurrent inits", got[0])
	})
	t.Run("RotateAndDelete", func(t *testing.T) {
		ctx, s := fresh(t, open)
		k1 := newSigningKey("kid-1", "EdDSA", at(0))
		k2 := newSigningKey("kid-2", "ES256", at(time.Hour+5*ms))
		k3 := newSigningKey("kid-3", "EdDSA", at(2*time.Hour))
		if _, err := s.InitSigningKey(ctx, k1); err != nil {
			t.Fatalf("InitSigningKey: %v", err)
		}
		must(t, "RotateSigningKey", s.RotateSigningKey(ctx, k2))
		wantKeys(t, s, "after one rotation", k2, retired(k1, k2.CreatedAt))
		must(t, "RotateSigningKey", s.RotateSigningKey(ctx, k3))
		wantKeys(t, s, "after two rotations", k3, retired(k2, k3.CreatedAt), retired(k1, k2.CreatedAt))
		// Init never replaces a rotated key.
		got, err := s.InitSigningKey(ctx, newSigningKey("kid-4", "EdDSA", at(3*time.Hour)))
		must(t, "InitSigningKey after rotation", err)
		if got.ID != k3.ID {
			t.Errorf("InitSigningKey after rotation returned %s, want the current key %s", got.ID, k3.ID)
		}
		must(t, "DeleteSigningKey", s.DeleteSigningKey(ctx, k1.ID))
		wantKeys(t, s, "after delete", k3, retired(k2, k3.CreatedAt))
		must(t, "DeleteSigningKey again", s.DeleteSigningKey(ctx, k1.ID))
		must(t, "DeleteSigningKey unknown", s.DeleteSigningKey(ctx, "kid-unknown"))
		wantKeys(t, s, "after deleting unknown keys", k3, retired(k2, k3.CreatedAt))
	})
	t.Run("RotateFirst", func(t *testing.T) {
		ctx, s := fresh(t, open)
		k := newSigningKey("kid-1", "ES256", at(0))
		must(t, "RotateSigningKey of an empty store", s.RotateSigningKey(ctx, k))
		wantKeys(t, s, "after rotating into an empty store", k)
		got, err := s.InitSigningKey(ctx, newSigningKey("kid-2", "EdDSA", at(time.Second)))
		must(t, "InitSigningKey", err)
		if d := diff(k, got); d != "" {
			t.Errorf("InitSigningKey after a rotation (-want +got):\n%s", d)
		}
	})
}
