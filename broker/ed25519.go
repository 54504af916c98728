package broker

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"io"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// ed25519Signer signs with an Ed25519 key through curve25519-voi instead of crypto/ed25519.
// Ed25519 signatures are deterministic (RFC 8032 §5.1.6): both produce the same bytes for
// the same key and message, and crypto/ed25519 verifies them. voi signs in about two
// thirds of the time (its base-point multiplication uses AVX2 on amd64), and signing is
// most of what a delegated token costs.
//
// Public returns the crypto/ed25519 key, which golang-jwt's EdDSA method requires.
type ed25519Signer struct {
	priv voi.PrivateKey
	pub  ed25519.PublicKey
}

func newEd25519Signer(k ed25519.PrivateKey) ed25519Signer {
	return ed25519Signer{priv: voi.PrivateKey(k), pub: k.Public().(ed25519.PublicKey)}
}

func (s ed25519Signer) Public() crypto.PublicKey { return s.pub }

// Sign signs message as pure Ed25519; the pre-hashed variant (Ed25519ph) is refused, as
// nothing here asks for it.
func (s ed25519Signer) Sign(_ io.Reader, message []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts.HashFunc() != crypto.Hash(0) {
		return nil, errors.New("ed25519: only pure Ed25519 (no pre-hash) is supported")
	}
	return voi.Sign(s.priv, message), nil
}
