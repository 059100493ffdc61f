package shopify

import (
	"context"
	"testing"
)

// TestNormalizeLearnsMappingsIntoALearner shows the gateway's wiring: with
// a MemoryMapper as Config.Mapper, an inventory_items/update delivered
// through Normalize teaches the item's SKU, and the next
// inventory_levels/update for that item maps instead of dead-lettering.
func TestNormalizeLearnsMappingsIntoALearner(t *testing.T) {
	t.Parallel()
	mm := &MemoryMapper{}
	c := newConnector(t, func(cfg *Config) { cfg.Items = nil; cfg.Mapper = mm })
	ctx := context.Background()
	level := newRequest(TopicInventoryLevelsUpdate, readTestdata(t, "inventory_levels_update.json"))

	before, err := c.Normalize(ctx, level)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.Events) != 0 || len(before.Unmapped) != 1 {
		t.Fatalf("before learning: %d events, %d dead letters; want 0 and 1", len(before.Events), len(before.Unmapped))
	}
	if _, err := c.Normalize(ctx, newRequest(TopicInventoryItemsUpdate, readTestdata(t, "inventory_items_update.json"))); err != nil {
		t.Fatal(err)
	}
	after, err := c.Normalize(ctx, newRequest(TopicInventoryLevelsUpdate, readTestdata(t, "inventory_levels_update.json")))
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Events) != 1 || after.Events[0].Movement.SKU != "SOCK-TRL-M-MOSS" {
		t.Fatalf("after learning: %+v, unmapped %+v; want one event for SOCK-TRL-M-MOSS", after.Events, after.Unmapped)
	}
}
