package embedded

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/enterprise-connect/broker/store"
)

const clientColumns = `id, name, secret_hash, callback_secret, redirect_uris, scope,
	delegated_scope, require_pkce, jwks, created_at`

// CreateClient stores c. ErrExists when c.ID is taken.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	uris, err := json.Marshal(c.RedirectURIs)
	if err != nil {
		return classify("create client", err)
	}
	return s.write(ctx, "create client", func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO clients (`+clientColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.SecretHash, c.CallbackSecret, string(uris), c.Scope,
			c.DelegatedScope, boolInt(c.RequirePKCE), c.JWKS, ms(c.CreatedAt))
		return err
	})
}

// GetClient returns the client with that id, or ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(s.row(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
	return c, classify("get client", err)
}

// ListClients returns every client, oldest first (by CreatedAt, then insertion order).
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.rows(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY created_at, rowid`)
	if err != nil {
		return nil, classify("list clients", err)
	}
	defer rows.Close()
	var out []store.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, classify("list clients", err)
		}
		out = append(out, c)
	}
	return out, classify("list clients", rows.Err())
}

// DeleteClient removes the client, or returns ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.write(ctx, "delete client", func(tx *wtx) error {
		return mustAffect(tx.exec(`DELETE FROM clients WHERE id = ?`, id))
	})
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

func scanClient(row scanner) (store.Client, error) {
	var (
		c       store.Client
		uris    string
		pkce    int
		created int64
	)
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &c.CallbackSecret, &uris, &c.Scope,
		&c.DelegatedScope, &pkce, &c.JWKS, &created)
	if err != nil {
		return store.Client{}, err
	}
	if err := json.Unmarshal([]byte(uris), &c.RedirectURIs); err != nil {
		return store.Client{}, err
	}
	c.RequirePKCE = pkce != 0
	c.CreatedAt = fromMS(created)
	return c, nil
}

// mustAffect turns an Exec result that touched no row into store.ErrNotFound.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

const apiKeyColumns = `id, hash, role, domain, created_at`

// CreateAPIKey stores k. ErrExists when its id or hash is taken.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	return s.write(ctx, "create api key", func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO api_keys (`+apiKeyColumns+`)
			VALUES (?, ?, ?, ?, ?)`, k.ID, k.Hash, string(k.Role), k.Domain, ms(k.CreatedAt))
		return err
	})
}

// APIKeyByHash returns the key whose Hash equals hash, or ErrNotFound.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (store.APIKey, error) {
	k, err := scanAPIKey(s.row(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = ?`, hash))
	return k, classify("api key by hash", err)
}

// ListAPIKeys returns every key, oldest first (by CreatedAt, then insertion order).
func (s *Store) ListAPIKeys(ctx context.Context) ([]store.APIKey, error) {
	rows, err := s.rows(ctx, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY created_at, rowid`)
	if err != nil {
		return nil, classify("list api keys", err)
	}
	defer rows.Close()
	var out []store.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, classify("list api keys", err)
		}
		out = append(out, k)
	}
	return out, classify("list api keys", rows.Err())
}

// DeleteAPIKey removes the key with that id, or returns ErrNotFound.
func (s *Store) DeleteAPIKey(ctx context.Context, id string) error {
	return s.write(ctx, "delete api key", func(tx *wtx) error {
		return mustAffect(tx.exec(`DELETE FROM api_keys WHERE id = ?`, id))
	})
}

func scanAPIKey(row scanner) (store.APIKey, error) {
	var (
		k       store.APIKey
		role    string
		created int64
	)
	if err := row.Scan(&k.ID, &k.Hash, &role, &k.Domain, &created); err != nil {
		return store.APIKey{}, err
	}
	k.Role = store.APIKeyRole(role)
	k.CreatedAt = fromMS(created)
	return k, nil
}
