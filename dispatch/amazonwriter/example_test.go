package amazonwriter_test

import (
	"context"
	"fmt"
	"time"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/connectors/amazon"
	"github.com/stockgate/stockgate/connectors/amazon/listingsapi"
	"github.com/stockgate/stockgate/connectors/amazon/listingsapi/listingsfake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/amazonwriter"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

func ExampleNew() {
	// A fake seller stands in for https://sellingpartnerapi-na.amazon.com.
	fake := listingsfake.New(nil)
	fake.AddListings("LUGGAGE", "AMZ-TSHIRT-M")
	token := func(context.Context) (string, error) { return listingsfake.DefaultToken, nil } // an LWA token cache in production
	client, err := listingsapi.New("https://sellingpartnerapi-na.amazon.com", token, &listingsapi.Options{HTTPClient: fake.Client()})
	if err != nil {
		panic(err)
	}

	var echoes amazon.MemoryEchoes // the inbound connector's Config.Echoes
	w, err := amazonwriter.New(amazonwriter.Options{
		Account:       "amazon-us",
		Client:        client,
		SellerID:      listingsfake.DefaultSellerID,
		MarketplaceID: "ATVPDKIKX0DER",
		Items:         map[string]string{"TSHIRT-M": "AMZ-TSHIRT-M"},
		Echoes:        &echoes,
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
		Rule:   channel.Rule{Channel: "amazon-us", Locations: []string{"berlin"}, BufferPercent: 10},
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

	q, _ := fake.Quantity("AMZ-TSHIRT-M")
	pushed, _, _ := echoes.Pushed("AMZ-TSHIRT-M")
	fmt.Println("Amazon shows", q, "; echo expected for", pushed)
	// Output: Amazon shows 10 ; echo expected for 10
}
