package shopifyfake_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
)

// t0 is the fake clock's start in every test.
var t0 = time.Date(2026, 8, 7, 12, 0, 0, 0, time.UTC)

const setMutation = `mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id createdAt reason referenceDocumentUri changes { name delta } }
    userErrors { code field message }
  }
}`

const levelQuery = `query Level($item: ID!, $location: ID!) {
  inventoryItem(id: $item) {
    inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } }
  }
}`

// fake is a Server behind an httptest server, on a manual clock.
type fake struct {
	*shopifyfake.Server
	clock *shopifyfake.ManualClock
	url   string
}

func newFake(t testing.TB, opts shopifyfake.Options) *fake {
	t.Helper()
	clock := shopifyfake.NewManualClock(t0)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	s := shopifyfake.New(opts)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &fake{Server: s, clock: clock, url: ts.URL}
}

// answer is a decoded response.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (f *fake) post(t testing.TB, version, token, query string, vars map[string]any) answer {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, f.url+"/admin/api/"+version+"/graphql.json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-Shopify-Access-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: buf.Bytes()}
	dec := json.NewDecoder(bytes.NewReader(a.raw))
	dec.UseNumber()
	if err := dec.Decode(&a.body); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", resp.StatusCode, err, a.raw)
	}
	return a
}

// gql posts with the default token to API 2026-07.
func (f *fake) gql(t testing.TB, query string, vars map[string]any) answer {
	t.Helper()
	return f.post(t, "2026-07", shopifyfake.DefaultToken, query, vars)
}

// set posts the test mutation.
func (f *fake) set(t testing.TB, key string, quantities ...map[string]any) answer {
	t.Helper()
	qs := make([]any, len(quantities))
	for i, q := range quantities {
		qs[i] = q
	}
	return f.gql(t, setMutation, map[string]any{"key": key, "input": map[string]any{
		"name": "available", "reason": "correction", "referenceDocumentUri": "gid://stockgate/SyncJob/1",
		"quantities": qs,
	}})
}

// qty is one InventoryQuantityInput; changeFrom "omit" leaves the field out.
func qty(item, loc int64, quantity int64, changeFrom any) map[string]any {
	m := map[string]any{
		"inventoryItemId": fmt.Sprintf("gid://shopify/InventoryItem/%d", item),
		"locationId":      fmt.Sprintf("gid://shopify/Location/%d", loc),
		"quantity":        quantity,
	}
	if changeFrom != "omit" {
		m["changeFromQuantity"] = changeFrom
	}
	return m
}

// get walks a decoded body: keys for objects, ints for arrays.
func get(t testing.TB, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %q: not an object: %v", k, v)
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("no key %q in %v", k, m)
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at %d: not a long enough array: %v", k, v)
			}
			v = l[k]
		}
	}
	return v
}

func num(t testing.TB, v any) float64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a number", v, v)
	}
	f, err := n.Float64()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// cost checks that extensions.cost is complete and returns it.
func cost(t testing.TB, a answer) (requested float64, actual *float64, status [3]float64) {
	t.Helper()
	c := get(t, a.body, "extensions", "cost")
	requested = num(t, get(t, c, "requestedQueryCost"))
	if v := get(t, c, "actualQueryCost"); v != nil {
		x := num(t, v)
		actual = &x
	}
	for i, k := range []string{"maximumAvailable", "currentlyAvailable", "restoreRate"} {
		status[i] = num(t, get(t, c, "throttleStatus", k))
	}
	return requested, actual, status
}

func userErrorCodes(t testing.TB, a answer) []string {
	t.Helper()
	var codes []string
	for _, e := range get(t, a.body, "data", "inventorySetQuantities", "userErrors").([]any) {
		codes = append(codes, get(t, e, "code").(string))
	}
	return codes
}

func topErrorCode(t testing.TB, a answer) string {
	t.Helper()
	code, _ := get(t, a.body, "errors", 0, "extensions").(map[string]any)["code"].(string)
	return code
}
