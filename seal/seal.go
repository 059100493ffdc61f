// Package seal encrypts the secrets stockgate keeps at rest (connector
// webhook secrets and API tokens made through admin mutations) with
// AES-256-GCM under a key from the environment.
//
// A sealed value is "v1:" + base64url(nonce ‖ ciphertext ‖ tag). The
// additional data binds it to where it is kept (a connector id and the
// secret's name), so a sealed value copied to another connector or field
// does not open.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// EnvVar is the environment variable that holds the key: 32 bytes, as 64
// hex digits or standard/URL base64.
const EnvVar = "STOCKGATE_SECRET_KEY"

// Errors.
var (
	// ErrNoKey: a sealed secret exists and no key was given.
	ErrNoKey = errors.New("seal: secrets are stored encrypted and " + EnvVar + " is not set")
	// ErrOpen: a sealed value does not open with this key and context.
	ErrOpen = errors.New("seal: cannot open the sealed value (wrong key, or not sealed here)")
)

const prefix = "v1:"

// Key seals and opens values. It is safe for concurrent use.
type Key struct{ aead cipher.AEAD }

// ParseKey parses a 32-byte key written as 64 hex digits or base64.
func ParseKey(s string) (*Key, error) {
	s = strings.TrimSpace(s)
	var raw []byte
	var err error
	switch {
	case len(s) == 64:
		raw, err = hex.DecodeString(s)
	default:
		raw, err = base64.StdEncoding.DecodeString(s)
		if err != nil {
			raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		}
	}
	if err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("seal: %s must be 32 bytes as 64 hex digits or base64 (openssl rand -hex 32)", EnvVar)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{aead: aead}, nil
}

// Seal encrypts plaintext bound to context.
func (k *Key) Seal(plaintext, context string) (string, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := k.aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return prefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value Seal made with the same key and context.
func (k *Key) Open(sealed, context string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", ErrOpen
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	n := k.aead.NonceSize()
	if err != nil || len(raw) < n+k.aead.Overhead() {
		return "", ErrOpen
	}
	pt, err := k.aead.Open(nil, raw[:n], raw[n:], []byte(context))
	if err != nil {
		return "", ErrOpen
	}
	return string(pt), nil
}
