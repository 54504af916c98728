package broker

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"testing"
)

// The signer gives RFC 8032's own answers (§7.1, tests 1 and 2).
func TestEd25519Signer_RFC8032Vectors(t *testing.T) {
	cases := []struct{ seed, msg, sig string }{
		{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
		{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
	}
	for _, c := range cases {
		seed, _ := hex.DecodeString(c.seed)
		msg, _ := hex.DecodeString(c.msg)
		s := newEd25519Signer(ed25519.NewKeyFromSeed(seed))
		sig, err := s.Sign(nil, msg, crypto.Hash(0))
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(sig); got != c.sig {
			t.Errorf("seed %s…: signature %s, want %s", c.seed[:8], got, c.sig)
		}
	}
}

// For any key and message the signer's bytes are crypto/ed25519's, and crypto/ed25519
// verifies them; its public key is crypto/ed25519's type, as golang-jwt requires.
func TestEd25519Signer_MatchesStandardLibrary(t *testing.T) {
	for i := range 50 {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		msg := make([]byte, i*37)
		if _, err := rand.Read(msg); err != nil {
			t.Fatal(err)
		}
		s := newEd25519Signer(priv)
		if p, ok := s.Public().(ed25519.PublicKey); !ok || !p.Equal(pub) {
			t.Fatalf("Public() = %T %x, want ed25519.PublicKey %x", s.Public(), s.Public(), pub)
		}
		sig, err := s.Sign(rand.Reader, msg, crypto.Hash(0))
		if err != nil {
			t.Fatal(err)
		}
		if want := ed25519.Sign(priv, msg); !bytes.Equal(sig, want) {
			t.Fatalf("message of %d bytes: signature %x, crypto/ed25519 %x", len(msg), sig, want)
		}
		if !ed25519.Verify(pub, msg, sig) {
			t.Fatalf("message of %d bytes: crypto/ed25519 rejects the signature", len(msg))
		}
	}
}

func TestEd25519Signer_RefusesPrehash(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	if sig, err := newEd25519Signer(priv).Sign(nil, make([]byte, 64), crypto.SHA512); err == nil {
		t.Fatalf("Ed25519ph signed (%x), want an error", sig)
	}
}
