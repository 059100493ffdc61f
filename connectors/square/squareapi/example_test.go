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
