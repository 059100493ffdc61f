package squareapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/stockgate/stockgate/connectors/square/squareapi"
	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
)

// Read every IN_STOCK count that changed since the last sync, page by
// page.
func Example() {
	fake := squarefake.New(&squarefake.Options{PageSize: 1})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	last := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	fake.SetCount(squarefake.Count{CatalogObjectID: "W62UWFY35CWMYGVWK6TWJDNI", LocationID: "59TNP9SA8VGDA", Quantity: "79", CalculatedAt: last.Add(time.Hour)})
	fake.SetCount(squarefake.Count{CatalogObjectID: "FGQ5JJWT2PYTHF35CKZ2DSKP", LocationID: "59TNP9SA8VGDA", Quantity: "2.00000", CalculatedAt: last.Add(2 * time.Hour)})
	fake.SetCount(squarefake.Count{CatalogObjectID: "OLDOLDOLDOLDOLDOLDOLDOLD", LocationID: "59TNP9SA8VGDA", Quantity: "5", CalculatedAt: last.Add(-time.Hour)})

	c, err := squareapi.New(squarefake.DefaultToken, &squareapi.Options{BaseURL: srv.URL})
	if err != nil {
		panic(err)
	}
	counts, err := squareapi.AllCounts(context.Background(), c, squareapi.Request{
		LocationIDs: []string{"59TNP9SA8VGDA"}, States: []string{"IN_STOCK"}, UpdatedAfter: last,
	})
	if err != nil {
		panic(err)
	}
	for _, cnt := range counts {
		q, _ := squareapi.ParseQuantity(cnt.Quantity)
		fmt.Println(cnt.CatalogObjectID, q, cnt.CalculatedAt.Format(time.RFC3339))
	}
	fmt.Println(fake.Stats().Pages, "pages")
	// Output:
	// FGQ5JJWT2PYTHF35CKZ2DSKP 2 2026-08-01T02:00:00Z
	// W62UWFY35CWMYGVWK6TWJDNI 79 2026-08-01T01:00:00Z
	// 2 pages
}

// Write the IN_STOCK counts of two variations at one location in one call,
// and read one back.
func ExampleClient_BatchChangeInventory() {
	fake := squarefake.New(nil)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c, err := squareapi.New(squarefake.DefaultToken, &squareapi.Options{BaseURL: srv.URL})
	if err != nil {
		panic(err)
	}
	now := time.Now()
	resp, err := c.BatchChangeInventory(context.Background(), squareapi.ChangeRequest{
		IdempotencyKey: "1b7f2d9e-5c4a-4e8b-9f03-6d2a1c8e4b57", // the same key and request again: applied once
		Counts: []squareapi.PhysicalCount{
			{CatalogObjectID: "W62UWFY35CWMYGVWK6TWJDNI", LocationID: "59TNP9SA8VGDA", Quantity: 53, OccurredAt: now},
			{CatalogObjectID: "FGQ5JJWT2PYTHF35CKZ2DSKP", LocationID: "59TNP9SA8VGDA", Quantity: 0, OccurredAt: now},
		},
	})
	if err != nil {
		panic(err)
	}
	for _, cnt := range resp.Counts {
		fmt.Println(cnt.CatalogObjectID, cnt.State, cnt.Quantity)
	}
	counts, err := squareapi.AllCounts(context.Background(), c, squareapi.Request{CatalogObjectIDs: []string{"W62UWFY35CWMYGVWK6TWJDNI"}})
	if err != nil {
		panic(err)
	}
	fmt.Println("read back:", counts[0].Quantity)
	// Output:
	// W62UWFY35CWMYGVWK6TWJDNI IN_STOCK 53
	// FGQ5JJWT2PYTHF35CKZ2DSKP IN_STOCK 0
	// read back: 53
}
