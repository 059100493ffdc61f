package square

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/square/squareapi"
)

// Webhook header names, as net/http canonicalises them; Square sends them
// lowercase (ref §2.1, https://developer.squareup.com/docs/webhooks/step2subscribe).
const (
	// HeaderSignature carries base64(HMAC-SHA256(signature key,
	// notification URL + raw body)) (ref §2.2).
	HeaderSignature = "X-Square-Hmacsha256-Signature"
	// HeaderLegacySignature carries a legacy HMAC-SHA1 of the same string,
	// sent alongside HeaderSignature (ref §2.1, a secondary source). Verify
	// ignores it: the SHA-256 header is always present, and accepting a
	// SHA-1 MAC alone would only weaken the check.
	HeaderLegacySignature = "X-Square-Signature"
	// HeaderEnvironment is "Sandbox" or "Production" (ref §2.1, §5).
	HeaderEnvironment = "Square-Environment"
)

// Event types (the envelope's "type") that Normalize maps (ref §3). Any
// other type normalizes to no events.
const (
	TypeInventoryCountUpdated = "inventory.count.updated"
	TypeOrderCreated          = "order.created"
	TypeOrderUpdated          = "order.updated"
	TypeCatalogVersionUpdated = "catalog.version.updated"
)

// Config configures a Connector. Pass it to New, which copies it.
type Config struct {
	// ID is the connector id (the {connectorID} of its webhook URL),
	// written into every event and dead letter. Required.
	ID string
	// SignatureKeys are the signature keys of the webhook subscriptions
	// that post to this connector: the current key first, then previous
	// keys still accepted during a rotation, and the keys of other
	// subscriptions sharing the URL (one key per subscription, ref §2.2,
	// https://developer.squareup.com/docs/webhooks/troubleshooting). Each
	// is used verbatim as the HMAC key, not base64-decoded (ref §2.2). At
	// least one, none empty.
	SignatureKeys []string
	// NotificationURL is the notification URL exactly as registered on the
	// subscription: scheme, host, port, path and trailing slash (ref §2.2,
	// §6 pitfall 1). The signature covers it. Set it whenever the gateway
	// runs behind a proxy, load balancer or CDN, where the URL the gateway
	// sees differs from the public one. Empty: Request.URL is used.
	NotificationURL string
	// Locations maps a Square location id (location_id, such as
	// "YYQR03DGCTXA4") to a stockgate location id. A count at a location
	// not in the map becomes a dead letter. Nil: no location is mapped.
	Locations map[string]string
	// Items maps a Square catalog object id (the item variation id in
	// catalog_object_id, such as "FGQ5JJWT2PYTHF35CKZ2DSKP") to a SKU;
	// inventory counts name no SKU (ref §3). A count of an object not in
	// the map becomes a dead letter. Nil: no item is mapped.
	Items map[string]string
	// Orders fetches an order named by order.created or order.updated,
	// whose payload has no line items (ref §3: "fetch the order"). Nil:
	// each such webhook becomes a dead letter saying the order must be
	// fetched. server.go passes the connector's squareapi.Client when the
	// connector has an API token. See the package doc for the mapping.
	Orders OrderFetcher
	// Echoes reports what stockgate last wrote to each Square count
	// (dispatch/squarewriter records it in a MemoryEchoes), so that the
	// inventory.count.updated reporting that write back is recorded as a
	// confirmation (reason echo_confirmation), not applied as on hand.
	// Nil: no echo detection (nothing writes to Square).
	Echoes Echoes
	// Now returns the current time; nil means time.Now. It stamps dead
	// letters of requests without ReceivedAt, and events of counts that
	// carry neither calculated_at nor created_at.
	Now func() time.Time
}

// OrderFetcher fetches one order through the Orders API (GET
// /v2/orders/{order_id}). *squareapi.Client implements it. An unknown
// order must be an error whose squareapi.ErrorCode is errcode.NotFound;
// any other error fails the delivery, so that Square retries it (ref §2.4).
type OrderFetcher interface {
	RetrieveOrder(ctx context.Context, orderID string) (squareapi.Order, error)
}

var _ OrderFetcher = (*squareapi.Client)(nil)

// Limits from the canonical event schemas (event/schemas/*.json).
const (
	maxConnectorLen = 128
	maxLocationLen  = 128
	maxSKULen       = 255
	maxQuantity     = 1_000_000_000
)

// Connector is the Square inbound connector. It is immutable after New and
// safe for concurrent use.
type Connector struct {
	id        string
	keys      [][]byte
	url       []byte // NotificationURL; nil: Request.URL
	locations map[string]string
	items     map[string]string
	orders    OrderFetcher
	echoes    Echoes
	now       func() time.Time
}

var _ connectors.Inbound = (*Connector)(nil)

// New validates cfg and returns a Connector. The error lists every problem
// in cfg, each with its field.
func New(cfg Config) (*Connector, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("square: Config.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch {
	case cfg.ID == "":
		bad("ID", "required")
	case len(cfg.ID) > maxConnectorLen:
		bad("ID", "longer than %d bytes", maxConnectorLen)
	}
	c := &Connector{id: cfg.ID, now: cfg.Now, orders: cfg.Orders, echoes: cfg.Echoes}
	if len(cfg.SignatureKeys) == 0 {
		bad("SignatureKeys", "at least one signature key is required")
	}
	for i, k := range cfg.SignatureKeys {
		if k == "" {
			bad(fmt.Sprintf("SignatureKeys[%d]", i), "empty")
			continue
		}
		c.keys = append(c.keys, []byte(k))
	}
	if u := cfg.NotificationURL; u != "" {
		p, err := url.Parse(u)
		switch {
		case strings.TrimSpace(u) != u:
			bad("NotificationURL", "%q has leading or trailing space; it must be byte-identical to the subscription's URL", u)
		case err != nil:
			bad("NotificationURL", "%v", err)
		case (p.Scheme != "https" && p.Scheme != "http") || p.Host == "":
			bad("NotificationURL", "%q is not an absolute http(s) URL", u)
		default:
			c.url = []byte(u)
		}
	}
	c.locations = idMap(cfg.Locations, "Locations", maxLocationLen, bad)
	c.items = idMap(cfg.Items, "Items", maxSKULen, bad)
	if c.now == nil {
		c.now = time.Now
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// idMap copies a Square-id-keyed map, reporting bad keys and values in key
// order. Square ids are opaque strings such as "YYQR03DGCTXA4" (ref §3).
func idMap(m map[string]string, field string, maxValue int, bad func(field, format string, args ...any)) map[string]string {
	out := make(map[string]string, len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := m[k]
		f := fmt.Sprintf("%s[%q]", field, k)
		switch {
		case k == "" || strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r == 0x7f }):
			bad(f, "key is not a Square id (empty, or contains space or control characters)")
		case v == "":
			bad(f, "empty value")
		case len(v) > maxValue:
			bad(f, "value longer than %d bytes", maxValue)
		default:
			out[k] = v
		}
	}
	return out
}

// ID returns the connector id.
func (c *Connector) ID() string { return c.id }

// Kind returns connectors.Square.
func (c *Connector) Kind() connectors.Kind { return connectors.Square }

// Sign returns the x-square-hmacsha256-signature value Square sends for
// body posted to notificationURL under the subscription's signature key:
// standard base64 (padded) of HMAC-SHA256(key, notificationURL + body),
// the key used verbatim (ref §2.2; node-sdk src/utilities/webhooksHelper.ts).
// It is for tests and fake Square servers.
func Sign(key, notificationURL string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(notificationURL))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks r's x-square-hmacsha256-signature against the HMAC-SHA256
// of the notification URL (Config.NotificationURL, else r.URL) followed by
// the raw body, under each signature key in turn. The error wraps
// connectors.ErrUnauthorized.
func (c *Connector) Verify(r *connectors.Request) error {
	sig := header(r.Header, HeaderSignature)
	if sig == "" {
		return fmt.Errorf("%w: square: missing %s header", connectors.ErrUnauthorized, HeaderSignature)
	}
	// Standard base64 of a 32-byte MAC is 44 characters (ref §2.3 vectors).
	// A 28-character value is the legacy SHA-1 form (ref §2.3 negative
	// case "1z2n3DEJJiUPKcPzQo1ftvbxGdw=").
	const encLen = 44 // base64.StdEncoding.EncodedLen(sha256.Size)
	if len(sig) != encLen {
		return fmt.Errorf("%w: square: %s is %d characters, want %d (base64 of an HMAC-SHA256)",
			connectors.ErrUnauthorized, HeaderSignature, len(sig), encLen)
	}
	var src [encLen]byte // a stack copy, so decoding does not allocate
	copy(src[:], sig)
	var want [sha256.Size + 1]byte
	if n, err := base64.StdEncoding.Decode(want[:], src[:]); err != nil || n != sha256.Size {
		return fmt.Errorf("%w: square: %s is not standard base64", connectors.ErrUnauthorized, HeaderSignature)
	}
	u, which := c.url, "configured notification URL"
	if u == nil {
		which = "request URL"
		if r.URL == "" {
			return fmt.Errorf("%w: square: no notification URL to verify against (Config.NotificationURL and Request.URL are empty)",
				connectors.ErrUnauthorized)
		}
		u = []byte(r.URL)
	}
	var sum [sha256.Size]byte
	for _, key := range c.keys {
		m := hmac.New(sha256.New, key)
		m.Write(u)
		m.Write(r.Body)
		// Constant-time compare (ref §2.2).
		if hmac.Equal(m.Sum(sum[:0]), want[:sha256.Size]) {
			return nil
		}
	}
	// The URL must be the subscription's, byte for byte, and the body the
	// raw bytes (ref §2.2, §6 pitfalls 1–3).
	// The URL is not quoted in the error: it may carry a token.
	return fmt.Errorf("%w: square: %s does not match the %s and the %d-byte body under any of %d signature keys",
		connectors.ErrUnauthorized, HeaderSignature, which, len(r.Body), len(c.keys))
}

// header returns the first value of the header named name. http.Header.Get
// canonicalises the key; the fallback scan finds keys stored as Square
// sends them, lowercase, in a map built by hand rather than by net/http.
func header(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, vs := range h {
		if len(vs) > 0 && vs[0] != "" && strings.EqualFold(k, name) {
			return vs[0]
		}
	}
	return ""
}
