package boltstore_test

import (
	"context"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"

	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/boltstore"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "stockgate")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	d, err := boltstore.Open(filepath.Join(dir, "stockgate.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	s := store.New(d)
	defer s.Close()

	// Accept returns once the message and the dedup key are on disk.
	err = s.Accept(ctx, store.Acceptance{
		DedupKey: "shopify:webhook-1",
		Messages: []store.Message{{Topic: "inbound", EventID: "evt-1", Body: []byte(`{}`)}},
	})
	if err != nil {
		log.Fatal(err)
	}
	ms, err := s.Outbox(ctx, 0, 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range ms {
		fmt.Println(m.Seq, m.Topic, m.EventID)
	}
	// Output:
	// 1 inbound evt-1
}

func ExampleOpenURL() {
	dir, err := os.MkdirTemp("", "stockgate")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	u, err := url.Parse("bolt://" + filepath.ToSlash(filepath.Join(dir, "stockgate.db")) + "?dedup_sweep_interval=5m")
	if err != nil {
		log.Fatal(err)
	}
	d, err := boltstore.OpenURL(u)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	fmt.Println(d.Ping(context.Background()))

	_, err = boltstore.OpenURL(&url.URL{Scheme: "bolt", Path: "/tmp/x.db", RawQuery: "sync=false"})
	fmt.Println(err)
	// Output:
	// <nil>
	// boltstore: open bolt:///tmp/x.db?sync=false: unknown query parameter "sync"
}
