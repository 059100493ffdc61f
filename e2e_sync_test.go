package main

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/pos"
	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
	"github.com/stockgate/stockgate/connectors/square"
	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
)

// TestSaleInOneChannelReachesShopify: a POS sale in the Berlin store
// lowers what the Shopify fake shows, through the ledger, the channel rule
// and the dispatcher; Shopify's webhook reporting the pushed value back is
// a confirmation, not a drift.
func TestSaleInOneChannelReachesShopify(t *testing.T) {
	fake := shopifyfake.New(shopifyfake.Options{})
	srv := httptest.NewServer(fake.Handler())
	defer srv.Close()
	const (
		item    = 808950810
		shopLoc = 655441491
	)
	base := startSyncGateway(t, srv.URL)
	postSale(t, base)
	// Berlin has 7 available; the rule holds 1 back: Shopify must show 6.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if q, ok := fake.Level(item, shopLoc); ok && q == 6 {
			break
		}
		if time.Now().After(deadline) {
			q, ok := fake.Level(item, shopLoc)
			t.Fatalf("Shopify shows %d (%v), want 6", q, ok)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := fake.Stats(); st.Throttled != 0 {
		t.Fatalf("the fake throttled %d calls", st.Throttled)
	}

	var explain struct {
		ChannelAvailability struct {
			Quantity  int64  `json:"quantity"`
			Buffer    int64  `json:"buffer"`
			Rule      string `json:"rule"`
			Locations []struct {
				Location  string `json:"location"`
				Available int64  `json:"available"`
			} `json:"locations"`
		} `json:"channelAvailability"`
	}
	if errs := gql(t, base, testStoreKey, `{ channelAvailability(connector:"shop", sku:"SYNC-SKU"){ quantity buffer rule locations{ location available } } }`, nil, &explain); len(errs) > 0 {
		t.Fatal(errs)
	}
	ca := explain.ChannelAvailability
	if ca.Quantity != 6 || ca.Buffer != 1 || len(ca.Locations) != 1 || ca.Locations[0].Available != 7 || ca.Rule == "" {
		t.Fatalf("channelAvailability = %+v; want 6 from berlin's 7 less a buffer of 1", ca)
	}
	var status struct {
		Connectors []struct {
			Connector    string `json:"connector"`
			BreakerState string `json:"breakerState"`
			Written      int64  `json:"written"`
			QueueDepth   int64  `json:"queueDepth"`
		} `json:"connectors"`
	}
	if errs := gql(t, base, testAdminKey, `{ connectors{ connector breakerState written queueDepth } }`, nil, &status); len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(status.Connectors) != 1 || status.Connectors[0].Connector != "shop" || status.Connectors[0].BreakerState != "closed" || status.Connectors[0].Written < 1 {
		t.Fatalf("connectors = %+v", status.Connectors)
	}

	// Shopify reports the value we pushed: a confirmation, no drift alert.
	level := []byte(`{"inventory_item_id":808950810,"location_id":655441491,"available":6,"updated_at":"` + time.Now().UTC().Format(time.RFC3339) + `"}`)
	echo := webhook{topic: "inventory_levels/update", eventID: "evt-echo-1", body: level, secret: testSecret}
	if code, body := post(t, echo.request(t, base)); code != http.StatusOK {
		t.Fatalf("echo webhook answered %d %s", code, body)
	}
	// Wait until the ledger has recorded the report, so the alert check
	// below cannot pass merely because it ran first.
	deadline = time.Now().Add(10 * time.Second)
	for {
		// The webhook's own entry is the only observation: reconciliation
		// leaves the synced location to the dispatcher.
		seen := outcomes(t, base, "SYNC-SKU", "berlin")
		echoed := false
		for _, o := range seen {
			if outcome, reason, _ := strings.Cut(o, "/"); outcome == "observed" {
				if reason != "echo_confirmation" {
					t.Fatalf("Shopify's report of our own write was recorded with reason %q, want echo_confirmation", reason)
				}
				echoed = true
			}
		}
		if echoed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the echoed inventory level never reached the ledger; history %v", seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var alerts struct {
		Alerts []struct{ Kind, Message string } `json:"alerts"`
	}
	gql(t, base, testAdminKey, `{ alerts{ kind message } }`, nil, &alerts)
	for _, a := range alerts.Alerts {
		if a.Kind == "drift" {
			t.Fatalf("our own write came back as drift: %+v", a)
		}
	}
}

func posSign(secret string, body []byte) string { return pos.Sign(secret, time.Now(), body) }

// syncPOSSecret signs the "till" POS connector's batches.
const syncPOSSecret = "pos-secret-0123456789"

// startSyncGateway starts a gateway that syncs SYNC-SKU (Shopify item
// 808950810) at berlin, less a buffer of 1, to the Shopify fake at
// shopURL, with a POS connector "till".
func startSyncGateway(t *testing.T, shopURL string) string {
	t.Helper()
	t.Setenv("E2E_POS_SECRET", syncPOSSecret)
	t.Setenv("E2E_SHOPIFY_TOKEN", shopifyfake.DefaultToken)
	cfg := writeConfig(t, t.TempDir(), `    items: {"808950810": SYNC-SKU}
    api:
      baseURL: `+shopURL+`
      token: env:E2E_SHOPIFY_TOKEN
    sync:
      locationId: 655441491
      rule: {locations: [berlin], bufferUnits: 1}
  - id: till
    kind: pos
    secrets: [env:E2E_POS_SECRET]
dispatch: {window: 20ms, maxDelay: 100ms}
`)
	return startGateway(t, "--config", cfg)
}

// postSale posts a POS batch to "till": 10 SYNC-SKU received at berlin,
// 3 sold.
func postSale(t *testing.T, base string) {
	t.Helper()
	batch := []byte(`{"idempotencyKey":"sync-1","store":"berlin","register":"1","sentAt":"2026-11-20T11:58:30Z","movements":[` +
		`{"type":"receipt","sku":"SYNC-SKU","quantity":10,"at":"2026-11-20T11:50:00Z"},` +
		`{"type":"sale","sku":"SYNC-SKU","quantity":3,"at":"2026-11-20T11:57:02Z"}]}`)
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/till", strings.NewReader(string(batch)))
	req.Header.Set("Stockgate-Signature", posSign(syncPOSSecret, batch))
	if code, body := post(t, req); code != http.StatusOK {
		t.Fatalf("POS batch answered %d %s", code, body)
	}
}

// TestSquareEchoAfterARestart: the gateway writes berlin's 10, less a
// buffer of 2, to Square and restarts; Square's inventory.count.updated
// for that write, delivered to the new process, is still recognized as
// the echo of stockgate's own write (the store keeps what was written),
// so berlin keeps 10 instead of taking the pushed 8 as a count.
func TestSquareEchoAfterARestart(t *testing.T) {
	const (
		item = "VAR-ECHO-1"
		key  = "square-signature-key-0123"
		url  = "https://stockgate.example.com/webhooks/square"
	)
	fake := squarefake.New(nil)
	cfg := squareSyncConfig(t, fake, item, "ECHO-SKU", "LOC-B: berlin")
	base := startGateway(t, "--config", cfg)
	pushBerlin(t, base, fake, item, "ECHO-SKU")
	stopGateway(t, base)
	base = startGateway(t, "--config", cfg)

	body := []byte(`{"merchant_id":"MLN7Q2C5X9ZKB","type":"inventory.count.updated","event_id":"7c1e0d2a-93b4-4f6e-8a15-2d9c4b7e6f01",` +
		`"created_at":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","data":{"type":"inventory_counts","id":"e1","object":{"inventory_counts":[` +
		`{"catalog_object_id":"` + item + `","catalog_object_type":"ITEM_VARIATION","state":"IN_STOCK","location_id":"LOC-B","quantity":"8",` +
		`"calculated_at":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}]}}}`)
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/square", strings.NewReader(string(body)))
	req.Header.Set(square.HeaderSignature, square.Sign(key, url, body))
	if code, resp := post(t, req); code != http.StatusOK {
		t.Fatalf("Square's echo answered %d %s", code, resp)
	}
	var seen []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if seen = outcomes(t, base, "ECHO-SKU", "berlin"); len(seen) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the echo never reached the ledger; history %v", seen)
		}
	}
	if !slices.Contains(seen, "observed/echo_confirmation") {
		t.Errorf("history %v: Square's report of the pushed 8 is not an echo confirmation", seen)
	}
	waitOnHand(t, base, "ECHO-SKU", "berlin", 10) // the echo is applied by now: it is in the history
}

// squareSyncConfig serves fake and writes the config of a gateway whose
// Square connector "square" maps item to sku, locations
// ("LOC-B: berlin, …") to stockgate's, and syncs LOC-B with berlin's
// stock less a buffer of 2. Square's webhooks are signed with
// "square-signature-key-0123" for https://stockgate.example.com/webhooks/square.
func squareSyncConfig(t *testing.T, fake *squarefake.Server, item, sku, locations string) string {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	t.Setenv("E2E_SQUARE_KEY", "square-signature-key-0123")
	t.Setenv("E2E_SQUARE_TOKEN", squarefake.DefaultToken)
	return writeConfig(t, t.TempDir(), `  - id: square
    kind: square
    secrets: [env:E2E_SQUARE_KEY]
    notificationURL: https://stockgate.example.com/webhooks/square
    locations: {`+locations+`}
    items: {`+item+`: `+sku+`}
    api:
      baseURL: `+srv.URL+`
      token: env:E2E_SQUARE_TOKEN
    sync: {location: LOC-B, rule: {locations: [berlin], bufferUnits: 2}}
dispatch: {window: 20ms, maxDelay: 100ms}
`)
}

// pushBerlin counts sku at berlin at 10 and waits for the dispatcher to
// write 10 less the buffer of 2 to Square's LOC-B.
func pushBerlin(t *testing.T, base string, fake *squarefake.Server, item, sku string) {
	t.Helper()
	if errs := gql(t, base, testAdminKey, `mutation($s:String!){ countStock(input:{sku:$s, location:"berlin", quantity:10}){ eventId } }`,
		map[string]any{"s": sku}, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	waitSquareCount(t, fake, item, "LOC-B", "8")
}

// waitSquareCount waits up to 10 s for the Square fake's IN_STOCK count of
// item at loc to be want.
func waitSquareCount(t *testing.T, fake *squarefake.Server, item, loc, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, ok := fake.Count(item, loc, "IN_STOCK")
		if ok && c.Quantity == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Square's %s shows %q of %s, want %s", loc, c.Quantity, item, want)
		}
	}
}

// outcomes returns the outcome and reason ("applied/sale") of the first
// 50 history entries of sku at loc.
func outcomes(t *testing.T, base, sku, loc string) []string {
	t.Helper()
	var h struct {
		History struct {
			Edges []struct {
				Node struct{ Outcome, Reason string } `json:"node"`
			} `json:"edges"`
		} `json:"history"`
	}
	if errs := gql(t, base, testAdminKey, `query($s:String!,$l:String!){ history(sku:$s, location:$l, first:50){ edges{ node{ outcome reason } } } }`,
		map[string]any{"s": sku, "l": loc}, &h); len(errs) > 0 {
		t.Fatalf("history: %+v", errs)
	}
	var out []string
	for _, e := range h.History.Edges {
		out = append(out, e.Node.Outcome+"/"+e.Node.Reason)
	}
	return out
}
