package redis

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The URL schemes Open accepts besides go-redis's own redis:// and rediss://.
const (
	schemeSentinel = "redis-sentinel"
	schemeCluster  = "redis-cluster"
)

// target is a parsed Redis URL: exactly one of single, sentinel or cluster is set.
type target struct {
	single   *goredis.Options
	sentinel *goredis.FailoverOptions
	cluster  *goredis.ClusterOptions
}

// parseURL parses the three URL forms Open accepts. It only checks syntax; it never dials.
func parseURL(raw string) (target, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return target{}, fmt.Errorf("redis store: URL %q has no scheme (want redis://, rediss://, %s:// or %s://)", redact(raw), schemeSentinel, schemeCluster)
	}
	switch scheme {
	case "redis", "rediss":
		o, err := goredis.ParseURL(raw)
		if err != nil {
			return target{}, fmt.Errorf("redis store: %w", err)
		}
		return target{single: o}, nil
	case schemeSentinel, schemeCluster:
	default:
		return target{}, fmt.Errorf("redis store: unsupported URL scheme %q (want redis, rediss, %s or %s)", scheme, schemeSentinel, schemeCluster)
	}

	rest, rawQuery, _ := strings.Cut(rest, "?")
	authority, path, _ := strings.Cut(rest, "/")
	user, pass := "", ""
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		var err error
		if user, pass, err = userinfo(authority[:at]); err != nil {
			return target{}, err
		}
		authority = authority[at+1:]
	}
	defPort := "6379"
	if scheme == schemeSentinel {
		defPort = "26379"
	}
	addrs, err := hostList(authority, defPort)
	if err != nil {
		return target{}, err
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return target{}, fmt.Errorf("redis store: bad query in %s URL: %w", scheme, err)
	}

	if scheme == schemeCluster {
		if path != "" || len(q) > 0 {
			return target{}, fmt.Errorf("redis store: a %s URL takes no path or query (Cluster has database 0 only)", scheme)
		}
		return target{cluster: &goredis.ClusterOptions{Addrs: addrs, Username: user, Password: pass}}, nil
	}

	master, err := url.PathUnescape(path)
	if err != nil || master == "" || strings.Contains(master, "/") {
		return target{}, fmt.Errorf("redis store: a %s URL needs the master name as its path: %s://host:port,…/mastername", scheme, scheme)
	}
	db := 0
	for k, vs := range q {
		if k != "db" || len(vs) != 1 {
			return target{}, fmt.Errorf("redis store: unknown or repeated %s URL parameter %q (only db is accepted)", scheme, k)
		}
		if db, err = strconv.Atoi(vs[0]); err != nil || db < 0 {
			return target{}, fmt.Errorf("redis store: db must be a non-negative integer, got %q", vs[0])
		}
	}
	return target{sentinel: &goredis.FailoverOptions{
		MasterName: master, SentinelAddrs: addrs, Username: user, Password: pass, DB: db,
	}}, nil
}

// userinfo splits and unescapes "user:pass" (either part may be empty).
func userinfo(s string) (user, pass string, err error) {
	u, p, _ := strings.Cut(s, ":")
	if user, err = url.PathUnescape(u); err == nil {
		pass, err = url.PathUnescape(p)
	}
	if err != nil {
		return "", "", fmt.Errorf("redis store: bad user information in URL: %w", err)
	}
	return user, pass, nil
}

// hostList parses "host1:port1,host2:port2"; a missing port is defPort.
func hostList(s, defPort string) ([]string, error) {
	if s == "" {
		return nil, fmt.Errorf("redis store: URL names no host")
	}
	var addrs []string
	for h := range strings.SplitSeq(s, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			host, port = h, defPort
			if strings.Contains(h, ":") && !strings.HasPrefix(h, "[") {
				return nil, fmt.Errorf("redis store: bad host:port %q in URL", h)
			}
			host = strings.Trim(host, "[]")
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 || host == "" {
			return nil, fmt.Errorf("redis store: bad host:port %q in URL", h)
		}
		addrs = append(addrs, net.JoinHostPort(host, port))
	}
	return addrs, nil
}

// redact hides a password in a URL quoted in an error message.
func redact(raw string) string {
	if at := strings.LastIndex(raw, "@"); at >= 0 {
		return "…@" + raw[at+1:]
	}
	return raw
}

// client builds the go-redis client for t. Timeouts and pool size come from opts when set,
// else from the URL (redis:// query parameters), else the defaults.
func (t target) client(opts Options) goredis.UniversalClient {
	switch {
	case t.sentinel != nil:
		o := *t.sentinel
		o.DialTimeout = pick(opts.DialTimeout, o.DialTimeout, DefaultDialTimeout)
		o.ReadTimeout = pick(opts.ReadTimeout, o.ReadTimeout, DefaultReadTimeout)
		o.WriteTimeout = pick(opts.WriteTimeout, o.WriteTimeout, DefaultWriteTimeout)
		o.PoolSize = max(opts.PoolSize, o.PoolSize)
		return goredis.NewFailoverClient(&o)
	case t.cluster != nil:
		o := *t.cluster
		o.DialTimeout = pick(opts.DialTimeout, o.DialTimeout, DefaultDialTimeout)
		o.ReadTimeout = pick(opts.ReadTimeout, o.ReadTimeout, DefaultReadTimeout)
		o.WriteTimeout = pick(opts.WriteTimeout, o.WriteTimeout, DefaultWriteTimeout)
		o.PoolSize = max(opts.PoolSize, o.PoolSize)
		return goredis.NewClusterClient(&o)
	default:
		o := *t.single
		o.DialTimeout = pick(opts.DialTimeout, o.DialTimeout, DefaultDialTimeout)
		o.ReadTimeout = pick(opts.ReadTimeout, o.ReadTimeout, DefaultReadTimeout)
		o.WriteTimeout = pick(opts.WriteTimeout, o.WriteTimeout, DefaultWriteTimeout)
		if opts.PoolSize > 0 {
			o.PoolSize = opts.PoolSize
		}
		return goredis.NewClient(&o)
	}
}

// pick returns the first non-zero of an explicit option, a URL setting and a default.
func pick(opt, fromURL, def time.Duration) time.Duration {
	switch {
	case opt != 0:
		return opt
	case fromURL != 0:
		return fromURL
	}
	return def
}
