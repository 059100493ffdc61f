package graph

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/auth"
	"github.com/stockgate/stockgate/live"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/boltstore"
)

// benchQuery is a storefront's availability read, as the -qps mode of
// cmd/stockgate-subs sends it.
const benchQuery = `query Availability($sku: String!, $location: String!) { availability(sku: $sku, location: $location) { sku location onHand committed available seq } }`

// benchSKUs is how many SKUs the benchmark store holds and the clients
// spread their queries over.
const benchSKUs = 1000

// BenchmarkAvailabilityHTTP measures availability queries per second
// through a real net/http server on loopback in front of NewHandler and
// the auth middleware, over a bbolt store, with b.RunParallel clients on
// the same cores (the figure is for server and clients together).
//
//   - apq-get: automatic persisted queries as Apollo clients send them: a
//     GET with only the query's SHA-256 in extensions.persistedQuery
//     (Apollo Client's PersistedQueryLink with useGETForHashedQueries;
//     https://www.apollographql.com/docs/react/api/link/persisted-queries),
//     registered once beforehand.
//   - full-get, full-post: the same query sent in full, the baseline for
//     the ratio.
//
// Each query asks for one of benchSKUs SKUs and the answer is checked to
// be that SKU's row.
func BenchmarkAvailabilityHTTP(b *testing.B) {
	srv, key := benchGateway(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}}
	b.Cleanup(client.CloseIdleConnections)
	sum := sha256.Sum256([]byte(benchQuery))
	ext := `{"persistedQuery":{"version":1,"sha256Hash":"` + hex.EncodeToString(sum[:]) + `"}}`

	// What each answer must hold: the SKU's own row (its on hand is its
	// number, see benchGateway).
	want := make([][]byte, benchSKUs)
	vars := make([]string, benchSKUs)
	for i := range benchSKUs {
		want[i] = []byte(`{"data":{"availability":{"sku":"` + benchSKU(i) + `","location":"web","onHand":` + strconv.Itoa(i) + `,`)
		vars[i] = `{"sku":"` + benchSKU(i) + `","location":"web"}`
	}
	getURLs := func(params func(i int) url.Values) []string {
		out := make([]string, benchSKUs)
		for i := range out {
			out[i] = srv.URL + "/graphql?" + params(i).Encode()
		}
		return out
	}
	apq := getURLs(func(i int) url.Values {
		return url.Values{"operationName": {"Availability"}, "variables": {vars[i]}, "extensions": {ext}}
	})
	full := getURLs(func(i int) url.Values {
		return url.Values{"operationName": {"Availability"}, "variables": {vars[i]}, "query": {benchQuery}}
	})
	posts := make([][]byte, benchSKUs)
	for i := range posts {
		posts[i] = []byte(`{"operationName":"Availability","query":` + strconv.Quote(benchQuery) + `,"variables":` + vars[i] + `}`)
	}

	// Register the persisted query the way Apollo does after
	// PERSISTED_QUERY_NOT_FOUND: the full query with its hash, as a POST.
	var buf bytes.Buffer
	if code, body := benchDo(b, client, key, http.MethodGet, apq[0], nil, &buf); code != http.StatusOK || !strings.Contains(body, "PERSISTED_QUERY_NOT_FOUND") {
		b.Fatalf("unregistered hash: %d %s, want PERSISTED_QUERY_NOT_FOUND", code, body)
	}
	reg := []byte(`{"operationName":"Availability","query":` + strconv.Quote(benchQuery) + `,"variables":` + vars[0] + `,"extensions":` + ext + `}`)
	if code, body := benchDo(b, client, key, http.MethodPost, srv.URL+"/graphql", reg, &buf); code != http.StatusOK || !strings.HasPrefix(body, string(want[0])) {
		b.Fatalf("registering: %d %s", code, body)
	}

	run := func(b *testing.B, method string, urls []string, bodies [][]byte) {
		b.ReportAllocs()
		b.SetParallelism(8) // 8 clients per core
		var (
			mu   sync.Mutex
			next int
		)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			mu.Lock()
			i := next * 97
			next++
			mu.Unlock()
			var buf bytes.Buffer
			for pb.Next() {
				i = (i + 1) % benchSKUs
				u, body := srv.URL+"/graphql", []byte(nil)
				if urls != nil {
					u = urls[i]
				} else {
					body = bodies[i]
				}
				code, got := benchDoBytes(client, key, method, u, body, &buf)
				if code != http.StatusOK || !bytes.HasPrefix(got, want[i]) || bytes.Contains(got, []byte(`"errors"`)) {
					b.Errorf("%s %s: %d %s, want %s…", method, benchSKU(i), code, got, want[i])
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
	}
	b.Run("apq-get", func(b *testing.B) { run(b, http.MethodGet, apq, nil) })
	b.Run("full-get", func(b *testing.B) { run(b, http.MethodGet, full, nil) })
	b.Run("full-post", func(b *testing.B) { run(b, http.MethodPost, nil, posts) })
}

func benchSKU(i int) string { return fmt.Sprintf("bench-%04d", i) }

// benchGateway serves NewHandler behind the auth middleware, as server.go
// does, over a bbolt store holding benchSKUs SKUs at location "web", SKU i
// with on hand i. It returns the server and a storefront key.
func benchGateway(b *testing.B) (*httptest.Server, string) {
	b.Helper()
	d, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"), &boltstore.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	st := store.New(d)
	b.Cleanup(func() { st.Close() })
	ctx := context.Background()
	now := time.Now().UTC()
	for i := range benchSKUs {
		k := store.Key{SKU: benchSKU(i), Location: "web"}
		q := store.Quantities{OnHand: int64(i), Available: int64(i)}
		id := "bench-seed-" + strconv.Itoa(i)
		err := st.Commit(ctx, store.Commit{
			EventID: id,
			Entry: &store.Entry{Key: k, Seq: 1, EventID: id, EventType: "com.stockgate.stock.received.v1", Connector: "admin",
				Outcome: store.OutcomeApplied, Delta: q, Result: q, OccurredAt: now, RecordedAt: now},
			Projection: &store.Projection{Key: k, Quantities: q, Seq: 1, UpdatedAt: now},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	const key = "bench-storefront-key-0123456789abcdef"
	keys := auth.NewKeys()
	if err := keys.Add(key, auth.Principal{ID: "config:bench", Name: "bench", Role: auth.Storefront}); err != nil {
		b.Fatal(err)
	}
	h := NewHandler(&Resolver{Store: st, Hub: live.NewHub(), Keys: keys}, &HandlerOptions{Keys: keys, Audit: &Auditor{Store: st}})
	srv := httptest.NewServer(keys.Middleware(h))
	b.Cleanup(srv.Close)
	return srv, key
}

// benchDo sends one request and returns the status and body as a string.
func benchDo(b *testing.B, client *http.Client, key, method, u string, body []byte, buf *bytes.Buffer) (int, string) {
	b.Helper()
	code, got := benchDoBytes(client, key, method, u, body, buf)
	if code == 0 {
		b.Fatalf("%s %s: %s", method, u, got)
	}
	return code, string(got)
}

// benchDoBytes sends one request with key and reads the answer into buf;
// status 0 and the error text when no answer came.
func benchDoBytes(client *http.Client, key, method, u string, body []byte, buf *bytes.Buffer) (int, []byte) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return 0, []byte(err.Error())
	}
	return resp.StatusCode, buf.Bytes()
}
