package mapping

import (
	"errors"
	"testing"

	"github.com/stockgate/stockgate/config"
	"github.com/stockgate/stockgate/store"
)

func TestMergeAddsStoredMappingsOverTheFiles(t *testing.T) {
	c := config.Connector{ID: "shop", Items: map[string]string{"1": "A", "2": "B"}, Locations: map[string]string{"10": "berlin"}}
	got := Merge(c, []store.Mapping{
		{Connector: "shop", Kind: store.MapSKU, External: "2", Internal: "B2"},
		{Connector: "shop", Kind: store.MapSKU, External: "3", Internal: "C"},
		{Connector: "shop", Kind: store.MapLocation, External: "11", Internal: "paris"},
		{Connector: "other", Kind: store.MapSKU, External: "4", Internal: "D"},
	})
	if got.Items["1"] != "A" || got.Items["2"] != "B2" || got.Items["3"] != "C" || got.Items["4"] != "" {
		t.Fatalf("items = %v", got.Items)
	}
	if got.Locations["10"] != "berlin" || got.Locations["11"] != "paris" {
		t.Fatalf("locations = %v", got.Locations)
	}
	if c.Items["2"] != "B" || c.Items["3"] != "" || c.Locations["11"] != "" {
		t.Fatal("Merge changed the configuration it was given")
	}
}

func TestMergeIntoEmptyMaps(t *testing.T) {
	got := Merge(config.Connector{ID: "sq"}, []store.Mapping{
		{Connector: "sq", Kind: store.MapLocation, External: "L1", Internal: "web"},
		{Connector: "sq", Kind: store.MapSKU, External: "V1", Internal: "MUG"},
	})
	if got.Locations["L1"] != "web" || got.Items["V1"] != "MUG" {
		t.Fatalf("merged = %+v", got)
	}
}

func TestMergeMapsAPOSStore(t *testing.T) {
	c := config.Connector{ID: "pos", Kind: "pos", Stores: map[string]string{"paris-1": "paris"}}
	got := Merge(c, []store.Mapping{{Connector: "pos", Kind: store.MapLocation, External: "lyon-1", Internal: "lyon"}})
	if got.Stores["lyon-1"] != "lyon" || got.Stores["paris-1"] != "paris" || len(got.Locations) != 0 {
		t.Fatalf("merged POS = stores %v, locations %v; want lyon-1 among its stores", got.Stores, got.Locations)
	}
	if c.Stores["lyon-1"] != "" {
		t.Fatal("Merge changed the configuration it was given")
	}
}

func TestMappableRefusesWhatAPOSCannotUse(t *testing.T) {
	for _, c := range []struct {
		conn config.Connector
		kind string
		ok   bool
	}{
		{config.Connector{ID: "p", Kind: "pos", Stores: map[string]string{"a": "b"}}, store.MapLocation, true},
		{config.Connector{ID: "p", Kind: "pos"}, store.MapLocation, false}, // store ids are locations
		{config.Connector{ID: "p", Kind: "pos", Stores: map[string]string{"a": "b"}}, store.MapSKU, false},
		{config.Connector{ID: "s", Kind: "shopify"}, store.MapSKU, true},
		{config.Connector{ID: "s", Kind: "shopify"}, store.MapLocation, true},
	} {
		err := mappable(c.conn, c.kind)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrNotMappable) {
			t.Errorf("%s (stores %v), %s: %v; want ok=%v", c.conn.Kind, c.conn.Stores, c.kind, err, c.ok)
		}
	}
}

func TestMergeLeavesAPOSWithoutStoresAlone(t *testing.T) {
	c := config.Connector{ID: "pos", Kind: "pos"}
	got := Merge(c, []store.Mapping{{Connector: "pos", Kind: store.MapLocation, External: "lyon-1", Internal: "lyon"}})
	if len(got.Stores) != 0 {
		t.Fatalf("stores %v: a mapping stored earlier turned a POS that takes store ids as locations strict", got.Stores)
	}
}
