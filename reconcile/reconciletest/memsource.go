package reconciletest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/stockgate/stockgate/reconcile"
)

// MemSource is an in-memory reconcile.Source: it returns the observations
// set on it whose AsOf is after since, in the order set: every one when
// since is zero, and those with Skip set always. It is safe for concurrent use.
type MemSource struct {
	mu     sync.Mutex
	obs    []reconcile.Observation
	err    error
	reads  []time.Time
	gate   chan struct{}
	inRead chan struct{}
}

var _ reconcile.Source = (*MemSource)(nil)

// Set replaces the observations.
func (m *MemSource) Set(obs ...reconcile.Observation) {
	m.mu.Lock()
	m.obs = slices.Clone(obs)
	m.mu.Unlock()
}

// Put adds or replaces the observation of o's SKU, location and state.
func (m *MemSource) Put(o reconcile.Observation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, p := range m.obs {
		if p.SKU == o.SKU && p.Location == o.Location && p.State == o.State && p.Skip == "" {
			m.obs[i] = o
			return
		}
	}
	m.obs = append(m.obs, o)
}

// SetErr makes every Read fail with err (nil: succeed again).
func (m *MemSource) SetErr(err error) {
	m.mu.Lock()
	m.err = err
	m.mu.Unlock()
}

// Block makes Reads wait until release is called (or their ctx is done).
// Entered receives once per Read that starts waiting.
func (m *MemSource) Block() (entered <-chan struct{}, release func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	gate, in := make(chan struct{}), make(chan struct{}, 16)
	m.gate, m.inRead = gate, in
	var once sync.Once
	return in, func() {
		once.Do(func() {
			m.mu.Lock()
			if m.gate == gate {
				m.gate = nil
			}
			m.mu.Unlock()
			close(gate)
		})
	}
}

// Reads returns the since of every Read so far.
func (m *MemSource) Reads() []time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.reads)
}

// Read implements reconcile.Source.
func (m *MemSource) Read(ctx context.Context, since time.Time) ([]reconcile.Observation, error) {
	m.mu.Lock()
	m.reads = append(m.reads, since)
	gate, in := m.gate, m.inRead
	m.mu.Unlock()
	if gate != nil {
		select {
		case in <- struct{}{}:
		default:
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	var out []reconcile.Observation
	for _, o := range m.obs {
		if since.IsZero() || o.Skip != "" || o.AsOf.After(since) {
			out = append(out, o)
		}
	}
	return out, nil
}
