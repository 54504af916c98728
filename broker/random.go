package broker

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

const base62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomBase62 returns n characters drawn uniformly from [A-Za-z0-9] with crypto/rand
// (rejection sampling: bytes >= 248 are dropped so every character has probability 1/62).
func randomBase62(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+8)
	for len(out) < n {
		rand.Read(buf) // never returns an error (crypto/rand, Go ≥ 1.24)
		for _, b := range buf {
			if b >= 248 {
				continue
			}
			out = append(out, base62[b%62])
			if len(out) == n {
				break
			}
		}
	}
	return string(out)
}

// NewCode returns an authorization code: exactly 32 characters of [A-Za-z0-9], uniform
// (SPEC §2; about 190 bits).
func NewCode() string { return randomBase62(32) }

// newSecret returns an opaque secret or token of 43 base-62 characters (≥ 256 bits, SPEC §3).
func newSecret() string { return randomBase62(43) }

// newID returns prefix followed by 24 base-62 characters (ser_, acc_, pro_ ids, SPEC §0, §5).
func newID(prefix string) string { return prefix + randomBase62(24) }

// HashSecret is the storage key of a secret, code or token: hex SHA-256. Secrets are ≥ 190
// random bits, so a fast hash is the right tool (SPEC §3: no slow KDF on the token path).
func HashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sameHash compares a presented secret with a stored hash in constant time.
func sameHash(presented, storedHash string) bool {
	h := HashSecret(presented)
	return subtle.ConstantTimeCompare([]byte(h), []byte(storedHash)) == 1
}
