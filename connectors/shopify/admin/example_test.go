package admin_test

import (
	"context"
	"fmt"

	"github.com/stockgate/stockgate/connectors/shopify/admin"
	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
)

// A stale compare-and-set, recovered by re-reading the level and sending
// a new request with a new idempotency key.
func Example() {
	shop := shopifyfake.New(shopifyfake.Options{})
	if err := shop.Start(); err != nil {
		panic(err)
	}
	defer shop.Close()
	shop.SetLevel(808950810, 655441491, 42) // a sale since we last read 43

	c, err := admin.New(admin.Options{Shop: shop.URL(), Token: shopifyfake.DefaultToken})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	expected := int64(43)
	req := admin.SetRequest{
		Reason:               "correction",
		ReferenceDocumentURI: "gid://stockgate/SyncJob/2026-08-01-0001",
		IdempotencyKey:       "3f9c2a4e-5b7d-4c1e-9a8f-0d6e2b1c7a55",
		Quantities:           []admin.Quantity{{InventoryItemID: 808950810, LocationID: 655441491, Quantity: 40, ChangeFrom: &expected}},
	}
	_, err = c.SetQuantities(ctx, req)
	fmt.Println(admin.ErrorCode(err), admin.IsRetryable(err))

	now, _, err := c.Available(ctx, 808950810, 655441491)
	if err != nil {
		panic(err)
	}
	req.Quantities[0].ChangeFrom = &now
	req.IdempotencyKey = "3f9c2a4e-5b7d-4c1e-9a8f-0d6e2b1c7a55/retry-1" // a new request: a new key
	res, err := c.SetQuantities(ctx, req)
	if err != nil {
		panic(err)
	}
	fmt.Println(now, res.Group.Changes[0].Name, res.Group.Changes[0].Delta, res.Cost.Requested, res.Cost.ThrottleStatus.RestoreRate)
	// Output:
	// FailedPrecondition false
	// 42 available -2 13 100
}
