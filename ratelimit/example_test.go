package ratelimit_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/stockgate/stockgate/ratelimit"
)

// A Shopify GraphQL store: reserve the requested query cost, then settle
// with what the response's extensions.cost says.
func ExampleLocal() {
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	// Standard plan: restoreRate 100 points/s, maximumAvailable 2000.
	l, err := ratelimit.NewLocal(100, 2000)
	if err != nil {
		log.Fatal(err)
	}

	d, err := l.Reserve(ctx, now, 1000) // requestedQueryCost
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("send after", d)

	// extensions.cost: actualQueryCost 12, throttleStatus
	// {maximumAvailable 2000, currentlyAvailable 1988, restoreRate 100}.
	err = l.Observe(ctx, now, ratelimit.Observation{
		Limit: 100, Burst: 2000, Available: 1988, HasAvailable: true,
		ReservedCost: 1000, ActualCost: 12,
	})
	if err != nil {
		log.Fatal(err)
	}
	b, _ := l.State(ctx, now)
	fmt.Println("points left", b.Tokens)
	// Output:
	// send after 0s
	// points left 1988
}

// A THROTTLED answer (the example in the Shopify reference): the retry of
// the 752-point query waits (752 − 666) / 50 s.
func ExampleLocal_throttled() {
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	l, _ := ratelimit.NewLocal(50, 1000)
	_, _ = l.Reserve(ctx, now, 752)

	_ = l.Observe(ctx, now, ratelimit.Observation{
		Throttled: true, Limit: 50, Burst: 1000, Available: 666, HasAvailable: true,
		ReservedCost: 752, ActualCost: 0, // actualQueryCost: null
	})
	d, _ := l.Reserve(ctx, now, 752)
	fmt.Println("retry after", d)
	// Output:
	// retry after 1.72s
}

// Amazon SP-API: 1 unit per request; the rate comes from
// x-amzn-RateLimit-Limit, and a 429 empties the bucket.
func ExampleLocal_amazon() {
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	l, _ := ratelimit.NewLocal(5, 5) // patchListingsItem: 5 rps, burst 5

	_ = l.Observe(ctx, now, ratelimit.Observation{Limit: 2}) // x-amzn-RateLimit-Limit: 2.0
	_ = l.Observe(ctx, now, ratelimit.Observation{Throttled: true})
	d, _ := l.Reserve(ctx, now, 1)
	fmt.Println("next request after", d)
	// Output:
	// next request after 500ms
}

// A Retry-After header holds every grant until it has passed.
func ExampleParseRetryAfter() {
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	l, _ := ratelimit.NewLocal(2, 40)

	ra, ok := ratelimit.ParseRetryAfter("2.5", now) // seconds, maybe fractional
	fmt.Println(ra, ok)
	_ = l.Observe(ctx, now, ratelimit.Observation{Throttled: true, RetryAfter: ra})
	d, _ := l.Reserve(ctx, now, 1)
	fmt.Println("next request after", d)

	ra, ok = ratelimit.ParseRetryAfter("Wed, 02 Jan 2030 03:04:15 GMT", now)
	fmt.Println(ra, ok)
	// Output:
	// 2.5s true
	// next request after 2.5s
	// 10s true
}

// Wait blocks until the cost is granted, or the context is done.
func ExampleLocal_Wait() {
	l, _ := ratelimit.NewLocal(100, 2000)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Wait(ctx, 10); err != nil {
		log.Fatal(err)
	}
	fmt.Println("granted")
	// Output:
	// granted
}
