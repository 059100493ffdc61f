package admin_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stockgate/stockgate/connectors/shopify/admin"
	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
)

// BenchmarkSetQuantities250 is one full batch through the client and the
// fake over loopback HTTP: encode, send, parse and validate the GraphQL
// request, apply 250 levels, render and decode the answer. The bucket is
// made large enough never to throttle.
func BenchmarkSetQuantities250(b *testing.B) {
	for _, cas := range []bool{false, true} {
		name := "changeFrom=null"
		if cas {
			name = "changeFrom=value"
		}
		b.Run(name, func(b *testing.B) {
			s := newShop(b, shopifyfake.Options{Plan: shopifyfake.Enterprise, MaximumAvailable: 1e15, RestoreRate: 1e15}, admin.Options{})
			qs := make([]admin.Quantity, admin.MaxQuantities)
			for i := range qs {
				qs[i] = admin.Quantity{InventoryItemID: int64(1_000_000 + i), LocationID: 655441491}
			}
			ctx := context.Background()
			req := admin.SetRequest{Reason: "correction", ReferenceDocumentURI: "gid://stockgate/SyncJob/bench", Quantities: qs}
			n := int64(0)
			b.ReportAllocs()
			for b.Loop() {
				n++
				prev := n - 1
				for i := range qs {
					if cas {
						qs[i].ChangeFrom = &prev
					}
					qs[i].Quantity = n
				}
				req.IdempotencyKey = "bench-" + strconv.FormatInt(n, 10)
				res, err := s.client.SetQuantities(ctx, req)
				if err != nil || res.Group == nil || len(res.Group.Changes) != 2*admin.MaxQuantities {
					b.Fatalf("SetQuantities = %+v, %v", res, err)
				}
			}
		})
	}
}

// BenchmarkSetQuantities250ClientOnly is the client's share: the same
// batch against a server that answers a canned success of 500 changes.
func BenchmarkSetQuantities250ClientOnly(b *testing.B) {
	var body strings.Builder
	body.WriteString(`{"data":{"inventorySetQuantities":{"inventoryAdjustmentGroup":{"id":"gid://shopify/InventoryAdjustmentGroup/1",` +
		`"createdAt":"2026-08-07T12:00:00Z","reason":"correction","referenceDocumentUri":"gid://stockgate/SyncJob/bench","changes":[`)
	for i := range 2 * admin.MaxQuantities {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`{"name":"available","delta":-1}`)
	}
	body.WriteString(`]},"userErrors":[]}},"extensions":{"cost":{"requestedQueryCost":13,"actualQueryCost":13,` +
		`"throttleStatus":{"maximumAvailable":2000.0,"currentlyAvailable":1987,"restoreRate":100.0}}}}`)
	answer := []byte(body.String())
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}))
	b.Cleanup(ts.Close)
	c, err := admin.New(admin.Options{Shop: ts.URL, Token: "t"})
	if err != nil {
		b.Fatal(err)
	}
	qs := make([]admin.Quantity, admin.MaxQuantities)
	from := int64(7)
	for i := range qs {
		qs[i] = admin.Quantity{InventoryItemID: int64(1_000_000 + i), LocationID: 655441491, Quantity: 6, ChangeFrom: &from}
	}
	req := admin.SetRequest{Reason: "correction", IdempotencyKey: "bench", Quantities: qs}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.SetQuantities(ctx, req)
		if err != nil || len(res.Group.Changes) != 2*admin.MaxQuantities || res.Cost.Actual != 13 {
			b.Fatalf("SetQuantities = %+v, %v", res, err)
		}
	}
}

// BenchmarkAvailable is one level read.
func BenchmarkAvailable(b *testing.B) {
	s := newShop(b, shopifyfake.Options{MaximumAvailable: 1e15, RestoreRate: 1e15}, admin.Options{})
	s.fake.SetLevel(808950810, 655441491, 42)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		n, _, err := s.client.Available(ctx, 808950810, 655441491)
		if err != nil || n != 42 {
			b.Fatalf("Available = %d, %v", n, err)
		}
	}
}
