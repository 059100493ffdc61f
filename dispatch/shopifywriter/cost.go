package shopifywriter

// maxQueryCost is the most a single query may cost: Shopify refuses one
// that requests more with MAX_COST_EXCEEDED (ref §5.1), so no write can
// cost more.
const maxQueryCost = 1000

// writeCost predicts the requested cost of a write from the number of
// quantities it sets. Shopify's rate-limits page prices a mutation at a
// flat 10 points, but its costs are only knowable from what it answers
// (ref §5.3), and a cost that grew with the input would be reserved short
// by an estimate that ignores the size: the limiter would grant a call
// the shop then throttles. So the estimate learns how cost grows with
// size:
//
//   - before any answer, initialWriteCost plus a point per quantity: more
//     than the documented price, and than a point per quantity, so that
//     replicas starting together do not over-spend a bucket they know
//     nothing of yet (a large first write takes the whole initial bucket);
//   - after answers of one size only, the last cost scaled up for a larger
//     write, never down;
//   - after answers of two sizes, the line through the last answer of
//     each, never sloping down, so a flat price is predicted exactly.
//
// No estimate exceeds maxQueryCost.
type writeCost struct {
	prevN, lastN int // sizes of the last two answers of different sizes (lastN the latest); 0: none
	prevC, lastC float64
}

// learn records that a write of n quantities was priced c.
func (e *writeCost) learn(n int, c float64) {
	if n <= 0 || c <= 0 {
		return
	}
	if n != e.lastN {
		e.prevN, e.prevC = e.lastN, e.lastC
	}
	e.lastN, e.lastC = n, c
}

// at returns the cost to reserve for a write of n quantities.
func (e *writeCost) at(n int) float64 {
	switch {
	case e.lastN == 0:
		return min(maxQueryCost, initialWriteCost+float64(n))
	case e.prevN == 0:
		return min(maxQueryCost, e.lastC*max(1, float64(n)/float64(e.lastN)))
	}
	slope := max(0, (e.lastC-e.prevC)/float64(e.lastN-e.prevN))
	return min(maxQueryCost, max(1, e.lastC+slope*float64(n-e.lastN)))
}
