package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stockgate/stockgate/store"
)

// testResolveDeadLetter: a resolved dead letter keeps its place and its
// request, and says how it was resolved; an unknown id is ErrNotFound.
func testResolveDeadLetter(t *testing.T, e *env) {
	dl := deadLetter("r0")
	dl.Header = map[string][]string{"X-Shopify-Topic": {"orders/create"}}
	dl.URL = "https://gw.example.com/webhooks/shop"
	wantErrs(t, "Accept", accept(t, e, store.Acceptance{DedupKey: "r", DeadLetters: []store.DeadLetter{dl, deadLetter("r1")}}), nil)
	all := deadLettersAll(t, e)
	if len(all) != 2 || all[0].URL != dl.URL || all[0].Header["X-Shopify-Topic"][0] != "orders/create" {
		t.Fatalf("dead letters = %+v; want the request's header and URL kept", all)
	}
	at := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	if err := e.d.ResolveDeadLetter(e.ctx, all[0].ID, "replayed", at); err != nil {
		t.Fatal(err)
	}
	after := deadLettersAll(t, e)
	if after[0].Resolution != "replayed" || !after[0].ResolvedAt.Equal(at) {
		t.Fatalf("resolved dead letter = %+v", after[0])
	}
	if after[1].Resolution != "" || !after[1].ResolvedAt.IsZero() {
		t.Fatalf("the other dead letter was resolved too: %+v", after[1])
	}
	if err := e.d.ResolveDeadLetter(e.ctx, "no-such-id", "replayed", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("resolving an unknown id: %v, want ErrNotFound", err)
	}
}

// testMappings: put replaces by (connector, kind, external); listing
// filters by connector and is ordered.
func testMappings(t *testing.T, e *env) {
	at := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	put := func(c, k, ext, in string) {
		t.Helper()
		if err := e.d.PutMapping(e.ctx, store.Mapping{Connector: c, Kind: k, External: ext, Internal: in, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	put("shop", store.MapLocation, "655441491", "berlin")
	put("shop", store.MapSKU, "808950810", "SHIRT-M")
	put("shop2", store.MapSKU, "1", "MUG")
	put("shop", store.MapSKU, "808950810", "SHIRT-L") // replaces
	put("sho", store.MapSKU, "p", "X")                // a connector that is a prefix of another
	ms, err := e.d.Mappings(e.ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Mapping{
		{Connector: "shop", Kind: store.MapLocation, External: "655441491", Internal: "berlin", UpdatedAt: at},
		{Connector: "shop", Kind: store.MapSKU, External: "808950810", Internal: "SHIRT-L", UpdatedAt: at},
	}
	equal(t, "mappings of shop", ms, want)
	all, err := e.d.Mappings(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || all[0].Connector != "sho" || all[3].Connector != "shop2" {
		t.Fatalf("all mappings = %+v", all)
	}
}
