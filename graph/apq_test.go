package graph

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/auth"
	"github.com/stockgate/stockgate/live"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

const apqQuery = `query A($sku: String!) { availability(sku: $sku, location: "web") { sku onHand } }`

func apqHash(q string) string {
	s := sha256.Sum256([]byte(q))
	return hex.EncodeToString(s[:])
}

// apqResult is a GraphQL answer as the tests read it.
type apqResult struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	} `json:"errors"`
}

// TestPersistedQueriesProtocol runs the automatic persisted query flow of
// Apollo clients (https://github.com/apollographql/apollo-link-persisted-queries#protocol)
// against NewHandler over HTTP, hash-only requests as GET (Apollo
// Client's useGETForHashedQueries) and as POST (its default).
func TestPersistedQueriesProtocol(t *testing.T) {
	srv, key := apqServer(t)
	hash := apqHash(apqQuery)
	ext := func(version any, hash string) string {
		b, _ := json.Marshal(map[string]any{"persistedQuery": map[string]any{"version": version, "sha256Hash": hash}})
		return string(b)
	}
	get := func(t *testing.T, query, extensions string) apqResult {
		t.Helper()
		v := url.Values{"variables": {`{"sku":"s1"}`}, "extensions": {extensions}}
		if query != "" {
			v.Set("query", query)
		}
		return apqDo(t, srv.URL, key, http.MethodGet, "?"+v.Encode(), nil)
	}
	post := func(t *testing.T, query, extensions string) apqResult {
		t.Helper()
		body := map[string]any{"variables": map[string]string{"sku": "s1"}, "extensions": json.RawMessage(extensions)}
		if query != "" {
			body["query"] = query
		}
		b, _ := json.Marshal(body)
		return apqDo(t, srv.URL, key, http.MethodPost, "", b)
	}
	wantErr := func(t *testing.T, r apqResult, msg, code string) {
		t.Helper()
		if len(r.Errors) != 1 || r.Errors[0].Message != msg || r.Errors[0].Extensions.Code != code {
			t.Errorf("got %+v, want one error %q with code %s", r, msg, code)
		}
	}
	wantData := func(t *testing.T, r apqResult) {
		t.Helper()
		if len(r.Errors) != 0 || string(r.Data) != `{"availability":{"sku":"s1","onHand":7}}` {
			t.Errorf("got data %s, errors %+v; want s1 with on hand 7", r.Data, r.Errors)
		}
	}

	// An unknown hash: the answer Apollo clients react to by sending the
	// query (they match the message or the code).
	wantErr(t, get(t, "", ext(1, hash)), "PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
	wantErr(t, post(t, "", ext(1, hash)), "PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")

	// A query with another query's hash is refused and not registered.
	other := apqHash(apqQuery + " ")
	wantErr(t, post(t, apqQuery, ext(1, other)), "provided APQ hash does not match query", CodeBadUserInput)
	wantErr(t, get(t, apqQuery, ext(1, strings.ToUpper(hash))), "provided APQ hash does not match query", CodeBadUserInput)
	wantErr(t, get(t, "", ext(1, other)), "PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
	wantErr(t, post(t, apqQuery, ext(2, hash)), "unsupported APQ version", CodeBadUserInput)
	wantErr(t, post(t, apqQuery, `{"persistedQuery":"`+hash+`"}`), "invalid APQ extension data", CodeBadUserInput)
	wantErr(t, get(t, "", ext(1, hash)), "PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")

	// Registering (the query with its hash), then the hash alone, by GET
	// and by POST.
	wantData(t, post(t, apqQuery, ext(1, hash)))
	wantData(t, get(t, "", ext(1, hash)))
	wantData(t, post(t, "", ext(1, hash)))
	wantData(t, get(t, apqQuery, ext(1, hash))) // the query again: still fine

	// A query registered by GET (Apollo with useGETForHashedQueries and a
	// GET retry) works as well.
	q2 := strings.Replace(apqQuery, "onHand", "onHand ", 1)
	wantErr(t, get(t, "", ext(1, apqHash(q2))), "PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
	wantData(t, get(t, q2, ext(1, apqHash(q2))))
	wantData(t, post(t, "", ext(1, apqHash(q2))))

	// Requests without the extension are untouched.
	wantData(t, post(t, apqQuery, `{}`))
}

// apqServer serves NewHandler behind the auth middleware over a memstore
// with SKU s1 at location web, on hand 7; it returns a storefront key.
func apqServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	st := store.New(memstore.New(nil))
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC()
	k := store.Key{SKU: "s1", Location: "web"}
	q := store.Quantities{OnHand: 7, Available: 7}
	if err := st.Commit(context.Background(), store.Commit{
		EventID: "apq-seed",
		Entry: &store.Entry{Key: k, Seq: 1, EventID: "apq-seed", EventType: "com.stockgate.stock.received.v1", Connector: "admin",
			Outcome: store.OutcomeApplied, Delta: q, Result: q, OccurredAt: now, RecordedAt: now},
		Projection: &store.Projection{Key: k, Quantities: q, Seq: 1, UpdatedAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	const key = "apq-storefront-key-0123456789abcdef"
	keys := auth.NewKeys()
	if err := keys.Add(key, auth.Principal{ID: "config:apq", Name: "apq", Role: auth.Storefront}); err != nil {
		t.Fatal(err)
	}
	h := NewHandler(&Resolver{Store: st, Hub: live.NewHub(), Keys: keys}, &HandlerOptions{Keys: keys})
	srv := httptest.NewServer(keys.Middleware(h))
	t.Cleanup(srv.Close)
	return srv, key
}

// apqDo sends one request to /graphql and decodes the answer, which must
// be 200.
func apqDo(t *testing.T, base, key, method, query string, body []byte) apqResult {
	t.Helper()
	req, err := http.NewRequest(method, base+"/graphql"+query, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r apqResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d, %v", method, query, resp.StatusCode, err)
	}
	return r
}
