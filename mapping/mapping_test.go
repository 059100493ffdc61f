package mapping

import (
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
