package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/graph/model"
	"github.com/stockgate/stockgate/live"
	"github.com/stockgate/stockgate/store"
)

// maxCursorKeys bounds the keys a subscription cursor remembers; a
// subscription that has seen more cannot be resumed exactly and is told so.
const maxCursorKeys = 2000

// position is where an availabilityChanged subscriber is: when it started
// and, per key it has received, the ledger seq of the last change. Encoded
// as its opaque cursor.
type position struct {
	// Start is when the first subscription of the chain began (Unix ns):
	// a key missing from Seqs had no change delivered since then.
	Start int64 `json:"t"`
	// Seqs maps "sku\x00location" to the last seq received. Change it
	// only through seen, which keeps keys in step.
	Seqs map[string]uint64 `json:"s"`

	// keys are the keys of Seqs in order, or nil until sortedKeys needs
	// them again.
	keys []string
}

func posKey(sku, location string) string { return sku + "\x00" + location }

// maxPosKey is the longest key that seen looks up without allocating.
const maxPosKey = 128

// sortedKeys returns the keys of p.Seqs in order (encoding/json's order
// for a map), sorting them only when seen added or dropped one.
func (p *position) sortedKeys() []string {
	if p.keys != nil && len(p.keys) == len(p.Seqs) {
		return p.keys
	}
	p.keys = make([]string, 0, len(p.Seqs))
	for k := range p.Seqs {
		p.keys = append(p.keys, k)
	}
	slices.Sort(p.keys)
	return p.keys
}

// cursor is p encoded: base64url of p's JSON (see appendCursor).
func (p *position) cursor() string {
	b := appendCursor(nil, p, &cursorScratch{})
	return string(b[1 : len(b)-1]) // appendCursor quotes it
}

func parsePosition(c string) (*position, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	var p position
	if err != nil || json.Unmarshal(raw, &p) != nil || p.Start <= 0 {
		return nil, badInput("after: not a subscription cursor from this API")
	}
	if len(p.Seqs) > maxCursorKeys {
		return nil, badInput("after: cursor names too many keys")
	}
	if p.Seqs == nil {
		p.Seqs = map[string]uint64{}
	}
	return &p, nil
}

// seen reports whether a change of key at seq was delivered already, and
// otherwise records it. For a key it knows it allocates nothing.
func (p *position) seen(sku, location string, seq uint64) bool {
	var buf [maxPosKey]byte
	kb := append(append(append(buf[:0], sku...), 0), location...)
	if last, ok := p.Seqs[string(kb)]; ok {
		if seq <= last {
			return true
		}
		// Update the entry under the key string it already has.
		keys := p.sortedKeys()
		i := sort.Search(len(keys), func(i int) bool { return keys[i] >= string(kb) })
		if i < len(keys) && keys[i] == string(kb) {
			p.Seqs[keys[i]] = seq
		} else { // Seqs was changed behind seen's back
			p.Seqs[string(kb)] = seq
			p.keys = nil
		}
		return false
	}
	if len(p.Seqs) >= maxCursorKeys {
		// Forget the oldest-looking key: the cursor stays bounded and the
		// key's next resume falls back to its start time.
		for k2 := range p.Seqs {
			delete(p.Seqs, k2)
			break
		}
	}
	p.Seqs[string(kb)] = seq
	p.keys = nil
	return false
}

// missed reads from the ledger every change of the subscription's keys
// that pos has not seen, oldest first by the time it was recorded.
func (r *subscriptionResolver) missed(ctx context.Context, pos *position, skus []string, location string) ([]live.Change, error) {
	if len(skus) == 0 {
		after := ""
		for {
			page, err := r.Store.SKUs(ctx, after, 500)
			if err != nil {
				return nil, err
			}
			skus = append(skus, page...)
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1]
		}
	}
	start := time.Unix(0, pos.Start)
	var out []live.Change
	for _, sku := range skus {
		ps, err := r.Store.Projections(ctx, sku)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if location != "" && p.Location != location {
				continue
			}
			last, known := pos.Seqs[posKey(p.SKU, p.Location)]
			if !known && p.UpdatedAt.Before(start) {
				continue // nothing recorded since the subscription began
			}
			if known && p.Seq <= last {
				continue
			}
			for from := last; ; {
				es, err := r.Store.History(ctx, p.Key, from, 500)
				if err != nil {
					return nil, err
				}
				for _, e := range es {
					from = e.Seq
					if e.Delta == (store.Quantities{}) || (!known && e.RecordedAt.Before(start)) {
						continue // the ledger published no change for it
					}
					out = append(out, live.Change{Availability: event.Availability{
						SKU: e.SKU, Location: e.Location,
						OnHand: e.Result.OnHand, Committed: e.Result.Committed,
						SafetyStock: e.Result.SafetyStock, Available: e.Result.Available,
						Seq: e.Seq, CauseEventID: e.EventID, CauseType: e.EventType,
						OccurredAt: e.OccurredAt, RecordedAt: e.RecordedAt, CorrelationID: e.CorrelationID,
					}})
				}
				if len(es) < 500 {
					break
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b live.Change) int {
		if c := a.RecordedAt.Compare(b.RecordedAt); c != 0 {
			return c
		}
		if c := strings.Compare(posKey(a.SKU, a.Location), posKey(b.SKU, b.Location)); c != 0 {
			return c
		}
		return int(a.Seq) - int(b.Seq)
	})
	return out, nil
}

// availabilityStream delivers the changes of sub, after those missed since
// pos when resuming, each at most once, with its cursor when withCursor
// (encoding it costs O(keys seen) per change).
func (r *subscriptionResolver) availabilityStream(ctx context.Context, sub *live.Subscriber, pos *position, resume, withCursor bool, skus []string, location string) (<-chan *model.AvailabilityChange, error) {
	var backlog []live.Change
	if resume {
		// Subscribed first, read second: a change committed meanwhile is
		// in both, and pos drops the second copy.
		var err error
		if backlog, err = r.missed(ctx, pos, skus, location); err != nil {
			sub.Close()
			return nil, err
		}
	}
	ch := make(chan *model.AvailabilityChange)
	send := func(c live.Change) bool {
		if pos.seen(c.SKU, c.Location, c.Seq) {
			return true
		}
		out := availabilityChange(c)
		if withCursor {
			out.Cursor = pos.cursor()
		}
		select {
		case ch <- out:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(ch)
		defer sub.Close()
		for _, c := range backlog {
			if !send(c) {
				return
			}
		}
		for {
			changes, err := sub.Next(ctx)
			if err != nil {
				return
			}
			for _, c := range changes {
				if !send(c) {
					return
				}
			}
		}
	}()
	return ch, nil
}
