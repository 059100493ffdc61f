package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"net/url"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/redisstore"
)

// ExampleOpen needs Redis on 127.0.0.1:6379, so it is compiled but not run.
func ExampleOpen() {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", MaxRetries: -1})
	defer client.Close()

	d, err := redisstore.Open(ctx, client, &redisstore.Options{Prefix: "{stockgate-example}:"})
	if err != nil {
		log.Fatal(err)
	}
	s := store.New(d)
	defer s.Close() // leaves client open

	// Two replicas accepting the same webhook store it once.
	err = s.Accept(ctx, store.Acceptance{
		DedupKey: "shopify:webhook-1",
		Messages: []store.Message{{Topic: "inbound", EventID: "evt-1", Body: []byte(`{}`)}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Accept(ctx, store.Acceptance{DedupKey: "shopify:webhook-1"}))
}

func ExampleOpenURL() {
	// Everything external opens by URL; parameters are checked before
	// anything connects.
	u, err := url.Parse("redis://127.0.0.1:6379/0?prefix={stockgate}:&dedup_grce=1h")
	if err != nil {
		log.Fatal(err)
	}
	_, err = redisstore.OpenURL(context.Background(), u)
	fmt.Println(err)
	// Output:
	// redisstore: open redis://127.0.0.1:6379/0?prefix={stockgate}:&dedup_grce=1h: unknown query parameter "dedup_grce"
}
