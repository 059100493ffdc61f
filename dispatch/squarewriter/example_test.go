package squarewriter_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/connectors/square"
	"github.com/stockgate/stockgate/connectors/square/squareapi"
	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/squarewriter"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

func ExampleNew() {
	// A fake Square on a loopback port stands in for connect.squareup.com.
	fake := squarefake.New(nil)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	client, err := squareapi.New(squarefake.DefaultToken, &squareapi.Options{BaseURL: srv.URL})
	if err != nil {
		panic(err)
	}

	var echoes square.MemoryEchoes // the inbound connector's Config.Echoes
	w, err := squarewriter.New(squarewriter.Options{
		Account:    "square-berlin",
		Client:     client,
		LocationID: "L8YQ2W4K7ZB3D",
		Items:      map[string]string{"TSHIRT-M": "VXKQ3J7T5M2PZ8RB6WCN4YHD"},
		Echoes:     &echoes,
	})
	if err != nil {
		panic(err)
	}

	st := store.New(memstore.New(nil))
	defer st.Close()
	p := store.Projection{Key: store.Key{SKU: "TSHIRT-M", Location: "web"},
		Quantities: store.Quantities{OnHand: 12, Available: 12}, Seq: 1}
	e := store.Entry{Key: p.Key, Seq: 1, EventID: "ev-1", Result: p.Quantities}
	if err := st.Commit(context.Background(), store.Commit{EventID: "ev-1", Entry: &e, Projection: &p}); err != nil {
		panic(err)
	}

	d, err := dispatch.New(st, []dispatch.Account{{
		Writer: w,
		Rule:   channel.Rule{Channel: "square-berlin", Locations: []string{"web"}, BufferUnits: 2},
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

	count, _ := fake.Count("VXKQ3J7T5M2PZ8RB6WCN4YHD", "L8YQ2W4K7ZB3D", "IN_STOCK")
	pushed, _, _ := echoes.Pushed("VXKQ3J7T5M2PZ8RB6WCN4YHD", "L8YQ2W4K7ZB3D")
	fmt.Println("Square shows", count.Quantity, "; echo expected for", pushed)
	// Output: Square shows 10 ; echo expected for 10
}
