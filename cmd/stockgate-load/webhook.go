package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Shopify webhook headers and values (shared/reference/shopify.md §2.1).
const (
	headerHMAC        = "X-Shopify-Hmac-Sha256"
	headerTopic       = "X-Shopify-Topic"
	headerShopDomain  = "X-Shopify-Shop-Domain"
	headerAPIVersion  = "X-Shopify-API-Version"
	headerWebhookID   = "X-Shopify-Webhook-Id"
	headerEventID     = "X-Shopify-Event-Id"
	headerTriggeredAt = "X-Shopify-Triggered-At"

	topicOrdersCreate = "orders/create"
	apiVersion        = "2026-07"
)

// maxSeq bounds the per-run sequence number packed into order ids.
const maxSeq = 1<<28 - 1

// order is the part of a Shopify REST Order resource (reference §3.2,
// shared/fixtures/shopify/rest_order.json) that the loader sends: the
// fields the gateway reads, plus a few that every real order carries.
type order struct {
	ID                int64       `json:"id"`
	AdminGraphQLAPIID string      `json:"admin_graphql_api_id"`
	Name              string      `json:"name"`
	CreatedAt         string      `json:"created_at"`
	UpdatedAt         string      `json:"updated_at"`
	ProcessedAt       string      `json:"processed_at"`
	LocationID        *int64      `json:"location_id"` // null: the connector's default location
	SourceName        string      `json:"source_name"`
	FinancialStatus   string      `json:"financial_status"`
	FulfillmentStatus *string     `json:"fulfillment_status"`
	Currency          string      `json:"currency"`
	TotalPrice        string      `json:"total_price"`
	LineItems         []orderLine `json:"line_items"`
}

type orderLine struct {
	ID                  int64  `json:"id"`
	AdminGraphQLAPIID   string `json:"admin_graphql_api_id"`
	VariantID           int64  `json:"variant_id"`
	SKU                 string `json:"sku"`
	Title               string `json:"title"`
	Quantity            int64  `json:"quantity"`
	CurrentQuantity     int64  `json:"current_quantity"`
	FulfillableQuantity int64  `json:"fulfillable_quantity"`
	Price               string `json:"price"`
}

// webhook is one signed delivery, ready to send.
type webhook struct {
	eventID string
	body    []byte
	header  http.Header
}

// webhooks builds the run's deliveries. Ids are unique per run and
// sequence number: order id run<<28 | seq, and event and webhook ids that
// are UUIDs hashed from run and seq, scattered like Shopify's random ones
// (sequential ids would spare the gateway's deduplication index the
// scattered writes that real deliveries cost it).
type webhooks struct {
	secret string
	shop   string
	run    uint32 // 30 bits, top bit set so that ids are never 0
}

// build returns delivery seq (0 ≤ seq ≤ maxSeq): an order created at at,
// with one line of quantity 1 for sku.
func (w *webhooks) build(seq int64, sku string, at time.Time) (*webhook, error) {
	if seq < 0 || seq > maxSeq {
		return nil, fmt.Errorf("webhook sequence number %d is out of range 0..%d", seq, maxSeq)
	}
	id := int64(w.run)<<28 | seq
	ts := at.UTC().Format(time.RFC3339)
	o := order{
		ID:                id,
		AdminGraphQLAPIID: "gid://shopify/Order/" + strconv.FormatInt(id, 10),
		Name:              "#L" + strconv.FormatInt(seq, 10),
		CreatedAt:         ts,
		UpdatedAt:         ts,
		ProcessedAt:       ts,
		SourceName:        "web",
		FinancialStatus:   "paid",
		Currency:          "USD",
		TotalPrice:        "10.00",
		LineItems: []orderLine{{
			ID:                  id,
			AdminGraphQLAPIID:   "gid://shopify/LineItem/" + strconv.FormatInt(id, 10),
			VariantID:           id,
			SKU:                 sku,
			Title:               sku,
			Quantity:            1,
			CurrentQuantity:     1,
			FulfillableQuantity: 1,
			Price:               "10.00",
		}},
	}
	body, err := json.Marshal(&o)
	if err != nil {
		return nil, err
	}
	eventID := deliveryID('e', w.run, seq)
	h := make(http.Header, 8)
	h.Set("Content-Type", "application/json")
	h.Set(headerTopic, topicOrdersCreate)
	h.Set(headerHMAC, w.sign(body))
	h.Set(headerShopDomain, w.shop)
	h.Set(headerAPIVersion, apiVersion)
	h.Set(headerEventID, eventID)
	h.Set(headerWebhookID, deliveryID('w', w.run, seq))
	h.Set(headerTriggeredAt, at.UTC().Format(time.RFC3339Nano))
	return &webhook{eventID: eventID, body: body, header: h}, nil
}

// idSpace is the UUID namespace of deliveryID.
var idSpace = uuid.MustParse("5c0f7e2a-9d1b-4f3e-8a61-2b7c4d9e0f13")

// deliveryID is the UUID of a run's delivery seq, of the kind ('e' event,
// 'w' webhook): the same for a retry, different for every other delivery,
// and as scattered as a random one.
func deliveryID(kind byte, run uint32, seq int64) string {
	var b [13]byte
	b[0] = kind
	binary.BigEndian.PutUint32(b[1:], run)
	binary.BigEndian.PutUint64(b[5:], uint64(seq))
	return uuid.NewSHA1(idSpace, b[:]).String()
}

// sign is X-Shopify-Hmac-Sha256: base64(HMAC-SHA256(secret, body)) over
// the raw body bytes (reference §2.2).
func sign(secret string, body []byte) string {
	return macBase64(hmac.New(sha256.New, []byte(secret)), body)
}

// macs pools HMAC-SHA256 hashes by secret (string → *sync.Pool): a fresh
// keyed hash costs more than hashing a webhook's body.
var macs sync.Map

// sign is the package's sign with w's secret, reusing keyed hashes.
func (w *webhooks) sign(body []byte) string {
	p, ok := macs.Load(w.secret)
	if !ok {
		p, _ = macs.LoadOrStore(w.secret, &sync.Pool{})
	}
	pool := p.(*sync.Pool)
	m, _ := pool.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, []byte(w.secret))
	}
	s := macBase64(m, body)
	pool.Put(m)
	return s
}

// macBase64 returns base64(m(body)), m reset first.
func macBase64(m hash.Hash, body []byte) string {
	m.Reset()
	m.Write(body)
	var sum [sha256.Size]byte
	return base64.StdEncoding.EncodeToString(m.Sum(sum[:0]))
}

// answer is the gateway's reply to a webhook (package ingest).
type answer struct {
	code     int
	Status   string `json:"status"`
	Unmapped int    `json:"unmapped"`
	Error    string `json:"error"`
}

// maxAnswerBytes bounds how much of a reply is read.
const maxAnswerBytes = 64 << 10

// post sends wh to url. An error means no answer arrived (a transport
// error or timeout); any HTTP answer, whatever its status, is returned.
func post(ctx context.Context, client *http.Client, url string, wh *webhook) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(wh.body))
	if err != nil {
		return answer{}, err
	}
	req.Header = wh.header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	a := answer{code: resp.StatusCode}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return a, nil // the status is the answer; a torn body does not change it
	}
	if json.Unmarshal(b, &a) != nil && a.code != http.StatusOK {
		a.Error = string(bytes.TrimSpace(b))
	}
	// Drain what is left so the connection is reused.
	_, _ = io.Copy(io.Discard, resp.Body)
	return a, nil
}
