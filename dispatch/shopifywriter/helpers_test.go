package shopifywriter_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/connectors/shopify"
	"github.com/stockgate/stockgate/connectors/shopify/admin"
	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/dispatchtest"
	"github.com/stockgate/stockgate/dispatch/shopifywriter"
)

// The shop's location and the catalogue: SKU i is inventory item
// itemBase+i.
const (
	shopLocation = 655441491
	itemBase     = 808950000
)

func skuName(i int) string { return fmt.Sprintf("SKU-%05d", i) }
func itemID(i int) int64   { return itemBase + int64(i) }

// items maps n inventory items to SKUs.
func items(n int) map[int64]string {
	m := make(map[int64]string, n)
	for i := range n {
		m[itemID(i)] = skuName(i)
	}
	return m
}

// rule is the channel rule of the tests: two stores feed the shop, one
// unit held back.
var rule = channel.Rule{Channel: "shopify-eu", Locations: []string{"berlin", "hamburg"}, BufferUnits: 1}

// shop is a fake Shopify shop served over a pipeNet, with a log of what
// reached it.
type shop struct {
	*shopifyfake.Server
	t       testing.TB
	url     string
	httpc   *http.Client
	latency time.Duration // added to every answer

	mu     sync.Mutex
	cost   float64           // Σ actualQueryCost
	writes []appliedWrite    // applied inventorySetQuantities, in order
	calls  []time.Time       // arrival of every request
	levels map[int64][]int64 // item → quantities applied, in order
}

type appliedWrite struct {
	at    time.Time
	items map[int64]int64
}

// newShop starts a fake shop inside the current bubble (or on real time
// outside one) and closes it when the test ends.
func newShop(t testing.TB, opts shopifyfake.Options) *shop {
	t.Helper()
	s := &shop{Server: shopifyfake.New(opts), t: t, levels: make(map[int64][]int64), url: "http://shop.test"}
	s.httpc = dispatchtest.Serve(t, "shop.test:80", s)
	return s
}

// ServeHTTP passes the request to the fake and logs the answer.
func (s *shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := dispatchtest.ReadBody(r)
	now := time.Now()
	if s.latency > 0 {
		select {
		case <-time.After(s.latency):
		case <-r.Context().Done():
			return
		}
	}
	rec := httptest.NewRecorder()
	s.Server.ServeHTTP(rec, r)
	var ans struct {
		Data struct {
			Set *struct {
				Group      *json.RawMessage  `json:"inventoryAdjustmentGroup"`
				UserErrors []json.RawMessage `json:"userErrors"`
			} `json:"inventorySetQuantities"`
		} `json:"data"`
		Extensions struct {
			Cost struct {
				Actual *float64 `json:"actualQueryCost"`
			} `json:"cost"`
		} `json:"extensions"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &ans)
	s.mu.Lock()
	s.calls = append(s.calls, now)
	if a := ans.Extensions.Cost.Actual; a != nil {
		s.cost += *a
	}
	if ans.Data.Set != nil && ans.Data.Set.Group != nil && len(ans.Data.Set.UserErrors) == 0 {
		var req struct {
			Variables struct {
				Input struct {
					Quantities []struct {
						Item     string `json:"inventoryItemId"`
						Quantity int64  `json:"quantity"`
					} `json:"quantities"`
				} `json:"input"`
			} `json:"variables"`
		}
		_ = json.Unmarshal(body, &req)
		aw := appliedWrite{at: now, items: make(map[int64]int64)}
		for _, q := range req.Variables.Input.Quantities {
			var id int64
			fmt.Sscanf(q.Item, "gid://shopify/InventoryItem/%d", &id)
			aw.items[id] = q.Quantity
			s.levels[id] = append(s.levels[id], q.Quantity)
		}
		s.writes = append(s.writes, aw)
	}
	s.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// spent is the actual cost the shop has charged so far.
func (s *shop) spent() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cost
}

// appliedSince counts applied writes after t and their quantities.
func (s *shop) appliedSince(t time.Time) (writes, quantities int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.writes {
		if w.at.After(t) {
			writes++
			quantities += len(w.items)
		}
	}
	return
}

// client is an admin client of the shop.
func (s *shop) client(t testing.TB, token string) *admin.Client {
	t.Helper()
	if token == "" {
		token = shopifyfake.DefaultToken
	}
	c, err := admin.New(admin.Options{Shop: s.url, Token: token, HTTPClient: s.httpc})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newWriter is a Writer of the shop for n SKUs.
func newWriter(t testing.TB, s *shop, account string, n int, echoes *shopify.MemoryEchoes) *shopifywriter.Writer {
	t.Helper()
	opts := shopifywriter.Options{Account: account, Client: s.client(t, ""), LocationID: shopLocation, Items: items(n), Now: time.Now}
	if echoes != nil {
		opts.Echoes = echoes
	}
	w, err := shopifywriter.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// converged checks that the shop shows the ledger's channel quantity of
// every SKU.
func converged(t testing.TB, l *ledger, s *shop, n int) {
	t.Helper()
	bad := 0
	for i := range n {
		want := l.Want(rule, skuName(i))
		got, ok := s.Level(itemID(i), shopLocation)
		if !ok || got != want {
			if bad++; bad <= 5 {
				t.Errorf("%s: shop shows %d (exists %v), ledger says %d", skuName(i), got, ok, want)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d SKUs differ", bad, n)
	}
}

// The ledger and the running Dispatcher of every driver's tests.
type (
	ledger  = dispatchtest.Ledger
	running = dispatchtest.Running
)

func newLedger(t testing.TB) *ledger { return dispatchtest.NewLedger(t) }

func start(t testing.TB, l *ledger, accounts []dispatch.Account, opts *dispatch.Options) *running {
	return dispatchtest.Start(t, l, accounts, opts)
}

// stock gives each of n SKUs some units at both stores.
func stock(l *ledger, n int) { l.Stock(n, skuName) }
