// Package channel computes the quantity stockgate offers on a sales
// channel (a Shopify location, an Amazon listing) from the stock ledger,
// and explains how it got there.
//
// A [Rule] names the stockgate locations that feed the channel, a safety
// buffer held back from the channel (units, or a percentage of the sum), a
// maximum the channel may show and a floor below which it shows 0.
// [Rule.Compute] applies it to the ledger's projections:
//
//	sum        = Σ max(0, available) over the rule's locations (an oversold
//	             location offers nothing, it does not eat into the others)
//	buffer     = BufferUnits, or ⌈sum × BufferPercent / 100⌉
//	after      = max(0, sum − buffer)
//	value      = min(after, Max)            when Max is set
//	value      = 0                          when value < Floor
//
// The result is never negative. Every step is kept in the [Explanation],
// with a sentence for people, so the GraphQL API can say why a channel
// shows what it shows.
//
// The package is pure: it imports the store only for the Projection type
// and does no I/O.
package channel

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/stockgate/stockgate/store"
)

// Rule says how one channel's quantity is computed from the ledger. The
// zero value is not valid: a rule needs a channel and at least one
// location.
type Rule struct {
	// Channel names the channel (a connector account, say "shopify-eu").
	// Required.
	Channel string `json:"channel" yaml:"channel"`
	// Locations are the stockgate locations whose available units the
	// channel sells. At least one; no duplicates.
	Locations []string `json:"locations" yaml:"locations"`
	// BufferUnits are held back from the channel. Zero: no unit buffer.
	// Not together with BufferPercent.
	BufferUnits int64 `json:"bufferUnits,omitempty" yaml:"bufferUnits"`
	// BufferPercent is held back from the channel as a percentage of the
	// sum, rounded up to whole units (10 holds back 1 of 1 to 10 units).
	// It is resolved to 0.01 %. Zero: no percentage buffer. From 0 to 100;
	// not together with BufferUnits.
	BufferPercent float64 `json:"bufferPercent,omitempty" yaml:"bufferPercent"`
	// Max caps what the channel shows. Nil: no cap.
	Max *int64 `json:"max,omitempty" yaml:"max"`
	// Floor: a value below it is shown as 0 (so a channel never sells the
	// last few units). Zero: no floor.
	Floor int64 `json:"floor,omitempty" yaml:"floor"`
}

// Validate reports every problem of r at once, each naming its field.
func (r Rule) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if strings.TrimSpace(r.Channel) == "" {
		bad("channel", "required")
	}
	if len(r.Locations) == 0 {
		bad("locations", "at least one location is required")
	}
	seen := make(map[string]int, len(r.Locations))
	for i, l := range r.Locations {
		f := "locations[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(l) == "" {
			bad(f, "empty location id")
			continue
		}
		if j, dup := seen[l]; dup {
			bad(f, "%q is already locations[%d]", l, j)
			continue
		}
		seen[l] = i
	}
	if r.BufferUnits < 0 {
		bad("bufferUnits", "%d is negative", r.BufferUnits)
	}
	if math.IsNaN(r.BufferPercent) || r.BufferPercent < 0 || r.BufferPercent > 100 {
		bad("bufferPercent", "%v is not between 0 and 100", r.BufferPercent)
	}
	if r.BufferUnits != 0 && r.BufferPercent != 0 {
		bad("bufferPercent", "set bufferUnits or bufferPercent, not both")
	}
	if r.Max != nil && *r.Max < 0 {
		bad("max", "%d is negative", *r.Max)
	}
	if r.Floor < 0 {
		bad("floor", "%d is negative", r.Floor)
	}
	if r.Max != nil && *r.Max >= 0 && r.Floor > *r.Max {
		bad("floor", "%d is above max %d: the channel would always show 0", r.Floor, *r.Max)
	}
	return errors.Join(errs...)
}

// Includes reports whether location feeds the channel.
func (r Rule) Includes(location string) bool {
	for _, l := range r.Locations {
		if l == location {
			return true
		}
	}
	return false
}

// Quantity is a computed channel quantity and how it was computed.
type Quantity struct {
	// Value is what the channel should show; never negative.
	Value int64 `json:"value"`
	// Explanation is every step from the ledger to Value.
	Explanation Explanation `json:"explanation"`
}

// Explanation is the working of a Compute.
type Explanation struct {
	// Channel is the rule's channel.
	Channel string `json:"channel"`
	// Locations are the rule's locations, in the rule's order, with what
	// each offered.
	Locations []LocationPart `json:"locations"`
	// Sum is the total offered by the locations.
	Sum int64 `json:"sum"`
	// Buffer is what was held back (in units).
	Buffer int64 `json:"buffer"`
	// AfterBuffer is max(0, Sum − Buffer).
	AfterBuffer int64 `json:"afterBuffer"`
	// Max is the rule's cap, nil when it has none; Capped reports that it
	// lowered the value.
	Max    *int64 `json:"max,omitempty"`
	Capped bool   `json:"capped"`
	// Floor is the rule's floor; BelowFloor reports that the value fell
	// below it and 0 is shown instead.
	Floor      int64 `json:"floor"`
	BelowFloor bool  `json:"belowFloor"`
	// Rule says it all in one sentence, for people.
	Rule string `json:"rule"`
}

// LocationPart is what one location contributed.
type LocationPart struct {
	Location string `json:"location"`
	// Available is the ledger's available quantity at the location; it
	// may be negative (oversold).
	Available int64 `json:"available"`
	// Offered is what the location adds to the sum: max(0, Available).
	Offered int64 `json:"offered"`
	// Seq is the ledger sequence number the projection was read at (0: no
	// entries yet).
	Seq uint64 `json:"seq"`
}

// Version is the sum of the parts' ledger sequence numbers. Every ledger
// entry of a location raises its Seq by one, so Version grows with every
// change that could move the channel quantity and never goes back: two
// computations of the same rule can be ordered by it.
func (e Explanation) Version() uint64 {
	var v uint64
	for _, p := range e.Locations {
		v += p.Seq
	}
	return v
}

// Compute applies r to a SKU's projections (as store.Projections returns
// them; projections of other locations are ignored and a missing location
// counts as 0). r should be valid; Compute does not check it, but never
// returns a negative value.
func (r Rule) Compute(ps []store.Projection) Quantity {
	ex := Explanation{Channel: r.Channel, Max: r.Max, Floor: r.Floor, Locations: make([]LocationPart, 0, len(r.Locations))}
	for _, loc := range r.Locations {
		part := LocationPart{Location: loc}
		for i := range ps {
			if ps[i].Location == loc {
				part.Available, part.Seq = ps[i].Available, ps[i].Seq
				break
			}
		}
		part.Offered = max(0, part.Available)
		ex.Locations = append(ex.Locations, part)
		ex.Sum = satAdd(ex.Sum, part.Offered)
	}
	ex.Buffer = max(0, r.BufferUnits)
	if r.BufferPercent > 0 {
		ex.Buffer = percentUp(ex.Sum, r.BufferPercent)
	}
	ex.AfterBuffer = max(0, ex.Sum-ex.Buffer)
	v := ex.AfterBuffer
	if r.Max != nil && v > max(0, *r.Max) {
		v, ex.Capped = max(0, *r.Max), true
	}
	if v < r.Floor {
		v, ex.BelowFloor = 0, true
	}
	ex.Rule = sentence(r, ex, v)
	return Quantity{Value: v, Explanation: ex}
}

// percentUp is ⌈n × pct / 100⌉ with pct resolved to 0.01 %, in integer
// arithmetic so that 10 % of 30 is 3, not 4.
func percentUp(n int64, pct float64) int64 {
	bp := int64(math.Round(min(pct, 100) * 100)) // basis points of a percent: 0..10000
	if n <= 0 || bp <= 0 {
		return 0
	}
	const whole = 100 * 100
	q, rem := n/whole, n%whole // n×bp may overflow; split n
	return q*bp + (rem*bp+whole-1)/whole
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// sentence writes the explanation for people, for example
// "berlin 7 + hamburg −2 (oversold, counts as 0) = 7; buffer 10% (rounded
// up) = 1 → 6; capped at max 5 → 5".
func sentence(r Rule, ex Explanation, v int64) string {
	var b strings.Builder
	b.WriteString(r.Channel)
	b.WriteString(": ")
	for i, p := range ex.Locations {
		if i > 0 {
			b.WriteString(" + ")
		}
		fmt.Fprintf(&b, "%s %d", p.Location, p.Available)
		if p.Available < 0 {
			b.WriteString(" (oversold, counts as 0)")
		}
	}
	fmt.Fprintf(&b, " = %d", ex.Sum)
	switch {
	case r.BufferPercent > 0:
		fmt.Fprintf(&b, "; buffer %s%% of %d (rounded up) = %d → %d",
			strconv.FormatFloat(r.BufferPercent, 'f', -1, 64), ex.Sum, ex.Buffer, ex.AfterBuffer)
	case ex.Buffer > 0:
		fmt.Fprintf(&b, "; buffer %d units → %d", ex.Buffer, ex.AfterBuffer)
	default:
		b.WriteString("; no buffer")
	}
	if ex.Capped {
		fmt.Fprintf(&b, "; capped at max %d", *r.Max)
	}
	if ex.BelowFloor {
		fmt.Fprintf(&b, "; %d is below floor %d, so the channel shows 0", min(ex.AfterBuffer, capOr(r.Max, ex.AfterBuffer)), r.Floor)
	}
	fmt.Fprintf(&b, " ⇒ %d", v)
	return b.String()
}

func capOr(p *int64, d int64) int64 {
	if p == nil {
		return d
	}
	return max(0, *p)
}
