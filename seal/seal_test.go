package seal

import (
	"errors"
	"strings"
	"testing"
)

const hexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func TestSealOpen(t *testing.T) {
	k, err := ParseKey(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	s, err := k.Seal("shpss_secret", "shop-eu/webhook/0")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s, "shpss_secret") || !strings.HasPrefix(s, "v1:") {
		t.Fatalf("sealed = %q", s)
	}
	again, _ := k.Seal("shpss_secret", "shop-eu/webhook/0")
	if again == s {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	if got, err := k.Open(s, "shop-eu/webhook/0"); err != nil || got != "shpss_secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(s, "shop-us/webhook/0"); !errors.Is(err, ErrOpen) {
		t.Fatalf("opened under another context: %v", err)
	}
	other, _ := ParseKey(strings.Repeat("ab", 32))
	if _, err := other.Open(s, "shop-eu/webhook/0"); !errors.Is(err, ErrOpen) {
		t.Fatalf("opened with another key: %v", err)
	}
	// Change one character in the middle, which always changes 6 bits of
	// the ciphertext (replacing the last two could leave them as they were).
	mid := len(s) / 2
	flip := byte('A')
	if s[mid] == flip {
		flip = 'B'
	}
	tampered := s[:mid] + string(flip) + s[mid+1:]
	if _, err := k.Open(tampered, "shop-eu/webhook/0"); !errors.Is(err, ErrOpen) {
		t.Fatalf("opened a tampered value: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	for _, ok := range []string{hexKey, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"} {
		if _, err := ParseKey(ok); err != nil {
			t.Errorf("ParseKey(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "short", strings.Repeat("zz", 32), "AAECAwQ="} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}
