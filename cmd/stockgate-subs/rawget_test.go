package main

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stockgate/stockgate/internal/rawhttp"
)

// TestAvailabilityAnswer checks the answers the -qps run accepts.
func TestAvailabilityAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		code       int
		want       error // nil: accepted; errSlowPath: some error
	}{
		{"fast path", `{"data":{"availability":{"sku":"s1","location":"web","committed":2,"available":-2,"seq":2}}}`, 200, nil},
		{"escaped", `{"data":{"availability":{"sku":"s\u0031","location":"web","committed":2,"available":-2,"seq":2}}}`, 200, nil},
		{"another SKU", `{"data":{"availability":{"sku":"s2","location":"web","committed":2,"available":-2,"seq":2}}}`, 200, errSlowPath},
		{"not persisted", `{"errors":[{"message":"PersistedQueryNotFound","extensions":{"code":"PERSISTED_QUERY_NOT_FOUND"}}],"data":null}`, 200, errNotPersisted},
		{"other error", `{"errors":[{"message":"no","extensions":{"code":"FORBIDDEN"}}],"data":null}`, 200, errSlowPath},
		{"null", `{"data":{"availability":null}}`, 200, errSlowPath},
		{"not JSON", `oops`, 502, errSlowPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := availabilityAnswer(tc.code, []byte(tc.body), "s1")
			switch {
			case tc.want == nil && (err != nil || c.Committed != 2):
				t.Errorf("got %+v, %v; want committed 2", c, err)
			case tc.want == errNotPersisted && !errors.Is(err, errNotPersisted):
				t.Errorf("got %v, want errNotPersisted", err)
			case tc.want == errSlowPath && (err == nil || errors.Is(err, errNotPersisted)):
				t.Errorf("got %v, want an error", err)
			}
		})
	}
}

// TestQuerierRawGetReregisters checks that a hash the gateway forgot is
// registered again with a POST, as Apollo clients do, and the GET then
// answered.
func TestQuerierRawGetReregisters(t *testing.T) {
	g := newFakeGateway(t, "s", "k")
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	q := newQuerier(newHTTPClient(1), srv.URL, "k", "web")
	u, _ := url.Parse(q.url("sku-1"))
	req := rawGet(u.Host, u.RequestURI(), "Authorization: "+q.auth+"\r\n")
	rg, err := rawhttp.New(srv.URL, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer rg.Close()
	var buf bytes.Buffer
	for range 2 {
		if err := q.rawGet(context.Background(), rg, req, "sku-1", &buf); err != nil {
			t.Fatal(err)
		}
	}
	g.mu.Lock()
	hits := g.hits
	g.mu.Unlock()
	if n := q.registered.Load(); n != 1 || hits != 2 {
		t.Errorf("%d registrations and %d hashed queries answered, want 1 and 2", n, hits)
	}
}
