package redis

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/enterprise-connect/broker/store"
)

func TestParseURL_ThreeForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url string
		wantKind  string // single | sentinel | cluster
		wantAddrs []string
		wantUser  string
		wantPass  string
		wantDB    int
		wantMast  string
		wantTLS   bool
	}{
		{name: "redis", url: "redis://localhost:6379/2", wantKind: "single", wantAddrs: []string{"localhost:6379"}, wantDB: 2},
		{name: "rediss with password", url: "rediss://:s3cret@cache.internal:6380", wantKind: "single",
			wantAddrs: []string{"cache.internal:6380"}, wantPass: "s3cret", wantTLS: true},
		{name: "sentinel", url: "redis-sentinel://app:p%40ss@s1:26379,s2:26380/mymaster?db=3", wantKind: "sentinel",
			wantAddrs: []string{"s1:26379", "s2:26380"}, wantUser: "app", wantPass: "p@ss", wantDB: 3, wantMast: "mymaster"},
		{name: "sentinel default port", url: "redis-sentinel://s1,10.0.0.2/m", wantKind: "sentinel",
			wantAddrs: []string{"s1:26379", "10.0.0.2:26379"}, wantMast: "m"},
		{name: "cluster", url: "redis-cluster://u:p@n1:7000,n2:7001,n3:7002", wantKind: "cluster",
			wantAddrs: []string{"n1:7000", "n2:7001", "n3:7002"}, wantUser: "u", wantPass: "p"},
		{name: "cluster default port and IPv6", url: "redis-cluster://n1,[::1]:7000", wantKind: "cluster",
			wantAddrs: []string{"n1:6379", "[::1]:7000"}},
		{name: "cluster trailing slash", url: "redis-cluster://n1:7000/", wantKind: "cluster", wantAddrs: []string{"n1:7000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseURL(tc.url)
			if err != nil {
				t.Fatalf("parseURL(%q): %v", tc.url, err)
			}
			var kind, user, pass, master string
			var addrs []string
			var db int
			var tls bool
			switch {
			case got.single != nil:
				kind, addrs, user, pass, db, tls = "single", []string{got.single.Addr}, got.single.Username, got.single.Password, got.single.DB, got.single.TLSConfig != nil
			case got.sentinel != nil:
				kind, addrs, user, pass, db, master = "sentinel", got.sentinel.SentinelAddrs, got.sentinel.Username, got.sentinel.Password, got.sentinel.DB, got.sentinel.MasterName
			case got.cluster != nil:
				kind, addrs, user, pass = "cluster", got.cluster.Addrs, got.cluster.Username, got.cluster.Password
			}
			if kind != tc.wantKind || !slices.Equal(addrs, tc.wantAddrs) || user != tc.wantUser || pass != tc.wantPass ||
				db != tc.wantDB || master != tc.wantMast || tls != tc.wantTLS {
				t.Errorf("parseURL(%q) = %s %v user %q pass %q db %d master %q tls %v; want %s %v user %q pass %q db %d master %q tls %v",
					tc.url, kind, addrs, user, pass, db, master, tls,
					tc.wantKind, tc.wantAddrs, tc.wantUser, tc.wantPass, tc.wantDB, tc.wantMast, tc.wantTLS)
			}
		})
	}
}

func TestOpen_MalformedURL_Fails(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"",
		"localhost:6379",
		"http://localhost:6379",
		"redis://localhost:notaport",
		"redis-sentinel://s1:26379",          // no master name
		"redis-sentinel://s1:26379/",         // empty master name
		"redis-sentinel://s1:26379/a/b",      // path is not a master name
		"redis-sentinel://s1:26379/m?db=x",   // db not a number
		"redis-sentinel://s1:26379/m?db=-1",  // db negative
		"redis-sentinel://s1:26379/m?pool=3", // unknown parameter
		"redis-sentinel://s1:99999/m",        // port out of range
		"redis-sentinel:///m",                // no host
		"redis-cluster://",                   // no host
		"redis-cluster://n1:7000,,n2:7001",   // empty host
		"redis-cluster://n1:7000/0",          // Cluster has no database number
		"redis-cluster://n1:7000?db=1",
		"redis-cluster://n1:x",
		"redis-cluster://n1:1:2",
	} {
		if s, err := Open(t.Context(), url, Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", url)
		}
	}
	if _, err := Open(t.Context(), "redis://localhost:6379", Options{Prefix: "a{b}"}); err == nil {
		t.Errorf("Open with a prefix holding a brace succeeded, want an error (it would break the hash tag)")
	}
}

func TestOpen_Options_TimeoutsAndPool(t *testing.T) {
	t.Parallel()
	tg, err := parseURL("redis://localhost:6379?read_timeout=3s")
	if err != nil {
		t.Fatal(err)
	}
	c := tg.client(Options{WriteTimeout: 5 * time.Second, PoolSize: 7})
	defer c.Close()
	o := c.(interface{ Options() *goredis.Options }).Options()
	if o.DialTimeout != DefaultDialTimeout || o.ReadTimeout != 3*time.Second || o.WriteTimeout != 5*time.Second || o.PoolSize != 7 {
		t.Errorf("options: dial %v read %v write %v pool %d; want default dial, read from URL, write and pool from Options",
			o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolSize)
	}
}

// TestOpen_ServerDownAtStart_PingFailsThenRecovers: the broker starts while Redis is down
// (SPEC §10: /readyz answers 503 until the store is reachable, recovery without restart).
func TestOpen_ServerDownAtStart_PingFailsThenRecovers(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	addr := m.Addr()
	m.Close() // the address is known, nothing listens on it
	s, err := Open(t.Context(), "redis://"+addr, Options{DialTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open while Redis is down: %v; want no error", err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping while Redis is down: %v; want ErrUnavailable", err)
	}
	if _, err := s.GetClient(t.Context(), "cli_1"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("GetClient while Redis is down: %v; want ErrUnavailable (never ErrNotFound)", err)
	}

	if err := m.Restart(); err != nil {
		t.Fatalf("restart miniredis: %v", err)
	}
	waitReachable(t, s)
	must(t, s.CreateClient(t.Context(), store.Client{ID: "cli_1", Name: "back"}))
	if c, err := s.GetClient(t.Context(), "cli_1"); err != nil || c.Name != "back" {
		t.Fatalf("GetClient after recovery: %+v, %v", c, err)
	}
}

// TestOpen_SentinelAndClusterDown_DoNotFail: Open never dials, whatever the topology.
func TestOpen_SentinelAndClusterDown_DoNotFail(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	addr := m.Addr()
	m.Close()
	for _, url := range []string{"redis-sentinel://" + addr + "/mymaster", "redis-cluster://" + addr} {
		s, err := Open(t.Context(), url, Options{DialTimeout: 100 * time.Millisecond})
		if err != nil {
			t.Fatalf("Open(%q) while down: %v; want no error", url, err)
		}
		if err := s.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Ping(%q) while down: %v; want ErrUnavailable", url, err)
		}
		s.Close()
	}
}

// waitReachable polls Ping until it succeeds: go-redis backs off redialling after failed
// dials, so recovery takes up to about a second. This waits for a server, not for expiry.
func waitReachable(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.Ping(t.Context())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ping after the server came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// must fails the test on an error.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
