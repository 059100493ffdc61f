package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/connectors/pos"
	"github.com/stockgate/stockgate/connectors/shopify"
	"github.com/stockgate/stockgate/connectors/square"
	"github.com/stockgate/stockgate/pubsub"
)

// TestPOSAndSquareThroughTheGateway sends a signed POS batch and a signed
// Square inventory count through the running gateway and reads the
// resulting stock back over GraphQL.
func TestPOSAndSquareThroughTheGateway(t *testing.T) {
	const (
		posSecret = "pos-secret-0123456789"
		sqKey     = "square-signature-key-0123"
		sqURL     = "https://stockgate.example.com/webhooks/square"
	)
	t.Setenv("E2E_POS_SECRET", posSecret)
	t.Setenv("E2E_SQUARE_KEY", sqKey)
	dir := t.TempDir()
	base := startGateway(t, "--config", writeConfig(t, dir, `  - id: till
    kind: pos
    secrets: [env:E2E_POS_SECRET]
    stores: {hamburg: hamburg}
  - id: square
    kind: square
    secrets: [env:E2E_SQUARE_KEY]
    notificationURL: `+sqURL+`
    locations: {L8YQ2W4K7ZB3D: berlin}
    items: {VXKQ3J7T5M2PZ8RB6WCN4YHD: SQ-TEE}
`))

	send := func(path string, body []byte, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		return post(t, req)
	}

	// POS: two units sold, one returned.
	batch := []byte(`{"idempotencyKey":"hamburg-1-e2e","store":"hamburg","register":"1","sentAt":"2026-11-20T11:58:30Z","movements":[` +
		`{"type":"receipt","sku":"POS-SOCK","quantity":10,"at":"2026-11-20T11:50:00Z"},` +
		`{"type":"sale","sku":"POS-SOCK","quantity":2,"at":"2026-11-20T11:57:02Z","ref":"bon-1"},` +
		`{"type":"return","sku":"POS-SOCK","quantity":1,"at":"2026-11-20T11:58:11Z","reason":"wrong size"}]}`)
	if code, body := send("/webhooks/till", batch, map[string]string{pos.HeaderSignature: pos.Sign(posSecret, time.Now(), batch)}); code != http.StatusOK {
		t.Fatalf("POS batch answered %d %s", code, body)
	}
	// A replayed signature from long ago is refused.
	if code, _ := send("/webhooks/till", batch, map[string]string{pos.HeaderSignature: pos.Sign(posSecret, time.Now().Add(-time.Hour), batch)}); code != http.StatusUnauthorized {
		t.Fatalf("stale POS signature answered %d, want 401", code)
	}

	// Square: an absolute count of 7 in stock at the Berlin location.
	sq, err := os.ReadFile("connectors/square/testdata/inventory_count_updated_sale.json")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send("/webhooks/square", sq, map[string]string{square.HeaderSignature: square.Sign(sqKey, sqURL, sq)}); code != http.StatusOK || !strings.Contains(body, "accepted") {
		t.Fatalf("Square count answered %d %s", code, body)
	}
	if code, _ := send("/webhooks/square", sq, map[string]string{square.HeaderSignature: square.Sign(sqKey, "https://elsewhere.example.com/hook", sq)}); code != http.StatusUnauthorized {
		t.Fatalf("Square signature over the wrong URL answered %d, want 401", code)
	}

	want := map[[2]string]int64{{"POS-SOCK", "hamburg"}: 9, {"SQ-TEE", "berlin"}: 7}
	deadline := time.Now().Add(10 * time.Second)
	for key, onHand := range want {
		for {
			var q struct {
				Availability level `json:"availability"`
			}
			gql(t, base, testStoreKey, `query($s:String!,$l:String!){ availability(sku:$s, location:$l){ onHand } }`, map[string]any{"s": key[0], "l": key[1]}, &q)
			if q.Availability.OnHand == onHand {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s at %s: on hand %d, want %d", key[0], key[1], q.Availability.OnHand, onHand)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// A store the connector does not list waits for a mapping, then
	// applies: 4 more received at hamburg.
	lyon := []byte(`{"idempotencyKey":"lyon-1-e2e","store":"lyon-1","register":"1","sentAt":"2026-11-20T12:00:00Z","movements":[` +
		`{"type":"receipt","sku":"POS-SOCK","quantity":4,"at":"2026-11-20T11:59:00Z"}]}`)
	if code, body := send("/webhooks/till", lyon, map[string]string{pos.HeaderSignature: pos.Sign(posSecret, time.Now(), lyon)}); code != http.StatusOK || !strings.Contains(body, `"unmapped":1`) {
		t.Fatalf("batch of an unlisted store answered %d %s; want accepted with one unmapped part", code, body)
	}
	if replayed, pending := mapLocation(t, base, "till", "lyon-1", "hamburg"); replayed != 1 || pending != 0 {
		t.Fatalf("map of POS store lyon-1: %d replayed, %d pending; want one replayed, none pending", replayed, pending)
	}
	if errs := gql(t, base, testAdminKey, `mutation{ map(connector:"till", kind:SKU, externalId:"x", internal:"POS-SOCK"){ replayed } }`, nil, nil); len(errs) == 0 || errs[0].Extensions["code"] != "BAD_USER_INPUT" {
		t.Fatalf("a SKU mapping for a POS was accepted: %+v", errs)
	}
	waitOnHand(t, base, "POS-SOCK", "hamburg", 13) // after mapping lyon-1

	// A count dated in 2099 (a till with a wrong clock) is kept as a dead
	// letter, not applied: the count after it, dated now, is not stale.
	for i, at := range []string{"2099-01-01T00:00:00Z", time.Now().UTC().Format(time.RFC3339)} {
		b := []byte(fmt.Sprintf(`{"idempotencyKey":"hamburg-count-%d","store":"hamburg","register":"1","sentAt":%q,"movements":[`+
			`{"type":"count","sku":"POS-CNT","quantity":%d,"at":%q}]}`, i, time.Now().UTC().Format(time.RFC3339), 50-42*i, at))
		if code, body := send("/webhooks/till", b, map[string]string{pos.HeaderSignature: pos.Sign(posSecret, time.Now(), b)}); code != http.StatusOK {
			t.Fatalf("count batch %d answered %d %s", i, code, body)
		}
	}
	waitOnHand(t, base, "POS-CNT", "hamburg", 8) // the count dated now
	var dl struct {
		DeadLetters []struct{ Reason string } `json:"deadLetters"`
	}
	if errs := gql(t, base, testAdminKey, `{ deadLetters{ reason } }`, nil, &dl); len(errs) > 0 {
		t.Fatal(errs)
	}
	found := false
	for _, d := range dl.DeadLetters {
		found = found || strings.Contains(d.Reason, "after the ledger's clock")
	}
	if !found {
		t.Errorf("dead letters %+v; want the count dated 2099", dl.DeadLetters)
	}
}

// TestAmazonSQSThroughTheGateway feeds an SP-API FBA inventory
// notification to the gateway's SQS source (a mem:// queue standing in for
// awssqs://, which the connector's own tests cover against an SQS fake) and
// reads the count back.
func TestAmazonSQSThroughTheGateway(t *testing.T) {
	ctx := t.Context()
	queue, err := pubsub.OpenTopic(ctx, "mem://e2e-amazon-sqs")
	if err != nil {
		t.Fatal(err)
	}
	defer queue.Shutdown(context.Background())
	dir := t.TempDir()
	base := startGateway(t, "--config", writeConfig(t, dir, `  - id: amazon
    kind: amazon
    locations: {ATVPDKIKX0DER: fba-us}
    amazon:
      sqs: mem://e2e-amazon-sqs
`))
	body, err := os.ReadFile("connectors/amazon/testdata/fba_inventory_availability_changes.json")
	if err != nil {
		t.Fatal(err)
	}
	// Sent twice, as SQS may deliver it twice: applied once.
	for i := 0; i < 2; i++ {
		if err := queue.Send(ctx, &gcpubsub.Message{Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ids := history(t, base, "NP-SOCK-MOSS-M", "fba-us")
		var q struct {
			Availability level `json:"availability"`
		}
		gql(t, base, testStoreKey, `{ availability(sku:"NP-SOCK-MOSS-M", location:"fba-us"){ onHand } }`, nil, &q)
		if q.Availability.OnHand == 120 && len(ids) == 1 {
			break
		}
		if time.Now().After(deadline) || len(ids) > 1 {
			t.Fatalf("FBA count: on hand %d with %d ledger entries; want 120 with 1", q.Availability.OnHand, len(ids))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPendingMappingAppliesOnceMapped sends a Shopify order from a
// location no mapping knows: it is kept as a pending dead letter, visible
// over GraphQL; mapping the location replays it into the ledger, once.
func TestPendingMappingAppliesOnceMapped(t *testing.T) {
	dir := t.TempDir()
	base := startGateway(t, "--config", writeConfig(t, dir, ""))
	body := []byte(`{"id":930000000001,"created_at":"2026-11-20T10:00:00Z","updated_at":"2026-11-20T10:00:00Z","location_id":77001,` +
		`"line_items":[{"id":930000000011,"variant_id":5,"sku":"PEND-1","quantity":3,"current_quantity":3,"fulfillable_quantity":3}]}`)
	wh := webhook{topic: "orders/create", eventID: "evt-pending-1", body: body, secret: testSecret}
	if code, resp := post(t, wh.request(t, base)); code != http.StatusOK || !strings.Contains(resp, `"unmapped":1`) {
		t.Fatalf("webhook answered %d %s; want accepted with one unmapped part", code, resp)
	}
	var pending struct {
		PendingMappings []struct {
			ID              string `json:"id"`
			Reason          string `json:"reason"`
			AwaitingMapping bool   `json:"awaitingMapping"`
		} `json:"pendingMappings"`
	}
	if errs := gql(t, base, testAdminKey, `{ pendingMappings(connector:"shop"){ id reason awaitingMapping } }`, nil, &pending); len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(pending.PendingMappings) != 1 || !pending.PendingMappings[0].AwaitingMapping || !strings.Contains(pending.PendingMappings[0].Reason, "77001") {
		t.Fatalf("pending = %+v; want the order waiting for location 77001", pending.PendingMappings)
	}

	// A mapping the connector refuses is not stored.
	errs := gql(t, base, testAdminKey, `mutation{ map(connector:"shop", kind:LOCATION, externalId:"not-a-number", internal:"x"){ replayed } }`, nil, nil)
	if len(errs) == 0 || errs[0].Extensions["code"] != "BAD_USER_INPUT" {
		t.Fatalf("a non-numeric Shopify location id was accepted: %+v", errs)
	}
	if replayed, pending := mapLocation(t, base, "shop", "77001", "hamburg"); replayed != 1 || pending != 0 {
		t.Fatalf("map: %d replayed, %d pending; want one replayed, none pending", replayed, pending)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ids := history(t, base, "PEND-1", "hamburg"); len(ids) == 1 {
			break
		} else if len(ids) > 1 || time.Now().After(deadline) {
			t.Fatalf("history at hamburg = %v; want one entry", ids)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The mapping now applies to new webhooks directly, and replaying the
	// same dead letter again changes nothing.
	again := webhook{topic: "orders/create", eventID: "evt-pending-2", body: []byte(strings.ReplaceAll(string(body), "930000000001", "930000000002")), secret: testSecret}
	if code, resp := post(t, again.request(t, base)); code != http.StatusOK || strings.Contains(resp, "unmapped") {
		t.Fatalf("second webhook answered %d %s; want accepted with nothing unmapped", code, resp)
	}
	if errs := gql(t, base, testAdminKey, `mutation($id:ID!){ replayDeadLetter(id:$id){ resolution } }`, map[string]any{"id": pending.PendingMappings[0].ID}, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		var q struct {
			Availability level `json:"availability"`
		}
		gql(t, base, testStoreKey, `{ availability(sku:"PEND-1", location:"hamburg"){ committed } }`, nil, &q)
		if q.Availability.Committed == 6 {
			break
		}
		if q.Availability.Committed > 6 || time.Now().After(deadline) {
			t.Fatalf("committed at hamburg = %d; want 6 (two orders of 3, the replayed one once)", q.Availability.Committed)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if ids := history(t, base, "PEND-1", "hamburg"); len(ids) != 2 {
		t.Fatalf("history = %v; want two entries", ids)
	}
}

// TestShopifyLearnsSKUsAndKeepsThem: an inventory level for an item no
// mapping knows waits; inventory_items/update teaches the item's SKU, the
// waiting level applies, and after a restart the learned SKU still maps.
func TestShopifyLearnsSKUsAndKeepsThem(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")
	level := func(id string, qty int) webhook {
		body := fmt.Sprintf(`{"inventory_item_id":770000000000000001,"location_id":655441491,"available":%d,"updated_at":"2026-11-20T10:00:0%sZ"}`, qty, id)
		return webhook{topic: "inventory_levels/update", eventID: "evt-level-" + id, body: []byte(body), secret: testSecret}
	}
	base := startGateway(t, "--config", cfg)
	if code, body := post(t, level("1", 4).request(t, base)); code != http.StatusOK || !strings.Contains(body, `"unmapped":1`) {
		t.Fatalf("level answered %d %s; want one unmapped part", code, body)
	}
	item := webhook{topic: "inventory_items/update", eventID: "evt-item-1",
		body: []byte(`{"id":770000000000000001,"sku":"LEARNED-SKU","tracked":true,"updated_at":"2026-11-20T10:00:05Z"}`), secret: testSecret}
	if code, body := post(t, item.request(t, base)); code != http.StatusOK {
		t.Fatalf("inventory_items/update answered %d %s", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(history(t, base, "LEARNED-SKU", "berlin")) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the waiting level never applied after its SKU was learned")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var ms struct {
		Mappings []struct{ ExternalID, Internal string } `json:"mappings"`
	}
	gql(t, base, testAdminKey, `{ mappings(connector:"shop"){ externalID: externalId internal } }`, nil, &ms)
	if len(ms.Mappings) != 1 || ms.Mappings[0].ExternalID != "770000000000000001" || ms.Mappings[0].Internal != "LEARNED-SKU" {
		t.Fatalf("stored mappings = %+v", ms.Mappings)
	}
	stopGateway(t, base)

	// Restarted on the same data dir: the learned SKU maps at once.
	base = startGateway(t, "--config", cfg)
	if code, body := post(t, level("2", 3).request(t, base)); code != http.StatusOK || strings.Contains(body, "unmapped") {
		t.Fatalf("after restart the level answered %d %s; want it mapped", code, body)
	}
}

// TestAmazonListingStatusIsRecorded: a listing that stops being buyable
// moves no stock but is recorded on the channel as an alert, once, even
// when Amazon delivers it twice.
func TestAmazonListingStatusIsRecorded(t *testing.T) {
	base, send := startAmazonGateway(t, "")
	for range 2 {
		send("listings_item_status_change.json")
	}
	var a struct {
		Alerts []struct{ Kind, Sku, Message string } `json:"alerts"`
	}
	if errs := gql(t, base, testAdminKey, `{ alerts{ kind sku message } }`, nil, &a); len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(a.Alerts) != 1 || a.Alerts[0].Kind != "listing_status" || !strings.Contains(a.Alerts[0].Message, "not buyable") || a.Alerts[0].Sku != "BNE-RDG-CHAR" {
		t.Fatalf("alerts = %+v; want one listing_status alert", a.Alerts)
	}
}

// TestAmazonShipmentBeforeItsOrder: Amazon may send an order's Shipped
// notification with no ORDER_CHANGE for the new order before it, or
// before a late one. The shipment takes the units from on hand and never
// leaves committed below zero; the late Unshipped commits nothing twice.
func TestAmazonShipmentBeforeItsOrder(t *testing.T) {
	base, send := startAmazonGateway(t, `    items: {NP-SOCK-MOSS-M: SOCK-TRL-M-MOSS}
    locations: {6c1f0e52-8a7d-4f3b-9e21-0d5b7a3c4e11: web}
`)
	level := func(sku string) level {
		var q struct {
			Availability level `json:"availability"`
		}
		gql(t, base, testStoreKey, `query($s:String!){ availability(sku:$s, location:"web"){ onHand committed available } }`, map[string]any{"s": sku}, &q)
		return q.Availability
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: socks %+v, bones %+v", what, level("SOCK-TRL-M-MOSS"), level("BNE-RDG-CHAR"))
			}
		}
	}

	send("order_change_shipped.json") // 2 socks shipped, the order never seen
	waitFor("after the shipment", func() bool {
		l := level("SOCK-TRL-M-MOSS")
		return l.OnHand == -2 && l.Committed == 0 && l.Available == -2
	})
	send("order_change_unshipped.json") // the order's late Unshipped: socks 2, bones 1
	waitFor("after the late order", func() bool { return level("BNE-RDG-CHAR").Committed == 1 })
	time.Sleep(100 * time.Millisecond)
	if l := level("SOCK-TRL-M-MOSS"); l.OnHand != -2 || l.Committed != 0 {
		t.Fatalf("socks after the late Unshipped: %+v; want on hand -2, committed 0 (its commit applied once)", l)
	}
}

// TestShopifyStaleAfterAMapping: a mapping added at runtime rebuilds the
// connector; an inventory level older than one seen before the rebuild is
// still stale after it, not a new observation.
func TestShopifyStaleAfterAMapping(t *testing.T) {
	dir := t.TempDir()
	base := startGateway(t, "--config", writeConfig(t, dir, ""))
	if errs := gql(t, base, testAdminKey, `mutation{ map(connector:"shop", kind:SKU, externalId:"770000000000000009", internal:"STALE-SKU"){ replayed } }`, nil, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	level := func(id string, qty int, at string) *http.Request {
		body := fmt.Sprintf(`{"inventory_item_id":770000000000000009,"location_id":655441491,"available":%d,"updated_at":%q}`, qty, at)
		req := webhook{topic: "inventory_levels/update", eventID: "evt-stale-" + id, body: []byte(body), secret: testSecret}.request(t, base)
		req.Header.Set(shopify.HeaderTriggeredAt, at)
		return req
	}
	if code, body := post(t, level("1", 5, "2026-11-20T06:00:00Z")); code != http.StatusOK {
		t.Fatalf("level answered %d %s", code, body)
	}
	for deadline := time.Now().Add(10 * time.Second); len(history(t, base, "STALE-SKU", "berlin")) != 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first level was never recorded")
		}
	}
	if errs := gql(t, base, testAdminKey, `mutation{ map(connector:"shop", kind:LOCATION, externalId:"655441999", internal:"hamburg"){ replayed } }`, nil, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	if code, body := post(t, level("2", 7, "2026-11-20T05:31:00Z")); code != http.StatusOK || !strings.Contains(body, `"status":"stale"`) {
		t.Fatalf("older level answered %d %s; want 200, stale", code, body)
	}
	// A newer one after it shows that the ledger has caught up.
	if code, body := post(t, level("3", 6, "2026-11-20T06:05:00Z")); code != http.StatusOK {
		t.Fatalf("newer level answered %d %s", code, body)
	}
	for deadline := time.Now().Add(10 * time.Second); len(history(t, base, "STALE-SKU", "berlin")) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the newer level was never recorded")
		}
	}
	time.Sleep(100 * time.Millisecond)
	if ids := history(t, base, "STALE-SKU", "berlin"); len(ids) != 2 {
		t.Fatalf("history = %v; want the 06:00 and 06:05 levels only (05:31 is stale)", ids)
	}
}

// mapLocation maps a connector's location id to a stockgate location and
// returns how many waiting deliveries were replayed and are still pending.
func mapLocation(t *testing.T, base, connector, external, internal string) (replayed, pending int64) {
	t.Helper()
	var mapped struct {
		Map struct {
			Replayed     int64 `json:"replayed"`
			StillPending int64 `json:"stillPending"`
		} `json:"map"`
	}
	if errs := gql(t, base, testAdminKey, `mutation($c:String!,$e:String!,$i:String!){ map(connector:$c, kind:LOCATION, externalId:$e, internal:$i){ replayed stillPending } }`,
		map[string]any{"c": connector, "e": external, "i": internal}, &mapped); len(errs) > 0 {
		t.Fatal(errs)
	}
	return mapped.Map.Replayed, mapped.Map.StillPending
}

// waitOnHand waits up to 10 s for sku's on hand at loc to be want.
func waitOnHand(t *testing.T, base, sku, loc string, want int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var q struct {
			Availability level `json:"availability"`
		}
		gql(t, base, testStoreKey, `query($s:String!,$l:String!){ availability(sku:$s, location:$l){ onHand } }`, map[string]any{"s": sku, "l": loc}, &q)
		if q.Availability.OnHand == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s at %s: on hand %d, want %d", sku, loc, q.Availability.OnHand, want)
		}
	}
}

// startAmazonGateway starts a gateway with an Amazon connector "amazon"
// (EventBridge's header secret, default location web, extra lines of its
// configuration) and returns it with a function that delivers one of the
// connector's testdata files to it, expecting 200.
func startAmazonGateway(t *testing.T, extra string) (base string, send func(file string)) {
	t.Helper()
	const ebSecret = "eventbridge-secret-0123456789"
	t.Setenv("E2E_EB_SECRET", ebSecret)
	base = startGateway(t, "--config", writeConfig(t, t.TempDir(), `  - id: amazon
    kind: amazon
    secrets: [env:E2E_EB_SECRET]
    defaultLocation: web
`+extra))
	return base, func(file string) {
		t.Helper()
		body, err := os.ReadFile("connectors/amazon/testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/amazon", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+ebSecret)
		if code, resp := post(t, req); code != http.StatusOK {
			t.Fatalf("%s answered %d %s", file, code, resp)
		}
	}
}
