package redislease_test

import (
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/redislease"
)

// Every replica gives its Dispatcher the same Leases; one of them writes
// each account.
func ExampleNew() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	leases, err := redislease.New(client, &redislease.Options{Prefix: "{stockgate}:dispatch:lease:"})
	if err != nil {
		log.Fatal(err)
	}
	opts := &dispatch.Options{Leases: leases}
	_ = opts // dispatch.New(st, accounts, opts)
}
