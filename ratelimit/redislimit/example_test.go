package redislimit_test

import (
	"context"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/ratelimit"
	"github.com/stockgate/stockgate/ratelimit/redislimit"
)

// Every replica makes the same Limiter for the store; together they stay
// inside its one GraphQL budget.
func ExampleNew() {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()

	// Shopify Standard plan: 100 points/s, bucket 2000. The stored values
	// win once the bucket exists, and Observe keeps them current.
	var l ratelimit.Limiter
	l, err := redislimit.New(client, "shopify:example.myshopify.com", 100, 2000, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := l.Wait(ctx, 10); err != nil { // requestedQueryCost
		log.Fatal(err)
	}
	// ... send the mutation, then pass its extensions.cost to Observe.
}
