package main

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

type historyPage struct {
	History struct {
		Edges []struct {
			Node struct {
				Seq           int64  `json:"seq"`
				EventType     string `json:"eventType"`
				SourceEventID string `json:"sourceEventId"`
				Outcome       string `json:"outcome"`
				Result        struct {
					Committed int64 `json:"committed"`
				} `json:"result"`
			} `json:"node"`
		} `json:"edges"`
		PageInfo struct {
			HasNextPage bool   `json:"hasNextPage"`
			EndCursor   string `json:"endCursor"`
		} `json:"pageInfo"`
	} `json:"history"`
}

const historyQuery = `query($sku:String!,$loc:String!,$after:String){ history(sku:$sku, location:$loc, first:500, after:$after){
  edges{ node{ seq eventType sourceEventId outcome result{ committed } } } pageInfo{ hasNextPage endCursor } } }`

func history(t testing.TB, base, sku, loc string) []string {
	t.Helper()
	var ids []string
	var after any
	for {
		var h historyPage
		if errs := gql(t, base, testAdminKey, historyQuery, map[string]any{"sku": sku, "loc": loc, "after": after}, &h); len(errs) > 0 {
			t.Fatalf("history: %+v", errs)
		}
		for _, e := range h.History.Edges {
			ids = append(ids, e.Node.SourceEventID)
		}
		if !h.History.PageInfo.HasNextPage {
			return ids
		}
		after = h.History.PageInfo.EndCursor
	}
}

func TestWebhookToSubscriberEndToEnd(t *testing.T) {
	dir := t.TempDir()
	base := startGateway(t, "--config", writeConfig(t, dir, ""))

	ws := wsSubscribe(t, base, testStoreKey, []string{"E2E-SHIRT"}, false)
	legacy := wsSubscribe(t, base, testStoreKey, []string{"E2E-SHIRT"}, true)
	sse := sseSubscribe(t, base, testStoreKey, []string{"E2E-SHIRT"})

	wh := newOrderWebhook(map[string]int{"E2E-SHIRT": 2})
	sent := time.Now()
	if code, body := post(t, wh.request(t, base)); code != http.StatusOK || !strings.Contains(body, `"accepted"`) {
		t.Fatalf("webhook answered %d %s", code, body)
	}
	isCommit := func(l level) bool { return l.SKU == "E2E-SHIRT" && l.Location == "web" && l.Committed == 2 }
	got := await(t, ws, "committed 2 over graphql-transport-ws", isCommit)
	t.Logf("webhook to subscriber: %v", time.Since(sent))
	if got.Available != -2 || got.OnHand != 0 || got.Seq != 1 {
		t.Errorf("change = %+v, want on hand 0, committed 2, available -2, seq 1", got)
	}
	await(t, legacy, "committed 2 over legacy graphql-ws", isCommit)
	await(t, sse, "committed 2 over SSE", isCommit)

	var q struct {
		Availability level `json:"availability"`
	}
	if errs := gql(t, base, testStoreKey, `{ availability(sku:"E2E-SHIRT", location:"web"){ sku location onHand committed available seq } }`, nil, &q); len(errs) > 0 {
		t.Fatal(errs)
	}
	if q.Availability.Committed != 2 || q.Availability.Available != -2 || q.Availability.Seq != 1 {
		t.Fatalf("availability query = %+v, disagrees with the subscription", q.Availability)
	}
	ids := history(t, base, "E2E-SHIRT", "web")
	if len(ids) != 1 || !strings.HasPrefix(ids[0], wh.eventID) {
		t.Fatalf("history = %v, want one entry from %s", ids, wh.eventID)
	}

	// A duplicate delivery is answered 200 and changes nothing.
	if code, body := post(t, wh.request(t, base)); code != http.StatusOK || !strings.Contains(body, `"duplicate"`) {
		t.Fatalf("duplicate answered %d %s", code, body)
	}
	// The admin path goes through the same ledger: receive 10 units.
	var adj struct {
		AdjustStock struct {
			Applied bool  `json:"applied"`
			Level   level `json:"level"`
		} `json:"adjustStock"`
	}
	if errs := gql(t, base, testAdminKey, `mutation{ adjustStock(input:{sku:"E2E-SHIRT", location:"web", delta:10, reason:"correction", idempotencyKey:"k1"}){ applied level{ onHand committed available } } }`, nil, &adj); len(errs) > 0 {
		t.Fatal(errs)
	}
	if !adj.AdjustStock.Applied || adj.AdjustStock.Level.OnHand != 10 || adj.AdjustStock.Level.Available != 8 {
		t.Fatalf("adjustStock = %+v, want applied with on hand 10, available 8", adj.AdjustStock)
	}
	await(t, ws, "on hand 10", func(l level) bool { return l.OnHand == 10 && l.Available == 8 })
	if ids := history(t, base, "E2E-SHIRT", "web"); len(ids) != 2 {
		t.Fatalf("history after duplicate + adjust has %d entries, want 2: %v", len(ids), ids)
	}
}

func TestBadWebhooksGetTheirAnswerAndChangeNothing(t *testing.T) {
	dir := t.TempDir()
	base := startGateway(t, "--config", writeConfig(t, dir, "webhooks: {maxBodyBytes: 4096}\n"))
	const sku = "E2E-BAD"

	wrongSecret := newOrderWebhook(map[string]int{sku: 1})
	wrongSecret.secret = "not-the-secret"
	noSig := newOrderWebhook(map[string]int{sku: 1}).request(t, base)
	noSig.Header.Del("X-Shopify-Hmac-Sha256")
	malformed := webhook{topic: "orders/create", eventID: "evt-malformed", body: []byte(`{"id": 1, "line_items": [`), secret: testSecret}
	wrongType := webhook{topic: "orders/create", eventID: "evt-wrongtype", body: []byte(`{"id": "x", "line_items": 7}`), secret: testSecret}
	big := webhook{topic: "orders/create", eventID: "evt-big", body: orderBody(1, map[string]int{sku + strings.Repeat("X", 5000): 1}), secret: testSecret}
	unknown := newOrderWebhook(map[string]int{sku: 1}).request(t, base)
	unknown.URL.Path = "/webhooks/nope"
	get, _ := http.NewRequest(http.MethodGet, base+"/webhooks/"+testConnector, nil)

	tests := []struct {
		name string
		req  *http.Request
		code int
		want string
	}{
		{"wrong secret", wrongSecret.request(t, base), http.StatusUnauthorized, "signature"},
		{"missing signature", noSig, http.StatusUnauthorized, "signature"},
		{"malformed JSON", malformed.request(t, base), http.StatusBadRequest, "malformed"},
		{"wrong field types", wrongType.request(t, base), http.StatusBadRequest, "malformed"},
		{"oversized", big.request(t, base), http.StatusRequestEntityTooLarge, "4096"},
		{"unknown connector", unknown, http.StatusNotFound, "unknown connector"},
		{"wrong method", get, http.StatusMethodNotAllowed, ""},
	}
	for _, tc := range tests {
		code, body := post(t, tc.req)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: answered %d %s; want %d containing %q", tc.name, code, body, tc.code, tc.want)
		}
	}
	// A good one afterwards proves the gateway was listening, and is the
	// only entry in the ledger.
	good := newOrderWebhook(map[string]int{sku: 1})
	if code, body := post(t, good.request(t, base)); code != http.StatusOK {
		t.Fatalf("good webhook answered %d %s", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ids := history(t, base, sku, "web")
		if len(ids) == 1 && strings.HasPrefix(ids[0], good.eventID) {
			break
		}
		if len(ids) > 1 || time.Now().After(deadline) {
			t.Fatalf("history = %v; want only %s", ids, good.eventID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var dl struct {
		DeadLetters []struct{ Reason string } `json:"deadLetters"`
	}
	if errs := gql(t, base, testAdminKey, `{ deadLetters { reason } }`, nil, &dl); len(errs) > 0 || len(dl.DeadLetters) != 0 {
		t.Fatalf("rejected webhooks left dead letters %+v (errs %v)", dl.DeadLetters, errs)
	}
}

func TestGraphQLRoles(t *testing.T) {
	dir := t.TempDir()
	base := startGateway(t, "--config", writeConfig(t, dir, ""))
	adjust := `mutation{ adjustStock(input:{sku:"R", location:"web", delta:1, reason:"correction"}){ eventId } }`

	errs := gql(t, base, testStoreKey, adjust, nil, nil)
	if len(errs) != 1 || errs[0].Extensions["code"] != "FORBIDDEN" {
		t.Fatalf("storefront adjustStock: errors %+v, want FORBIDDEN", errs)
	}
	if errs := gql(t, base, testAdminKey, adjust, nil, nil); len(errs) != 0 {
		t.Fatalf("admin adjustStock: %+v", errs)
	}
	if errs := gql(t, base, testStoreKey, `{ deadLetters { id } }`, nil, nil); len(errs) != 1 || errs[0].Extensions["code"] != "FORBIDDEN" {
		t.Fatalf("storefront deadLetters: %+v, want FORBIDDEN", errs)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader([]byte(`{"query":"{ availability(sku:\"R\", location:\"web\"){ onHand } }"}`)))
	req.Header.Set("Content-Type", "application/json")
	if code, _ := post(t, req); code != http.StatusUnauthorized {
		t.Fatalf("no key: %d, want 401", code)
	}
	req.Header.Set("Authorization", "Bearer wrong-key-wrong-key-wrong")
	req.Body = http.NoBody
	if code, _ := post(t, req); code != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d, want 401", code)
	}
	// The complexity limit refuses a query that is too expensive.
	var sb strings.Builder
	sb.WriteString("{")
	for i := 0; i < 200; i++ {
		sb.WriteString("h" + strconv.Itoa(i) + `: history(sku:"R", location:"web"){ edges{ node{ seq delta{ onHand committed } result{ onHand committed } } } } `)
	}
	sb.WriteString("}")
	errs = gql(t, base, testStoreKey, sb.String(), nil, nil)
	if len(errs) == 0 || errs[0].Extensions["code"] != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Fatalf("an over-complex query was not refused: %+v", errs)
	}
}
