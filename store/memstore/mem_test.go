package memstore

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stockgate/stockgate/store"
)

func TestExclusive(t *testing.T) {
	if !store.New(New(nil)).Exclusive() {
		t.Error("an in-memory store does not report itself exclusive")
	}
}

func TestOpenURL(t *testing.T) {
	for _, tc := range []struct {
		url, err string
	}{
		{"mem://", ""},
		{"mem:///", ""},
		{"bolt://", "scheme"},
		{"mem://host", "no host"},
		{"mem:///path", "no host"},
		{"mem://?size=1", `unknown query parameter "size"`},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		d, err := OpenURL(u)
		if tc.err == "" {
			if err != nil {
				t.Errorf("OpenURL(%q): %v", tc.url, err)
			} else {
				d.Close()
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("OpenURL(%q): got %v, want an error with %q", tc.url, err, tc.err)
		}
	}
}
