package main

import (
	"net/http/httptest"
	"testing"

	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
)

// TestChannelAndConnectorSubscriptions: a storefront subscribed to a
// channel sees the channel's quantity (rule applied) when a sale lands
// in a store; an admin subscribed to connector status sees the write.
func TestChannelAndConnectorSubscriptions(t *testing.T) {
	fake := shopifyfake.New(shopifyfake.Options{})
	srv := httptest.NewServer(fake.Handler())
	defer srv.Close()
	base := startSyncGateway(t, srv.URL)

	channel := wsStart(t, base, testStoreKey, `subscription{ channelAvailabilityChanged(channel:"shop", skus:["SYNC-SKU"]){ channel sku quantity buffer } }`, nil)
	status := wsStart(t, base, testAdminKey, `subscription{ connectorStatusChanged(connector:"shop"){ connector written breakerState } }`, nil)
	first := take[struct{ Written int64 }](t, status, "connectorStatusChanged", 1)[0]

	postSale(t, base)
	q := take[struct {
		Channel, Sku     string
		Quantity, Buffer int64
	}](t, channel, "channelAvailabilityChanged", 1)[0]
	// The receipt and the sale may come as one change or two: wait for 6.
	for q.Quantity != 6 {
		q = take[struct {
			Channel, Sku     string
			Quantity, Buffer int64
		}](t, channel, "channelAvailabilityChanged", 1)[0]
	}
	if q.Channel != "shop" || q.Sku != "SYNC-SKU" || q.Buffer != 1 {
		t.Fatalf("channel change = %+v", q)
	}
	for {
		st := take[struct {
			Connector    string
			Written      int64
			BreakerState string
		}](t, status, "connectorStatusChanged", 1)[0]
		if st.Connector != "shop" || st.BreakerState != "closed" {
			t.Fatalf("status = %+v", st)
		}
		if st.Written > first.Written {
			break
		}
	}
}

// TestDispatchDeadLetterReplay: a write the marketplace refuses is a dead
// letter listed over GraphQL; once the listing is fixed, replaying it
// writes the ledger's quantity and resolves it.
func TestDispatchDeadLetterReplay(t *testing.T) {
	fake := shopifyfake.New(shopifyfake.Options{RequireStocked: true}) // the item is not stocked yet
	srv := httptest.NewServer(fake.Handler())
	defer srv.Close()
	base := startSyncGateway(t, srv.URL)
	postSale(t, base)

	type dl struct {
		ID, EventType string
		Resolution    *string
	}
	var found dl
	waitFor(t, "the refused write's dead letter", func() bool {
		var out struct{ DeadLetters []dl }
		gql(t, base, testAdminKey, `{ deadLetters{ id eventType resolution } }`, nil, &out)
		for _, d := range out.DeadLetters {
			if d.EventType == "dispatch.write" {
				found = d
				return true
			}
		}
		return false
	})
	if _, ok := fake.Level(808950810, 655441491); ok {
		t.Fatal("the fake shows a level for an item it refused")
	}
	fake.SetLevel(808950810, 655441491, 0) // the merchant stocks the item
	var out struct{ ReplayDeadLetter dl }
	if errs := gql(t, base, testAdminKey, `mutation($id:ID!){ replayDeadLetter(id:$id){ id eventType resolution } }`, map[string]any{"id": found.ID}, &out); len(errs) != 0 {
		t.Fatal(errs)
	}
	if r := out.ReplayDeadLetter.Resolution; r == nil || *r != "replayed" {
		t.Fatalf("resolution %v", r)
	}
	waitFor(t, "Shopify to show 6 after the replay", func() bool {
		q, ok := fake.Level(808950810, 655441491)
		return ok && q == 6
	})
}

// TestSetChannelRuleByMutation: an admin changes a channel's buffer; the
// marketplace shows the new quantity and the explanation follows.
func TestSetChannelRuleByMutation(t *testing.T) {
	fake := shopifyfake.New(shopifyfake.Options{})
	srv := httptest.NewServer(fake.Handler())
	defer srv.Close()
	base := startSyncGateway(t, srv.URL)
	postSale(t, base)
	waitFor(t, "Shopify to show 6", func() bool { q, ok := fake.Level(808950810, 655441491); return ok && q == 6 })

	var set struct {
		SetChannelRule struct {
			Channel     string
			BufferUnits int64
			Locations   []string
		}
	}
	if errs := gql(t, base, testAdminKey, `mutation{ setChannelRule(connector:"shop", rule:{locations:["berlin"], bufferUnits:3}){ channel bufferUnits locations } }`, nil, &set); len(errs) != 0 {
		t.Fatal(errs)
	}
	if r := set.SetChannelRule; r.Channel != "shop" || r.BufferUnits != 3 {
		t.Fatalf("setChannelRule = %+v", r)
	}
	waitFor(t, "Shopify to show 4", func() bool { q, ok := fake.Level(808950810, 655441491); return ok && q == 4 })
	var ex struct {
		ChannelAvailability struct{ Quantity, Buffer int64 }
	}
	if errs := gql(t, base, testStoreKey, `{ channelAvailability(connector:"shop", sku:"SYNC-SKU"){ quantity buffer } }`, nil, &ex); len(errs) != 0 || ex.ChannelAvailability.Quantity != 4 || ex.ChannelAvailability.Buffer != 3 {
		t.Fatalf("channelAvailability = %+v %+v", ex, errs)
	}
	if got := code(gql(t, base, testAdminKey, `mutation{ setChannelRule(connector:"shop", rule:{locations:[]}){ channel } }`, nil, nil)); got != "BAD_USER_INPUT" {
		t.Fatalf("a rule with no location: code %q", got)
	}
}
