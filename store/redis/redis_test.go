package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/storetest"
)

// TestConformance runs the store contract against a fresh miniredis per subtest, and
// against the real Redis named by REDIS_URL (a random key prefix per subtest) when it is set.
func TestConformance(t *testing.T) {
	t.Run("miniredis", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			_, s := openMini(t)
			return s
		})
	})
	t.Run("redis", func(t *testing.T) {
		url := realURL(t)
		if url == "" {
			return
		}
		storetest.Run(t, func(t *testing.T) store.Store {
			return openReal(t, url, randomPrefix(t))
		})
	})
}

// TestConformanceReopen checks that data survives a new client on the same Redis and
// prefix (a replica connecting, a broker restart).
func TestConformanceReopen(t *testing.T) {
	t.Run("miniredis", func(t *testing.T) {
		var mu sync.Mutex
		servers := map[store.Store]*miniredis.Miniredis{}
		storetest.RunReopen(t,
			func(t *testing.T) store.Store {
				m, s := openMini(t)
				mu.Lock()
				defer mu.Unlock()
				servers[s] = m
				return s
			},
			func(t *testing.T, s store.Store) store.Store {
				mu.Lock()
				m := servers[s]
				mu.Unlock()
				if err := s.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				return openURL(t, "redis://"+m.Addr(), Options{})
			})
	})
	t.Run("redis", func(t *testing.T) {
		url := realURL(t)
		if url == "" {
			return
		}
		prefix := randomPrefix(t)
		storetest.RunReopen(t,
			func(t *testing.T) store.Store { return openReal(t, url, prefix) },
			func(t *testing.T, s store.Store) store.Store {
				if err := s.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				return openURL(t, url, Options{Prefix: prefix})
			})
	})
}

// openMini starts a miniredis for this test and opens a Store on it.
func openMini(t testing.TB) (*miniredis.Miniredis, *Store) {
	t.Helper()
	m := miniredis.RunT(t)
	return m, openURL(t, "redis://"+m.Addr(), Options{})
}

// openURL opens a Store and closes it at cleanup (closing twice is harmless).
func openURL(t testing.TB, url string, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// realURL returns REDIS_URL, or "" after logging that the real-Redis run does not happen
// (never a silent skip; the miniredis run always happens).
func realURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Log("REDIS_URL is not set: not running against a real Redis (miniredis runs always)")
	}
	return url
}

// openReal opens a Store on the real Redis under prefix and, at cleanup, deletes every key
// of that prefix (SCAN, so other users of the server are not blocked).
func openReal(t testing.TB, url, prefix string) *Store {
	t.Helper()
	s := openURL(t, url, Options{Prefix: prefix})
	t.Cleanup(func() {
		// t.Context is cancelled before cleanups run; keep its values, drop the cancel.
		ctx := context.WithoutCancel(t.Context())
		c, err := Open(ctx, url, Options{Prefix: prefix})
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer c.Close()
		iter := c.c.Scan(ctx, 0, prefix+":*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleanup scan: %v", err)
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			if err := c.c.Del(ctx, keys[:n]...).Err(); err != nil {
				t.Errorf("cleanup del: %v", err)
				return
			}
			keys = keys[n:]
		}
	})
	return s
}

// randomPrefix is a key prefix no other test uses.
func randomPrefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "ecbtest" + hex.EncodeToString(b)
}
