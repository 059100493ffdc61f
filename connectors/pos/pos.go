package pos

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stockgate/stockgate/connectors"
)

// HeaderSignature is the signature header: "t=<unix seconds>,v1=<hex>",
// where <hex> is the lowercase hex HMAC-SHA256 of "<t>." followed by the
// raw body, under a shared secret. More than one v1= may be sent (one per
// secret while a secret is rotated). The scheme is Stripe's
// (https://docs.stripe.com/webhooks#verify-manually): the timestamp is
// signed with the body, so a captured request cannot be replayed once it
// is older than the tolerance.
const HeaderSignature = "Stockgate-Signature"

// DefaultTolerance is how far the signed timestamp may be from the time
// the gateway received the request, either way, when Config.Tolerance is
// zero. Stripe's libraries use the same five minutes
// (https://docs.stripe.com/webhooks#replay-attacks).
const DefaultTolerance = 5 * time.Minute

// Config configures a Connector. Pass it to New, which copies it.
type Config struct {
	// ID is the connector id (the {connectorID} of its webhook URL),
	// written into every event, dead letter and dedup key. Required.
	ID string
	// Secrets are the shared secrets the POS signs with: the current one
	// first, then previous ones still accepted while a rotation is in
	// progress. At least one, none empty.
	Secrets []string
	// Tolerance is how far the signed timestamp may be from the time the
	// request was received, in either direction (replay protection and
	// clock skew). Zero means DefaultTolerance (5 minutes); negative is an
	// error.
	Tolerance time.Duration
	// Stores maps the POS's store id (the batch's "store") to a stockgate
	// location id. A batch from a store not in the map becomes a dead
	// letter. Nil or empty: the store id is the location id.
	Stores map[string]string
	// Now returns the current time; nil means time.Now. Verify uses it
	// when a request has no ReceivedAt, and it stamps dead letters of such
	// requests.
	Now func() time.Time
}

// Limits. The quantity, SKU and location bounds are the canonical event
// schemas' (event/schemas/*.json).
const (
	maxConnectorLen = 128
	maxLocationLen  = 128
	maxSKULen       = 255
	maxQuantity     = 1_000_000_000
	// maxHeaderLen bounds the signature header: t= and up to a dozen v1=.
	maxHeaderLen = 1024
)

// MaxMovements is the most movements one batch may carry; a larger batch
// is malformed and must be split.
const MaxMovements = 1000

// Connector is the POS inbound connector. It is immutable after New and
// safe for concurrent use.
type Connector struct {
	id        string
	secrets   [][]byte
	tolerance time.Duration
	stores    map[string]string
	now       func() time.Time
}

var _ connectors.Inbound = (*Connector)(nil)

// New validates cfg, applies the defaults and returns a Connector. The
// error lists every problem in cfg, each with its field.
func New(cfg Config) (*Connector, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("pos: Config.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch {
	case cfg.ID == "":
		bad("ID", "required")
	case len(cfg.ID) > maxConnectorLen:
		bad("ID", "longer than %d bytes", maxConnectorLen)
	}
	c := &Connector{id: cfg.ID, tolerance: cfg.Tolerance, now: cfg.Now, stores: map[string]string{}}
	if len(cfg.Secrets) == 0 {
		bad("Secrets", "at least one secret is required")
	}
	for i, s := range cfg.Secrets {
		if s == "" {
			bad(fmt.Sprintf("Secrets[%d]", i), "empty")
			continue
		}
		c.secrets = append(c.secrets, []byte(s))
	}
	switch {
	case c.tolerance < 0:
		bad("Tolerance", "%v is negative", cfg.Tolerance)
	case c.tolerance == 0:
		c.tolerance = DefaultTolerance
	}
	keys := make([]string, 0, len(cfg.Stores))
	for k := range cfg.Stores {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := cfg.Stores[k]
		f := fmt.Sprintf("Stores[%q]", k)
		if why := checkText(k, maxStoreLen); why != "" {
			bad(f, "key %s", why)
			continue
		}
		if why := checkText(v, maxLocationLen); why != "" {
			bad(f, "value %s", why)
			continue
		}
		c.stores[k] = v
	}
	if c.now == nil {
		c.now = time.Now
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// ID returns the connector id.
func (c *Connector) ID() string { return c.id }

// Kind returns connectors.POS.
func (c *Connector) Kind() connectors.Kind { return connectors.POS }

// Sign returns the Stockgate-Signature value for body sent at t under
// secret: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>".
// A POS written in Go can call it; others follow the recipe in the package
// doc.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac([]byte(secret), ts, body, nil))
}

// mac appends HMAC-SHA256(secret, ts + "." + body) to dst.
func mac(secret []byte, ts string, body, dst []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(dst)
}

// Verify checks r's Stockgate-Signature: some v1= must be the HMAC of the
// signed timestamp and the raw body under one of the secrets, compared in
// constant time, and the timestamp must lie within Tolerance of
// r.ReceivedAt (of Config.Now when ReceivedAt is zero). The error wraps
// connectors.ErrUnauthorized.
func (c *Connector) Verify(r *connectors.Request) error {
	h := header(r.Header, HeaderSignature)
	if h == "" {
		return fmt.Errorf("%w: pos: missing %s header", connectors.ErrUnauthorized, HeaderSignature)
	}
	ts, sigs, err := parseSignature(h)
	if err != nil {
		return fmt.Errorf("%w: pos: %s: %v", connectors.ErrUnauthorized, HeaderSignature, err)
	}
	ok := false
	var sum [sha256.Size]byte
	for _, s := range c.secrets {
		want := mac(s, ts, r.Body, sum[:0])
		for _, got := range sigs {
			// hmac.Equal is constant-time; every entry is compared, so the
			// time does not say which one matched.
			if hmac.Equal(want, got[:]) {
				ok = true
			}
		}
		if ok {
			break
		}
	}
	if !ok {
		return fmt.Errorf("%w: pos: %s does not match t=%s and the %d-byte body under any of %d secrets",
			connectors.ErrUnauthorized, HeaderSignature, ts, len(r.Body), len(c.secrets))
	}
	now := r.ReceivedAt
	if now.IsZero() {
		now = c.now()
	}
	unix, _ := strconv.ParseInt(ts, 10, 64) // parseSignature checked it
	// Compare both ways rather than take an absolute value: Sub saturates
	// at the minimum Duration, whose negation is itself.
	if d := now.Sub(time.Unix(unix, 0)); d > c.tolerance || d < -c.tolerance {
		return fmt.Errorf("%w: pos: %s t=%s is %v from the time received, more than the tolerance %v (a replay, or a clock to set right)",
			connectors.ErrUnauthorized, HeaderSignature, ts, d.Round(time.Second), c.tolerance)
	}
	return nil
}

// parseSignature splits "t=<unix>,v1=<hex>[,v1=<hex>…]" into the
// timestamp, as sent, and the decoded MACs. Elements with another scheme
// (v0=, v2=…) are ignored, so a future scheme can be sent alongside v1.
func parseSignature(h string) (ts string, sigs [][sha256.Size]byte, err error) {
	if len(h) > maxHeaderLen {
		return "", nil, fmt.Errorf("%d bytes, more than %d", len(h), maxHeaderLen)
	}
	for part := range strings.SplitSeq(h, ",") {
		k, v, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found {
			return "", nil, fmt.Errorf("element %q is not key=value", part)
		}
		switch k {
		case "t":
			if ts != "" {
				return "", nil, errors.New("more than one t=")
			}
			// The decimal digits as signed: canonical (no sign, no leading
			// zero), so that the string the MAC covers is the one Sign writes.
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 || strconv.FormatInt(n, 10) != v || len(v) > 12 {
				return "", nil, fmt.Errorf("t=%q is not a Unix time in seconds", v)
			}
			ts = v
		case "v1":
			var s [sha256.Size]byte
			if len(v) != hex.EncodedLen(sha256.Size) {
				return "", nil, fmt.Errorf("v1= is %d characters, want %d (hex of an HMAC-SHA256)", len(v), hex.EncodedLen(sha256.Size))
			}
			if _, err := hex.Decode(s[:], []byte(v)); err != nil {
				return "", nil, errors.New("v1= is not hex")
			}
			sigs = append(sigs, s)
		}
	}
	switch {
	case ts == "":
		return "", nil, errors.New("no t=")
	case len(sigs) == 0:
		return "", nil, errors.New("no v1=")
	}
	return ts, sigs, nil
}

// header returns the first value of the header named name, also when the
// map was built by hand with a key that is not canonical.
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
