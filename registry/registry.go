// Package registry keeps the connectors admins create, change, pause,
// rotate and delete at runtime (through GraphQL), and applies them to the
// webhook ingest without a restart, on every replica.
//
// Connectors of the configuration file are listed too and may be paused
// and resumed; they are changed in the file. A runtime connector is a
// store record; its webhook secrets and API token are sealed with
// AES-256-GCM (package seal) under the key in STOCKGATE_SECRET_KEY, and
// appear nowhere in clear: not in the store, responses, errors or logs.
// The gateway refuses to start when sealed secrets exist and no key is
// given (Load returns seal.ErrNoKey), and refuses to create a connector
// with secrets without a key.
//
// Channel rules set at runtime (SetRule) are records too, applied to the
// dispatcher; they win over the file's.
//
// Every replica reads the records at start and again every Run interval,
// so a change made on one replica reaches the others within it.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/stockgate/stockgate/config"
	"github.com/stockgate/stockgate/seal"
	"github.com/stockgate/stockgate/store"
)

// Errors.
var (
	// ErrNotFound: no connector has the id.
	ErrNotFound = errors.New("registry: no such connector")
	// ErrExists: a connector with the id exists.
	ErrExists = errors.New("registry: a connector with this id exists")
	// ErrStatic: the connector comes from the configuration file and is
	// changed there (it may still be paused and resumed).
	ErrStatic = errors.New("registry: the connector is defined in the configuration file; change it there")
	// ErrInvalid wraps what is wrong with an input.
	ErrInvalid = errors.New("registry: invalid connector")
)

// Target is where connectors are applied: the webhook ingest, through
// the mapping service (which merges the stored mappings in).
type Target interface {
	// Apply builds a connector and serves its webhooks.
	Apply(ctx context.Context, c config.Connector) error
	// Unregister stops serving a connector's webhooks (404).
	Unregister(id string)
	// SetPaused answers a connector's webhooks 503 while paused.
	SetPaused(id string, paused bool)
}

// Options configure a Registry.
type Options struct {
	// Store keeps the records. Required.
	Store *store.Store
	// Config holds the connectors of the file and the declared locations
	// and SKUs runtime connectors are checked against. Required.
	Config *config.Config
	// Key seals secrets; nil when STOCKGATE_SECRET_KEY is not set.
	Key *seal.Key
	// Target receives every connector. Required.
	Target Target
	// Rules, when set, receives the channel rules set at runtime (the
	// dispatcher); nil when nothing pushes availability.
	Rules Rules
	// Build, when set, builds a connector without serving it, so that a
	// setting its kind refuses (a Shopify location id that is not a
	// number) is refused before it is stored.
	Build func(config.Connector) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil means slog.Default.
	Logger *slog.Logger
}

// Input is what an admin sets on a connector: everything but secrets.
type Input struct {
	ID, Kind, Shop, DefaultLocation, NotificationURL string
	Locations, Items, Stores                         map[string]string
	APIBaseURL                                       string
	SellerID                                         string
	SNSTopics                                        []string
	AuthHeader                                       string
	Tolerance                                        time.Duration
}

// Secrets are a connector's secrets, given in clear once and sealed.
type Secrets struct {
	// Webhook are the webhook signing secrets, current first.
	Webhook []string
	// APIToken is the marketplace API access token; nil leaves it as is.
	APIToken *string
}

// View is a connector as admins see it: secrets only as set or not.
type View struct {
	Input
	// Static: from the configuration file.
	Static bool
	Paused bool
	// WebhookSecrets is how many webhook secrets are set.
	WebhookSecrets int
	APITokenSet    bool
	// SecretsRotatedAt is when secrets were last set; zero for the file's.
	SecretsRotatedAt time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
	// By is the key that made the last change.
	By string
}

// record is a connector as the store keeps it.
type record struct {
	Input            Input     `json:"input"`
	Static           bool      `json:"static,omitempty"` // only Paused is kept
	Paused           bool      `json:"paused,omitempty"`
	Webhook          []string  `json:"webhook,omitempty"` // sealed
	APIToken         string    `json:"apiToken,omitempty"`
	SecretsRotatedAt time.Time `json:"secretsRotatedAt"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
	By               string    `json:"by"`
	Version          int64     `json:"version"`
}

// Registry is the set of connectors. It is safe for concurrent use.
type Registry struct {
	o      Options
	static map[string]config.Connector

	mu      sync.Mutex       // serialises changes and applying
	applied map[string]int64 // id → applied record version (0: file's)
	rules   map[string]int64 // account → applied rule version
}

// New returns a Registry; call Load before serving.
func New(o Options) (*Registry, error) {
	if o.Store == nil || o.Config == nil || o.Target == nil {
		return nil, errors.New("registry: Store, Config and Target are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	r := &Registry{o: o, static: map[string]config.Connector{}, applied: map[string]int64{}, rules: map[string]int64{}}
	for _, c := range o.Config.Connectors {
		r.static[c.ID] = c
	}
	return r, nil
}

// Load reads every record and applies it. It returns seal.ErrNoKey when a
// record holds sealed secrets and the Registry has no key, and an error
// when a secret does not open with the key.
func (r *Registry) Load(ctx context.Context) error {
	recs, err := r.records(ctx)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if !rec.Static && (len(rec.Webhook) > 0 || rec.APIToken != "") && r.o.Key == nil {
			return fmt.Errorf("registry: connector %q: %w", rec.Input.ID, seal.ErrNoKey)
		}
	}
	if err := r.apply(recs); err != nil {
		return err
	}
	return r.applyRules(ctx)
}

// Run reloads the records every interval (changes made on other
// replicas) until ctx ends.
func (r *Registry) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		recs, err := r.records(ctx)
		if err != nil {
			continue // the store is down: keep what is applied
		}
		if err := r.apply(recs); err != nil {
			r.o.Logger.Error("registry: applying connectors", "err", err)
		}
		if err := r.applyRules(ctx); err != nil {
			r.o.Logger.Error("registry: applying channel rules", "err", err)
		}
	}
}

// records reads every connector record.
func (r *Registry) records(ctx context.Context) (map[string]record, error) {
	rs, err := r.o.Store.AllRecords(ctx, store.RecordConnector)
	if err != nil {
		return nil, err
	}
	out := make(map[string]record, len(rs))
	for _, sr := range rs {
		var rec record
		if err := json.Unmarshal(sr.Data, &rec); err != nil {
			return nil, fmt.Errorf("registry: connector %q: %w", sr.ID, err)
		}
		out[sr.ID] = rec
	}
	return out, nil
}

// apply brings the Target in line with recs: what changed is applied
// again, what went is removed.
func (r *Registry) apply(recs map[string]record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for id, rec := range recs {
		if v, ok := r.applied[id]; ok && v == rec.Version {
			continue
		}
		if err := r.applyOne(rec); err != nil {
			errs = append(errs, err)
			continue
		}
		r.applied[id] = rec.Version
	}
	for id := range r.static {
		if _, ok := recs[id]; !ok && r.applied[id] != 0 {
			r.o.Target.SetPaused(id, false) // its pause record went
			r.applied[id] = 0
		}
	}
	for id := range maps.Clone(r.applied) {
		if _, ok := recs[id]; !ok {
			if _, static := r.static[id]; !static {
				r.o.Target.Unregister(id)
				delete(r.applied, id)
			}
		}
	}
	return errors.Join(errs...)
}

// applyOne registers one record's connector; the caller holds r.mu.
func (r *Registry) applyOne(rec record) error {
	id := rec.Input.ID
	if rec.Static {
		r.o.Target.SetPaused(id, rec.Paused)
		return nil
	}
	c, err := r.connector(rec)
	if err != nil {
		return err
	}
	// Paused first: a connector made paused never serves a webhook.
	r.o.Target.SetPaused(id, rec.Paused)
	if err := r.o.Target.Apply(context.Background(), c); err != nil {
		return fmt.Errorf("registry: connector %q: %w", id, err)
	}
	return nil
}

// connector is a record as a config.Connector, secrets opened.
func (r *Registry) connector(rec record) (config.Connector, error) {
	in := rec.Input
	c := config.Connector{
		ID: in.ID, Kind: in.Kind, Shop: in.Shop, DefaultLocation: in.DefaultLocation,
		Locations: in.Locations, Items: in.Items, Stores: in.Stores,
		NotificationURL: in.NotificationURL, Tolerance: in.Tolerance,
		Amazon: config.AmazonConnector{SellerID: in.SellerID, SNSTopics: in.SNSTopics, AuthHeader: in.AuthHeader},
		API:    config.API{BaseURL: in.APIBaseURL},
	}
	if (len(rec.Webhook) > 0 || rec.APIToken != "") && r.o.Key == nil {
		return c, fmt.Errorf("registry: connector %q: %w", in.ID, seal.ErrNoKey)
	}
	for i, s := range rec.Webhook {
		v, err := r.o.Key.Open(s, secretContext(in.ID, "webhook", i))
		if err != nil {
			return c, fmt.Errorf("registry: connector %q webhook secret %d: %w", in.ID, i, err)
		}
		c.SecretValues = append(c.SecretValues, v)
	}
	if rec.APIToken != "" {
		v, err := r.o.Key.Open(rec.APIToken, secretContext(in.ID, "apiToken", 0))
		if err != nil {
			return c, fmt.Errorf("registry: connector %q API token: %w", in.ID, err)
		}
		c.API.TokenValue = v
	}
	return c, nil
}

// secretContext binds a sealed secret to its connector and field.
func secretContext(id, field string, i int) string {
	return "connector/" + id + "/" + field + "/" + strconv.Itoa(i)
}

// seal seals s's secrets into rec.
func (r *Registry) seal(rec *record, s Secrets) error {
	if len(s.Webhook) == 0 && (s.APIToken == nil || *s.APIToken == "") {
		return nil
	}
	if r.o.Key == nil {
		return fmt.Errorf("%w: secrets are stored encrypted: set %s to a 32-byte key (openssl rand -hex 32) and restart", ErrInvalid, seal.EnvVar)
	}
	if len(s.Webhook) > 0 {
		rec.Webhook = rec.Webhook[:0]
		for i, v := range s.Webhook {
			sealed, err := r.o.Key.Seal(v, secretContext(rec.Input.ID, "webhook", i))
			if err != nil {
				return err
			}
			rec.Webhook = append(rec.Webhook, sealed)
		}
	}
	if s.APIToken != nil {
		rec.APIToken = ""
		if *s.APIToken != "" {
			sealed, err := r.o.Key.Seal(*s.APIToken, secretContext(rec.Input.ID, "apiToken", 0))
			if err != nil {
				return err
			}
			rec.APIToken = sealed
		}
	}
	rec.SecretsRotatedAt = r.o.Now().UTC()
	return nil
}

// check validates a record as a connector would be, secrets included.
func (r *Registry) check(rec record, s Secrets) error {
	c, err := r.connector(record{Input: rec.Input})
	if err != nil {
		return err
	}
	c.SecretValues = s.Webhook
	if len(c.SecretValues) == 0 && len(rec.Webhook) > 0 {
		c.SecretValues = []string{"(kept)"}
	}
	if s.APIToken != nil {
		c.API.TokenValue = *s.APIToken
	} else if rec.APIToken != "" {
		c.API.TokenValue = "(kept)"
	}
	if err := r.o.Config.CheckConnector(&c); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if r.o.Build != nil {
		if err := r.o.Build(c); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	return nil
}

// put stores rec as a new version and applies it.
func (r *Registry) put(ctx context.Context, rec record, create bool) (View, error) {
	rec.Version++
	rec.UpdatedAt = r.o.Now().UTC()
	data, err := json.Marshal(rec)
	if err != nil {
		return View{}, err
	}
	sr := store.Record{Kind: store.RecordConnector, ID: rec.Input.ID, Data: data, UpdatedAt: rec.UpdatedAt}
	if create {
		err = r.o.Store.CreateRecord(ctx, sr)
	} else {
		err = r.o.Store.PutRecord(ctx, sr)
	}
	if errors.Is(err, store.ErrDuplicate) {
		return View{}, ErrExists
	}
	if err != nil {
		return View{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.applyOne(rec); err != nil {
		return View{}, err
	}
	r.applied[rec.Input.ID] = rec.Version
	return r.view(rec), nil
}

// get reads one record; a file connector with no record has a fresh one.
func (r *Registry) get(ctx context.Context, id string) (record, error) {
	sr, err := r.o.Store.GetRecord(ctx, store.RecordConnector, id)
	if errors.Is(err, store.ErrNotFound) {
		if c, ok := r.static[id]; ok {
			return record{Input: inputOf(c), Static: true}, nil
		}
		return record{}, ErrNotFound
	}
	if err != nil {
		return record{}, err
	}
	var rec record
	if err := json.Unmarshal(sr.Data, &rec); err != nil {
		return record{}, fmt.Errorf("registry: connector %q: %w", id, err)
	}
	return rec, nil
}

// Create makes a connector.
func (r *Registry) Create(ctx context.Context, in Input, s Secrets, by string) (View, error) {
	if _, ok := r.static[in.ID]; ok {
		return View{}, ErrExists
	}
	now := r.o.Now().UTC()
	rec := record{Input: in, CreatedAt: now, By: by}
	if err := r.check(rec, s); err != nil {
		return View{}, err
	}
	if err := r.seal(&rec, s); err != nil {
		return View{}, err
	}
	return r.put(ctx, rec, true)
}

// Update replaces a runtime connector's settings; its secrets are kept.
// The id and kind cannot change.
func (r *Registry) Update(ctx context.Context, in Input, by string) (View, error) {
	rec, err := r.get(ctx, in.ID)
	if err != nil {
		return View{}, err
	}
	if rec.Static {
		return View{}, ErrStatic
	}
	if in.Kind != "" && in.Kind != rec.Input.Kind {
		return View{}, fmt.Errorf("%w: the kind of a connector cannot change (delete it and create another)", ErrInvalid)
	}
	in.Kind = rec.Input.Kind
	rec.Input, rec.By = in, by
	if err := r.check(rec, Secrets{}); err != nil {
		return View{}, err
	}
	return r.put(ctx, rec, false)
}

// RotateSecrets sets a runtime connector's secrets. With keepPrevious,
// the current webhook secrets stay valid after the new ones (Shopify and
// Square sign with one secret at a time: keep the old one until the
// marketplace uses the new one, then rotate again without it).
func (r *Registry) RotateSecrets(ctx context.Context, id string, s Secrets, keepPrevious bool, by string) (View, error) {
	rec, err := r.get(ctx, id)
	if err != nil {
		return View{}, err
	}
	if rec.Static {
		return View{}, ErrStatic
	}
	if keepPrevious && len(s.Webhook) > 0 {
		c, err := r.connector(rec)
		if err != nil {
			return View{}, err
		}
		s.Webhook = append(slices.Clone(s.Webhook), c.SecretValues...)
	}
	if err := r.check(rec, s); err != nil {
		return View{}, err
	}
	if err := r.seal(&rec, s); err != nil {
		return View{}, err
	}
	rec.By = by
	return r.put(ctx, rec, false)
}

// SetPaused pauses or resumes a connector's webhooks (any connector).
func (r *Registry) SetPaused(ctx context.Context, id string, paused bool, by string) (View, error) {
	rec, err := r.get(ctx, id)
	if err != nil {
		return View{}, err
	}
	rec.Paused, rec.By = paused, by
	return r.put(ctx, rec, false)
}

// Delete removes a runtime connector: its webhooks are answered 404.
// What it delivered stays in the ledger.
func (r *Registry) Delete(ctx context.Context, id string) error {
	rec, err := r.get(ctx, id)
	if err != nil {
		return err
	}
	if rec.Static {
		return ErrStatic
	}
	if err := r.o.Store.DeleteRecord(ctx, store.RecordConnector, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.o.Target.Unregister(id)
	delete(r.applied, id)
	return nil
}

// Get returns one connector.
func (r *Registry) Get(ctx context.Context, id string) (View, error) {
	rec, err := r.get(ctx, id)
	if err != nil {
		return View{}, err
	}
	return r.view(rec), nil
}

// List returns every connector, the file's and the runtime ones, by id.
func (r *Registry) List(ctx context.Context) ([]View, error) {
	recs, err := r.records(ctx)
	if err != nil {
		return nil, err
	}
	var out []View
	for id, c := range r.static {
		rec, ok := recs[id]
		if !ok {
			rec = record{Input: inputOf(c), Static: true}
		}
		out = append(out, r.view(rec))
	}
	for id, rec := range recs {
		if _, static := r.static[id]; !static {
			out = append(out, r.view(rec))
		}
	}
	slices.SortFunc(out, func(a, b View) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out, nil
}

func (r *Registry) view(rec record) View {
	v := View{
		Input: rec.Input, Static: rec.Static, Paused: rec.Paused,
		WebhookSecrets: len(rec.Webhook), APITokenSet: rec.APIToken != "",
		SecretsRotatedAt: rec.SecretsRotatedAt, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt, By: rec.By,
	}
	if c, ok := r.static[rec.Input.ID]; ok && rec.Static {
		v.Input = inputOf(c)
		v.WebhookSecrets = len(c.Secrets)
		v.APITokenSet = c.API.Token != ""
	}
	return v
}

// inputOf is a file connector's settings.
func inputOf(c config.Connector) Input {
	return Input{
		ID: c.ID, Kind: c.Kind, Shop: c.Shop, DefaultLocation: c.DefaultLocation,
		NotificationURL: c.NotificationURL, Locations: c.Locations, Items: c.Items, Stores: c.Stores,
		APIBaseURL: c.API.BaseURL, SellerID: c.Amazon.SellerID, SNSTopics: c.Amazon.SNSTopics,
		AuthHeader: c.Amazon.AuthHeader, Tolerance: c.Tolerance,
	}
}
