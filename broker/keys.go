package broker

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/enterprise-connect/broker/store"
)

// Signing algorithms for delegated tokens (SPEC §4, §10 signing_algorithm).
const (
	AlgEdDSA = "EdDSA"
	AlgES256 = "ES256"
)

const sealLabelSigningKey = "signing-key"

// ErrWrongKEK: the store's signing keys were sealed with another key-encryption key than
// the one configured (key_encryption_key_file differs between replicas, or was replaced).
var ErrWrongKEK = errors.New("the signing keys in the store cannot be unsealed with this key_encryption_key_file")

// Keyring holds the delegated-token signing keys every replica shares through the store
// (SPEC §4): the current key signs, retired keys stay published until every token they
// signed has expired. Private keys reach the store only sealed by the key-encryption key.
// Safe for concurrent use.
type Keyring struct {
	store    store.SigningKeys
	sealer   *Sealer
	alg      string
	maxTTL   time.Duration // the longest lifetime of a token a key signs
	now      func() time.Time
	mu       sync.RWMutex
	current  *signingKey
	byKID    map[string]*signingKey
	loadedAt time.Time
}

type signingKey struct {
	rec    store.SigningKey
	signer crypto.Signer
	method jwt.SigningMethod
	public crypto.PublicKey
	jwk    json.RawMessage
	// header is the encoded JWT header every token of this key carries ({"alg","kid","typ"}),
	// built once instead of per signature.
	header string
}

// NewKeyring returns a keyring; Load must succeed before it signs.
func NewKeyring(s store.SigningKeys, sealer *Sealer, alg string, maxTTL time.Duration, now func() time.Time) *Keyring {
	if now == nil {
		now = time.Now
	}
	return &Keyring{store: s, sealer: sealer, alg: alg, maxTTL: maxTTL, now: now}
}

// Load reads the keys from the store, creating the first one when there is none.
func (k *Keyring) Load(ctx context.Context) error {
	keys, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return storeErr("list signing keys", err)
	}
	if len(keys) == 0 {
		rec, err := k.newKey()
		if err != nil {
			return err
		}
		if _, err := k.store.InitSigningKey(ctx, rec); err != nil {
			return storeErr("init signing key", err)
		}
		if keys, err = k.store.ListSigningKeys(ctx); err != nil {
			return storeErr("list signing keys", err)
		}
	}
	return k.install(keys)
}

func (k *Keyring) install(keys []store.SigningKey) error {
	byKID := make(map[string]*signingKey, len(keys))
	var current *signingKey
	for _, rec := range keys {
		sk, err := k.open(rec)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", rec.ID, err)
		}
		byKID[rec.ID] = sk
		if current == nil && rec.RetiredAt.IsZero() {
			current = sk
		}
	}
	if current == nil {
		return errors.New("no current signing key in the store")
	}
	k.mu.Lock()
	k.current, k.byKID, k.loadedAt = current, byKID, k.now()
	k.mu.Unlock()
	return nil
}

// Refresh reloads the keys when the last load is older than maxAge, so every replica signs
// with a rotated key within maxAge. Errors leave the loaded keys in place.
func (k *Keyring) Refresh(ctx context.Context, maxAge time.Duration) error {
	k.mu.RLock()
	fresh, loaded := k.now().Sub(k.loadedAt) < maxAge, k.current != nil
	k.mu.RUnlock()
	if !loaded {
		return k.Load(ctx) // never loaded: the store was down at start
	}
	if fresh {
		return nil
	}
	keys, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return storeErr("list signing keys", err)
	}
	return k.install(keys)
}

// Rotate adds a new current key and retires the previous one; keys retired longer ago than
// the longest token lifetime are deleted (SPEC §4 `broker keys rotate`).
func (k *Keyring) Rotate(ctx context.Context) (store.SigningKey, error) {
	rec, err := k.newKey()
	if err != nil {
		return store.SigningKey{}, err
	}
	if err := k.store.RotateSigningKey(ctx, rec); err != nil {
		return store.SigningKey{}, storeErr("rotate signing key", err)
	}
	keys, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return store.SigningKey{}, storeErr("list signing keys", err)
	}
	var kept []store.SigningKey
	for _, old := range keys {
		if !old.RetiredAt.IsZero() && k.now().Sub(old.RetiredAt) > k.maxTTL {
			if err := k.store.DeleteSigningKey(ctx, old.ID); err != nil {
				return store.SigningKey{}, storeErr("delete signing key", err)
			}
			continue
		}
		kept = append(kept, old)
	}
	return rec, k.install(kept)
}

// Keys lists the stored keys, newest first, without private parts.
func (k *Keyring) Keys(ctx context.Context) ([]store.SigningKey, error) {
	keys, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, storeErr("list signing keys", err)
	}
	for i := range keys {
		keys[i].Private = nil
	}
	return keys, nil
}

func (k *Keyring) newKey() (store.SigningKey, error) {
	var priv crypto.Signer
	switch k.alg {
	case AlgEdDSA, "":
		_, p, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return store.SigningKey{}, err
		}
		priv = p
	case AlgES256:
		p, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return store.SigningKey{}, err
		}
		priv = p
	default:
		return store.SigningKey{}, fmt.Errorf("unsupported signing algorithm %q", k.alg)
	}
	alg := k.alg
	if alg == "" {
		alg = AlgEdDSA
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, err
	}
	kid := newID("key_")
	pub, err := jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Algorithm: alg, Use: "sig"}.MarshalJSON()
	if err != nil {
		return store.SigningKey{}, err
	}
	return store.SigningKey{ID: kid, Alg: alg, Private: k.sealer.Seal(der, sealLabelSigningKey),
		Public: pub, CreatedAt: k.now().UTC()}, nil
}

func (k *Keyring) open(rec store.SigningKey) (*signingKey, error) {
	der, err := k.sealer.Open(rec.Private, sealLabelSigningKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWrongKEK, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key type %T cannot sign", parsed)
	}
	if ed, ok := parsed.(ed25519.PrivateKey); ok {
		signer = newEd25519Signer(ed)
	}
	var method jwt.SigningMethod
	switch rec.Alg {
	case AlgEdDSA:
		method = jwt.SigningMethodEdDSA
	case AlgES256:
		method = jwt.SigningMethodES256
	default:
		return nil, fmt.Errorf("unsupported algorithm %q", rec.Alg)
	}
	hdr, err := json.Marshal(map[string]string{"alg": method.Alg(), "kid": rec.ID, "typ": "at+jwt"})
	if err != nil {
		return nil, err
	}
	return &signingKey{rec: rec, signer: signer, method: method, public: signer.Public(), jwk: rec.Public,
		header: base64.RawURLEncoding.EncodeToString(hdr)}, nil
}

// sigSize is the length of an EdDSA (Ed25519) and of an ES256 (P-256, r||s) JWS signature.
const sigSize = 64

// Sign signs a delegated token's claims with the current key, header typ at+jwt and kid
// (RFC 9068), as a compact JWS (RFC 7515 §7.1). The header segment is the key's, encoded
// once; the signature is golang-jwt's signing method.
func (k *Keyring) Sign(claims *delegatedWire) (string, error) {
	k.mu.RLock()
	cur := k.current
	k.mu.RUnlock()
	if cur == nil {
		return "", errors.New("keyring not loaded")
	}
	var buf [768]byte
	body := claims.appendJSON(buf[:0])
	enc := base64.RawURLEncoding
	b := make([]byte, 0, len(cur.header)+1+enc.EncodedLen(len(body))+1+enc.EncodedLen(sigSize))
	b = append(b, cur.header...)
	b = append(b, '.')
	b = enc.AppendEncode(b, body)
	sig, err := cur.method.Sign(string(b), cur.signer)
	if err != nil {
		return "", err
	}
	b = append(b, '.')
	return string(enc.AppendEncode(b, sig)), nil
}

// PublicKey returns the verification key for kid (current or retired), for parsing our own
// delegated tokens.
func (k *Keyring) PublicKey(kid string) (crypto.PublicKey, string, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	sk, ok := k.byKID[kid]
	if !ok {
		return nil, "", false
	}
	return sk.public, sk.rec.Alg, true
}

// JWKS returns the published key set (SPEC §8): the current key and every retired key that
// may still have live tokens; public parts only.
func (k *Keyring) JWKS() json.RawMessage {
	k.mu.RLock()
	defer k.mu.RUnlock()
	now := k.now()
	keys := make([]json.RawMessage, 0, len(k.byKID))
	if k.current != nil {
		keys = append(keys, k.current.jwk)
	}
	for _, sk := range k.byKID {
		if sk == k.current || sk.rec.RetiredAt.IsZero() || now.Sub(sk.rec.RetiredAt) > k.maxTTL {
			continue
		}
		keys = append(keys, sk.jwk)
	}
	out, _ := json.Marshal(map[string]any{"keys": keys})
	return out
}
