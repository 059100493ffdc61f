package redisbreaker_test

import (
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/redisbreaker"
)

// Every replica gives its Dispatcher a Store on the same Redis and prefix:
// a breaker one of them opens is open for all.
func ExampleNew() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	breakers, err := redisbreaker.New(client, &redisbreaker.Options{Prefix: "{stockgate}:dispatch:breaker:"})
	if err != nil {
		log.Fatal(err)
	}
	opts := &dispatch.Options{BreakerStore: breakers}
	_ = opts // dispatch.New(st, accounts, opts)
}
