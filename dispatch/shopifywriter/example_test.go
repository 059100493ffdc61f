package shopifywriter_test

import (
	"context"
	"fmt"
	"time"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/connectors/shopify"
	"github.com/stockgate/stockgate/connectors/shopify/admin"
	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/shopifywriter"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

func ExampleNew() {
	// A fake shop on a loopback port stands in for {shop}.myshopify.com.
	shop := shopifyfake.New(shopifyfake.Options{})
	if err := shop.Start(); err != nil {
		panic(err)
	}
	defer shop.Close()
	client, err := admin.New(admin.Options{Shop: shop.URL(), Token: shopifyfake.DefaultToken})
	if err != nil {
		panic(err)
	}

	var echoes shopify.MemoryEchoes // the inbound side reads it
	w, err := shopifywriter.New(shopifywriter.Options{
		Account:    "shopify-eu",
		Client:     client,
		LocationID: 655441491,
		Items:      map[int64]string{808950810: "TSHIRT-M"},
		Echoes:     &echoes,
	})
	if err != nil {
		panic(err)
	}

	st := store.New(memstore.New(nil))
	defer st.Close()
	p := store.Projection{Key: store.Key{SKU: "TSHIRT-M", Location: "berlin"},
		Quantities: store.Quantities{OnHand: 12, Available: 12}, Seq: 1}
	e := store.Entry{Key: p.Key, Seq: 1, EventID: "ev-1", Result: p.Quantities}
	if err := st.Commit(context.Background(), store.Commit{EventID: "ev-1", Entry: &e, Projection: &p}); err != nil {
		panic(err)
	}

	d, err := dispatch.New(st, []dispatch.Account{{
		Writer: w,
		Rule:   channel.Rule{Channel: "shopify-eu", Locations: []string{"berlin"}, BufferPercent: 10},
	}}, nil)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx, nil) }()
	for d.Status()[0].Written == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done

	level, _ := shop.Level(808950810, 655441491)
	pushed, _, _ := echoes.Pushed(808950810, 655441491)
	fmt.Println("shop shows", level, "; echo expected for", pushed)
	// Output: shop shows 10 ; echo expected for 10
}
