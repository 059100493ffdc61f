package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
)

// TestThreeReplicas runs three gateway processes (the built binary) on one
// Redis store (a key prefix of their own) and one NATS JetStream bus
// (streams of their own): the inbound events go to one durable consumer
// that the replicas share, the availability changes to a durable per
// replica ({replica} in the subscription URL). Every replica syncs a
// Shopify connector to one Shopify fake. A graphql-transport-ws subscriber
// watches each replica; signed webhooks are spread across the replicas and
// one replica is killed with SIGKILL mid-load (a webhook that finds it
// dead is retried on the next, as a load balancer or the marketplace
// would). Then:
//
//   - every webhook answered 200 is in the ledger exactly once;
//   - every subscriber on a live replica saw every change of every SKU:
//     its last change of each SKU is the ledger's last, and every ledger
//     sequence number before it was either seen or skipped with the next
//     change marked coalesced (the hub keeps a slow reader's latest value);
//   - each outbound write happened once: the Shopify fake executed no
//     write of the same quantity to the same item twice (whether the
//     second was applied, replayed by its idempotency key, or refused as a
//     stale compare-and-set because another writer got there first), and
//     the fake shows what the ledger says.
func TestThreeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three replicas; skipped with -short")
	}
	rc := needRedis(t)
	needNATS(t)
	run := fmt.Sprintf("rep%d", time.Now().UnixNano())
	storeURL := redisStoreURL(t, rc, run)
	t.Cleanup(func() { deleteStreams(t, run+"_IN", run+"_AV") })

	// One Shopify fake for the shop every replica writes to; Plus, so the
	// budget does not pace the test (ref §5.1: 1,000 points/s).
	fake := shopifyfake.New(shopifyfake.Options{Plan: shopifyfake.Plus})
	writes := &writeLog{sent: map[itemQty]int{}}
	shop := httptest.NewServer(writes.wrap(fake.Handler()))
	defer shop.Close()
	t.Setenv("E2E_SHOPIFY_TOKEN", shopifyfake.DefaultToken)

	const (
		replicas = 3
		skus     = 8
		total    = 1500
		workers  = 24
		killAt   = 500 // acknowledged webhooks before the kill
		victim   = 1   // the replica killed
		seed     = 100000
		itemBase = 770000000
	)
	skuName := func(i int) string { return fmt.Sprintf("REP-%d", i) }
	var items []string
	for i := range skus {
		items = append(items, fmt.Sprintf(`"%d": %s`, itemBase+i, skuName(i)))
	}
	bin := buildGateway(t)
	gws := make([]*gatewayProcess, replicas)
	for r := range replicas {
		dir := t.TempDir()
		cfg := writeConfig(t, dir, `    items: {`+strings.Join(items, ", ")+`}
    api: {baseURL: `+shop.URL+`, token: env:E2E_SHOPIFY_TOKEN}
    sync:
      locationId: 655441491
      rule: {locations: [web]}
dispatch: {window: 20ms, maxDelay: 100ms}
`)
		prependConfig(t, cfg, fmt.Sprintf(`store: %s
replica: r%d
bus:
  inbound: jetstream://%[3]s.inbound?create_stream=%[3]s_IN&msg_id_key=stockgate-event-id
  inboundSubscription: jetstream://%[3]s_IN/ledger?ack_wait=5s
  availability: jetstream://%[3]s.availability?create_stream=%[3]s_AV&msg_id_key=stockgate-event-id
  availabilitySubscription: jetstream://%[3]s_AV/live-{replica}?ack_wait=5s&deliver=new&inactive_threshold=1h
`, storeURL, r+1, run))
		gws[r] = startProcess(t, bin, cfg)
	}

	// A subscriber on each replica, live once a change made through
	// replica 0 reaches all three: each replica has a durable of its own.
	watched := []string{"REP-PROBE"}
	for i := range skus {
		watched = append(watched, skuName(i))
	}
	subs := make([]*changeLog, replicas)
	for r, gw := range gws {
		subs[r] = collect(wsSubscribe(t, gw.base, testStoreKey, watched, false))
	}
	probe := newOrderWebhook(map[string]int{"REP-PROBE": 1})
	if code, body := post(t, probe.request(t, gws[0].base)); code != http.StatusOK {
		t.Fatalf("probe webhook answered %d %s", code, body)
	}
	for r, s := range subs {
		if !s.waitFor(15*time.Second, func(ls []level) bool {
			return slices.ContainsFunc(ls, func(l level) bool { return l.SKU == "REP-PROBE" })
		}) {
			t.Fatalf("replica %d's subscriber never saw the change made through replica 0", r)
		}
	}

	// Stock to sell, so that every sale moves what Shopify should show.
	for i := range skus {
		var out struct {
			AdjustStock struct{ Applied bool } `json:"adjustStock"`
		}
		errs := gql(t, gws[0].base, testAdminKey, `mutation($sku:String!,$d:Int!){ adjustStock(input:{sku:$sku, location:"web", delta:$d, reason:"correction"}){ applied } }`,
			map[string]any{"sku": skuName(i), "d": seed}, &out)
		if len(errs) > 0 || !out.AdjustStock.Applied {
			t.Fatalf("seeding %s: %+v %+v", skuName(i), errs, out)
		}
	}

	// The load: webhooks round-robin over the replicas; one that finds its
	// replica gone goes to the next.
	hooks := make([]webhook, total)
	for i := range hooks {
		hooks[i] = newOrderWebhook(map[string]int{skuName(i % skus): 1})
	}
	var (
		mu     sync.Mutex
		acked  = map[string]bool{}
		other  = map[int]int{} // answers that were neither 200 nor a transport error
		killed = make(chan struct{})
		once   sync.Once
	)
	client := &http.Client{Timeout: 10 * time.Second}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				for try := range replicas {
					gw := gws[(i+try)%replicas]
					resp, err := client.Do(hooks[i].request(t, gw.base))
					if err != nil {
						continue // the replica died under this request, or is dead
					}
					resp.Body.Close()
					mu.Lock()
					if resp.StatusCode == http.StatusOK {
						acked[hooks[i].eventID] = true
					} else {
						other[resp.StatusCode]++
					}
					n := len(acked)
					mu.Unlock()
					if n >= killAt {
						once.Do(func() {
							_ = gws[victim].cmd.Process.Signal(syscall.SIGKILL)
							close(killed)
						})
					}
					break
				}
			}
		})
	}
	start := time.Now()
	for i := range hooks {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	_ = gws[victim].cmd.Wait()
	loadTook := time.Since(start)
	select {
	case <-killed:
	default:
		t.Fatalf("only %d webhooks acknowledged: the kill never happened", len(acked))
	}
	if len(other) > 0 {
		t.Errorf("answers other than 200: %v", other)
	}
	if len(acked) < total*9/10 {
		t.Fatalf("%d of %d webhooks acknowledged", len(acked), total)
	}
	live := []int{}
	for r := range replicas {
		if r != victim {
			live = append(live, r)
		}
	}
	base := gws[live[0]].base
	t.Logf("%d webhooks acknowledged in %v by 3 replicas, replica %d killed after %d", len(acked), loadTook.Round(time.Millisecond), victim, killAt)

	// 1. Every acknowledged webhook is in the ledger exactly once.
	var names []string
	for i := range skus {
		names = append(names, skuName(i))
	}
	counts := ledgerEventCounts(t, base, names, "web", 60*time.Second, func(c map[string]int) bool {
		for id := range acked {
			if c[id] == 0 {
				return false
			}
		}
		return true
	})
	for id := range acked {
		if counts[id] != 1 {
			t.Errorf("acknowledged webhook %s is in the ledger %d times", id, counts[id])
		}
	}
	for id, n := range counts {
		if n > 1 {
			t.Errorf("webhook %s applied %d times", id, n)
		}
	}

	// 2. Every subscriber on a live replica saw every change.
	want := map[string]level{}
	for _, sku := range names {
		var q struct{ Availability level }
		if errs := gql(t, base, testStoreKey, `query($sku:String!){ availability(sku:$sku, location:"web"){ sku location available committed seq } }`,
			map[string]any{"sku": sku}, &q); len(errs) > 0 {
			t.Fatal(errs)
		}
		want[sku] = q.Availability
	}
	for _, r := range live {
		s := subs[r]
		caughtUp := s.waitFor(30*time.Second, func(ls []level) bool {
			last := lastPerSKU(ls)
			for sku, w := range want {
				if last[sku].Seq != w.Seq {
					return false
				}
			}
			return true
		})
		seen := s.snapshot()
		last := lastPerSKU(seen)
		if !caughtUp {
			for sku, w := range want {
				if last[sku].Seq != w.Seq {
					t.Errorf("replica %d's subscriber: %s last at seq %d, the ledger is at %d", r, sku, last[sku].Seq, w.Seq)
				}
			}
		}
		coalesced, missed := 0, 0
		for _, sku := range names {
			if l := last[sku]; l.Available != want[sku].Available || l.Committed != want[sku].Committed {
				t.Errorf("replica %d's subscriber: %s ends at %+v, the ledger at %+v", r, sku, l, want[sku])
			}
			prev := int64(0)
			for _, l := range seen {
				if l.SKU != sku {
					continue
				}
				switch {
				case l.Seq <= prev:
					t.Errorf("replica %d's subscriber: %s seq %d after %d", r, sku, l.Seq, prev)
				case l.Seq > prev+1 && !l.Coalesced:
					if missed++; missed <= 5 {
						t.Errorf("replica %d's subscriber: %s jumped from seq %d to %d without a coalesced change: changes %d..%d missed",
							r, sku, prev, l.Seq, prev+1, l.Seq-1)
					}
				case l.Seq > prev+1:
					coalesced += int(l.Seq - prev - 1)
				}
				prev = max(prev, l.Seq)
			}
		}
		if missed > 5 {
			t.Errorf("replica %d's subscriber: %d gaps in all", r, missed)
		}
		t.Logf("replica %d's subscriber: %d changes, %d more coalesced away", r, len(seen), coalesced)
	}

	// 3. Each outbound write happened once, and Shopify shows the ledger.
	deadline := time.Now().Add(30 * time.Second)
	for i, sku := range names {
		for {
			q, ok := fake.Level(int64(itemBase+i), 655441491)
			if ok && q == want[sku].Available {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("Shopify shows %d (%v) for %s, the ledger %d available", q, ok, sku, want[sku].Available)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	writes.mu.Lock()
	defer writes.mu.Unlock()
	twice := 0
	for iq, n := range writes.sent {
		if n > 1 {
			twice++
			if twice <= 5 {
				t.Errorf("Shopify executed %d writes setting item %d to %d; want one", n, iq.item, iq.qty)
			}
		}
	}
	if twice > 5 {
		t.Errorf("... and %d more quantities written more than once", twice-5)
	}
	if writes.stale > 0 {
		t.Errorf("%d writes failed their compare-and-set (CHANGE_FROM_QUANTITY_STALE): another writer had changed the level", writes.stale)
	}
	st := fake.Stats()
	t.Logf("Shopify fake: %d requests, %d mutations, %d quantities applied, %d replays, %d user errors, %d throttled",
		st.Requests, st.Mutations, st.Applied, st.Replays, st.UserErrors, st.Throttled)
	var changes int64
	for _, w := range want {
		changes += w.Seq
	}
	t.Logf("JetStream stored %d inbound messages for %d acknowledged webhooks, and %d availability messages for %d ledger changes (three relays send every outbox message; msg_id_key=stockgate-event-id stores each once)",
		streamMsgs(t, run+"_IN"), len(acked)+skus+1, streamMsgs(t, run+"_AV"), changes+1)
}

// streamMsgs returns how many messages a stream of the shared NATS server
// holds.
func streamMsgs(t *testing.T, stream string) uint64 {
	t.Helper()
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State.Msgs
}

// redisStoreURL returns a redis:// store URL with a key prefix of run's
// own on the shared server, and deletes the prefix's keys when the test
// ends.
func redisStoreURL(t *testing.T, rc *redis.Client, run string) string {
	t.Helper()
	prefix := "{" + run + "}:"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rc.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rc.Del(ctx, iter.Val())
		}
	})
	return "redis://" + rc.Options().Addr + "/0?prefix=" + strings.NewReplacer("{", "%7B", "}", "%7D", ":", "%3A").Replace(prefix)
}

// prependConfig puts top-level settings in front of a config file that
// writeConfig wrote.
func prependConfig(t *testing.T, path, top string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append([]byte(top), raw...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// ledgerEventCounts reads the history of skus at loc until done says the
// counts are complete (or d passes) and returns, per webhook event id
// (the X-Shopify-Event-Id), how many ledger entries it has.
func ledgerEventCounts(t *testing.T, base string, skus []string, loc string, d time.Duration, done func(map[string]int) bool) map[string]int {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		counts := map[string]int{}
		for _, sku := range skus {
			for _, src := range history(t, base, sku, loc) {
				id, _, _ := strings.Cut(src, "/")
				counts[id]++
			}
		}
		if done(counts) || time.Now().After(deadline) {
			return counts
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// changeLog keeps every change a subscription delivers, in order.
type changeLog struct {
	mu      sync.Mutex
	changes []level
	more    chan struct{} // signalled on every change
}

// collect drains ch into a changeLog until ch closes.
func collect(ch <-chan level) *changeLog {
	c := &changeLog{more: make(chan struct{}, 1)}
	go func() {
		for l := range ch {
			c.mu.Lock()
			c.changes = append(c.changes, l)
			c.mu.Unlock()
			select {
			case c.more <- struct{}{}:
			default:
			}
		}
	}()
	return c
}

func (c *changeLog) snapshot() []level {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.changes)
}

// waitFor waits until cond holds for the changes so far (true) or d passes
// (false).
func (c *changeLog) waitFor(d time.Duration, cond func([]level) bool) bool {
	timeout := time.After(d)
	for {
		if cond(c.snapshot()) {
			return true
		}
		select {
		case <-c.more:
		case <-timeout:
			return cond(c.snapshot())
		}
	}
}

// lastPerSKU returns the change with the highest seq of each SKU.
func lastPerSKU(ls []level) map[string]level {
	last := map[string]level{}
	for _, l := range ls {
		if l.Seq > last[l.SKU].Seq {
			last[l.SKU] = l
		}
	}
	return last
}

// itemQty is a Shopify inventory item set to a quantity.
type itemQty struct{ item, qty int64 }

// writeLog records the inventorySetQuantities calls a Shopify fake
// executed, read from the requests and answers of the GraphQL Admin API
// (ref §4.2: variables.input.quantities[] {inventoryItemId, locationId,
// quantity, changeFromQuantity}; data.inventorySetQuantities is null only
// when the call did not run (THROTTLED and other top-level errors); its
// userErrors carry CHANGE_FROM_QUANTITY_STALE when another writer changed
// the level first).
type writeLog struct {
	mu    sync.Mutex
	sent  map[itemQty]int // quantities in executed writes: applied, replayed or refused
	stale int
}

func (w *writeLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			rw.Header()[k] = v
		}
		rw.WriteHeader(rec.Code)
		rw.Write(rec.Body.Bytes())
		w.observe(body, rec.Body.Bytes())
	})
}

func (w *writeLog) observe(req, resp []byte) {
	var q struct {
		Query     string `json:"query"`
		Variables struct {
			Input struct {
				Quantities []struct {
					InventoryItemID string `json:"inventoryItemId"`
					Quantity        int64  `json:"quantity"`
				} `json:"quantities"`
			} `json:"input"`
		} `json:"variables"`
	}
	if json.Unmarshal(req, &q) != nil || !strings.Contains(q.Query, "inventorySetQuantities") {
		return
	}
	var a struct {
		Data struct {
			Set *struct {
				UserErrors []struct {
					Code string `json:"code"`
				} `json:"userErrors"`
			} `json:"inventorySetQuantities"`
		} `json:"data"`
	}
	if json.Unmarshal(resp, &a) != nil || a.Data.Set == nil {
		return // not executed
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range a.Data.Set.UserErrors {
		if e.Code == "CHANGE_FROM_QUANTITY_STALE" {
			w.stale++
		}
	}
	for _, qt := range q.Variables.Input.Quantities {
		id, err := strconv.ParseInt(strings.TrimPrefix(qt.InventoryItemID, "gid://shopify/InventoryItem/"), 10, 64)
		if err == nil {
			w.sent[itemQty{id, qt.Quantity}]++
		}
	}
}
