package main

import (
	"strings"
	"testing"
)

// TestComplexityCountsEveryItemOfAPage: a paged field costs its selection
// once per item it may return, so under the default limit (10,000) one
// full page of 500 detailed ledger entries is served and three aliased
// pages of 250 are refused, as are 20 aliases of a default page (50).
func TestComplexityCountsEveryItemOfAPage(t *testing.T) {
	base := startGateway(t, "--config", writeConfig(t, t.TempDir(), ""))
	const node = `edges { cursor node { seq eventType outcome reason delta { onHand committed available } result { onHand committed available } } } pageInfo { hasNextPage endCursor }`
	for _, tc := range []struct {
		query   string
		refused bool
	}{
		{`{ history(sku: "SKU-C", location: "web", first: 500) { ` + node + ` } }`, false},
		{`{ a: history(sku: "SKU-C", location: "web", first: 250) { ` + node + ` } b: history(sku: "SKU-C", location: "web", first: 250) { ` + node + ` } c: history(sku: "SKU-C", location: "web", first: 250) { ` + node + ` } }`, true},
		{`{ a: history(sku: "SKU-C", location: "web", first: 500) { edges { node { seq } } } b: history(sku: "SKU-C", location: "web", first: 500) { edges { node { seq } } } }`, false},
		{`{ a: history(sku: "SKU-C", location: "web") { ` + node + ` } b: alerts(first: 100) { id kind message } }`, false},
		{`{ alerts(first: 500) { id kind sku location eventId message createdAt } }`, false},
		{`{ a: alerts(first: 500) { id kind sku location eventId message createdAt } b: alerts(first: 500) { id kind sku location eventId message createdAt } c: alerts(first: 500) { id kind sku location eventId message createdAt } }`, true},
	} {
		errs := gql(t, base, testAdminKey, tc.query, nil, nil)
		refused := len(errs) > 0 && errs[0].Extensions["code"] == "COMPLEXITY_LIMIT_EXCEEDED"
		if refused != tc.refused || (!refused && len(errs) > 0) {
			t.Errorf("%.90s…: errors %+v, want refused %v", tc.query, errs, tc.refused)
		}
	}
	var aliases strings.Builder
	aliases.WriteString("{")
	for i := range 20 {
		aliases.WriteString(" h" + strings.Repeat("x", i) + `: history(sku: "SKU-C", location: "web") { ` + node + ` }`)
	}
	aliases.WriteString(" }")
	errs := gql(t, base, testStoreKey, aliases.String(), nil, nil)
	if len(errs) == 0 || errs[0].Extensions["code"] != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Fatalf("20 aliases of a default page of 50 detailed entries: %+v", errs)
	}
	t.Log(errs[0].Message)
}
