package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/enterprise-connect/broker/store"
)

// newCode returns an admin code (SPEC §2) with every field set, valid for 5 minutes from
// issued.
func newCode(value string, issued time.Time) store.Code {
	return store.Code{
		Hash:             hashOf(value),
		ClientID:         "cli_1",
		RedirectURI:      "https://app.example/cb",
		RedirectURIGiven: true,
		CodeChallenge:    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		GrantID:          id("ser_", "code grant"),
		Domain:           "example.com",
		FamilyID:         "fam_" + value,
		ExpiresAt:        issued.Add(5 * time.Minute),
	}
}

// newSubjectCode returns a per-subject code (SPEC §5).
func newSubjectCode(value string, issued time.Time) store.Code {
	c := newCode(value, issued)
	c.RedirectURIGiven = false
	c.RedirectURI = "https://app.example/callback"
	c.CodeChallenge = ""
	c.Subject = "room-1@example.com"
	c.SubjectKind = store.KindResource
	c.Scope = "list_calendars read_account"
	return c
}

// ignoreUsed leaves Code.Used out of a comparison: whether the record ConsumeCode returns on
// success shows the code before or after marking is not part of the contract.
var ignoreUsed = cmpopts.IgnoreFields(store.Code{}, "Used")

func testCodes(t *testing.T, open Opener) {
	t.Run("PutConsumeRoundTrip", func(t *testing.T) {
		ctx, s := fresh(t, open)
		for _, c := range []store.Code{newCode("admin-code", at(3*ms)), newSubjectCode("subject-code", at(0))} {
			must(t, "PutCode", s.PutCode(ctx, c))
			got, err := s.ConsumeCode(ctx, c.Hash, at(time.Minute))
			must(t, "ConsumeCode", err)
			if d := diff(c, got, ignoreUsed); d != "" {
				t.Errorf("ConsumeCode (-want +got):\n%s", d)
			}
		}
	})
	t.Run("PutExisting", func(t *testing.T) {
		ctx, s := fresh(t, open)
		c := newCode("code", at(0))
		must(t, "PutCode", s.PutCode(ctx, c))
		other := newCode("code", at(0))
		other.ClientID = "cli_mallory"
		wantErr(t, "PutCode again", s.PutCode(ctx, other), store.ErrExists)
		got, err := s.ConsumeCode(ctx, c.Hash, at(0))
		must(t, "ConsumeCode", err)
		if got.ClientID != c.ClientID {
			t.Errorf("the refused put replaced the code: ClientID = %q, want %q", got.ClientID, c.ClientID)
		}
	})
	t.Run("ConsumeTwice", func(t *testing.T) {
		ctx, s := fresh(t, open)
		c := newCode("code", at(0))
		must(t, "PutCode", s.PutCode(ctx, c))
		if _, err := s.ConsumeCode(ctx, c.Hash, at(time.Minute)); err != nil {
			t.Fatalf("first ConsumeCode: %v", err)
		}
		got, err := s.ConsumeCode(ctx, c.Hash, at(2*time.Minute))
		wantErr(t, "second ConsumeCode", err, store.ErrUsed)
		if d := diff(c, got, ignoreUsed); d != "" {
			t.Errorf("second ConsumeCode must return the record, so the caller can revoke its family (-want +got):\n%s", d)
		}
		if !got.Used {
			t.Errorf("second ConsumeCode returned Used = false; the stored code is used")
		}
		// A third redemption is still recognised as reuse.
		_, err = s.ConsumeCode(ctx, c.Hash, at(3*time.Minute))
		wantErr(t, "third ConsumeCode", err, store.ErrUsed)
	})
	t.Run("Unknown", func(t *testing.T) {
		ctx, s := fresh(t, open)
		_, err := s.ConsumeCode(ctx, hashOf("never issued"), at(0))
		wantErr(t, "ConsumeCode unknown", err, store.ErrNotFound)
	})
	t.Run("Expiry", func(t *testing.T) {
		ctx, s := fresh(t, open)
		late := newCode("late", at(0))
		must(t, "PutCode", s.PutCode(ctx, late))
		_, err := s.ConsumeCode(ctx, late.Hash, late.ExpiresAt.Add(ms))
		wantErr(t, "ConsumeCode after ExpiresAt", err, store.ErrNotFound)

		inTime := newCode("in time", at(0))
		must(t, "PutCode", s.PutCode(ctx, inTime))
		if _, err := s.ConsumeCode(ctx, inTime.Hash, inTime.ExpiresAt.Add(-ms)); err != nil {
			t.Fatalf("ConsumeCode just before ExpiresAt: %v", err)
		}
		// A used code is remembered until it expires, then it is simply gone.
		_, err = s.ConsumeCode(ctx, inTime.Hash, inTime.ExpiresAt.Add(ms))
		wantErr(t, "ConsumeCode of a used code after ExpiresAt", err, store.ErrNotFound)
	})
	t.Run("ConsumeRace", func(t *testing.T) {
		ctx, s := fresh(t, open)
		c := newCode("raced", at(0))
		must(t, "PutCode", s.PutCode(ctx, c))
		got := make([]store.Code, 50)
		errs := race(50, func(i int) error {
			var err error
			got[i], err = s.ConsumeCode(ctx, c.Hash, at(time.Minute))
			return err
		})
		wins, losses := tally(t, errs, store.ErrUsed)
		if wins != 1 || losses != 49 {
			t.Errorf("50 concurrent ConsumeCode: %d won, %d ErrUsed; want 1 and 49", wins, losses)
		}
		for i := range got {
			if errs[i] != nil && !errors.Is(errs[i], store.ErrUsed) {
				continue // reported by tally
			}
			if d := diff(c, got[i], ignoreUsed); d != "" {
				t.Errorf("goroutine %d (err %v) must get the code's record (-want +got):\n%s", i, errs[i], d)
			}
		}
	})
}
