// Package config reads and checks stockgate's YAML configuration: where
// it listens and keeps its data, which store and bus it uses, its API keys,
// locations, SKUs and connectors.
//
// Secrets are never written in the file itself: a secret field holds a
// reference, "env:NAME" (an environment variable) or "file:/path" (a
// file's contents, trimmed), resolved by [Config.Validate].
//
// # Errors
//
// Validate reports every problem at once, each with its field path, so a
// user can fix the file in one go.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/pubsub"
)

// Config is the whole configuration. The zero value, after Defaults, runs
// the gateway with embedded defaults.
type Config struct {
	// Addr is the listen address; empty means 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// DataDir holds the embedded store and the bootstrap admin key; empty
	// means ./stockgate-data.
	DataDir string `yaml:"dataDir"`
	// Store is the store URL; empty means bolt://<DataDir>/stockgate.db.
	Store string `yaml:"store"`
	// Bus names the bus topics and subscriptions by URL.
	Bus Bus `yaml:"bus"`
	// Replica names this gateway process among the replicas that share a
	// store and a bus: 1 to 64 letters, digits, '-' and '_'. Each
	// "{replica}" in the bus URLs is replaced with it, so that one file
	// gives every replica an availability subscription of its own (see
	// pubsub.BusOptions.Replica). The --replica flag and the
	// STOCKGATE_REPLICA environment variable override it. Empty: the bus
	// URLs must not contain "{replica}".
	Replica string `yaml:"replica"`
	// Webhooks tunes the webhook endpoint.
	Webhooks Webhooks `yaml:"webhooks"`
	// GraphQL tunes the GraphQL endpoint.
	GraphQL GraphQL `yaml:"graphql"`
	// Keys are the API keys. None: an admin key is created at first start
	// and kept in the data dir.
	Keys []Key `yaml:"keys"`
	// Locations are the stock locations. None: any location is accepted.
	Locations []Location `yaml:"locations"`
	// SKUs are the stock keeping units. None: any SKU is accepted.
	SKUs []SKU `yaml:"skus"`
	// Connectors are the marketplace connectors.
	Connectors []Connector `yaml:"connectors"`
	// Dispatch tunes pushing availability to channels.
	Dispatch Dispatch `yaml:"dispatch"`
	// Ledger tunes applying events to the ledger.
	Ledger Ledger `yaml:"ledger"`
}

// Ledger tunes the ledger's consumer of the inbound topic.
type Ledger struct {
	// Workers is how many events the ledger applies at once; zero means
	// ledger.DefaultWorkers (64). More workers put more events into
	// each of the store's group commits when a backlog builds up, which
	// costs less CPU per event and drains the backlog sooner; fewer
	// leave more of the CPU to the webhook endpoint during a burst, which
	// then acknowledges faster while the ledger falls further behind.
	Workers int `yaml:"workers"`
	// Pace is PaceOn (the default, also when empty) or PaceOff. On, the
	// ledger yields the CPU to the webhook endpoint while more than 1 % of
	// webhooks take over 10ms to answer: it applies events in batches, one
	// batch per period, and the backlog waits in the store's outbox
	// (package priority). When holding the ledger back does not make the
	// answers faster (a slow disk), it gives up until they are fast. Off, the ledger and the endpoint share the CPU
	// as the Go scheduler has them, and a burst slows the answers.
	Pace string `yaml:"pace"`
}

// Ledger.Pace's values.
const (
	PaceOn  = "on"
	PaceOff = "off"
)

// maxLedgerWorkers bounds Ledger.Workers: far past where larger groups
// stop paying (the store's group commit takes at most 1,000 calls).
const maxLedgerWorkers = 16384

// Bus holds bus URLs; empty fields mean the embedded mem:// defaults.
type Bus struct {
	Inbound                  string `yaml:"inbound"`
	InboundSubscription      string `yaml:"inboundSubscription"`
	Availability             string `yaml:"availability"`
	AvailabilitySubscription string `yaml:"availabilitySubscription"`
	// MemoryWindow is how many inbound events a mem:// inbound topic may
	// hold sent and not yet applied; the others wait in the store's outbox
	// until the ledger catches up. Zero means 8,192. A broker holds its own
	// backlog, so it is ignored there.
	MemoryWindow int `yaml:"memoryWindow"`
}

// Webhooks tunes the webhook endpoint.
type Webhooks struct {
	// MaxBodyBytes caps a webhook body; zero means 1 MiB. Larger bodies
	// are answered 413.
	MaxBodyBytes int64 `yaml:"maxBodyBytes"`
	// DedupTTL is how long a delivery id is remembered; zero means 7 days
	// (longer than every marketplace's retry window).
	DedupTTL time.Duration `yaml:"dedupTTL"`
}

// GraphQL tunes the GraphQL endpoint.
type GraphQL struct {
	// ComplexityLimit caps a query's complexity (each field 1, a paged
	// field's selection once per item of the page); zero means 10,000.
	ComplexityLimit int `yaml:"complexityLimit"`
	// Introspection enables schema introspection and the GraphiQL page;
	// nil means enabled.
	Introspection *bool `yaml:"introspection"`
	// AllowedOrigins are the browser origins allowed to open websockets
	// (host patterns such as "shop.example.com"); empty means same-origin
	// and non-browser clients only.
	AllowedOrigins []string `yaml:"allowedOrigins"`
}

// Roles.
const (
	RoleAdmin      = "admin"
	RoleStorefront = "storefront"
)

// Key is an API key.
type Key struct {
	// Name identifies the key in logs and the audit trail.
	Name string `yaml:"name"`
	// Role is "admin" (everything) or "storefront" (query, subscribe).
	Role string `yaml:"role"`
	// Secret is a reference to the key's value: env:NAME or file:/path.
	Secret string `yaml:"secret"`
	// Channels limits a storefront key to these channels (connector ids
	// with a sync rule): it may read their channel quantities and nothing
	// per location. Empty: no limit.
	Channels []string `yaml:"channels"`
	// Value is the resolved secret, set by Validate. Never logged.
	Value string `yaml:"-"`
}

// Location is a stock location.
type Location struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

// SKU is a stock keeping unit.
type SKU struct {
	SKU string `yaml:"sku"`
	// SafetyStock is held back from available at every location.
	SafetyStock int64 `yaml:"safetyStock"`
}

// Connector is a marketplace connector.
type Connector struct {
	// ID appears in the webhook URL /webhooks/{id}.
	ID string `yaml:"id"`
	// Kind is shopify, amazon, square or pos.
	Kind string `yaml:"kind"`
	// Shop is the Shopify shop domain (example.myshopify.com); optional.
	Shop string `yaml:"shop"`
	// Secrets are references to the webhook signing secrets, current
	// first; a previous secret keeps working during a rotation.
	Secrets []string `yaml:"secrets"`
	// SecretValues are the resolved secrets, set by Validate.
	SecretValues []string `yaml:"-"`
	// DefaultLocation is the stockgate location for messages that name
	// none (a web order).
	DefaultLocation string `yaml:"defaultLocation"`
	// Locations maps the marketplace's location ids to stockgate ids.
	Locations map[string]string `yaml:"locations"`
	// Items maps the marketplace's item ids (Shopify inventory item ids,
	// Square catalog object ids) to SKUs.
	Items map[string]string `yaml:"items"`
	// NotificationURL is the exact URL registered with Square (its
	// signature covers it); empty means the URL the request arrived at.
	NotificationURL string `yaml:"notificationURL"`
	// Tolerance is how far a POS signature's timestamp may be from now;
	// zero means 5 minutes.
	Tolerance time.Duration `yaml:"tolerance"`
	// Stores maps a POS's store ids to stockgate locations; empty means the
	// store id is the location id.
	Stores map[string]string `yaml:"stores"`
	// Amazon SP-API settings; see AmazonConnector.
	Amazon AmazonConnector `yaml:"amazon"`
	// API is how stockgate calls the marketplace (reconciliation, and
	// pushing availability); empty Token means it does not.
	API API `yaml:"api"`
	// Sync, when set, pushes availability to the channel (Shopify,
	// Square, Amazon).
	Sync *Sync `yaml:"sync"`
}

// ReconciledLocations is the part of Locations that reconciliation reads
// back: all of it but the location the Sync section writes (a Shopify
// LocationID, a Square Location). What that location shows is stockgate's
// own channel quantity, after the rule's buffer, floor and maximum, on its
// way there: compared with one stockgate location's stock it differs
// whenever the rule is not the identity or a push is still in flight. A
// Shopify level there read as drift, and a Square count there would have
// set the location's on hand to the pushed quantity. The dispatcher keeps
// that location right instead: it re-checks every synced SKU, and the
// marketplace's webhook echoing a push is a confirmation. Amazon's sync
// writes merchant-fulfilled quantities, which its reconciliation (FBA
// inventory) never reads, so Amazon keeps every location.
func (c Connector) ReconciledLocations() map[string]string {
	written := ""
	switch {
	case c.Sync == nil:
	case c.Kind == "shopify" && c.Sync.LocationID > 0:
		written = strconv.FormatInt(c.Sync.LocationID, 10)
	case c.Kind == "square":
		written = c.Sync.Location
	}
	if _, ok := c.Locations[written]; written == "" || !ok {
		return c.Locations
	}
	out := make(map[string]string, len(c.Locations)-1)
	for id, loc := range c.Locations {
		if id != written {
			out[id] = loc
		}
	}
	return out
}

// Sync says what stockgate pushes to a channel and how the quantity is
// computed from the ledger.
type Sync struct {
	// LocationID is the Shopify location written.
	LocationID int64 `yaml:"locationId"`
	// Location is the Square location written ("L8YQ2W4K7ZB3D").
	Location string `yaml:"location"`
	// MarketplaceID is the Amazon marketplace written ("ATVPDKIKX0DER").
	MarketplaceID string `yaml:"marketplaceId"`
	// ProductType is sent with Amazon patches; empty means PRODUCT.
	ProductType string `yaml:"productType"`
	// APIVersion is the Shopify Admin API version; empty means 2026-07.
	APIVersion string `yaml:"apiVersion"`
	// Rule computes the channel quantity; its channel defaults to the
	// connector id.
	Rule channel.Rule `yaml:"rule"`
}

// Dispatch tunes the outbound dispatcher; zero fields mean its defaults.
type Dispatch struct {
	// Window coalesces changes per SKU; zero means 250 ms.
	Window time.Duration `yaml:"window"`
	// MaxDelay bounds how long a busy SKU waits; zero means 1 s.
	MaxDelay time.Duration `yaml:"maxDelay"`
	// ReconcileInterval re-checks every synced SKU; zero means 5 min.
	ReconcileInterval time.Duration `yaml:"reconcileInterval"`
}

// API is how stockgate reaches a marketplace's API.
type API struct {
	// BaseURL is the API's base URL: the shop domain for Shopify
	// (example.myshopify.com), the regional endpoint for Amazon; empty
	// means the production endpoint where there is a single one (Square).
	BaseURL string `yaml:"baseURL"`
	// Token is a reference to the access token: env:NAME or file:/path.
	Token string `yaml:"token"`
	// TokenValue is the resolved token, set by Validate. Never logged.
	TokenValue string `yaml:"-"`
	// Reconcile is how often the reconciliation job runs; zero means
	// every 15 minutes.
	Reconcile time.Duration `yaml:"reconcile"`
}

// AmazonConnector holds the settings only an Amazon connector has. Its
// Items map SellerSKUs to SKUs (unmapped SellerSKUs are used as they are);
// its Locations map marketplace ids (FBA) and supply source ids (MFN) to
// locations; its Secrets, if any, authenticate EventBridge API-destination
// calls.
type AmazonConnector struct {
	// SellerID, when set, dead-letters notifications for other sellers.
	SellerID string `yaml:"sellerID"`
	// SNSTopics are the SNS topic ARNs whose notifications are accepted
	// (after signature verification); empty turns the SNS path off.
	SNSTopics []string `yaml:"snsTopics"`
	// SNSCertHosts overrides the hosts signing certificates may come from;
	// empty means sns.<region>.amazonaws.com.
	SNSCertHosts []string `yaml:"snsCertHosts"`
	// AuthHeader is the header EventBridge sends the secret in; empty
	// means Authorization.
	AuthHeader string `yaml:"authHeader"`
	// SQS is the queue URL to consume notifications from
	// (awssqs://…&raw=true); empty means none.
	SQS string `yaml:"sqs"`
}

// Load reads and parses a YAML file; unknown fields are errors. It does
// not validate: call Defaults and Validate.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // an empty file is all defaults
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return &c, nil
}

// Defaults fills the empty fields that have defaults.
func (c *Config) Defaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "stockgate-data"
	}
	if c.Store == "" {
		abs, err := filepath.Abs(filepath.Join(c.DataDir, "stockgate.db"))
		if err != nil {
			abs = filepath.Join(c.DataDir, "stockgate.db")
		}
		c.Store = "bolt://" + filepath.ToSlash(abs)
	}
	if c.Webhooks.MaxBodyBytes == 0 {
		c.Webhooks.MaxBodyBytes = 1 << 20
	}
	if c.Webhooks.DedupTTL == 0 {
		c.Webhooks.DedupTTL = 7 * 24 * time.Hour
	}
	if c.GraphQL.ComplexityLimit == 0 {
		c.GraphQL.ComplexityLimit = 10000
	}
	if c.GraphQL.Introspection == nil {
		t := true
		c.GraphQL.Introspection = &t
	}
}

// Validate checks the configuration and resolves secret references. It
// returns every problem found, joined, each prefixed by its field path.
func (c *Config) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if c.Webhooks.MaxBodyBytes < 0 {
		bad("webhooks.maxBodyBytes", "must not be negative")
	}
	if c.Webhooks.DedupTTL < 0 {
		bad("webhooks.dedupTTL", "must not be negative")
	}
	if c.Bus.MemoryWindow < 0 {
		bad("bus.memoryWindow", "must not be negative")
	}
	if p := c.Ledger.Pace; p != "" && p != PaceOn && p != PaceOff {
		bad("ledger.pace", "%q: want %q or %q", p, PaceOn, PaceOff)
	}
	if c.Ledger.Workers < 0 || c.Ledger.Workers > maxLedgerWorkers {
		bad("ledger.workers", "%d: want 0 (the default) to %d", c.Ledger.Workers, maxLedgerWorkers)
	}
	if c.Replica != "" && !pubsub.ValidReplica(c.Replica) {
		bad("replica", "%q: want 1 to 64 letters, digits, '-' and '_'", c.Replica)
	}
	for _, u := range []struct{ path, url string }{
		{"bus.inbound", c.Bus.Inbound}, {"bus.inboundSubscription", c.Bus.InboundSubscription},
		{"bus.availability", c.Bus.Availability}, {"bus.availabilitySubscription", c.Bus.AvailabilitySubscription},
	} {
		if c.Replica == "" && strings.Contains(u.url, pubsub.ReplicaPlaceholder) {
			bad(u.path, "contains %s: set replica (or --replica, or STOCKGATE_REPLICA)", pubsub.ReplicaPlaceholder)
		}
	}
	names := map[string]bool{}
	for i := range c.Keys {
		k := &c.Keys[i]
		p := fmt.Sprintf("keys[%d]", i)
		if k.Name == "" {
			bad(p+".name", "is required")
		} else if names[k.Name] {
			bad(p+".name", "%q is used twice", k.Name)
		}
		names[k.Name] = true
		if k.Role != RoleAdmin && k.Role != RoleStorefront {
			bad(p+".role", "%q is not admin or storefront", k.Role)
		}
		v, err := ResolveSecret(k.Secret)
		if err != nil {
			bad(p+".secret", "%v", err)
		} else if len(v) < 16 {
			bad(p+".secret", "the key must be at least 16 characters")
		}
		k.Value = v
	}
	locs := map[string]bool{}
	for i, l := range c.Locations {
		p := fmt.Sprintf("locations[%d].id", i)
		switch {
		case l.ID == "":
			bad(p, "is required")
		case locs[l.ID]:
			bad(p, "%q is declared twice", l.ID)
		}
		locs[l.ID] = true
	}
	skus := map[string]bool{}
	for i, s := range c.SKUs {
		p := fmt.Sprintf("skus[%d]", i)
		switch {
		case s.SKU == "":
			bad(p+".sku", "is required")
		case skus[s.SKU]:
			bad(p+".sku", "%q is declared twice", s.SKU)
		}
		if s.SafetyStock < 0 {
			bad(p+".safetyStock", "must not be negative")
		}
		skus[s.SKU] = true
	}
	ids := map[string]bool{}
	for i := range c.Connectors {
		cn := &c.Connectors[i]
		p := fmt.Sprintf("connectors[%d]", i)
		if cn.ID != "" && ids[cn.ID] {
			bad(p+".id", "%q is used twice", cn.ID)
		}
		ids[cn.ID] = true
		errs = append(errs, checkConnector(cn, p, locs, skus)...)
	}
	return errors.Join(errs...)
}

// CheckConnector validates one connector made at runtime against the
// declared locations and SKUs. Its secrets and API token may be given as
// values (SecretValues, API.TokenValue) instead of references.
func (c *Config) CheckConnector(cn *Connector) error {
	locs, skus := map[string]bool{}, map[string]bool{}
	for _, l := range c.Locations {
		locs[l.ID] = true
	}
	for _, s := range c.SKUs {
		skus[s.SKU] = true
	}
	return errors.Join(checkConnector(cn, "connector", locs, skus)...)
}

// checkConnector validates one connector; p names it in errors.
func checkConnector(cn *Connector, p string, locs, skus map[string]bool) []error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	knownLoc := func(path, id string) {
		if len(locs) > 0 && id != "" && !locs[id] {
			bad(path, "location %q is not declared under locations", id)
		}
	}
	switch {
	case cn.ID == "":
		bad(p+".id", "is required")
	case strings.ContainsAny(cn.ID, "/?#% "):
		bad(p+".id", "%q must not contain / ? # %% or spaces", cn.ID)
	}
	if _, err := connectors.ParseKind(cn.Kind); err != nil {
		bad(p+".kind", "%v", err)
	}
	given := len(cn.Secrets) == 0 && len(cn.SecretValues) > 0 // values, not references
	if len(cn.Secrets) == 0 && !given && cn.Kind != "amazon" {
		bad(p+".secrets", "at least one webhook secret is required")
	}
	if cn.Kind == "amazon" && len(cn.Secrets) == 0 && !given && len(cn.Amazon.SNSTopics) == 0 && cn.Amazon.SQS == "" {
		bad(p, "an amazon connector needs amazon.snsTopics, amazon.sqs or secrets (EventBridge)")
	}
	if !given {
		cn.SecretValues = cn.SecretValues[:0]
	}
	for j, ref := range cn.Secrets {
		v, err := ResolveSecret(ref)
		if err != nil {
			bad(fmt.Sprintf("%s.secrets[%d]", p, j), "%v", err)
			continue
		}
		cn.SecretValues = append(cn.SecretValues, v)
	}
	if cn.API.Token != "" {
		v, err := ResolveSecret(cn.API.Token)
		if err != nil {
			bad(p+".api.token", "%v", err)
		}
		cn.API.TokenValue = v
	}
	if cn.API.TokenValue != "" {
		if cn.Kind != "square" && cn.API.BaseURL == "" {
			bad(p+".api.baseURL", "is required for a %s connector", cn.Kind)
		}
	}
	if cn.Sync != nil {
		switch cn.Kind {
		case "shopify":
			if cn.API.TokenValue == "" || cn.API.BaseURL == "" {
				bad(p+".sync", "needs api.baseURL (the shop) and api.token")
			}
			if cn.Sync.LocationID <= 0 {
				bad(p+".sync.locationId", "is required (the Shopify location id written)")
			}
		case "square":
			if cn.API.TokenValue == "" {
				bad(p+".sync", "needs api.token")
			}
			if cn.Sync.Location == "" {
				bad(p+".sync.location", "is required (the Square location id written)")
			}
		case "amazon":
			if cn.API.TokenValue == "" || cn.API.BaseURL == "" {
				bad(p+".sync", "needs api.baseURL (the SP-API endpoint of the region) and api.token")
			}
			if cn.Amazon.SellerID == "" {
				bad(p+".amazon.sellerID", "is required to push availability")
			}
			if cn.Sync.MarketplaceID == "" {
				bad(p+".sync.marketplaceId", "is required (the Amazon marketplace written)")
			}
		default:
			bad(p+".sync", "pushing availability is implemented for shopify, square and amazon connectors")
		}
		if cn.Sync.Rule.Channel == "" {
			cn.Sync.Rule.Channel = cn.ID
		}
		if err := cn.Sync.Rule.Validate(); err != nil {
			bad(p+".sync.rule", "%v", err)
		}
		for _, l := range cn.Sync.Rule.Locations {
			knownLoc(p+".sync.rule.locations", l)
		}
	}
	if cn.API.Reconcile < 0 {
		bad(p+".api.reconcile", "must not be negative")
	}
	knownLoc(p+".defaultLocation", cn.DefaultLocation)
	for ext, loc := range cn.Locations {
		knownLoc(fmt.Sprintf("%s.locations[%q]", p, ext), loc)
	}
	for ext, loc := range cn.Stores {
		knownLoc(fmt.Sprintf("%s.stores[%q]", p, ext), loc)
	}
	if cn.Tolerance < 0 {
		bad(p+".tolerance", "must not be negative")
	}
	for ext, sku := range cn.Items {
		if len(skus) > 0 && !skus[sku] {
			bad(fmt.Sprintf("%s.items[%q]", p, ext), "SKU %q is not declared under skus", sku)
		}
	}
	return errs
}

// ResolveSecret resolves a secret reference: "env:NAME" or "file:/path".
// A literal value is refused so that secrets stay out of config files.
func ResolveSecret(ref string) (string, error) {
	switch {
	case ref == "":
		return "", errors.New("is required (env:NAME or file:/path)")
	case strings.HasPrefix(ref, "env:"):
		name := strings.TrimPrefix(ref, "env:")
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		return v, nil
	case strings.HasPrefix(ref, "file:"):
		raw, err := os.ReadFile(strings.TrimPrefix(ref, "file:"))
		if err != nil {
			return "", err
		}
		v := strings.TrimSpace(string(raw))
		if v == "" {
			return "", fmt.Errorf("%s is empty", strings.TrimPrefix(ref, "file:"))
		}
		return v, nil
	}
	return "", errors.New("must be a reference, env:NAME or file:/path, not the secret itself")
}

// Catalog is the ledger's view of the declared SKUs and locations.
type Catalog struct {
	locations map[string]bool
	safety    map[string]int64
}

// Catalog returns the catalog of c.
func (c *Config) Catalog() *Catalog {
	cat := &Catalog{locations: map[string]bool{}, safety: map[string]int64{}}
	for _, l := range c.Locations {
		cat.locations[l.ID] = true
	}
	for _, s := range c.SKUs {
		cat.safety[s.SKU] = s.SafetyStock
	}
	return cat
}

// Known reports an unknown SKU or location as an error, when any are
// declared.
func (c *Catalog) Known(sku, location string) error {
	if len(c.safety) > 0 {
		if _, ok := c.safety[sku]; !ok {
			return fmt.Errorf("unknown sku %q", sku)
		}
	}
	if len(c.locations) > 0 && !c.locations[location] {
		return fmt.Errorf("unknown location %q", location)
	}
	return nil
}

// SafetyStock returns the SKU's safety stock.
func (c *Catalog) SafetyStock(sku, _ string) int64 { return c.safety[sku] }

// SKUList returns the declared SKUs, sorted.
func (c *Config) SKUList() []string {
	out := make([]string, 0, len(c.SKUs))
	for _, s := range c.SKUs {
		out = append(out, s.SKU)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
