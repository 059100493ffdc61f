package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/shopify"
	"github.com/stockgate/stockgate/event"
)

// TestWebhookPassesTheShopifyConnector runs a built delivery through the
// gateway's own Shopify connector: the signature verifies, and it
// normalizes to one order.committed of quantity 1 for the SKU at the
// default location.
func TestWebhookPassesTheShopifyConnector(t *testing.T) {
	t.Parallel()
	const secret = "subs-test-secret"
	h := hookMaker{secret: secret, shop: "example.myshopify.com", run: 0x8abc0001}
	conn, err := shopify.New(shopify.Config{ID: "shop", Secrets: []string{secret}, Shop: "example.myshopify.com", DefaultLocation: "web"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 26, 10, 0, 0, 5, time.UTC)
	ids := map[string]bool{}
	for seq := int64(1); seq <= 2; seq++ {
		body := h.appendBody(nil, seq, "subs-8abc0001-17", at)
		hd := h.header(seq, body, at)
		req := &connectors.Request{Header: hd, Body: body, URL: "http://127.0.0.1:8090/webhooks/shop", ReceivedAt: at}
		if err := conn.Verify(req); err != nil {
			t.Fatalf("Verify: %v\n%s", err, body)
		}
		res, err := conn.Normalize(context.Background(), req)
		if err != nil {
			t.Fatalf("Normalize: %v\n%s", err, body)
		}
		if len(res.Events) != 1 || len(res.Unmapped) != 0 {
			t.Fatalf("normalized to %d events, %d unmapped, want 1, 0", len(res.Events), len(res.Unmapped))
		}
		ev := res.Events[0]
		if m := ev.Movement; ev.Type != event.OrderCommitted || m.SKU != "subs-8abc0001-17" || m.Quantity != 1 || m.Location != "web" {
			t.Errorf("event = %s %+v", ev.Type, ev.Movement)
		}
		if ids[ev.ID()] || ids[res.DedupKey] {
			t.Errorf("delivery %d repeats an event id or dedup key of delivery 1", seq)
		}
		ids[ev.ID()], ids[res.DedupKey] = true, true
		if got := hd.Get(shopify.HeaderEventID); len(got) != 36 || strings.Count(got, "-") != 4 {
			t.Errorf("event id %q is not UUID-shaped", got)
		}
	}

	// Signed with another secret, it is refused.
	other := hookMaker{secret: "another", shop: h.shop, run: h.run}
	body := other.appendBody(nil, 3, "x", at)
	if err := conn.Verify(&connectors.Request{Header: other.header(3, body, at), Body: body}); !errors.Is(err, connectors.ErrUnauthorized) {
		t.Errorf("Verify with a wrong secret = %v, want ErrUnauthorized", err)
	}
}
