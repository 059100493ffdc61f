package shopifyfake

import (
	"fmt"
	"math"
	"time"
)

// Plan is a Shopify store plan; it sets the bucket's restore rate
// (ref §5.1, https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits).
// The zero value is Standard.
type Plan int

// The plans of the GraphQL Admin API rate-limit table.
const (
	Standard   Plan = iota // 100 points/s
	Advanced               // Advanced Shopify, 200 points/s
	Plus                   // Shopify Plus, 1,000 points/s
	Enterprise             // Shopify for enterprise (Commerce Components), 2,000 points/s
)

// RestoreRate is the plan's documented restore rate in points per second
// [P]. It panics for an unknown plan.
func (p Plan) RestoreRate() float64 {
	switch p {
	case Standard:
		return 100
	case Advanced:
		return 200
	case Plus:
		return 1000
	case Enterprise:
		return 2000
	}
	panic(fmt.Sprintf("shopifyfake: unknown plan %d", int(p)))
}

// String returns the plan's name.
func (p Plan) String() string {
	switch p {
	case Standard:
		return "Standard"
	case Advanced:
		return "Advanced"
	case Plus:
		return "Plus"
	case Enterprise:
		return "Enterprise"
	}
	return fmt.Sprintf("Plan(%d)", int(p))
}

// DefaultMaximumAvailable is the bucket size the fake uses when
// Options.MaximumAvailable is zero: the value observed on a current store
// (ref §5.1, community.shopify.dev/t/23101) [S]. Shopify does not publish
// bucket sizes per plan [U]; clients must read maximumAvailable from
// extensions.cost instead of assuming it.
const DefaultMaximumAvailable = 2000

// ThrottleStatus is extensions.cost.throttleStatus.
type ThrottleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

// bucketEpsilon absorbs float rounding in the restore arithmetic, so that
// waiting exactly (cost−available)/rate seconds is always enough.
const bucketEpsilon = 1e-9

// Bucket is the cost-based leaky bucket of the GraphQL Admin API
// (ref §5.1). It holds up to Max points and refills continuously at Rate
// points per second. A request may run when the bucket holds at least its
// requested cost; that cost is taken before execution and the difference
// between requested and actual cost is refunded afterwards
// (https://help.shopify.com/en/api/graphql-admin-api/call-limit, "Leaky
// bucket rate limit").
//
// Every method takes the current time explicitly, so tests run on fake
// time. Times earlier than the last one seen count as no time passing. A
// Bucket is not safe for concurrent use; Server guards its own.
type Bucket struct {
	max, rate float64
	avail     float64
	last      time.Time
}

// NewBucket returns a full bucket of max points restoring rate points per
// second, as of now. It panics unless max and rate are positive.
func NewBucket(max, rate float64, now time.Time) *Bucket {
	if !(max > 0) || !(rate > 0) {
		panic(fmt.Sprintf("shopifyfake: bucket needs positive size and rate, got %v and %v", max, rate))
	}
	return &Bucket{max: max, rate: rate, avail: max, last: now}
}

func (b *Bucket) advance(t time.Time) {
	if !t.After(b.last) {
		return
	}
	b.avail = math.Min(b.max, b.avail+b.rate*t.Sub(b.last).Seconds())
	b.last = t
}

// AvailableAt reports the points available at t.
func (b *Bucket) AvailableAt(t time.Time) float64 {
	b.advance(t)
	return b.avail
}

// TakeAt takes n points at t if the bucket holds at least n, and reports
// whether it did. A refused request takes nothing.
func (b *Bucket) TakeAt(t time.Time, n float64) bool {
	b.advance(t)
	if b.avail+bucketEpsilon < n {
		return false
	}
	b.avail = math.Max(0, b.avail-n)
	return true
}

// RefundAt gives n points back at t, never beyond the maximum.
func (b *Bucket) RefundAt(t time.Time, n float64) {
	b.advance(t)
	if n > 0 {
		b.avail = math.Min(b.max, b.avail+n)
	}
}

// WaitAt is how long after t the bucket will hold n points: zero if it
// already does, and the derived (n − available)/rate otherwise (ref §5.1).
func (b *Bucket) WaitAt(t time.Time, n float64) time.Duration {
	b.advance(t)
	if b.avail+bucketEpsilon >= n {
		return 0
	}
	return time.Duration(math.Ceil((n - b.avail) / b.rate * float64(time.Second)))
}

// StatusAt is the throttle status reported at t. CurrentlyAvailable is
// rounded down to whole points, as Shopify reports it (ref §5.1 example),
// so a wait derived from it is never too short.
func (b *Bucket) StatusAt(t time.Time) ThrottleStatus {
	b.advance(t)
	return ThrottleStatus{
		MaximumAvailable:   b.max,
		CurrentlyAvailable: math.Floor(b.avail + bucketEpsilon),
		RestoreRate:        b.rate,
	}
}
