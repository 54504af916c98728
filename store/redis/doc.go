// Package redis is the production store of the broker: every role of store.Store on Redis
// (standalone, Sentinel or Cluster) through github.com/redis/go-redis/v9. Any number of
// broker replicas and CLI processes share one Redis and see one state (SPEC §10).
//
// # What it owns
//
// The key layout below, the Lua scripts (*.lua, embedded with go:embed and run with
// redis.Script: EVALSHA with an EVAL fallback), the mapping of Redis errors to the store
// sentinels, and URL parsing for Open. It imports the store package, go-redis and the
// standard library only; it must not import broker, handlers or the other backend.
//
// # One hash tag, one slot
//
// Every key is "<prefix>:{<prefix>}:<name>" (prefix "ecb" by default), so every key of the
// store hashes to one Redis Cluster slot. That is what lets every atomic operation be one
// Lua script, including scripts that derive keys from what they read (a token's family and
// grant): Redis Cluster refuses only scripts that touch more than one slot. The price is
// that a Cluster does not spread the store over shards; it still gives failover. SPEC §11's
// targets (≥ 10,000 code redemptions/s, 12,000 mints/s) are within what one Redis process
// serves, since every store operation is one round trip. Scripts receive the key base as
// KEYS[1] (the routing key) and build the keys they derive from what they read (a token's
// family and grant) from it; Redis Cluster accepts undeclared keys in the script's slot.
//
// # Key layout (after the "<prefix>:{<prefix>}:" base)
//
//	cl                       hash  client id -> Client JSON
//	ak, akh                  hash  API key id -> JSON, key hash -> JSON
//	pa:<id>, pr:<id>         string pending authorization / permission request JSON (TTL)
//	se:<hash>                string session JSON (TTL)
//	co:<hash>                hash  code {j packed (packCode), x expires ms, u used} (TTL)
//	g:<id>                   hash  grant {j JSON, s status, r revoked ms, l last use ms, c client, d domain}
//	ga:<client>              hash  domain -> active grant id
//	gi:all, gi:d:<domain>, gi:c:<client>
//	                         zset  grant indexes, score 0, member "<13-digit approved ms>:<id>"
//	gm:<id>                  hash  UTC day -> delegated tokens minted
//	f:<id>                   hash  family {g grant, k kind, s subject, rv revoked}
//	sf:<grant>:<subject>     set   family ids of (grant, subject)
//	sr:<grant>               hash  subject -> revoked-at ms
//	at:<hash>                hash  access token {j packed (packAccess), x expires ms, f family, g grant}
//	rt:<hash>                hash  refresh token {j JSON, x, f, g, u used}
//	jd:<jti>                 string denied delegated JWT (TTL)
//	uo:<key>                 string use-once key -> expires ms (TTL)
//	ac:<domain>, acid        hash  subject -> Account JSON, acc_ id -> Account JSON
//	el:<grant>:<subject>     set   elevated calendar ids
//	rl:<key>                 hash  "<window ms>:<start ms>" -> count (TTL)
//	as:<d>, af:<d>           string last / first kept audit sequence number of domain d
//	ae:<d>                   hash  sequence number -> AuditEvent as a JSON array (encodeEvent)
//	ah:<d>, aa:<d>           string chain head hash / anchor (hash of the newest trimmed event)
//	ad                       set   domains with a chain ("" included)
//	ag:<YYYYMMDD>            zset  all-domains audit index, one partition per UTC day of the
//	                               event time, score 0, member "<13-digit time ms>:<16-digit
//	                               seq>:<d>" (time, then chain order); gone once trimmed empty
//	agd                      zset  days that have a partition, score 0, member "YYYYMMDD"
//	d:<id>, dq               hash  delivery {j, n next ms, a attempts, l lease ms}; zset of ids
//	                               scored by next attempt, or by lease end while leased
//	skj, skr, skc            hash  signing key id -> JSON, id -> retired ms; current id
//
// Record bodies are JSON of the store records with times as Unix milliseconds (zero time:
// 0); fields a script must read or change live beside the body in the same hash.
//
// # Expiry
//
// Expiry is decided by the now each method receives (scripts compare it with the stored
// expiry). Redis TTLs are housekeeping only: every record with an expiry gets one, a minute
// after the expiry measured on the wall clock, so that memory does not grow with expired
// state. Refresh tokens without an expiry of their own get no TTL: they live until their
// family or grant is revoked, and are deleted when a lookup or rotation finds them dead.
// Families, grants, accounts, elevations, audit events and deliveries have no TTL (the
// broker removes them: audit by retention, deliveries by ack).
//
// # Flat cost with stored state
//
// A write costs the same whatever the store holds. The all-domains audit index is therefore
// partitioned by UTC day: an append adds to its day's sorted set, whose size is one day's
// volume, not the retained history (90 days by default); a listing walks the days of its
// window from agd, and a trim that empties a day drops the day's set and its agd entry.
//
// Redis 6.2 or newer is required (GETDEL).
package redis
