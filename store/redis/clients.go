package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"

	"github.com/enterprise-connect/broker/store"
)

// clientJSON is a Client as stored: times in Unix ms.
type clientJSON struct {
	store.Client
	CreatedAt int64
}

// apiKeyJSON is an APIKey as stored. Hash is read by delete_apikey.lua.
type apiKeyJSON struct {
	store.APIKey
	CreatedAt int64
}

// CreateClient stores c in the clients hash; ErrExists when c.ID is taken (HSETNX).
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	b, err := json.Marshal(clientJSON{Client: c, CreatedAt: ms(c.CreatedAt)})
	if err != nil {
		return err
	}
	ok, err := s.cmd.HSetNX(ctx, s.key(keyClients), c.ID, b).Result()
	if err != nil {
		return unavailable(err)
	}
	if !ok {
		return store.ErrExists
	}
	return nil
}

// GetClient returns the client with that id, or ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	v, err := s.cmd.HGet(ctx, s.key(keyClients), id).Result()
	if err != nil {
		return store.Client{}, notFoundOr(err)
	}
	return decodeClient(v)
}

// ListClients returns every client, oldest first (ties by id).
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	vs, err := s.cmd.HVals(ctx, s.key(keyClients)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]store.Client, 0, len(vs))
	for _, v := range vs {
		c, err := decodeClient(v)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b store.Client) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// DeleteClient removes the client, or returns ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	n, err := s.cmd.HDel(ctx, s.key(keyClients), id).Result()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func decodeClient(v string) (store.Client, error) {
	var w clientJSON
	if err := json.Unmarshal([]byte(v), &w); err != nil {
		return store.Client{}, corrupt("client", err)
	}
	c := w.Client
	c.CreatedAt = fromMS(w.CreatedAt)
	return c, nil
}

// CreateAPIKey stores k under its id and its hash; ErrExists when either is taken.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	b, err := json.Marshal(apiKeyJSON{APIKey: k, CreatedAt: ms(k.CreatedAt)})
	if err != nil {
		return err
	}
	st, _, err := s.run(ctx, s.sc.createAPIKey, nil, k.ID, k.Hash, b)
	if err != nil {
		return err
	}
	return okOr(st)
}

// APIKeyByHash returns the key whose Hash equals hash (one HGET), or ErrNotFound.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (store.APIKey, error) {
	v, err := s.cmd.HGet(ctx, s.key(keyAPIKeyHashes), hash).Result()
	if err != nil {
		return store.APIKey{}, notFoundOr(err)
	}
	return decodeAPIKey(v)
}

// ListAPIKeys returns every key, oldest first (ties by id).
func (s *Store) ListAPIKeys(ctx context.Context) ([]store.APIKey, error) {
	vs, err := s.cmd.HVals(ctx, s.key(keyAPIKeys)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]store.APIKey, 0, len(vs))
	for _, v := range vs {
		k, err := decodeAPIKey(v)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b store.APIKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// DeleteAPIKey removes the key with that id from both indexes, or returns ErrNotFound.
func (s *Store) DeleteAPIKey(ctx context.Context, id string) error {
	st, _, err := s.run(ctx, s.sc.deleteAPIKey, nil, id)
	if err != nil {
		return err
	}
	return okOr(st)
}

func decodeAPIKey(v string) (store.APIKey, error) {
	var w apiKeyJSON
	if err := json.Unmarshal([]byte(v), &w); err != nil {
		return store.APIKey{}, corrupt("API key", err)
	}
	k := w.APIKey
	k.CreatedAt = fromMS(w.CreatedAt)
	return k, nil
}
