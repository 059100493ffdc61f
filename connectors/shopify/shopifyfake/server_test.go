package shopifyfake_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
)

func TestSetQuantitiesApplies(t *testing.T) {
	t.Parallel()
	f := newFake(t, shopifyfake.Options{})
	f.SetLevel(808950810, 655441491, 42)
	a := f.set(t, "k1", qty(808950810, 655441491, 41, 42), qty(7, 655441491, 3, nil))
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.raw)
	}
	if codes := userErrorCodes(t, a); len(codes) != 0 {
		t.Fatalf("userErrors %v", codes)
	}
	group := get(t, a.body, "data", "inventorySetQuantities", "inventoryAdjustmentGroup")
	if id := get(t, group, "id"); id != "gid://shopify/InventoryAdjustmentGroup/1" {
		t.Errorf("group id %v", id)
	}
	if at := get(t, group, "createdAt"); at != "2026-08-07T12:00:00Z" {
		t.Errorf("createdAt %v", at)
	}
	if d := num(t, get(t, group, "changes", 0, "delta")); d != -1 {
		t.Errorf("first change delta %v, want -1", d)
	}
	if n := len(get(t, group, "changes").([]any)); n != 4 {
		t.Errorf("%d changes, want available and on_hand per quantity", n)
	}
	for _, c := range []struct{ item, want int64 }{{808950810, 41}, {7, 3}} {
		if got, ok := f.Level(c.item, 655441491); !ok || got != c.want {
			t.Errorf("level of %d = %d, %v; want %d", c.item, got, ok, c.want)
		}
	}
	// The response keeps the selection order.
	if !strings.HasPrefix(string(a.raw), `{"data":{"inventorySetQuantities":{"inventoryAdjustmentGroup":{"id":`) {
		t.Errorf("order: %s", a.raw)
	}
	if st := f.Stats(); st.Applied != 2 || st.Mutations != 1 || st.Requests != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSetQuantitiesUserErrorsApplyNothing(t *testing.T) {
	t.Parallel()
	const loc = 1
	cases := []struct {
		name      string
		version   string
		opts      shopifyfake.Options
		input     map[string]any
		codes     []string
		wantField []any
	}{
		{
			name:  "stale changeFromQuantity fails the whole call",
			input: input("available", qty(1, loc, 5, 10), qty(2, loc, 6, 999)),
			codes: []string{"CHANGE_FROM_QUANTITY_STALE"}, wantField: []any{"input", "quantities", "1", "changeFromQuantity"},
		},
		{
			name:  "changeFromQuantity missing from 2026-04",
			input: input("available", qty(1, loc, 5, "omit")),
			codes: []string{"COMPARE_QUANTITY_REQUIRED"}, wantField: []any{"input", "quantities", "0", "changeFromQuantity"},
		},
		{
			name:  "duplicate pair",
			input: input("available", qty(1, loc, 5, nil), qty(1, loc, 6, nil)),
			codes: []string{"NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR"}, wantField: []any{"input", "quantities", "1"},
		},
		{
			name:  "every problem at once",
			input: input("committed", qty(1, loc, 1_000_000_001, nil), map[string]any{"inventoryItemId": "gid://shopify/Product/1", "locationId": "9", "quantity": 1, "changeFromQuantity": nil}),
			codes: []string{"INVALID_NAME", "INVALID_QUANTITY_TOO_HIGH", "INVALID_INVENTORY_ITEM", "INVALID_LOCATION"},
		},
		{
			name:  "unknown level with RequireStocked",
			opts:  shopifyfake.Options{RequireStocked: true},
			input: input("available", qty(1, 2, 5, nil), qty(3, loc, 5, nil)),
			codes: []string{"ITEM_NOT_STOCKED_AT_LOCATION", "INVALID_INVENTORY_ITEM"},
		},
		{
			name:    "2025-10: compareQuantity required",
			version: "2025-10",
			input:   input("available", map[string]any{"inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": "gid://shopify/Location/1", "quantity": 4}),
			codes:   []string{"COMPARE_QUANTITY_REQUIRED"},
		},
		{
			name:    "2026-01: compareQuantity stale without changeFromQuantity",
			version: "2026-01",
			input:   input("available", map[string]any{"inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": "gid://shopify/Location/1", "quantity": 4, "compareQuantity": 3}),
			codes:   []string{"COMPARE_QUANTITY_STALE"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, c.opts)
			f.SetLevel(1, loc, 10)
			f.SetLevel(2, loc, 20)
			version := c.version
			if version == "" {
				version = "2026-07"
			}
			query, vars := setMutation, map[string]any{"key": "k", "input": c.input}
			if version < "2026-01" {
				query, vars = strings.Replace(setMutation, " @idempotent(key: $key)", "", 1), map[string]any{"input": c.input, "key": "unused"}
				query = strings.Replace(query, ", $key: String!", "", 1)
				delete(vars, "key")
			}
			a := f.post(t, version, shopifyfake.DefaultToken, query, vars)
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.raw)
			}
			if got := userErrorCodes(t, a); !slices.Equal(got, c.codes) {
				t.Fatalf("codes %v, want %v: %s", got, c.codes, a.raw)
			}
			if c.wantField != nil {
				field := get(t, a.body, "data", "inventorySetQuantities", "userErrors", 0, "field")
				if fmt.Sprint(field) != fmt.Sprint(c.wantField) {
					t.Errorf("field %v, want %v", field, c.wantField)
				}
			}
			if g := get(t, a.body, "data", "inventorySetQuantities", "inventoryAdjustmentGroup"); g != nil {
				t.Errorf("adjustment group %v, want null", g)
			}
			if got, _ := f.Level(1, loc); got != 10 {
				t.Errorf("level 1 = %d, want 10 (nothing applied)", got)
			}
			if got, _ := f.Level(2, loc); got != 20 {
				t.Errorf("level 2 = %d, want 20 (nothing applied)", got)
			}
			if st := f.Stats(); st.Applied != 0 || st.UserErrors != 1 {
				t.Errorf("stats %+v", st)
			}
			if req, act, _ := cost(t, a); req != 13 || act == nil || *act != 11 {
				t.Errorf("cost requested %v actual %v, want 13 and 11 (null group not charged)", req, act)
			}
		})
	}
}

func input(name string, qs ...map[string]any) map[string]any {
	l := make([]any, len(qs))
	for i, q := range qs {
		l[i] = q
	}
	return map[string]any{"name": name, "reason": "correction", "quantities": l}
}

func TestChangeFromNullSkipsCheck(t *testing.T) {
	t.Parallel()
	f := newFake(t, shopifyfake.Options{})
	f.SetLevel(1, 1, 10)
	if codes := userErrorCodes(t, f.set(t, "k", qty(1, 1, 3, nil))); len(codes) != 0 {
		t.Fatalf("userErrors %v", codes)
	}
	if got, _ := f.Level(1, 1); got != 3 {
		t.Fatalf("level %d", got)
	}
}

func TestInputFieldsByVersion(t *testing.T) {
	t.Parallel()
	f := newFake(t, shopifyfake.Options{})
	// compareQuantity no longer exists from 2026-04 (ref §4.2).
	q := qty(1, 1, 3, nil)
	q["compareQuantity"] = 0
	a := f.set(t, "k", q)
	want := "Variable $input of type InventorySetQuantitiesInput! was provided invalid value for quantities.0.compareQuantity (Field is not defined on InventoryQuantityInput)"
	if msg := get(t, a.body, "errors", 0, "message"); msg != want {
		t.Fatalf("message %q", msg)
	}
	if _, ok := a.body["data"]; ok {
		t.Fatalf("request error with data: %s", a.raw)
	}
	// and the directive does not exist before 2026-01.
	a = f.post(t, "2025-10", shopifyfake.DefaultToken, setMutation, map[string]any{"key": "k", "input": input("available", qty(1, 1, 3, "omit"))})
	if code := topErrorCode(t, a); code != "undefinedDirective" {
		t.Fatalf("code %q: %s", code, a.raw)
	}
	if st := f.Stats(); st.Mutations != 0 || st.Applied != 0 {
		t.Fatalf("request errors ran the mutation: %+v", st)
	}
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	f := newFake(t, shopifyfake.Options{})
	f.SetLevel(1, 1, 10)
	first := f.set(t, "key-1", qty(1, 1, 5, 10))
	f.clock.Advance(time.Minute)
	f.SetLevel(1, 1, 10) // someone else restores 10; a replay must not apply again
	again := f.set(t, "key-1", qty(1, 1, 5, 10))
	if a, b := get(t, first.body, "data"), get(t, again.body, "data"); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("replay differs:\n%v\n%v", a, b)
	}
	if got, _ := f.Level(1, 1); got != 10 {
		t.Fatalf("replay applied again: level %d", got)
	}
	if st := f.Stats(); st.Applied != 1 || st.Replays != 1 {
		t.Fatalf("stats %+v", st)
	}
	mismatch := f.set(t, "key-1", qty(1, 1, 6, 10))
	if codes := userErrorCodes(t, mismatch); !slices.Equal(codes, []string{"IDEMPOTENCY_KEY_PARAMETER_MISMATCH"}) {
		t.Fatalf("codes %v", codes)
	}
	// A stale outcome is remembered too: retry with a new key (ref §4.2).
	stale := f.set(t, "key-2", qty(1, 1, 7, 99))
	if codes := userErrorCodes(t, f.set(t, "key-2", qty(1, 1, 7, 99))); !slices.Equal(codes, userErrorCodes(t, stale)) {
		t.Fatalf("replayed stale outcome %v", codes)
	}
	// The key is scoped by arguments, not by the selection.
	short := `mutation($input: InventorySetQuantitiesInput!, $key: String!) {
	  inventorySetQuantities(input: $input) @idempotent(key: $key) { userErrors { code } } }`
	a := f.gql(t, short, map[string]any{"key": "key-1", "input": map[string]any{
		"name": "available", "reason": "correction", "referenceDocumentUri": "gid://stockgate/SyncJob/1",
		"quantities": []any{qty(1, 1, 5, 10)}}})
	if out := string(a.raw); !strings.HasPrefix(out, `{"data":{"inventorySetQuantities":{"userErrors":[]}}`) {
		t.Fatalf("replay through another selection: %s", out)
	}
}

func TestIdempotencyKeyRequiredFrom202604(t *testing.T) {
	t.Parallel()
	noKey := `mutation($input: InventorySetQuantitiesInput!) {
	  inventorySetQuantities(input: $input) { userErrors { code } } }`
	for _, c := range []struct {
		version string
		wantErr bool
	}{{"2026-01", false}, {"2026-04", true}, {"2026-07", true}, {"unstable", true}} {
		t.Run(c.version, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, shopifyfake.Options{})
			a := f.post(t, c.version, shopifyfake.DefaultToken, noKey, map[string]any{"input": input("available", qty(1, 1, 5, nil))})
			_, applied := f.Level(1, 1)
			if !c.wantErr {
				if applied != true || a.body["errors"] != nil {
					t.Fatalf("want applied: %s", a.raw)
				}
				return
			}
			if applied || topErrorCode(t, a) != "BAD_REQUEST" || get(t, a.body, "data", "inventorySetQuantities") != nil {
				t.Fatalf("want a runtime error, nothing applied: %s", a.raw)
			}
			if path := fmt.Sprint(get(t, a.body, "errors", 0, "path")); path != "[inventorySetQuantities]" {
				t.Fatalf("path %s", path)
			}
		})
	}
}

func TestInputArrayLimit(t *testing.T) {
	t.Parallel()
	f := newFake(t, shopifyfake.Options{})
	qs := make([]map[string]any, 251)
	for i := range qs {
		qs[i] = qty(int64(i+1), 1, 1, nil)
	}
	before := f.ThrottleStatus()
	a := f.set(t, "k", qs...)
	if a.status != http.StatusOK || topErrorCode(t, a) != "MAX_INPUT_SIZE_EXCEEDED" {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	if msg := get(t, a.body, "errors", 0, "message"); msg != "The input array size of 251 is greater than the maximum allowed of 250." {
		t.Fatalf("message %q", msg)
	}
	if path := fmt.Sprint(get(t, a.body, "errors", 0, "path")); path != "[inventorySetQuantities input quantities]" {
		t.Fatalf("path %s", path)
	}
	if _, act, st := cost(t, a); act != nil || st[1] != before.CurrentlyAvailable {
		t.Fatalf("charged: actual %v, available %v", act, st[1])
	}
	if s := f.Stats(); s.Applied != 0 || s.Mutations != 0 {
		t.Fatalf("stats %+v", s)
	}
	a = f.set(t, "k", qs[:250]...)
	if codes := userErrorCodes(t, a); len(codes) != 0 {
		t.Fatalf("250 refused: %v", codes)
	}
	if s := f.Stats(); s.Applied != 250 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCostInEveryGraphQLResponse(t *testing.T) {
	t.Parallel()
	f := newFake(t, shopifyfake.Options{MaximumAvailable: 30})
	f.SetLevel(1, 1, 10)
	type want struct {
		requested float64
		actual    any // float64 or nil
		available float64
	}
	steps := []struct {
		name string
		send func() answer
		want want
	}{
		{"mutation applied", func() answer { return f.set(t, "a", qty(1, 1, 9, 10)) }, want{13, 13.0, 17}},
		{"level read", func() answer {
			return f.gql(t, levelQuery, map[string]any{"item": "gid://shopify/InventoryItem/1", "location": "gid://shopify/Location/1"})
		}, want{3, 3.0, 14}},
		{"userErrors", func() answer { return f.set(t, "b", qty(1, 1, 9, 10)) }, want{13, 11.0, 3}},
		{"throttled", func() answer { return f.set(t, "c", qty(1, 1, 8, 9)) }, want{13, nil, 3}},
		{"request error", func() answer { return f.gql(t, `{ shop { name } }`, nil) }, want{0, nil, 3}},
		{"parse error", func() answer { return f.gql(t, `mutation {`, nil) }, want{0, nil, 3}},
	}
	for _, s := range steps {
		a := s.send()
		if a.status != http.StatusOK {
			t.Fatalf("%s: status %d", s.name, a.status)
		}
		req, act, st := cost(t, a)
		var gotActual any
		if act != nil {
			gotActual = *act
		}
		if req != s.want.requested || gotActual != s.want.actual || st != [3]float64{30, s.want.available, 100} {
			t.Fatalf("%s: requested %v actual %v status %v; want %+v\n%s", s.name, req, gotActual, st, s.want, a.raw)
		}
	}
	if got := get(t, f.gql(t, levelQuery, map[string]any{"item": "gid://shopify/InventoryItem/1", "location": "gid://shopify/Location/1"}).body,
		"data", "inventoryItem", "inventoryLevel", "quantities", 0, "quantity"); num(t, got) != 9 {
		t.Fatalf("level read %v", got)
	}
}

func TestThrottledAsDocumented(t *testing.T) {
	t.Parallel()
	for _, status := range []int{0, http.StatusTooManyRequests} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			f := newFake(t, shopifyfake.Options{ThrottleHTTPStatus: status})
			var a answer
			calls := 0
			for ; calls < 1000; calls++ {
				a = f.set(t, fmt.Sprint("burst-", calls), qty(1, 1, int64(calls), nil))
				if a.body["errors"] != nil {
					break
				}
			}
			if calls != 2000/13 {
				t.Fatalf("throttled after %d calls, want %d (2000/13)", calls, 2000/13)
			}
			wantStatus := http.StatusOK
			if status != 0 {
				wantStatus = status
				if ra := a.header.Get("Retry-After"); ra != "1" {
					t.Fatalf("Retry-After %q", ra)
				}
			}
			if a.status != wantStatus {
				t.Fatalf("status %d", a.status)
			}
			var got map[string]any
			json.Unmarshal(a.raw, &got)
			wantBody := `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],` +
				`"extensions":{"cost":{"requestedQueryCost":13,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":2000,"currentlyAvailable":11,"restoreRate":100}}}}`
			if strings.TrimSpace(string(a.raw)) != wantBody {
				t.Fatalf("body\n%s\nwant\n%s", a.raw, wantBody)
			}
			// Waiting (requested − available)/restoreRate is enough.
			f.clock.Advance(20 * time.Millisecond) // (13 − 11) / 100 s
			if a := f.set(t, "after", qty(1, 1, 1, nil)); a.body["errors"] != nil {
				t.Fatalf("still throttled: %s", a.raw)
			}
			if st := f.Stats(); st.Throttled != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestMaxCostExceeded(t *testing.T) {
	t.Parallel()
	f := newFake(t, shopifyfake.Options{Cost: shopifyfake.CostModel{PerInputItem: 4}})
	qs := make([]map[string]any, 250)
	for i := range qs {
		qs[i] = qty(int64(i+1), 1, 1, nil)
	}
	a := f.set(t, "k", qs...)
	if topErrorCode(t, a) != "MAX_COST_EXCEEDED" {
		t.Fatalf("%s", a.raw)
	}
	if msg := get(t, a.body, "errors", 0, "message"); msg != "Query cost is 1013, which exceeds the single query max cost limit (1000)." {
		t.Fatalf("message %q", msg)
	}
	if req, act, _ := cost(t, a); req != 1013 || act != nil {
		t.Fatalf("cost %v %v", req, act)
	}
}

func TestRequestedCost(t *testing.T) {
	t.Parallel()
	s := shopifyfake.New(shopifyfake.Options{Cost: shopifyfake.CostModel{PerInputItem: 0.5}})
	vars := map[string]any{"key": "k", "input": input("available", qty(1, 1, 1, nil), qty(2, 1, 1, nil)),
		"item": "gid://shopify/InventoryItem/1", "location": "gid://shopify/Location/1"}
	for _, c := range []struct {
		query string
		want  float64
	}{
		{setMutation, 10 + 2*0.5 + 3},
		{levelQuery, 3},
		{`query { a: inventoryItem(id: "gid://shopify/InventoryItem/1") { id } b: inventoryItem(id: "gid://shopify/InventoryItem/2") { id tracked } }`, 2},
	} {
		got, err := s.RequestedCost("2026-07", c.query, vars)
		if err != nil || got != c.want {
			t.Errorf("RequestedCost = %v, %v; want %v\n%s", got, err, c.want, c.query)
		}
	}
	if _, err := s.RequestedCost("2026-07", `{ nope }`, nil); err == nil {
		t.Error("no error for an undefined field")
	}
}

func TestRequestErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t, shopifyfake.Options{})
	for _, c := range []struct {
		query, code, message string
	}{
		{`{ inventoryItem(id: "gid://shopify/InventoryItem/1") { sku } }`, "undefinedField", "Field 'sku' doesn't exist on type 'InventoryItem'"},
		{`{ inventoryItem(id: "gid://shopify/InventoryItem/1") { inventoryLevel(locationId: "x") } }`, "selectionMismatch", ""},
		{`{ inventoryItem { id } }`, "missingRequiredArguments", "Field 'inventoryItem' is missing required arguments: id"},
		{`{ inventoryItem(id: "1", first: 2) { id } }`, "argumentNotAccepted", ""},
		{`query($x: ID!) { inventoryItem(id: $y) { id } }`, "variableNotDefined", ""},
		{`{ inventoryItem(id: "gid://shopify/InventoryItem/1") @idempotent(key: "k") { id } }`, "directiveCannotBeApplied", ""},
	} {
		a := f.gql(t, c.query, map[string]any{"x": "1"})
		if got := topErrorCode(t, a); got != c.code {
			t.Errorf("%s: code %q, want %q: %s", c.query, got, c.code, a.raw)
		}
		if c.message != "" && get(t, a.body, "errors", 0, "message") != c.message {
			t.Errorf("%s: message %v", c.query, get(t, a.body, "errors", 0, "message"))
		}
	}
}

func TestLevelRead(t *testing.T) {
	t.Parallel()
	f := newFake(t, shopifyfake.Options{RequireStocked: true})
	f.SetLevel(808950810, 655441491, 42)
	read := func(item, loc int64) any {
		a := f.gql(t, `query($item: ID!, $location: ID!) {
		  inventoryItem(id: $item) { __typename id inventoryLevel(locationId: $location) {
		    id q: quantities(names: ["available", "on_hand", "committed", "bogus"]) { name quantity } } } }`,
			map[string]any{"item": fmt.Sprintf("gid://shopify/InventoryItem/%d", item), "location": fmt.Sprintf("gid://shopify/Location/%d", loc)})
		return get(t, a.body, "data", "inventoryItem")
	}
	got, _ := json.Marshal(read(808950810, 655441491))
	want := `{"__typename":"InventoryItem","id":"gid://shopify/InventoryItem/808950810","inventoryLevel":{"id":"gid://shopify/InventoryLevel/655441491?inventory_item_id=808950810",` +
		`"q":[{"name":"available","quantity":42},{"name":"on_hand","quantity":42},{"name":"committed","quantity":0}]}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if lv := get(t, read(808950810, 1), "inventoryLevel"); lv != nil {
		t.Fatalf("unstocked level %v", lv)
	}
	if item := read(1, 655441491); item != nil {
		t.Fatalf("unknown item %v", item)
	}
}

func TestTransportAnswers(t *testing.T) {
	t.Parallel()
	f := newFake(t, shopifyfake.Options{Token: "shpat_right"})
	a := f.post(t, "2026-07", "shpat_wrong", levelQuery, nil)
	if a.status != http.StatusUnauthorized ||
		a.body["errors"] != "[API] Invalid API key or access token (unrecognized login or wrong password)" {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	if _, ok := a.body["extensions"]; ok {
		t.Fatal("401 with cost")
	}
	if a := f.post(t, "2026-05", "shpat_right", levelQuery, nil); a.status != http.StatusNotFound {
		t.Fatalf("unknown version: %d", a.status)
	}
	resp, err := http.Get(f.url + "/admin/api/2026-07/graphql.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

func TestSetDown(t *testing.T) {
	t.Parallel()
	f := newFake(t, shopifyfake.Options{})
	f.SetDown(http.StatusServiceUnavailable, t0.Add(time.Minute))
	a := f.gql(t, levelQuery, map[string]any{"item": "gid://shopify/InventoryItem/1", "location": "gid://shopify/Location/1"})
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "60" {
		t.Fatalf("%d %v %s", a.status, a.header, a.raw)
	}
	f.clock.Advance(59500 * time.Millisecond)
	if a := f.gql(t, levelQuery, nil); a.header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", a.header.Get("Retry-After"))
	}
	f.clock.Advance(time.Second)
	if a := f.gql(t, levelQuery, map[string]any{"item": "gid://shopify/InventoryItem/1", "location": "gid://shopify/Location/1"}); a.status != http.StatusOK {
		t.Fatalf("after the outage: %d", a.status)
	}
	if st := f.Stats(); st.Down != 2 || st.Requests != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStartClose(t *testing.T) {
	t.Parallel()
	s := shopifyfake.New(shopifyfake.Options{})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Fatal("second Start")
	}
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %q", s.URL())
	}
	f := &fake{Server: s, url: s.URL()}
	if a := f.gql(t, levelQuery, map[string]any{"item": "gid://shopify/InventoryItem/1", "location": "gid://shopify/Location/1"}); a.status != http.StatusOK {
		t.Fatalf("%d", a.status)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := s.Start(); err == nil {
		t.Fatal("Start after Close")
	}
}
