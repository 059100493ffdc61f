package shopify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stockgate/stockgate/connectors"
)

// Webhook header names. Shopify's own validator names them in ShopifyHeader
// and, for the "events" delivery family (API unstable), ShopifyEventsHeader
// (ref §2.1: shopify-app-js packages/apps/shopify-api/lib/types.ts;
// https://shopify.dev/docs/apps/build/events/delivery-structure). Names are
// matched case-insensitively ("Treat header names as case-insensitive",
// shopify.dev "Webhooks delivery structure", ref §2.1), and every lookup
// accepts both families.
const (
	HeaderHMAC        = "X-Shopify-Hmac-Sha256"
	HeaderTopic       = "X-Shopify-Topic"
	HeaderShopDomain  = "X-Shopify-Shop-Domain"
	HeaderAPIVersion  = "X-Shopify-API-Version"
	HeaderWebhookID   = "X-Shopify-Webhook-Id"
	HeaderEventID     = "X-Shopify-Event-Id"
	HeaderTriggeredAt = "X-Shopify-Triggered-At"

	EventsHeaderHMAC        = "shopify-hmac-sha256"
	EventsHeaderTopic       = "shopify-topic"
	EventsHeaderShopDomain  = "shopify-shop-domain"
	EventsHeaderAPIVersion  = "shopify-api-version"
	EventsHeaderWebhookID   = "shopify-webhook-id"
	EventsHeaderEventID     = "shopify-event-id"
	EventsHeaderTriggeredAt = "shopify-triggered-at"
)

// Topics that move stock (ref §3.2), read by Normalize. Any other topic
// normalizes to no events.
const (
	TopicOrdersCreate              = "orders/create"
	TopicOrdersUpdated             = "orders/updated"
	TopicOrdersCancelled           = "orders/cancelled"
	TopicFulfillmentsCreate        = "fulfillments/create"
	TopicFulfillmentsUpdate        = "fulfillments/update"
	TopicRefundsCreate             = "refunds/create"
	TopicInventoryLevelsUpdate     = "inventory_levels/update"
	TopicInventoryLevelsConnect    = "inventory_levels/connect"
	TopicInventoryLevelsDisconnect = "inventory_levels/disconnect"
)

// Topics that identify stock (ref §3.2): they carry the links between
// variants, inventory items and SKUs and are read by Learn; Normalize
// turns them into no events.
const (
	TopicInventoryItemsCreate = "inventory_items/create"
	TopicInventoryItemsUpdate = "inventory_items/update"
	TopicInventoryItemsDelete = "inventory_items/delete"
	TopicProductsCreate       = "products/create"
	TopicProductsUpdate       = "products/update"
)

// StaleSuffix ends Result.Topic for a stale delivery: one older than the
// newest already seen for its inventory level or order (see Watermarks).
// A stale delivery has no events and no dead letters; the ingest answers
// it 200 as usual, since a retry would be just as stale.
const StaleSuffix = " stale"

// Config configures a Connector. Pass it to New, which copies it.
type Config struct {
	// ID is the connector id (the {connectorID} of its webhook URL), written
	// into every event and dead letter. Required.
	ID string
	// Secrets are the app client secrets that sign webhooks, the current one
	// first, then previous ones still accepted while a rotation is in
	// progress (ref §2.2: shopify-api-ruby retries with old_api_secret_key).
	// At least one, none empty.
	Secrets []string
	// Shop is the expected X-Shopify-Shop-Domain, such as
	// "example.myshopify.com". Empty: any shop whose signature verifies is
	// accepted. Set: Verify rejects a request from any other shop.
	Shop string
	// Locations maps a Shopify location id (decimal, as in location_id) to
	// a stockgate location id. A line at a location not in the map becomes
	// a dead letter. Nil: no location is mapped.
	Locations map[string]string
	// DefaultLocation is the stockgate location for order lines when the
	// order has no location_id (online orders; ref §3.3: rest_order.json
	// has location_id null), and for refund lines restocked as "cancel"
	// without a location_id. Make it the location online orders ship from
	// (the Locations value of that Shopify location), so that an order's
	// commit, fulfilment and cancel land on the same SKU@location. It is
	// not used for a location_id missing from Locations: that line is a
	// dead letter. Empty: lines without a location become dead letters.
	DefaultLocation string
	// Items maps a Shopify inventory item id (decimal, as in
	// inventory_item_id) to a SKU, for inventory_levels/*, whose body
	// names no SKU (ref §3.2). Mapper, when set, is asked first. Nil and
	// no Mapper: every level update is a dead letter.
	Items map[string]string
	// Mapper maps inventory items to SKUs from what Learn learned from
	// products/* and inventory_items/* deliveries; a learned SKU wins
	// over Items. Nil: only Items.
	Mapper Mapper
	// Watermarks keeps the newest trigger time per inventory level and
	// per order, so that an older delivery arriving late is dropped as
	// stale (ref §2.4). Nil: a MemoryWatermarks of DefaultWatermarkKeys
	// keys, private to this connector and lost on restart.
	Watermarks Watermarks
	// Echoes reports what stockgate last wrote to each Shopify level, so
	// that the inventory_levels/update echoing it is marked as a
	// confirmation (reason "echo_confirmation"). Nil: no echo detection;
	// every level update has reason "channel_report".
	Echoes Echoes
	// Now returns the current time; nil means time.Now. It stamps events
	// whose payload and headers carry no time, and dead letters of requests
	// without ReceivedAt.
	Now func() time.Time
}

// Limits from the canonical event schemas (event/schemas/*.json).
const (
	maxConnectorLen = 128
	maxLocationLen  = 128
	maxSKULen       = 255
	// maxQuantity is the schema maximum, also Shopify's own bound
	// (INVALID_QUANTITY_TOO_HIGH above 1,000,000,000, ref §4.2).
	maxQuantity = 1_000_000_000
)

// Connector is the Shopify inbound connector. Its configuration is
// immutable after New; the Watermarks, Mapper and Echoes it consults are
// safe for concurrent use, and so is the Connector.
type Connector struct {
	id              string
	secrets         []*signer
	shop            string
	locations       map[int64]string
	defaultLocation string
	items           map[int64]string
	mapper          Mapper
	watermarks      Watermarks
	echoes          Echoes
	now             func() time.Time
}

var _ connectors.Inbound = (*Connector)(nil)

// New validates cfg and returns a Connector. The error lists every problem
// in cfg, each with its field.
func New(cfg Config) (*Connector, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("shopify: Config.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch {
	case cfg.ID == "":
		bad("ID", "required")
	case len(cfg.ID) > maxConnectorLen:
		bad("ID", "longer than %d bytes", maxConnectorLen)
	}
	if len(cfg.Secrets) == 0 {
		bad("Secrets", "at least one secret is required")
	}
	c := &Connector{
		id:              cfg.ID,
		shop:            cfg.Shop,
		defaultLocation: cfg.DefaultLocation,
		mapper:          cfg.Mapper,
		watermarks:      cfg.Watermarks,
		echoes:          cfg.Echoes,
		now:             cfg.Now,
	}
	for i, s := range cfg.Secrets {
		if s == "" {
			bad(fmt.Sprintf("Secrets[%d]", i), "empty")
			continue
		}
		c.secrets = append(c.secrets, newSigner([]byte(s)))
	}
	if strings.ContainsAny(cfg.Shop, "/: \t") {
		bad("Shop", "%q is not a shop domain (want such as example.myshopify.com)", cfg.Shop)
	}
	if len(cfg.DefaultLocation) > maxLocationLen {
		bad("DefaultLocation", "longer than %d bytes", maxLocationLen)
	}
	c.locations = idMap(cfg.Locations, "Locations", maxLocationLen, bad)
	c.items = idMap(cfg.Items, "Items", maxSKULen, bad)
	if c.now == nil {
		c.now = time.Now
	}
	if c.watermarks == nil {
		c.watermarks = NewMemoryWatermarks(DefaultWatermarkKeys)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// idMap copies a decimal-id-keyed map into an int64-keyed one, so that a
// lookup needs no allocation, reporting bad keys and values in key order.
func idMap(m map[string]string, field string, maxValue int, bad func(field, format string, args ...any)) map[int64]string {
	out := make(map[int64]string, len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := m[k]
		f := fmt.Sprintf("%s[%q]", field, k)
		id, err := strconv.ParseInt(k, 10, 64)
		if err != nil || id <= 0 || k[0] == '+' {
			bad(f, "key is not a Shopify id (a positive decimal integer)")
			continue
		}
		switch {
		case v == "":
			bad(f, "empty value")
		case len(v) > maxValue:
			bad(f, "value longer than %d bytes", maxValue)
		default:
			out[id] = v
		}
	}
	return out
}

// ID returns the connector id.
func (c *Connector) ID() string { return c.id }

// Kind returns connectors.Shopify.
func (c *Connector) Kind() connectors.Kind { return connectors.Shopify }

// Sign returns the X-Shopify-Hmac-Sha256 value Shopify sends for body
// signed with secret: base64 (standard alphabet, padded) of HMAC-SHA256
// over the raw bytes (ref §2.2). It is for tests and fake Shopify servers.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks the HMAC-SHA256 of r's raw body against its
// X-Shopify-Hmac-Sha256 (or shopify-hmac-sha256) header with each secret in
// turn, and, when Config.Shop is set, the shop domain. The error wraps
// connectors.ErrUnauthorized.
func (c *Connector) Verify(r *connectors.Request) error {
	sig := header(r.Header, HeaderHMAC, EventsHeaderHMAC)
	if sig == "" {
		return fmt.Errorf("%w: shopify: missing %s header", connectors.ErrUnauthorized, HeaderHMAC)
	}
	// Standard base64 with padding, never hex or URL-safe (ref §2.2,
	// shopify-app-js lib/utils/hmac-validator.ts): a SHA-256 MAC is
	// exactly 44 characters.
	var want [sha256.Size + 1]byte
	if len(sig) != base64.StdEncoding.EncodedLen(sha256.Size) {
		return fmt.Errorf("%w: shopify: %s is %d characters, want %d (base64 of an HMAC-SHA256)",
			connectors.ErrUnauthorized, HeaderHMAC, len(sig), base64.StdEncoding.EncodedLen(sha256.Size))
	}
	var src [44]byte // EncodedLen(sha256.Size); a stack copy, no allocation
	copy(src[:], sig)
	n, err := base64.StdEncoding.Decode(want[:], src[:])
	if err != nil || n != sha256.Size {
		return fmt.Errorf("%w: shopify: %s is not standard base64", connectors.ErrUnauthorized, HeaderHMAC)
	}
	ok := false
	for _, s := range c.secrets {
		// Constant-time compare (ref §2.2, hmac-validator.ts).
		if s.verify(r.Body, want[:sha256.Size]) {
			ok = true
			break
		}
	}
	if !ok {
		// The body must be the raw bytes as received; a parsed and
		// re-serialised body never matches (ref §2.2, §6 pitfall 2).
		return fmt.Errorf("%w: shopify: %s does not match the %d-byte body under any of %d secrets",
			connectors.ErrUnauthorized, HeaderHMAC, len(r.Body), len(c.secrets))
	}
	if c.shop != "" {
		if d := header(r.Header, HeaderShopDomain, EventsHeaderShopDomain); !strings.EqualFold(d, c.shop) {
			return fmt.Errorf("%w: shopify: %s %q, want %q",
				connectors.ErrUnauthorized, HeaderShopDomain, d, c.shop)
		}
	}
	return nil
}

// signer computes HMAC-SHA256 under one secret. A keyed hmac.New costs
// several allocations per request; Reset returns a used one to its keyed
// state, so they are pooled, each with the buffer its sum goes to.
type signer struct{ pool sync.Pool }

type pooledMAC struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func newSigner(secret []byte) *signer {
	s := &signer{}
	s.pool.New = func() any { return &pooledMAC{h: hmac.New(sha256.New, secret)} }
	return s
}

// verify reports, in constant time, whether mac is the HMAC of body.
func (s *signer) verify(body, mac []byte) bool {
	m := s.pool.Get().(*pooledMAC)
	defer s.pool.Put(m)
	m.h.Reset()
	m.h.Write(body)
	return hmac.Equal(m.h.Sum(m.sum[:0]), mac)
}

// header returns the first value of the webhook header named name or, for
// the "events" family, bare. name is canonical, so http.Header.Get finds it
// without allocating; bare is not, and Get would allocate its canonical
// form on every call, so it is found by a case-insensitive scan, which
// also finds keys stored without canonicalisation (a map built by hand
// rather than by net/http).
func header(h http.Header, name, bare string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	if v := scanHeader(h, bare); v != "" {
		return v
	}
	return scanHeader(h, name)
}

// scanHeader returns the first value of the header whose key equals name
// case-insensitively.
func scanHeader(h http.Header, name string) string {
	for k, vs := range h {
		if len(vs) > 0 && vs[0] != "" && strings.EqualFold(k, name) {
			return vs[0]
		}
	}
	return ""
}
