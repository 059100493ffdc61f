package memstore_test

import (
	"context"
	"fmt"
	"log"
	"net/url"

	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

func ExampleNew() {
	ctx := context.Background()
	s := store.New(memstore.New(nil))
	defer s.Close()

	err := s.Accept(ctx, store.Acceptance{
		DedupKey: "shopify:webhook-1",
		Messages: []store.Message{{Topic: "inbound", EventID: "evt-1", Body: []byte(`{}`)}},
	})
	if err != nil {
		log.Fatal(err)
	}
	// A redelivery of the same webhook is recognised.
	err = s.Accept(ctx, store.Acceptance{DedupKey: "shopify:webhook-1"})
	fmt.Println(err)

	ms, err := s.Outbox(ctx, 0, 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range ms {
		fmt.Println(m.Seq, m.Topic, m.EventID)
	}
	// Output:
	// store: duplicate
	// 1 inbound evt-1
}

func ExampleOpenURL() {
	u, err := url.Parse("mem://")
	if err != nil {
		log.Fatal(err)
	}
	d, err := memstore.OpenURL(u)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	p, err := d.Projection(context.Background(), store.Key{SKU: "SKU-1", Location: "WH-1"})
	fmt.Println(p.Key, p.Seq, err)
	// Output:
	// SKU-1@WH-1 0 <nil>
}
