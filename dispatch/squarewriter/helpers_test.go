package squarewriter_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/connectors/square/squareapi"
	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/dispatchtest"
	"github.com/stockgate/stockgate/dispatch/squarewriter"
)

// The Square location written, and the catalogue: SKU i is item variation
// objectID(i). Ids are the project's own, shaped like Square's (ref §3).
const squareLocation = "L8YQ2W4K7ZB3D"

func skuName(i int) string  { return fmt.Sprintf("SKU-%05d", i) }
func objectID(i int) string { return fmt.Sprintf("VARSTOCKGATE%012d", i) }

// items maps n SKUs to catalog objects.
func items(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m[skuName(i)] = objectID(i)
	}
	return m
}

// rule is the channel rule of the tests: two stores feed the Square
// location, one unit held back.
var rule = channel.Rule{Channel: "square-berlin", Locations: []string{"berlin", "hamburg"}, BufferUnits: 1}

// merchant is a fake Square account served over a pipeNet, with a log of
// the batch-create calls that reached it.
type merchant struct {
	*squarefake.Server
	t     testing.TB
	url   string
	httpc *http.Client

	mu         sync.Mutex
	calls      []call // BatchChangeInventory requests, in order
	loseAnswer int    // the next n applied batch-creates are answered 504 instead
}

// call is one BatchChangeInventory request as the fake saw it.
type call struct {
	at      time.Time
	key     string
	changes int
	status  int
	body    []byte
}

// newMerchant starts a fake Square inside the current bubble and closes it
// when the test ends.
func newMerchant(t testing.TB, opts squarefake.Options) *merchant {
	t.Helper()
	m := &merchant{Server: squarefake.New(&opts), t: t, url: "http://square.test"}
	m.httpc = dispatchtest.Serve(t, "square.test:80", m)
	return m
}

// ServeHTTP passes the request to the fake and logs batch-creates.
func (m *merchant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := dispatchtest.ReadBody(r)
	r2 := r.Clone(r.Context())
	rec := httptest.NewRecorder()
	m.Server.ServeHTTP(rec, r2)
	status, out := rec.Code, rec.Body.Bytes()
	if r.URL.Path == squarefake.ChangesPath {
		var req struct {
			Key     string            `json:"idempotency_key"`
			Changes []json.RawMessage `json:"changes"`
		}
		_ = json.Unmarshal(body, &req)
		m.mu.Lock()
		if status == http.StatusOK && m.loseAnswer > 0 {
			// Applied, but the answer is lost on the way back: a gateway
			// timeout, as a proxy in front of Square would answer.
			m.loseAnswer--
			status, out = http.StatusGatewayTimeout, []byte("upstream timed out\n")
			rec.Header().Set("Content-Type", "text/plain")
		}
		m.calls = append(m.calls, call{at: time.Now(), key: req.Key, changes: len(req.Changes), status: status, body: body})
		m.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// batchCalls returns the logged BatchChangeInventory requests.
func (m *merchant) batchCalls() []call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]call(nil), m.calls...)
}

// client is an API client of the fake.
func (m *merchant) client(t testing.TB, token string) *squareapi.Client {
	t.Helper()
	if token == "" {
		token = squarefake.DefaultToken
	}
	c, err := squareapi.New(token, &squareapi.Options{BaseURL: m.url, HTTPClient: m.httpc})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// level is what the fake shows for SKU i at the location.
func (m *merchant) level(i int) (int64, bool) {
	c, ok := m.Count(objectID(i), squareLocation, "IN_STOCK")
	if !ok {
		return 0, false
	}
	q, err := squareapi.ParseQuantity(c.Quantity)
	if err != nil {
		m.t.Fatalf("%s: quantity %q: %v", objectID(i), c.Quantity, err)
	}
	return q, true
}

// newWriter is a Writer of the fake for n SKUs; mod changes its options.
func newWriter(t testing.TB, m *merchant, n int, mod func(*squarewriter.Options)) *squarewriter.Writer {
	t.Helper()
	opts := squarewriter.Options{Account: "square-berlin", Client: m.client(t, ""), LocationID: squareLocation, Items: items(n)}
	if mod != nil {
		mod(&opts)
	}
	w, err := squarewriter.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// converged checks that the fake shows the ledger's channel quantity of
// every SKU.
func converged(t testing.TB, l *ledger, m *merchant, n int) {
	t.Helper()
	bad := 0
	for i := range n {
		want := l.Want(rule, skuName(i))
		got, ok := m.level(i)
		if !ok || got != want {
			if bad++; bad <= 5 {
				t.Errorf("%s: Square shows %d (exists %v), ledger says %d", skuName(i), got, ok, want)
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
