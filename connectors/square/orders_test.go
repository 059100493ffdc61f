package square

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/square/squareapi"
	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/event"
)

const testOrder = "Qm8Xz3Rt6YpL2wKv9NcB4hFgJ7s" // the order of testdata/order_*.json

// orderFake serves orders as Square's Orders API does, and returns a
// connector on testConfig whose Config.Orders is a squareapi.Client
// pointed at it, as server.go wires it.
func orderFake(t *testing.T) (*squarefake.Server, *Connector) {
	t.Helper()
	fake := squarefake.New(&squarefake.Options{Now: func() time.Time { return testReceived }})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client, err := squareapi.New(squarefake.DefaultToken, &squareapi.Options{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return fake, newConnector(t, func(c *Config) { c.Orders = client })
}

// setOrder stores testOrder at berlinLocation in state with two lines.
func setOrder(fake *squarefake.Server, state string, version int64, lines ...squarefake.LineItem) {
	if lines == nil {
		lines = []squarefake.LineItem{
			{UID: "line-sock", CatalogObjectID: sockVariation, Quantity: "2", Name: "Trail sock M"},
			{UID: "line-beanie", CatalogObjectID: beanieVariation, Quantity: "1.00000", Name: "Beanie"},
		}
	}
	fake.SetOrder(squarefake.Order{
		ID: testOrder, LocationID: berlinLocation, State: state, Version: version,
		CreatedAt: at("2026-11-20T10:13:58.204Z"), UpdatedAt: at("2026-11-20T10:14:02.877Z"),
		LineItems: lines,
	})
}

// orderUpdated is an order.updated webhook for testOrder.
func orderUpdated(eventID, state string, version int) *connectors.Request {
	body := `{"merchant_id":"` + testMerchant + `","type":"order.updated","event_id":"` + eventID + `",` +
		`"created_at":"2026-11-20T10:14:02.877Z","data":{"type":"order_updated","id":"` + testOrder + `","object":{"order_updated":{` +
		`"created_at":"2026-11-20T10:13:58.204Z","location_id":"` + berlinLocation + `","order_id":"` + testOrder + `",` +
		`"state":"` + state + `","updated_at":"2026-11-20T10:14:02.877Z","version":` + strconv.Itoa(version) + `}}}}`
	return newRequest([]byte(body))
}

type orderLine struct {
	Type          event.Type
	SKU, Location string
	Quantity      int64
	Reason        string
	SourceEventID string
}

func orderLines(res *connectors.Result) []orderLine {
	var out []orderLine
	for _, e := range res.Events {
		m := e.Movement
		out = append(out, orderLine{e.Type, m.SKU, m.Location, m.Quantity, m.Reason, m.SourceEventID})
	}
	return out
}

func ids(res *connectors.Result) []string {
	var out []string
	for _, e := range res.Events {
		out = append(out, e.ID())
	}
	return out
}

// committed replays results as the ledger would: each event id applied
// once, commits adding and releases subtracting committed units.
func committed(results ...*connectors.Result) map[string]int64 {
	seen := map[string]bool{}
	sum := map[string]int64{}
	for _, r := range results {
		for _, e := range r.Events {
			if seen[e.ID()] {
				continue
			}
			seen[e.ID()] = true
			switch e.Type {
			case event.OrderCommitted:
				sum[e.Movement.SKU] += e.Movement.Quantity
			case event.OrderCancelled:
				sum[e.Movement.SKU] -= e.Movement.Quantity
			case event.OrderFulfilled:
				panic("an in-store order must never be fulfilled: the IN_STOCK count already carries the sale")
			}
		}
	}
	return sum
}

func TestOrderStates(t *testing.T) {
	t.Parallel()
	commit := func(sku string, q int64, uid string) orderLine {
		return orderLine{event.OrderCommitted, sku, "berlin-store", q, reasonOrderOpen, "order/" + testOrder + "/" + uid + "/commit"}
	}
	release := func(sku string, q int64, uid, reason string) orderLine {
		return orderLine{event.OrderCancelled, sku, "berlin-store", q, reason, "order/" + testOrder + "/" + uid + "/release"}
	}
	for _, tc := range []struct {
		state string
		want  []orderLine
	}{
		{"OPEN", []orderLine{commit("SOCK-TRL-M-MOSS", 2, "line-sock"), commit("BNE-RDG-CHAR", 1, "line-beanie")}},
		{"COMPLETED", []orderLine{
			commit("SOCK-TRL-M-MOSS", 2, "line-sock"), release("SOCK-TRL-M-MOSS", 2, "line-sock", reasonOrderCompleted),
			commit("BNE-RDG-CHAR", 1, "line-beanie"), release("BNE-RDG-CHAR", 1, "line-beanie", reasonOrderCompleted),
		}},
		{"CANCELED", []orderLine{
			commit("SOCK-TRL-M-MOSS", 2, "line-sock"), release("SOCK-TRL-M-MOSS", 2, "line-sock", reasonOrderCanceled),
			commit("BNE-RDG-CHAR", 1, "line-beanie"), release("BNE-RDG-CHAR", 1, "line-beanie", reasonOrderCanceled),
		}},
		{"DRAFT", nil},
	} {
		t.Run(tc.state, func(t *testing.T) {
			t.Parallel()
			fake, c := orderFake(t)
			setOrder(fake, tc.state, 3)
			// The webhook may lag the order: the fetched state counts.
			res := normalize(t, c, orderUpdated("ev-"+tc.state, "OPEN", 2))
			if got := orderLines(res); !slices.Equal(got, tc.want) {
				t.Fatalf("events\n got %+v\nwant %+v", got, tc.want)
			}
			if len(res.Unmapped) != 0 {
				t.Fatalf("dead letters %+v", res.Unmapped)
			}
			for _, e := range res.Events {
				if e.Movement.OrderID != testOrder || e.Movement.CorrelationID != "square:order:"+testOrder {
					t.Errorf("event %s: order %q, correlation %q", e.ID(), e.Movement.OrderID, e.Movement.CorrelationID)
				}
			}
			if tc.state != "OPEN" && tc.state != "DRAFT" {
				if got := committed(res); got["SOCK-TRL-M-MOSS"] != 0 || got["BNE-RDG-CHAR"] != 0 {
					t.Errorf("a %s order seen only finished leaves committed %v, want 0", tc.state, got)
				}
			}
		})
	}
}

// TestOrderLifecycle follows one order through its webhooks: commits pair
// with one release whatever the path, and redeliveries and order.updated
// bursts (ref §2.4 "Noise") name the same events.
func TestOrderLifecycle(t *testing.T) {
	t.Parallel()
	fake, c := orderFake(t)

	setOrder(fake, "OPEN", 1)
	created := normalize(t, c, newRequest(readTestdata(t, "order_created.json")))
	setOrder(fake, "OPEN", 2)
	updated := normalize(t, c, orderUpdated("ev-2", "OPEN", 2))
	again := normalize(t, c, orderUpdated("ev-3", "OPEN", 2))
	if !slices.Equal(ids(created), ids(updated)) || !slices.Equal(ids(updated), ids(again)) || len(ids(created)) != 2 {
		t.Fatalf("OPEN ids differ across webhooks: %v, %v, %v", ids(created), ids(updated), ids(again))
	}
	if got := committed(created, updated, again); got["SOCK-TRL-M-MOSS"] != 2 || got["BNE-RDG-CHAR"] != 1 {
		t.Fatalf("open order committed %v, want sock 2, beanie 1", got)
	}

	setOrder(fake, "COMPLETED", 4)
	done := normalize(t, c, newRequest(readTestdata(t, "order_updated_completed.json")))
	doneAgain := normalize(t, c, orderUpdated("ev-5", "COMPLETED", 4))
	if !slices.Equal(ids(done), ids(doneAgain)) {
		t.Fatalf("COMPLETED ids differ across webhooks: %v, %v", ids(done), ids(doneAgain))
	}
	if !slices.Contains(ids(done), ids(created)[0]) || !slices.Contains(ids(done), ids(created)[1]) {
		t.Fatalf("COMPLETED does not repeat the OPEN commits %v: %v", ids(created), ids(done))
	}
	if got := committed(created, updated, again, done, doneAgain); got["SOCK-TRL-M-MOSS"] != 0 || got["BNE-RDG-CHAR"] != 0 {
		t.Fatalf("completed order leaves committed %v, want 0", got)
	}
	// A late or out-of-order webhook fetches the current (COMPLETED)
	// order: nothing new.
	late := normalize(t, c, newRequest(readTestdata(t, "order_created.json")))
	if !slices.Equal(ids(late), ids(done)) {
		t.Fatalf("late order.created ids %v, want %v", ids(late), ids(done))
	}

	// A cancellation after completion (not a Square transition, but
	// harmless) releases nothing more: one release per line.
	setOrder(fake, "CANCELED", 5)
	canceled := normalize(t, c, orderUpdated("ev-6", "CANCELED", 5))
	if !slices.Equal(ids(canceled), ids(done)) {
		t.Fatalf("CANCELED ids %v, want the same commit/release ids %v", ids(canceled), ids(done))
	}
	if got := committed(created, done, canceled); got["SOCK-TRL-M-MOSS"] != 0 {
		t.Fatalf("committed %v, want 0", got)
	}
	if s := fake.Stats(); s.Orders != 7 {
		t.Errorf("fake served %d orders, want one per webhook (7)", s.Orders)
	}
}

func TestOrderDeadLetters(t *testing.T) {
	t.Parallel()
	fake, c := orderFake(t)
	setOrder(fake, "OPEN", 2,
		squarefake.LineItem{UID: "ok", CatalogObjectID: coffeeVariation, Quantity: "3"},
		squarefake.LineItem{UID: "unmapped", CatalogObjectID: "ZZZZUNKNOWNVARIATION", Quantity: "1"},
		squarefake.LineItem{UID: "weighed", CatalogObjectID: sockVariation, Quantity: "0.5"},
		squarefake.LineItem{UID: "custom", Quantity: "1", Name: "Custom amount"},
		squarefake.LineItem{UID: "bad", CatalogObjectID: sockVariation, Quantity: "1e3"},
		squarefake.LineItem{UID: "zero", CatalogObjectID: sockVariation, Quantity: "0"},
	)
	res := normalize(t, c, orderUpdated("ev-dl", "OPEN", 2))
	if got := orderLines(res); len(got) != 1 || got[0].SKU != "COFFEE-BEANS-1KG" || got[0].Quantity != 3 {
		t.Fatalf("events %+v, want one commit of 3 COFFEE-BEANS-1KG", got)
	}
	want := []string{
		"line unmapped (ZZZZUNKNOWNVARIATION): Square catalog object ZZZZUNKNOWNVARIATION is not in Items",
		`line weighed (` + sockVariation + `): quantity "0.5" is not a whole number of units`,
		"line custom (catalog object): no catalog_object_id",
		`line bad (` + sockVariation + `): quantity "1e3" is not a decimal quantity`,
		`line zero (` + sockVariation + `): quantity "0" is not positive`,
	}
	if len(res.Unmapped) != len(want) {
		t.Fatalf("%d dead letters, want %d: %+v", len(res.Unmapped), len(want), res.Unmapped)
	}
	for i, w := range want {
		d := res.Unmapped[i]
		if !strings.Contains(d.Reason, w) || d.Connector != testID || d.EventType != TypeOrderUpdated || d.EventID == "" {
			t.Errorf("dead letter %d: %+v, want reason containing %q", i, d, w)
		}
	}

	// An order at a location not in Locations: every line is a dead letter.
	fake.SetOrder(squarefake.Order{ID: testOrder, LocationID: "LQQQ9Z9Z9Z9Z9", State: "OPEN",
		LineItems: []squarefake.LineItem{{UID: "a", CatalogObjectID: sockVariation, Quantity: "1"}}})
	res = normalize(t, c, orderUpdated("ev-loc", "OPEN", 2))
	if len(res.Events) != 0 || len(res.Unmapped) != 1 || !strings.Contains(res.Unmapped[0].Reason, "Square location LQQQ9Z9Z9Z9Z9 is not in Locations") {
		t.Fatalf("events %+v, dead letters %+v", orderLines(res), res.Unmapped)
	}

	// An unknown OrderState is noticed, not dropped.
	setOrder(fake, "ARCHIVED", 6)
	res = normalize(t, c, orderUpdated("ev-state", "OPEN", 2))
	if len(res.Events) != 0 || len(res.Unmapped) != 1 || !strings.Contains(res.Unmapped[0].Reason, `unknown state "ARCHIVED"`) {
		t.Fatalf("events %+v, dead letters %+v", orderLines(res), res.Unmapped)
	}
}

func TestOrderFetchFailures(t *testing.T) {
	t.Parallel()
	t.Run("404 is a dead letter", func(t *testing.T) {
		t.Parallel()
		_, c := orderFake(t) // holds no order
		res := normalize(t, c, newRequest(readTestdata(t, "order_created.json")))
		if len(res.Events) != 0 || len(res.Unmapped) != 1 ||
			!strings.Contains(res.Unmapped[0].Reason, "order "+testOrder+": not found in the Orders API") {
			t.Fatalf("events %+v, dead letters %+v", orderLines(res), res.Unmapped)
		}
	})
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusUnauthorized} {
		t.Run(http.StatusText(status)+" is an error", func(t *testing.T) {
			t.Parallel()
			fake, c := orderFake(t)
			setOrder(fake, "OPEN", 1)
			fake.Fail(1, status, 0)
			res, err := c.Normalize(context.Background(), newRequest(readTestdata(t, "order_created.json")))
			if err == nil || res != nil {
				t.Fatalf("Normalize = %+v, %v; want an error", res, err)
			}
			if errors.Is(err, connectors.ErrMalformed) {
				t.Fatalf("error %v wraps ErrMalformed: the ingest would answer 400 and Square would not retry usefully", err)
			}
			if want := errcode.FromHTTPStatus(status); squareapi.ErrorCode(err) != want {
				t.Errorf("code %v, want %v (%v)", squareapi.ErrorCode(err), want, err)
			}
			// Square redelivers; the next attempt succeeds.
			if res := normalize(t, c, newRequest(readTestdata(t, "order_created.json"))); len(res.Events) != 2 {
				t.Fatalf("retry: %+v", orderLines(res))
			}
		})
	}
	t.Run("draft is not fetched", func(t *testing.T) {
		t.Parallel()
		fake, c := orderFake(t)
		if res := normalize(t, c, newRequest(readTestdata(t, "order_updated_draft.json"))); len(res.Events)+len(res.Unmapped) != 0 {
			t.Fatalf("draft: %+v", res)
		}
		if n := fake.Stats().Requests; n != 0 {
			t.Errorf("%d requests for a draft order", n)
		}
	})
}
