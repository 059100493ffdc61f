package auth

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestMiddleware(t *testing.T) {
	keys := NewKeys()
	if err := keys.Add("admin-key-0123456789", Principal{Name: "ops", Role: Admin}); err != nil {
		t.Fatal(err)
	}
	if keys.Add("short", Principal{}) == nil {
		t.Fatal("a short key was accepted")
	}
	var seen Principal
	h := keys.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen, _ = FromContext(r.Context()) }))
	for _, tc := range []struct {
		name, header, upgrade string
		code                  int
		who                   string
	}{
		{"valid", "Bearer admin-key-0123456789", "", 200, "ops"},
		{"lowercase scheme", "bearer admin-key-0123456789", "", 200, "ops"},
		{"wrong", "Bearer nope-nope-nope-nope", "", 401, ""},
		{"missing", "", "", 401, ""},
		{"websocket without header", "", "websocket", 200, ""},
	} {
		seen = Principal{}
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		if tc.upgrade != "" {
			r.Header.Set("Upgrade", tc.upgrade)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.code || seen.Name != tc.who {
			t.Errorf("%s: %d as %q, want %d as %q", tc.name, w.Code, seen.Name, tc.code, tc.who)
		}
	}
	if (Principal{Role: Storefront}).Can(Admin) || !(Principal{Role: Admin}).Can(Storefront) {
		t.Fatal("role check is wrong")
	}
}

func TestBootstrapCreatesOnceWithMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, created, err := Bootstrap(dir)
	if err != nil || !created || len(k1) < 40 {
		t.Fatalf("first bootstrap: %q %v %v", k1, created, err)
	}
	fi, err := os.Stat(filepath.Join(dir, BootstrapFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", fi.Mode(), err)
	}
	k2, created, err := Bootstrap(dir)
	if err != nil || created || k2 != k1 {
		t.Fatalf("second bootstrap: %q created=%v %v; want the same key, not created", k2, created, err)
	}
}

// TestMiddlewareWatchesOnlyStreams: websockets and SSE streams are
// registered to close on revocation; a plain query costs no watch.
func TestMiddlewareWatchesOnlyStreams(t *testing.T) {
	keys := NewKeys()
	if err := keys.Add("admin-key-0123456789", Principal{Name: "ops", Role: Admin}); err != nil {
		t.Fatal(err)
	}
	var watched int
	h := keys.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		keys.mu.RLock()
		watched = len(keys.watches["config:ops"])
		keys.mu.RUnlock()
	}))
	for _, tc := range []struct {
		name, header, value string
		want                int
	}{
		{"plain query", "", "", 0},
		{"sse", "Accept", "text/event-stream", 1},
		{"websocket", "Upgrade", "websocket", 1},
	} {
		req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		req.Header.Set("Authorization", "Bearer admin-key-0123456789")
		if tc.header != "" {
			req.Header.Set(tc.header, tc.value)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
		if watched != tc.want {
			t.Errorf("%s: %d watches during the request, want %d", tc.name, watched, tc.want)
		}
	}
	if n := len(keys.watches); n != 0 {
		t.Errorf("%d watches left after the requests", n)
	}
}
