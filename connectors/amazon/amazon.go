package amazon

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stockgate/stockgate/connectors"
)

// SNS HTTP/S delivery headers (ref §2.4; sns-guide
// doc_source/sns-message-and-json-formats.md, "HTTP/HTTPS headers").
const (
	HeaderSNSMessageType = "X-Amz-Sns-Message-Type"
	HeaderSNSMessageID   = "X-Amz-Sns-Message-Id"
	HeaderSNSTopicARN    = "X-Amz-Sns-Topic-Arn"
	HeaderSNSRawDelivery = "X-Amz-Sns-Rawdelivery"
)

// DefaultAuthHeader is the header EventBridgeConfig.AuthHeader defaults to.
const DefaultAuthHeader = "Authorization"

// AnyTopic in SNSConfig.AllowedTopicARNs accepts a message from any SNS
// topic. Only for tests and local set-ups: see SNSConfig.
const AnyTopic = "*"

// Config configures a Connector. Pass it to New, which copies it.
type Config struct {
	// ID is the connector id (the {connectorID} of its webhook URL), written
	// into every event and dead letter. Required.
	ID string
	// SellerID is the selling partner id (merchant token) this connector
	// serves, such as "A3TH9S8BH6GOGM". Empty: no check. Set: a stock
	// notification whose payload names another SellerId becomes a dead
	// letter instead of events (a notification routed to the wrong
	// connector must not move this seller's stock).
	SellerID string
	// SNS configures the SNS → HTTPS transport (ref §2.4).
	SNS SNSConfig
	// EventBridge configures the header-authenticated HTTPS transport:
	// EventBridge API destinations, and forwarders such as Amazon's
	// sample webhook (ref §2.1).
	EventBridge EventBridgeConfig
	// Locations maps an Amazon id to a stockgate location id. Keys are
	// marketplace ids (FBA stock, counted per marketplace: "ATVPDKIKX0DER"),
	// supply source ids (the SupplySourceId of an MFN order item, Multi-
	// Location Inventory) and fulfillment channel codes other than DEFAULT
	// (LISTINGS_ITEM_MFN_QUANTITY_CHANGE). An id that a notification names
	// but the map lacks makes that part a dead letter. Nil: nothing mapped.
	Locations map[string]string
	// DefaultLocation is the stockgate location of merchant-fulfilled (MFN)
	// stock: order items without a SupplySourceId and MFN quantities of
	// channel DEFAULT. Empty: those become dead letters.
	DefaultLocation string
	// SKUs maps an Amazon SellerSKU to a stockgate SKU. A SellerSKU not in
	// the map is used as the SKU unchanged. Nil: every SellerSKU is the SKU.
	SKUs map[string]string
	// OrderItems fetches an order's items when an ORDER_CHANGE notification
	// carries none (see OrdersClient). Nil: such a notification becomes a
	// dead letter.
	OrderItems OrderItemsFetcher
	// Echoes reports what stockgate last wrote as a SellerSKU's
	// merchant-fulfilled quantity, so that the
	// LISTINGS_ITEM_MFN_QUANTITY_CHANGE reporting that value back is
	// recorded as a confirmation (reason echo_confirmation), not a drift.
	// Nil: no echo detection (nothing writes to Amazon).
	Echoes Echoes
	// Now returns the current time; nil means time.Now. It decides whether
	// an SNS signing certificate is within its validity period, and stamps
	// dead letters of requests without ReceivedAt.
	Now func() time.Time
}

// SNSConfig configures SNS signature verification. The zero value rejects
// every SNS delivery: AllowedTopicARNs must name the topics to accept.
type SNSConfig struct {
	// AllowedTopicARNs are the SNS topics whose messages are accepted and
	// whose subscriptions are confirmed. A valid signature proves only that
	// SNS sent a message, not whose topic it came from: any AWS account can
	// subscribe this endpoint to its own topic, and AWS says "Reject any
	// message with an unexpected TopicArn" (ref §2.4). Empty: SNS is
	// disabled and every SNS delivery fails Verify. AnyTopic ("*") accepts
	// every topic, for tests only.
	AllowedTopicARNs []string
	// AllowedCertHosts are the hosts (host or host:port, matched exactly,
	// case-insensitively) that SigningCertURL and SubscribeURL may name.
	// Empty: the AWS SNS endpoints, sns.<region>.amazonaws.com and
	// sns.<region>.amazonaws.com.cn, with no port (the pattern of AWS's own
	// validator, aws/aws-php-sns-message-validator src/MessageValidator.php
	// @ 01f8e3193c27fb5a256fd094e90281a152c87684). Set it for tests that
	// serve a certificate from a local TLS server.
	AllowedCertHosts []string
	// HTTPClient fetches signing certificates and visits SubscribeURLs.
	// Nil: a client with a 10-second timeout. Certificates are cached by
	// URL.
	HTTPClient *http.Client
}

// EventBridgeConfig configures header authentication: an EventBridge API
// destination's connection sends a fixed header (API_KEY authorization: a
// header name and value; BASIC: Authorization: Basic …), see
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection-auth.html
// and the CreateConnection API (ApiKeyAuthParameters.ApiKeyName,
// ApiKeyValue). Amazon's sample forwarder does the same with
// WEB_HOOK_AUTH_HEADER_NAME and a token (ref §2.1; samples
// use-cases/notifications/app/config/example/web-hook-app-config.json).
// The zero value disables this transport.
type EventBridgeConfig struct {
	// AuthHeader is the header carrying the secret, such as "x-api-key".
	// Empty: DefaultAuthHeader ("Authorization").
	AuthHeader string
	// Secrets are the accepted header values, the current one first, then
	// previous ones still accepted while a rotation is in progress. Each is
	// compared in constant time with the whole header value; with
	// AuthHeader Authorization, "Bearer <secret>" matches too. Empty: no
	// header-authenticated request is accepted.
	Secrets []string
}

// Limits from the canonical event schemas (event/schemas/*.json).
const (
	maxConnectorLen = 128
	maxLocationLen  = 128
	maxSKULen       = 255
	maxQuantity     = 1_000_000_000
	maxOrderIDLen   = 128
	// maxIDLen bounds NotificationId, AmazonOrderId + OrderItemId and the
	// like, so that source event ids (≤ 512) and correlation ids (≤ 256)
	// built from them stay within the schemas.
	maxIDLen = 200
)

// Connector is the Amazon inbound connector. It is safe for concurrent use;
// its only mutable state is the SNS certificate cache.
type Connector struct {
	id              string
	sellerID        string
	anyTopic        bool
	topics          map[string]bool
	certHosts       []string // lower case; nil: the AWS pattern
	client          *http.Client
	certs           *certCache
	authHeader      string
	bearer          bool     // authHeader is Authorization
	secrets         [][]byte // SHA-256 of each secret
	locations       map[string]string
	defaultLocation string
	skus            map[string]string
	orderItems      OrderItemsFetcher
	now             func() time.Time
	echoes          Echoes
}

var _ connectors.Inbound = (*Connector)(nil)

// defaultHTTPTimeout bounds certificate fetches and subscription
// confirmations with the default client.
const defaultHTTPTimeout = 10 * time.Second

// New validates cfg and returns a Connector. The error lists every problem
// in cfg, each with its field.
func New(cfg Config) (*Connector, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("amazon: Config.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch {
	case cfg.ID == "":
		bad("ID", "required")
	case len(cfg.ID) > maxConnectorLen:
		bad("ID", "longer than %d bytes", maxConnectorLen)
	}
	if strings.ContainsAny(cfg.SellerID, " \t\r\n/:") || len(cfg.SellerID) > maxIDLen {
		bad("SellerID", "%q is not a selling partner id (such as A3TH9S8BH6GOGM)", cfg.SellerID)
	}
	c := &Connector{
		id:              cfg.ID,
		sellerID:        cfg.SellerID,
		topics:          make(map[string]bool, len(cfg.SNS.AllowedTopicARNs)),
		client:          cfg.SNS.HTTPClient,
		defaultLocation: cfg.DefaultLocation,
		orderItems:      cfg.OrderItems,
		now:             cfg.Now,
		echoes:          cfg.Echoes,
	}
	for i, arn := range cfg.SNS.AllowedTopicARNs {
		switch {
		case arn == AnyTopic:
			c.anyTopic = true
		case !strings.HasPrefix(arn, "arn:") || strings.Count(arn, ":") < 5 || strings.ContainsAny(arn, " \t\r\n"):
			bad(fmt.Sprintf("SNS.AllowedTopicARNs[%d]", i), "%q is not a topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME) or %q", arn, AnyTopic)
		default:
			c.topics[arn] = true
		}
	}
	for i, h := range cfg.SNS.AllowedCertHosts {
		if h == "" || strings.ContainsAny(h, "/@?# \t\r\n") {
			bad(fmt.Sprintf("SNS.AllowedCertHosts[%d]", i), "%q is not a host or host:port", h)
			continue
		}
		c.certHosts = append(c.certHosts, strings.ToLower(h))
	}
	if c.client == nil {
		c.client = &http.Client{Timeout: defaultHTTPTimeout}
	}
	c.certs = newCertCache(c.client)

	c.authHeader = cfg.EventBridge.AuthHeader
	if c.authHeader == "" {
		c.authHeader = DefaultAuthHeader
	}
	if !validHeaderName(c.authHeader) {
		bad("EventBridge.AuthHeader", "%q is not an HTTP header name", c.authHeader)
	}
	c.authHeader = http.CanonicalHeaderKey(c.authHeader)
	c.bearer = c.authHeader == "Authorization"
	for i, s := range cfg.EventBridge.Secrets {
		if s == "" {
			bad(fmt.Sprintf("EventBridge.Secrets[%d]", i), "empty")
			continue
		}
		sum := sha256.Sum256([]byte(s))
		c.secrets = append(c.secrets, sum[:])
	}

	if len(cfg.DefaultLocation) > maxLocationLen {
		bad("DefaultLocation", "longer than %d bytes", maxLocationLen)
	}
	c.locations = stringMap(cfg.Locations, "Locations", maxLocationLen, bad)
	c.skus = stringMap(cfg.SKUs, "SKUs", maxSKULen, bad)
	if c.now == nil {
		c.now = time.Now
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// stringMap copies m, reporting empty keys and empty or over-long values in
// key order.
func stringMap(m map[string]string, field string, maxValue int, bad func(field, format string, args ...any)) map[string]string {
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
		case k == "":
			bad(f, "empty key")
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

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0:
		default:
			return false
		}
	}
	return true
}

// ID returns the connector id.
func (c *Connector) ID() string { return c.id }

// Kind returns connectors.Amazon.
func (c *Connector) Kind() connectors.Kind { return connectors.Amazon }

// Verify authenticates r. A body that is an SNS message (its Type is
// Notification, SubscriptionConfirmation or UnsubscribeConfirmation), or a
// request with the x-amz-sns-message-type header, must carry a valid SNS
// signature from an allowed topic (see SNSConfig). Any other request, and
// an SNS raw delivery (x-amz-sns-rawdelivery: true, which is unsigned,
// ref §2.4), must carry the EventBridge.AuthHeader with one of the
// EventBridge.Secrets. The error wraps connectors.ErrUnauthorized.
//
// Verify may fetch an SNS signing certificate (once per certificate URL;
// the result is cached) through SNSConfig.HTTPClient, bounded by its
// timeout or, with the default client, 10 s.
func (c *Connector) Verify(r *connectors.Request) error {
	raw := strings.EqualFold(headerValue(r.Header, HeaderSNSRawDelivery), "true")
	if !raw {
		var env snsEnvelope
		isSNS := mayBeSNS(r.Body) && decodeSNS(r.Body, &env) && isSNSType(env.Type)
		if isSNS || headerValue(r.Header, HeaderSNSMessageType) != "" {
			return c.verifySNS(r, &env, isSNS)
		}
	}
	return c.verifyHeader(r)
}

// mayBeSNS reports whether body has a "type" key in any letter case (as
// encoding/json matches keys), which every SNS message has. A body without
// one is not decoded by Verify: it can only pass header authentication.
// (A key spelled with JSON escapes is missed, and so also needs the
// header secret: never a way around a signature.)
func mayBeSNS(body []byte) bool {
	for i := 0; ; {
		j := bytes.IndexByte(body[i:], '"')
		if j < 0 {
			return false
		}
		i += j + 1
		if len(body)-i >= 5 && bytes.EqualFold(body[i:i+5], []byte(`type"`)) {
			return true
		}
	}
}

// verifyHeader checks the EventBridge.AuthHeader against the secrets, in
// constant time: every secret is compared, over fixed-length digests.
func (c *Connector) verifyHeader(r *connectors.Request) error {
	if len(c.secrets) == 0 {
		return fmt.Errorf("%w: amazon: not an SNS message, and no EventBridge.Secrets are configured to authenticate it", connectors.ErrUnauthorized)
	}
	v := headerValue(r.Header, c.authHeader)
	if v == "" {
		return fmt.Errorf("%w: amazon: missing %s header", connectors.ErrUnauthorized, c.authHeader)
	}
	whole := sha256.Sum256([]byte(v))
	var token [sha256.Size]byte
	hasToken := false
	if c.bearer && len(v) > len("Bearer ") && strings.EqualFold(v[:len("Bearer ")], "Bearer ") {
		token, hasToken = sha256.Sum256([]byte(v[len("Bearer "):])), true
	}
	ok := 0
	for _, s := range c.secrets {
		ok |= subtle.ConstantTimeCompare(whole[:], s)
		if hasToken {
			ok |= subtle.ConstantTimeCompare(token[:], s)
		}
	}
	if ok != 1 {
		return fmt.Errorf("%w: amazon: %s matches none of %d secrets", connectors.ErrUnauthorized, c.authHeader, len(c.secrets))
	}
	return nil
}

// headerValue returns the first value of header name. http.Header.Get
// canonicalises the key; the fallback scan finds keys stored without
// canonicalisation (a map built by hand rather than by net/http).
func headerValue(h http.Header, name string) string {
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

// sku maps a SellerSKU to the stockgate SKU.
func (c *Connector) sku(sellerSKU string) string {
	if s, ok := c.skus[sellerSKU]; ok {
		return s
	}
	return sellerSKU
}

// Echoes is what an Amazon writer remembers of its own writes.
type Echoes interface {
	// Pushed returns the MFN quantity last written for a SellerSKU and
	// when.
	Pushed(sellerSKU string) (qty int64, at time.Time, ok bool)
}

// MemoryEchoes is an in-memory Echoes per SellerSKU, as
// connectors.EchoLog keeps them; safe for concurrent use, the zero value
// is ready.
type MemoryEchoes struct {
	log connectors.EchoLog[string]
}

// Record remembers a write; one older than the write kept is ignored.
func (e *MemoryEchoes) Record(sellerSKU string, qty int64, at time.Time) {
	e.log.Record(sellerSKU, qty, at)
}

// Pushed implements Echoes.
func (e *MemoryEchoes) Pushed(sellerSKU string) (int64, time.Time, bool) {
	return e.log.Pushed(sellerSKU)
}

// isEcho reports whether an MFN quantity report is the echo of a write.
func (c *Connector) isEcho(sellerSKU string, qty int64, at time.Time) bool {
	if c.echoes == nil {
		return false
	}
	q, when, ok := c.echoes.Pushed(sellerSKU)
	return connectors.IsEcho(qty, at, q, when, ok)
}
