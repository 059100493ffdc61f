package amazonwriter_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/connectors/amazon/listingsapi"
	"github.com/stockgate/stockgate/connectors/amazon/listingsapi/listingsfake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/amazonwriter"
	"github.com/stockgate/stockgate/dispatch/dispatchtest"
	"github.com/stockgate/stockgate/store"
)

// The catalogue: stockgate SKU i is listed at Amazon as SellerSKU
// sellerSKU(i), so the tests also exercise the mapping.
func skuName(i int) string   { return fmt.Sprintf("SKU-%05d", i) }
func sellerSKU(i int) string { return fmt.Sprintf("AMZ-%05d", i) }

// items maps n SKUs to their SellerSKUs.
func items(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m[skuName(i)] = sellerSKU(i)
	}
	return m
}

// rule is the channel rule of the tests: two stores feed the listing, one
// unit held back.
var rule = channel.Rule{Channel: "amazon-us", Locations: []string{"berlin", "hamburg"}, BufferUnits: 1}

// newFake is a fake Amazon seller listing the first n SKUs, on the
// current bubble's clock (or real time outside one).
func newFake(t testing.TB, opts *listingsfake.Options, n int) *listingsfake.Server {
	t.Helper()
	s := listingsfake.New(opts)
	skus := make([]string, n)
	for i := range n {
		skus[i] = sellerSKU(i)
	}
	s.AddListings("LUGGAGE", skus...)
	return s
}

// client is a listingsapi client of s over hc (s.Client() when nil).
func client(t testing.TB, s *listingsfake.Server, hc *http.Client) *listingsapi.Client {
	t.Helper()
	if hc == nil {
		hc = s.Client()
	}
	c, err := listingsapi.New("https://sellingpartnerapi-na.amazon.test",
		func(context.Context) (string, error) { return listingsfake.DefaultToken, nil }, &listingsapi.Options{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newWriter is a Writer of s for n SKUs, with opts adjusted by mod.
func newWriter(t testing.TB, s *listingsfake.Server, n int, mod func(*amazonwriter.Options)) *amazonwriter.Writer {
	t.Helper()
	o := amazonwriter.Options{Account: "amazon-us", Client: client(t, s, nil), SellerID: listingsfake.DefaultSellerID,
		MarketplaceID: listingsfake.DefaultMarketplaceID, Items: items(n), PollInterval: 2 * time.Second}
	if mod != nil {
		mod(&o)
	}
	w, err := amazonwriter.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// converged checks that Amazon shows the ledger's channel quantity of
// every SKU.
func converged(t testing.TB, l *ledger, s *listingsfake.Server, n int) {
	t.Helper()
	bad := 0
	for i := range n {
		want := l.Want(rule, skuName(i))
		got, ok := s.Quantity(sellerSKU(i))
		if !ok || got != want {
			if bad++; bad <= 5 {
				t.Errorf("%s: Amazon shows %d (set %v), ledger says %d", skuName(i), got, ok, want)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d SKUs differ", bad, n)
	}
}

// deadLetters lists the store's dead letters.
func deadLetters(t testing.TB, l *ledger) []store.DeadLetter {
	t.Helper()
	dls, err := l.DeadLetters(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return dls
}

// call is one request that reached the fake, with its answer's status.
type call struct {
	at     time.Time
	method string
	path   string
	status int
}

// callLog is an http.RoundTripper that logs every request to the fake.
type callLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []call
}

func (c *callLog) RoundTrip(req *http.Request) (*http.Response, error) {
	at := time.Now()
	resp, err := c.next.RoundTrip(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	c.mu.Lock()
	c.log = append(c.log, call{at: at, method: req.Method, path: req.URL.Path, status: status})
	c.mu.Unlock()
	return resp, err
}

// calls returns the logged requests whose path contains part.
func (c *callLog) calls(part string) []call {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []call
	for _, x := range c.log {
		if strings.Contains(x.path, part) {
			out = append(out, x)
		}
	}
	return out
}

// loggedWriter is a Writer of s whose requests are logged.
func loggedWriter(t testing.TB, s *listingsfake.Server, n int, mod func(*amazonwriter.Options)) (*amazonwriter.Writer, *callLog) {
	t.Helper()
	cl := &callLog{next: s.Client().Transport}
	w := newWriter(t, s, n, func(o *amazonwriter.Options) {
		o.Client = client(t, s, &http.Client{Transport: cl})
		if mod != nil {
			mod(o)
		}
	})
	return w, cl
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
