package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify"
)

// apiVersion is the X-Shopify-API-Version of the webhooks (reference
// shopify.md §2.1: the API version of the subscription).
const apiVersion = "2026-07"

// hookMaker builds the run's signed orders/create deliveries. Order, line
// and event ids are unique per run and sequence number.
type hookMaker struct {
	secret string
	shop   string
	run    uint32 // random, > 0
}

// orderID is the order id of delivery seq: run·10⁹ + seq, positive and
// below 2⁶³ for any 32-bit run and seq < 10⁹.
func (h *hookMaker) orderID(seq int64) int64 { return int64(h.run)*1_000_000_000 + seq }

// appendBody appends to b the body of delivery seq: a Shopify REST Order
// (reference shopify.md §3.2; the shape of
// shared/fixtures/shopify/rest_order.json, trimmed to the fields an order
// always has) created at at, with a null location_id (an online order:
// the connector's default location applies) and one unshipped line of
// quantity 1 for sku. It is built by appending, not by encoding/json, as
// this command shares the CPU with the gateway it measures; SKU names are
// plain ASCII, so no escaping is needed.
func (h *hookMaker) appendBody(b []byte, seq int64, sku string, at time.Time) []byte {
	id := h.orderID(seq)
	ts := at.UTC().Format(time.RFC3339)
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"admin_graphql_api_id":"gid://shopify/Order/`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `","name":"#S`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `","created_at":"`...)
	b = append(b, ts...)
	b = append(b, `","updated_at":"`...)
	b = append(b, ts...)
	b = append(b, `","processed_at":"`...)
	b = append(b, ts...)
	b = append(b, `","cancelled_at":null,"location_id":null,"source_name":"web","financial_status":"paid","fulfillment_status":null,"currency":"USD","total_price":"10.00","line_items":[{"id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"admin_graphql_api_id":"gid://shopify/LineItem/`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `","variant_id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"sku":"`...)
	b = append(b, sku...)
	b = append(b, `","title":"`...)
	b = append(b, sku...)
	b = append(b, `","quantity":1,"current_quantity":1,"fulfillable_quantity":1,"fulfillment_status":null,"price":"10.00"}]}`...)
	return b
}

// header returns the headers Shopify sends with delivery seq of body
// (reference shopify.md §2.1), signed with shopify.Sign (§2.2).
func (h *hookMaker) header(seq int64, body []byte, at time.Time) http.Header {
	hd := make(http.Header, 8)
	hd.Set("Content-Type", "application/json")
	hd.Set(shopify.HeaderTopic, shopify.TopicOrdersCreate)
	hd.Set(shopify.HeaderHMAC, shopify.Sign(h.secret, body))
	hd.Set(shopify.HeaderShopDomain, h.shop)
	hd.Set(shopify.HeaderAPIVersion, apiVersion)
	// Event and webhook ids are UUID-shaped, as Shopify's are (§2.1
	// example); the event id is the gateway's dedup key.
	hd.Set(shopify.HeaderEventID, fmt.Sprintf("%08x-0005-4000-8000-%012x", h.run, seq))
	hd.Set(shopify.HeaderWebhookID, fmt.Sprintf("%08x-0005-4000-9000-%012x", h.run, seq))
	hd.Set(shopify.HeaderTriggeredAt, at.UTC().Format(time.RFC3339Nano))
	return hd
}

// hookAnswer is the gateway's reply to a webhook (package ingest).
type hookAnswer struct {
	code     int
	Status   string `json:"status"`
	Unmapped int    `json:"unmapped"`
	Error    string `json:"error"`
}

// postHook sends one delivery. An error means no answer arrived; any
// HTTP answer is returned whatever its status. buf is reused for the
// answer's body.
func postHook(ctx context.Context, client *http.Client, url string, body []byte, hd http.Header, buf *bytes.Buffer) (hookAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return hookAnswer{}, err
	}
	req.Header = hd
	resp, err := client.Do(req)
	if err != nil {
		return hookAnswer{}, err
	}
	defer resp.Body.Close()
	a := hookAnswer{code: resp.StatusCode}
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, 64<<10)); err != nil {
		return a, nil // the status is the answer
	}
	if resp.StatusCode == http.StatusOK && bytes.Contains(buf.Bytes(), []byte(`"status":"accepted"`)) && !bytes.Contains(buf.Bytes(), []byte(`"unmapped"`)) {
		a.Status = "accepted" // the common case, without decoding
		return a, nil
	}
	if json.Unmarshal(buf.Bytes(), &a) != nil && a.code != http.StatusOK {
		a.Error = string(bytes.TrimSpace(buf.Bytes()))
	}
	return a, nil
}

// explain says what to fix for a bad answer to a warm-up or seed
// webhook; "" when the answer is an acceptance.
func (a hookAnswer) explain(url, connector string) string {
	switch {
	case a.code == http.StatusUnauthorized:
		return fmt.Sprintf("%s answered 401: the signature was rejected; check that -secret ($%s) is connector %q's secret", url, envSecret, connector)
	case a.code == http.StatusNotFound:
		return fmt.Sprintf("%s answered 404: the gateway has no connector %q (-connector)", url, connector)
	case a.code != http.StatusOK:
		return fmt.Sprintf("%s answered %d %s", url, a.code, a.Error)
	case a.Unmapped > 0:
		return fmt.Sprintf("connector %q kept the order line as a dead letter: give it a defaultLocation", connector)
	case a.Status != "accepted":
		return fmt.Sprintf("%s answered status %q to a new order, want \"accepted\"", url, a.Status)
	}
	return ""
}
