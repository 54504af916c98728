package broker

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Sealer encrypts the few secrets the broker must keep in usable form (signing keys,
// callback secrets) with the key-encryption key, AES-256-GCM (SPEC §10
// key_encryption_key_file). The zero value is unusable; build it with NewSealer.
type Sealer struct {
	aead cipher.AEAD
	mac  []byte
}

// NewSealer builds a Sealer from a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("key-encryption key: want 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, mac: macKey(key)}, nil
}

// Seal encrypts plaintext; label binds the ciphertext to its use (a callback secret cannot be
// swapped in as a signing key).
func (s *Sealer) Seal(plaintext []byte, label string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plaintext, []byte(label))
}

// Open decrypts what Seal made with the same label.
func (s *Sealer) Open(sealed []byte, label string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed value too short")
	}
	return s.aead.Open(nil, sealed[:n], sealed[n:], []byte(label))
}

// LoadKEK reads the 32-byte key-encryption key from path. When the file does not exist and
// create is true, it writes a new random key there (mode 0600) first, atomically, so two
// processes starting together end up with the same key.
func LoadKEK(path string, create bool) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != 32 {
			return nil, fmt.Errorf("%s: key-encryption key must be exactly 32 bytes, found %d", path, len(key))
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) || !create {
		return nil, fmt.Errorf("reading key-encryption key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	key = make([]byte, 32)
	rand.Read(key)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kek-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	// Link fails if another process created the key first: then use theirs.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return LoadKEK(path, false)
		}
		return nil, err
	}
	return key, nil
}

// macKey derives the key for MACs (CSRF tokens) from the key-encryption key, so every
// replica computes the same MACs without another secret to distribute.
func macKey(kek []byte) []byte {
	m := hmac.New(sha256.New, kek)
	m.Write([]byte("enterprise-connect-broker mac key v1"))
	return m.Sum(nil)
}

// MAC returns the hex HMAC-SHA256 of the parts under label.
func (s *Sealer) MAC(label string, parts ...string) string {
	m := hmac.New(sha256.New, s.mac)
	m.Write([]byte(label))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyMAC compares a presented MAC with the expected one in constant time.
func (s *Sealer) VerifyMAC(presented, label string, parts ...string) bool {
	return hmac.Equal([]byte(presented), []byte(s.MAC(label, parts...)))
}
