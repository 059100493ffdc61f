// Package mapping keeps the runtime mappings of marketplace ids to SKUs and
// locations, and replays what waited for them.
//
// A webhook line that names a marketplace id no mapping knows is kept as a
// dead letter with its request (pending mapping), never dropped. When an
// admin adds the mapping, the connector is rebuilt with it and every pending
// request of that connector is normalized again: what now maps is accepted
// through the ordinary path (outbox, bus, ledger) and the dead letter is
// resolved as replayed; what still does not map stays pending. Canonical
// event ids are derived from the source, so lines that were applied the
// first time are not applied again.
//
// Dead letters that hold a canonical event (an unknown SKU or type at the
// ledger) can be replayed one by one; they go back through the inbound
// outbox.
package mapping

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/stockgate/stockgate/config"
	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/ingest"
	"github.com/stockgate/stockgate/ledger"
	"github.com/stockgate/stockgate/store"
)

// Resolutions recorded on dead letters.
const (
	Replayed  = "replayed"
	Discarded = "discarded"
)

// ErrNotFound: no dead letter or connector with that id.
var ErrNotFound = errors.New("mapping: not found")

// ErrNotMappable: a mapping the connector has no use for.
var ErrNotMappable = errors.New("mapping: not mappable")

// ErrNotReady: a dead letter that would fail again for the reason it
// failed, so it is not replayed.
var ErrNotReady = errors.New("mapping: not ready to replay")

// Builder builds a connector's inbound side from its configuration with
// the stored mappings merged in.
type Builder func(c config.Connector) (connectors.Inbound, error)

// Service adds mappings and replays pending dead letters.
type Service struct {
	st    *store.Store
	ing   *ingest.Handler
	build Builder
	cat   ledger.Catalog
	now   func() time.Time

	mu    sync.RWMutex
	conns map[string]config.Connector
}

// New returns a service for the configured connectors. cat is the
// ledger's catalog (nil: every SKU and location is known): a kept event
// that names what it does not know is not replayed.
func New(st *store.Store, ing *ingest.Handler, conns []config.Connector, build Builder, cat ledger.Catalog, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if cat == nil {
		cat = ledger.OpenCatalog{}
	}
	s := &Service{st: st, ing: ing, build: build, cat: cat, conns: map[string]config.Connector{}, now: now}
	for _, c := range conns {
		s.conns[c.ID] = c
	}
	return s
}

// Merge returns c with the mappings added to its Items and Locations, or
// for a POS connector that lists its stores, its Stores (a stored mapping
// wins over the file's).
func Merge(c config.Connector, ms []store.Mapping) config.Connector {
	c.Items, c.Locations, c.Stores = maps.Clone(c.Items), maps.Clone(c.Locations), maps.Clone(c.Stores)
	for _, m := range ms {
		if m.Connector != c.ID {
			continue
		}
		switch m.Kind {
		case store.MapSKU:
			if c.Items == nil {
				c.Items = map[string]string{}
			}
			c.Items[m.External] = m.Internal
		case store.MapLocation:
			into := &c.Locations
			if c.Kind == string(connectors.POS) {
				if len(c.Stores) == 0 {
					// Its store ids are its locations (mappable refuses
					// new mappings; this one is from before).
					continue
				}
				into = &c.Stores
			}
			if *into == nil {
				*into = map[string]string{}
			}
			(*into)[m.External] = m.Internal
		}
	}
	return c
}

// Open builds every connector with its stored mappings and registers it
// with the ingest handler.
func (s *Service) Open(ctx context.Context) error {
	s.mu.RLock()
	ids := slices.Collect(maps.Keys(s.conns))
	s.mu.RUnlock()
	for _, id := range ids {
		if _, err := s.rebuild(ctx, id, nil); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) rebuild(ctx context.Context, id string, extra *store.Mapping) (connectors.Inbound, error) {
	s.mu.RLock()
	c, ok := s.conns[id]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: connector %q", ErrNotFound, id)
	}
	ms, err := s.st.Mappings(ctx, id)
	if err != nil {
		return nil, err
	}
	if extra != nil {
		ms = append(ms, *extra)
	}
	in, err := s.build(Merge(c, ms))
	if err != nil {
		return nil, fmt.Errorf("mapping: connector %q: %w", id, err)
	}
	s.ing.Register(in)
	return in, nil
}

// Outcome says what a replay did.
type Outcome struct {
	// Replayed dead letters were accepted again and resolved.
	Replayed int
	// StillPending dead letters still name something unmapped.
	StillPending int
}

// Map stores a mapping, rebuilds its connector with it, and replays the
// connector's pending dead letters. A mapping the connector refuses (a
// Shopify location id that is not a number, say) is not stored.
func (s *Service) Map(ctx context.Context, m store.Mapping) (Outcome, error) {
	m.UpdatedAt = s.now().UTC()
	s.mu.RLock()
	c, ok := s.conns[m.Connector]
	s.mu.RUnlock()
	if !ok {
		return Outcome{}, fmt.Errorf("%w: connector %q", ErrNotFound, m.Connector)
	}
	if err := mappable(c, m.Kind); err != nil {
		return Outcome{}, err
	}
	// Build with the candidate first: a refused mapping changes nothing.
	ms, err := s.st.Mappings(ctx, m.Connector)
	if err != nil {
		return Outcome{}, err
	}
	if _, err := s.build(Merge(c, append(ms, m))); err != nil {
		return Outcome{}, fmt.Errorf("mapping: connector %q refuses it: %w", m.Connector, err)
	}
	if err := s.st.PutMapping(ctx, m); err != nil {
		return Outcome{}, err
	}
	if _, err := s.rebuild(ctx, m.Connector, nil); err != nil {
		return Outcome{}, err
	}
	return s.ReplayPending(ctx, m.Connector)
}

// mappable refuses a mapping that would change nothing, or more than it
// says: a POS names stockgate's SKUs itself, and a POS whose configuration
// maps no stores takes each store id as its location, which one mapping
// would end for every other store.
func mappable(c config.Connector, kind string) error {
	if c.Kind != string(connectors.POS) {
		return nil
	}
	switch {
	case kind == store.MapSKU:
		return fmt.Errorf("%w: connector %q (pos) sends stockgate SKUs; there is no SKU to map", ErrNotMappable, c.ID)
	case kind == store.MapLocation && len(c.Stores) == 0:
		return fmt.Errorf("%w: connector %q (pos) takes each store id as its location (no stores: in its configuration); "+
			"list its stores there to map them", ErrNotMappable, c.ID)
	}
	return nil
}

// Pending returns the unresolved dead letters kept with their request
// (waiting for a mapping), of one connector or all ("").
func (s *Service) Pending(ctx context.Context, connector string, limit int) ([]store.DeadLetter, error) {
	var out []store.DeadLetter
	err := s.each(ctx, func(dl store.DeadLetter) bool {
		if dl.Resolution == "" && dl.Header != nil && (connector == "" || dl.Connector == connector) {
			out = append(out, dl)
		}
		return len(out) < limit
	})
	return out, err
}

// ReplayPending normalizes every pending request of a connector again.
func (s *Service) ReplayPending(ctx context.Context, connector string) (Outcome, error) {
	pending, err := s.Pending(ctx, connector, 1<<30)
	if err != nil {
		return Outcome{}, err
	}
	var o Outcome
	for _, dl := range pending {
		ok, err := s.replayRequest(ctx, dl)
		if err != nil {
			return o, err
		}
		if ok {
			o.Replayed++
		} else {
			o.StillPending++
		}
	}
	return o, nil
}

// replayRequest normalizes a kept request again; it reports false when
// something in it is still unmapped (nothing is stored then).
func (s *Service) replayRequest(ctx context.Context, dl store.DeadLetter) (bool, error) {
	c, ok := s.ing.Connector(dl.Connector)
	if !ok {
		return false, nil
	}
	// Not verified again: it was when it arrived, and a rotated secret
	// must not strand it.
	res, err := c.Normalize(ctx, &connectors.Request{Header: dl.Header, Body: dl.Body, URL: dl.URL, ReceivedAt: s.now()})
	if err != nil || len(res.Unmapped) > 0 {
		return false, nil
	}
	res.DedupKey = "replay:" + dl.ID
	if _, err := s.ing.Accept(ctx, res, s.now()); err != nil {
		return false, err
	}
	return true, s.st.ResolveDeadLetter(ctx, dl.ID, Replayed, s.now().UTC())
}

// Replay replays one dead letter: a kept request is normalized again; a
// kept canonical event goes back to the inbound outbox, unless it names a
// SKU or location the catalog still does not know (an error wrapping
// ErrNotReady; the dead letter stays as it was). It returns the dead
// letter as it is afterwards. A dead letter may be replayed again: the
// ledger applies an event once however often it arrives, and an event it
// still cannot apply becomes a dead letter of its own.
func (s *Service) Replay(ctx context.Context, id string) (store.DeadLetter, error) {
	dl, err := s.get(ctx, id)
	if err != nil {
		return dl, err
	}
	if dl.Header != nil {
		if _, err := s.replayRequest(ctx, dl); err != nil {
			return dl, err
		}
		return s.get(ctx, id)
	}
	ev, err := event.Parse(dl.Body)
	if err != nil || ev.Movement == nil {
		return dl, fmt.Errorf("mapping: dead letter %s holds no stock event that could be replayed: %v", id, err)
	}
	m := ev.Movement
	for _, loc := range []string{m.Location, m.ToLocation} {
		if loc == "" {
			continue
		}
		if err := s.cat.Known(m.SKU, loc); err != nil {
			return dl, fmt.Errorf("%w: dead letter %s: %v; declare it in the configuration (skus:, locations:) and restart, then replay", ErrNotReady, id, err)
		}
	}
	err = s.st.Accept(ctx, store.Acceptance{
		Messages: []store.Message{{Topic: ledger.TopicInbound, EventID: ev.ID(), Body: dl.Body, Key: m.SKU, CreatedAt: s.now()}},
	})
	if err != nil {
		return dl, err
	}
	s.ing.Notify()
	if err := s.st.ResolveDeadLetter(ctx, id, Replayed, s.now().UTC()); err != nil {
		return dl, err
	}
	return s.get(ctx, id)
}

// Discard resolves a dead letter as discarded; it stays listed.
func (s *Service) Discard(ctx context.Context, id string) (store.DeadLetter, error) {
	if err := s.st.ResolveDeadLetter(ctx, id, Discarded, s.now().UTC()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.DeadLetter{}, fmt.Errorf("%w: dead letter %q", ErrNotFound, id)
		}
		return store.DeadLetter{}, err
	}
	return s.get(ctx, id)
}

func (s *Service) get(ctx context.Context, id string) (store.DeadLetter, error) {
	var found *store.DeadLetter
	err := s.each(ctx, func(dl store.DeadLetter) bool {
		if dl.ID == id {
			found = &dl
			return false
		}
		return true
	})
	if err != nil {
		return store.DeadLetter{}, err
	}
	if found == nil {
		return store.DeadLetter{}, fmt.Errorf("%w: dead letter %q", ErrNotFound, id)
	}
	return *found, nil
}

// each walks every dead letter, oldest first, until fn returns false.
func (s *Service) each(ctx context.Context, fn func(store.DeadLetter) bool) error {
	after := ""
	for {
		page, err := s.st.DeadLetters(ctx, after, 500)
		if err != nil {
			return err
		}
		for _, dl := range page {
			if !fn(dl) {
				return nil
			}
		}
		if len(page) < 500 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// Apply adds or replaces a connector made at runtime (package registry)
// and registers it, with its stored mappings, in the ingest.
func (s *Service) Apply(ctx context.Context, c config.Connector) error {
	s.mu.Lock()
	prev, had := s.conns[c.ID]
	s.conns[c.ID] = c
	s.mu.Unlock()
	if _, err := s.rebuild(ctx, c.ID, nil); err != nil {
		s.mu.Lock()
		if had {
			s.conns[c.ID] = prev
		} else {
			delete(s.conns, c.ID)
		}
		s.mu.Unlock()
		return err
	}
	return nil
}

// Unregister removes a connector: its webhooks are answered 404.
func (s *Service) Unregister(id string) {
	s.mu.Lock()
	delete(s.conns, id)
	s.mu.Unlock()
	s.ing.Unregister(id)
}

// SetPaused pauses or resumes a connector's webhooks.
func (s *Service) SetPaused(id string, paused bool) { s.ing.SetPaused(id, paused) }

// Get returns one dead letter by id.
func (s *Service) Get(ctx context.Context, id string) (store.DeadLetter, error) {
	return s.get(ctx, id)
}
