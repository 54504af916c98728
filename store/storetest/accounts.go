package storetest

import (
	"testing"

	"github.com/enterprise-connect/broker/store"
)

// newAccount returns a candidate account whose ids derive from candidate.
func newAccount(domain, subject, candidate string) store.Account {
	return store.Account{ID: id("acc_", candidate), ProfileID: id("pro_", candidate), Domain: domain, Subject: subject}
}

func testAccounts(t *testing.T, open Opener) {
	t.Run("Ensure", func(t *testing.T) {
		ctx, s := fresh(t, open)
		first := newAccount("example.com", "alice@example.com", "first")
		got, err := s.EnsureAccount(ctx, first)
		must(t, "EnsureAccount", err)
		if d := diff(first, got); d != "" {
			t.Errorf("EnsureAccount of a new subject (-want +got):\n%s", d)
		}
		second := newAccount("example.com", "alice@example.com", "second")
		got, err = s.EnsureAccount(ctx, second)
		must(t, "EnsureAccount again", err)
		if d := diff(first, got); d != "" {
			t.Errorf("EnsureAccount of a known subject must return the first ids (-want +got):\n%s", d)
		}
		got, err = s.AccountByID(ctx, first.ID)
		must(t, "AccountByID", err)
		if d := diff(first, got); d != "" {
			t.Errorf("AccountByID (-want +got):\n%s", d)
		}
		_, err = s.AccountByID(ctx, second.ID)
		wantErr(t, "AccountByID of the refused candidate", err, store.ErrNotFound)
		_, err = s.AccountByID(ctx, id("acc_", "unknown"))
		wantErr(t, "AccountByID unknown", err, store.ErrNotFound)

		// Another subject of the domain, and the same subject in another domain, are new.
		for _, a := range []store.Account{
			newAccount("example.com", "bob@example.com", "bob"),
			newAccount("other.example", "alice@example.com", "alice elsewhere"),
		} {
			got, err := s.EnsureAccount(ctx, a)
			must(t, "EnsureAccount", err)
			if d := diff(a, got); d != "" {
				t.Errorf("EnsureAccount(%s, %s) (-want +got):\n%s", a.Domain, a.Subject, d)
			}
			byID, err := s.AccountByID(ctx, a.ID)
			must(t, "AccountByID", err)
			if d := diff(a, byID); d != "" {
				t.Errorf("AccountByID(%s) (-want +got):\n%s", a.ID, d)
			}
		}
	})
	t.Run("EnsureRace", func(t *testing.T) {
		ctx, s := fresh(t, open)
		const n = 20
		got := make([]store.Account, n)
		errs := race(n, func(i int) error {
			var err error
			got[i], err = s.EnsureAccount(ctx, newAccount("example.com", "alice@example.com", name("candidate %d", i)))
			return err
		})
		for i, err := range errs {
			must(t, name("EnsureAccount %d", i), err)
		}
		for i := range got {
			if d := diff(got[0], got[i]); d != "" {
				t.Errorf("concurrent EnsureAccount %d disagrees with 0 (-0 +%d):\n%s", i, i, d)
			}
		}
		byID, err := s.AccountByID(ctx, got[0].ID)
		must(t, "AccountByID of the winner", err)
		if d := diff(got[0], byID); d != "" {
			t.Errorf("AccountByID (-want +got):\n%s", d)
		}
	})
	t.Run("Elevations", func(t *testing.T) {
		ctx, s := fresh(t, open)
		g1, g2 := id("ser_", "1"), id("ser_", "2")
		createGrant(t, s, newGrant(g1, "cli_1", "example.com", at(0)), "")
		createGrant(t, s, newGrant(g2, "cli_2", "example.com", at(0)), "")
		must(t, "AddElevations", s.AddElevations(ctx, g1, "alice@example.com", []string{"cal_3", "cal_1"}))
		must(t, "AddElevations", s.AddElevations(ctx, g1, "alice@example.com", []string{"cal_2", "cal_1"}))
		must(t, "AddElevations", s.AddElevations(ctx, g2, "alice@example.com", []string{"cal_9"}))
		var subjects []string
		want := map[string][]string{"alice@example.com": {"cal_1", "cal_2", "cal_3"}}
		for i := range 40 {
			subject := name("user%02d@example.com", i)
			subjects = append(subjects, subject)
			if i%2 == 0 {
				cals := []string{name("cal_%02d_b", i), name("cal_%02d_a", i)}
				must(t, "AddElevations", s.AddElevations(ctx, g1, subject, cals))
				want[subject] = []string{cals[1], cals[0]}
			}
		}
		subjects = append(subjects, "alice@example.com", "nobody@example.com")
		got, err := s.Elevations(ctx, g1, subjects)
		must(t, "Elevations", err)
		if d := diff(want, got); d != "" {
			t.Errorf("Elevations of %d subjects: union, sorted, only subjects with any (-want +got):\n%s", len(subjects), d)
		}
		got, err = s.Elevations(ctx, g2, []string{"alice@example.com", "user00@example.com"})
		must(t, "Elevations of another grant", err)
		if d := diff(map[string][]string{"alice@example.com": {"cal_9"}}, got); d != "" {
			t.Errorf("Elevations of another grant (-want +got):\n%s", d)
		}
		got, err = s.Elevations(ctx, g1, nil)
		must(t, "Elevations of no subjects", err)
		if len(got) != 0 {
			t.Errorf("Elevations of no subjects = %v, want none", got)
		}
	})
}
