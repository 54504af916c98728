package embedded

import (
	"context"

	"github.com/enterprise-connect/broker/store"
)

// Keys are ordered newest first by CreatedAt, then by insertion (seq): a key rotated in
// within the same millisecond as the previous one still sorts before it.

const signingKeyColumns = `id, alg, private, public, created_at, retired_at`

// InitSigningKey stores k as the current key if and only if there is no key at all, and
// returns the current key either way, in one transaction: replicas (or a CLI and a server)
// starting together agree on one. k.RetiredAt is ignored: the first key is current.
func (s *Store) InitSigningKey(ctx context.Context, k store.SigningKey) (store.SigningKey, error) {
	var cur store.SigningKey
	err := s.write(ctx, "init signing key", func(tx *wtx) error {
		if _, err := tx.exec(`INSERT INTO signing_keys (`+signingKeyColumns+`)
			SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM signing_keys)`,
			k.ID, k.Alg, k.Private, k.Public, ms(k.CreatedAt), zeroMillis); err != nil {
			return err
		}
		var err error
		cur, err = scanSigningKey(tx.row(`SELECT `+signingKeyColumns+`
			FROM signing_keys WHERE retired_at = ? ORDER BY created_at DESC, seq DESC LIMIT 1`,
			zeroMillis))
		return err
	})
	if err != nil {
		return store.SigningKey{}, err
	}
	return cur, nil
}

// RotateSigningKey stores k as the current key and, in the same transaction, retires the
// previous current key (every unretired key) at k.CreatedAt. ErrExists when k.ID is taken.
func (s *Store) RotateSigningKey(ctx context.Context, k store.SigningKey) error {
	return s.write(ctx, "rotate signing key", func(tx *wtx) error {
		if _, err := tx.exec(`UPDATE signing_keys SET retired_at = ?
			WHERE retired_at = ?`, ms(k.CreatedAt), zeroMillis); err != nil {
			return err
		}
		_, err := tx.exec(`INSERT INTO signing_keys (`+signingKeyColumns+`)
			VALUES (?, ?, ?, ?, ?, ?)`,
			k.ID, k.Alg, k.Private, k.Public, ms(k.CreatedAt), zeroMillis)
		return err
	})
}

// ListSigningKeys returns every key, newest first; the first unretired one is current.
func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.rows(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys
		ORDER BY created_at DESC, seq DESC`)
	if err != nil {
		return nil, classify("list signing keys", err)
	}
	defer rows.Close()
	var out []store.SigningKey
	for rows.Next() {
		k, err := scanSigningKey(rows)
		if err != nil {
			return nil, classify("list signing keys", err)
		}
		out = append(out, k)
	}
	return out, classify("list signing keys", rows.Err())
}

// DeleteSigningKey removes a key. It is meant for retired keys whose tokens have all
// expired; the store does not check that. Unknown ids are not an error.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	return s.write(ctx, "delete signing key", func(tx *wtx) error {
		_, err := tx.exec(`DELETE FROM signing_keys WHERE id = ?`, id)
		return err
	})
}

func scanSigningKey(row scanner) (store.SigningKey, error) {
	var (
		k                store.SigningKey
		created, retired int64
	)
	if err := row.Scan(&k.ID, &k.Alg, &k.Private, &k.Public, &created, &retired); err != nil {
		return store.SigningKey{}, err
	}
	k.CreatedAt, k.RetiredAt = fromMS(created), fromMS(retired)
	return k, nil
}
