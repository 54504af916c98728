package embedded

import (
	"context"
	"encoding/json"

	"github.com/enterprise-connect/broker/store"
)

// EnsureAccount returns the account of (a.Domain, a.Subject), storing a (with its ids) when
// there is none yet, in one transaction: concurrent callers all get the ids of the first.
// ErrExists when the subject is new but a.ID or a.ProfileID belongs to another account.
func (s *Store) EnsureAccount(ctx context.Context, a store.Account) (store.Account, error) {
	var got store.Account
	err := s.write(ctx, "ensure account", func(tx *wtx) error {
		if _, err := tx.exec(`INSERT INTO accounts (id, profile_id, domain, subject)
			VALUES (?, ?, ?, ?) ON CONFLICT (domain, subject) DO NOTHING`,
			a.ID, a.ProfileID, a.Domain, a.Subject); err != nil {
			return err
		}
		return tx.row(`SELECT id, profile_id, domain, subject FROM accounts
			WHERE domain = ? AND subject = ?`, a.Domain, a.Subject).Scan(
			&got.ID, &got.ProfileID, &got.Domain, &got.Subject)
	})
	if err != nil {
		return store.Account{}, err
	}
	return got, nil
}

// AccountByID returns the account with that acc_ id, or ErrNotFound.
func (s *Store) AccountByID(ctx context.Context, id string) (store.Account, error) {
	var a store.Account
	err := s.row(ctx, `SELECT id, profile_id, domain, subject FROM accounts
		WHERE id = ?`, id).Scan(&a.ID, &a.ProfileID, &a.Domain, &a.Subject)
	if err != nil {
		return store.Account{}, classify("account by id", err)
	}
	return a, nil
}

// AddElevations adds calendarIDs to the unrestricted calendars of (grantID, subject), in
// one transaction; ids already elevated are kept once.
func (s *Store) AddElevations(ctx context.Context, grantID, subject string, calendarIDs []string) error {
	if len(calendarIDs) == 0 {
		return nil
	}
	ids, err := json.Marshal(calendarIDs)
	if err != nil {
		return classify("add elevations", err)
	}
	return s.write(ctx, "add elevations", func(tx *wtx) error {
		_, err := tx.exec(`INSERT OR IGNORE INTO elevations (grant_id, subject, calendar_id)
			SELECT ?, ?, value FROM json_each(?)`, grantID, subject, string(ids))
		return err
	})
}

// Elevations returns, for each of subjects that has any, its elevated calendar ids (sorted)
// under grantID. One statement however many subjects (SPEC §4 batch mint): the subjects
// travel as one JSON array parameter. Subjects without elevations are absent from the map.
func (s *Store) Elevations(ctx context.Context, grantID string, subjects []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(subjects) == 0 {
		return out, nil
	}
	subs, err := json.Marshal(subjects)
	if err != nil {
		return nil, classify("elevations", err)
	}
	rows, err := s.rows(ctx, `SELECT subject, calendar_id FROM elevations
		WHERE grant_id = ? AND subject IN (SELECT value FROM json_each(?))
		ORDER BY subject, calendar_id`, grantID, string(subs))
	if err != nil {
		return nil, classify("elevations", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sub, cal string
		if err := rows.Scan(&sub, &cal); err != nil {
			return nil, classify("elevations", err)
		}
		out[sub] = append(out[sub], cal)
	}
	return out, classify("elevations", rows.Err())
}
