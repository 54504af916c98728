package broker_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/golang-jwt/jwt/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/store/embedded"
	"github.com/enterprise-connect/broker/store/redis"
)

// oaExercise runs the flows that put secrets in front of the broker: codes (with and without
// PKCE), tokens, a refresh, client secrets by Basic and post, a client assertion, sessions,
// an API key.
func oaExercise(t *testing.T, e *oaEnv) {
	t.Helper()
	res, _ := e.tokens(t, e.plain, oaFlowOpts{PKCE: true})
	if _, err := e.refresh(e.plain, res.RefreshToken); err != nil {
		t.Fatal(err)
	}
	f := e.flow(t, e.single, oaFlowOpts{})
	if _, err := e.token(oaPost(e.single), oaRedeemParams(e.single, f)); err != nil {
		t.Fatal(err)
	}
	g := e.flow(t, e.jwtc, oaFlowOpts{})
	a := e.assertion(t, e.jwtc, "ES256", func(c *jwt.RegisteredClaims, _ *jwt.Token) {})
	if _, err := e.token(oaAssertionCreds(a), oaRedeemParams(e.jwtc, g)); err != nil {
		t.Fatal(err)
	}
	k, err := broker.CreateAPIKey(e.ctx, e.store, "introspect", "", nil, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.saw(k.Key)
	e.flow(t, e.pkce, oaFlowOpts{}) // a code left unredeemed
	e.mustAuthorize(t, oaQuery(e.plain))
}

// TestStorage_HoldsNoSecretValues: codes, tokens, client secrets, session cookies, API keys,
// PKCE verifiers and passwords reach the store only as hashes (SPEC §2, §3, §9; STYLE §2).
// The embedded store's files and every key and value of Redis are searched byte for byte.
func TestStorage_HoldsNoSecretValues(t *testing.T) {
	t.Parallel()
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		s, err := embedded.Open(context.Background(), filepath.Join(dir, "broker.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		e := newOAEnv(t, s)
		oaExercise(t, e)
		var all strings.Builder
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, ent := range entries {
			b, err := os.ReadFile(filepath.Join(dir, ent.Name()))
			if err != nil {
				t.Fatal(err)
			}
			all.Write(b)
		}
		if all.Len() == 0 {
			t.Fatal("the store wrote no file")
		}
		if leaked, ok := oaContainsAny(all.String(), e.secrets()); ok {
			t.Errorf("the embedded store's files contain the secret %q", leaked)
		}
	})
	t.Run("miniredis", func(t *testing.T) {
		t.Parallel()
		m := miniredis.RunT(t)
		s, err := redis.Open(context.Background(), "redis://"+m.Addr(), redis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		e := newOAEnv(t, s)
		oaExercise(t, e)
		dump := oaRedisDump(t, "redis://"+m.Addr())
		if leaked, ok := oaContainsAny(dump, e.secrets()); ok {
			t.Errorf("Redis holds the secret %q", leaked)
		}
	})
}

// oaRedisDump returns every key and value of the Redis at url as text.
func oaRedisDump(t *testing.T, url string) string {
	t.Helper()
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatal("Redis holds no key")
	}
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "\n")
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var vals []string
		switch typ {
		case "string":
			v, _ := c.Get(ctx, k).Result()
			vals = []string{v}
		case "hash":
			m, _ := c.HGetAll(ctx, k).Result()
			for f, v := range m {
				vals = append(vals, f, v)
			}
		case "set":
			vals, _ = c.SMembers(ctx, k).Result()
		case "zset":
			vals, _ = c.ZRange(ctx, k, 0, -1).Result()
		case "list":
			vals, _ = c.LRange(ctx, k, 0, -1).Result()
		case "stream":
			xs, _ := c.XRange(ctx, k, "-", "+").Result()
			for _, x := range xs {
				for f, v := range x.Values {
					vals = append(vals, f, oaStringOf(v))
				}
			}
		}
		for _, v := range vals {
			b.WriteString(v + "\n")
		}
	}
	return b.String()
}

func oaStringOf(v any) string {
	s, _ := v.(string)
	return s
}
