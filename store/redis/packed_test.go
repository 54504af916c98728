package redis

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/enterprise-connect/broker/store"
)

func TestPack_RoundTripAndRefusals(t *testing.T) {
	t.Parallel()
	in := []string{"a", "", "http://x/cb?y=1&z=é", "0", ""}
	raw, err := pack(in...)
	must(t, err)
	got, err := unpack(raw, len(in))
	must(t, err)
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("unpack(pack(x)) (-x +got):\n%s", diff)
	}
	if _, err := unpack(raw, len(in)+1); err == nil {
		t.Error("unpack with more fields than stored: no error")
	}
	if _, err := unpack(`{"Hash":"a"}`, 1); err == nil {
		t.Error("unpack of a JSON object: no error")
	}
	if _, err := pack("ok", "bad\x00field"); err == nil {
		t.Error("pack of a field holding NUL: no error")
	}
}

// TestPackedRecords_StoredPackedAndJSONStillReads: codes and access tokens are stored
// packed; the JSON objects older versions stored read the same; a field holding NUL is
// refused before anything is written.
func TestPackedRecords_StoredPackedAndJSONStillReads(t *testing.T) {
	eachRedis(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		now := time.Now().UTC().Truncate(time.Millisecond)
		c := store.Code{Hash: "code1", ClientID: "cli_1", RedirectURI: "https://app.example/cb", RedirectURIGiven: true,
			CodeChallenge: "chal", GrantID: "ser_1", Domain: "example.com", FamilyID: "fam_1",
			Subject: "alice@example.com", SubjectKind: store.KindAccount, Scope: "read_only", ExpiresAt: now.Add(time.Minute)}
		must(t, s.PutCode(ctx, c))
		if raw := s.c.HGet(ctx, s.key("co:", c.Hash), "j").Val(); !isPacked(raw) {
			t.Errorf("stored code %q is not packed", raw)
		}
		got, err := s.ConsumeCode(ctx, c.Hash, now)
		must(t, err)
		want := c
		want.Used = true
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("packed code read back (-want +got):\n%s", diff)
		}

		legacy := c
		legacy.Hash = "code2"
		b, err := json.Marshal(codeJSON{Code: legacy, ExpiresAt: ms(legacy.ExpiresAt)})
		must(t, err)
		must(t, s.c.HSet(ctx, s.key("co:", legacy.Hash), "j", b, "x", ms(legacy.ExpiresAt), "u", "0").Err())
		got, err = s.ConsumeCode(ctx, legacy.Hash, now)
		must(t, err)
		want = legacy
		want.Used = true
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("JSON code read back (-want +got):\n%s", diff)
		}

		// A JSON code redeemed: consumed and read back, but the script does not issue from
		// it (the broker then issues in a step of its own).
		legacy.Hash = "code4"
		b, err = json.Marshal(codeJSON{Code: legacy, ExpiresAt: ms(legacy.ExpiresAt)})
		must(t, err)
		must(t, s.c.HSet(ctx, s.key("co:", legacy.Hash), "j", b, "x", ms(legacy.ExpiresAt), "u", "0").Err())
		got, issued, err := s.RedeemCode(ctx, legacy.Hash, now, store.CodeRedemption{ClientID: legacy.ClientID,
			RedirectURIGiven: true, RedirectURI: legacy.RedirectURI, CodeChallenge: legacy.CodeChallenge,
			IssuedAt: now, AccessHash: "at-legacy", AccessExpiresAt: now.Add(time.Hour), RefreshHash: "rt-legacy"})
		must(t, err)
		want = legacy
		want.Used = true
		if diff := cmp.Diff(want, got); diff != "" || issued {
			t.Errorf("RedeemCode of a JSON code: issued %v, record (-want +got):\n%s", issued, diff)
		}
		if n := s.c.Exists(ctx, s.key("at:", "at-legacy"), s.key("rt:", "rt-legacy")).Val(); n != 0 {
			t.Errorf("RedeemCode of a JSON code stored %d tokens, want none", n)
		}

		a := store.AccessToken{Hash: "at1", FamilyID: "fam_1", GrantID: "ser_1", ClientID: "cli_1", Domain: "example.com",
			Kind: store.KindServiceAccount, Subject: "ser_1", Scope: "s", DelegatedScope: "read_only",
			IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		f := store.Family{ID: "fam_1", GrantID: "ser_1", ClientID: "cli_1", Domain: "example.com", Kind: store.KindServiceAccount, Subject: "ser_1"}
		must(t, s.IssueTokens(ctx, f, &a, nil))
		if raw := s.c.HGet(ctx, s.key("at:", a.Hash), "j").Val(); !isPacked(raw) {
			t.Errorf("stored access token %q is not packed", raw)
		}
		gotA, err := s.LookupAccessToken(ctx, a.Hash, now)
		must(t, err)
		if diff := cmp.Diff(a, gotA); diff != "" {
			t.Errorf("packed access token read back (-want +got):\n%s", diff)
		}
		old := a
		old.Hash = "at2"
		b, err = json.Marshal(accessJSON{AccessToken: old, IssuedAt: ms(old.IssuedAt), ExpiresAt: ms(old.ExpiresAt)})
		must(t, err)
		must(t, s.c.HSet(ctx, s.key("at:", old.Hash), "j", b, "x", ms(old.ExpiresAt), "f", old.FamilyID, "g", old.GrantID).Err())
		gotA, err = s.LookupAccessToken(ctx, old.Hash, now)
		must(t, err)
		if diff := cmp.Diff(old, gotA); diff != "" {
			t.Errorf("JSON access token read back (-want +got):\n%s", diff)
		}

		bad := c
		bad.Hash, bad.RedirectURI = "code3", "https://app.example/\x00"
		if err := s.PutCode(ctx, bad); err == nil {
			t.Error("PutCode with a NUL in a field: no error")
		}
		if n := s.c.Exists(ctx, s.key("co:", bad.Hash)).Val(); n != 0 {
			t.Error("PutCode refused a code but stored it")
		}
	})
}

// TestRotateRefresh_SuccessorAccessPacked: the access token rotate_refresh.lua builds is
// packed as packAccess packs it, or a JSON object when a field holds NUL; both read back.
func TestRotateRefresh_SuccessorAccessPacked(t *testing.T) {
	eachRedis(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		now := time.Now().UTC().Truncate(time.Millisecond)
		for i, scope := range []string{"service_account/accounts/manage", "odd\x00scope"} {
			id := string(rune('a' + i))
			f := store.Family{ID: "fam_" + id, GrantID: "ser_" + id, ClientID: "cli_1", Domain: "example.com",
				Kind: store.KindServiceAccount, Subject: "ser_" + id}
			r := store.RefreshToken{Hash: "rt_" + id, FamilyID: f.ID, GrantID: f.GrantID, ClientID: "cli_1", Domain: f.Domain,
				Kind: f.Kind, Subject: f.Subject, Scope: scope, DelegatedScope: "read_only", IssuedAt: now}
			must(t, s.IssueTokens(ctx, f, nil, &r))
			_, err := s.RotateRefresh(ctx, r.Hash, now, store.RefreshRotation{ClientID: "cli_1", IssuedAt: now,
				RefreshHash: "rt2_" + id, AccessHash: "at_" + id, AccessExpiresAt: now.Add(time.Hour)})
			must(t, err)
			raw := s.c.HGet(ctx, s.key("at:", "at_"+id), "j").Val()
			if packed := !strings.Contains(scope, "\x00"); isPacked(raw) != packed {
				t.Errorf("scope %q: successor access token %q, want packed %v", scope, raw, packed)
			}
			got, err := s.LookupAccessToken(ctx, "at_"+id, now)
			must(t, err)
			want := store.AccessToken{Hash: "at_" + id, FamilyID: f.ID, GrantID: f.GrantID, ClientID: "cli_1", Domain: f.Domain,
				Kind: f.Kind, Subject: f.Subject, Scope: scope, DelegatedScope: "read_only", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("scope %q: successor access token (-want +got):\n%s", scope, diff)
			}
		}
	})
}
