// Command stockgate-subs measures a running stockgate gateway's GraphQL
// side at scale: many idle and busy websocket subscribers, and persisted
// availability queries. It is the tool behind the "GraphQL subscriptions
// and persisted queries" section of BENCHMARKS.md.
//
//	go run ./cmd/stockgate-subs -h
//	stockgate-subs -pid $(pgrep -n sg-subs-gw) -debug http://127.0.0.1:6061
//	stockgate-subs -qps -duration 10s -pid $(pgrep -n sg-subs-gw)
//
// Start the gateway with examples/subs.yaml (a Shopify connector "shop"
// with default location "web", an admin and a storefront key, no skus:
// catalog, so the run's fresh SKUs are applied), a fresh data directory
// and --debug-addr, and give this command the same secret and key through
// the environment:
//
//	export STOCKGATE_ADMIN_KEY=$(openssl rand -hex 24) STOCKGATE_STOREFRONT_KEY=$(openssl rand -hex 24)
//	export SHOPIFY_WEBHOOK_SECRET=$(openssl rand -hex 24)
//	go build -o /tmp/sg-subs-gw . && go build -o /tmp/stockgate-subs ./cmd/stockgate-subs
//	/tmp/sg-subs-gw --config examples/subs.yaml --data-dir $(mktemp -d) --debug-addr 127.0.0.1:6061 &
//	/tmp/stockgate-subs -pid $! -debug http://127.0.0.1:6061
//
// # Subscription run (the default)
//
//  1. Raises its own open-file limit to what -subscribers needs and, with
//     -pid, reads the gateway's (/proc/PID/limits) and says so when it is
//     too low for them.
//  2. Measures the gateway at rest: RSS (/proc/PID/status VmRSS, with
//     -pid) and, with -debug, the Go heap and stacks in use and the
//     goroutine count from net/http/pprof (/debug/pprof/heap?gc=1&debug=1
//     runs a collection first, so the heap is what is live).
//  3. Opens -subscribers graphql-transport-ws websockets to /graphql, at
//     most -dial-rate a second with -dial-concurrency handshakes at once,
//     each authenticating in connection_init (as browsers must) and
//     subscribing to availabilityChanged for -per-sub distinct random SKUs
//     of -skus at -location, plus one warm-up SKU that every subscriber
//     shares (it changes only before the clock starts).
//  4. Waits -settle with no traffic and measures the gateway again: the
//     differences divided by -subscribers are the memory per idle
//     subscriber.
//  5. Sends warm-up webhooks for the shared SKU until every subscriber has
//     seen one, which proves each subscription live (graphql-transport-ws
//     does not acknowledge a subscribe) and fails fast, with what to fix,
//     on a wrong secret, key, connector or location. Each of them fans out
//     to every subscriber, so it then waits until every subscriber has the
//     last one, and a second more, before the clock starts.
//  6. Sends -rate signed Shopify orders/create webhooks a second for
//     -duration, each one line of quantity 1 for a random SKU, on an
//     open-loop schedule (golang.org/x/time/rate), at most -concurrency in
//     flight. With -cpuprofile it fetches a CPU profile from the gateway's
//     -debug address meanwhile.
//  7. Waits up to -drain until every subscriber holds the latest value of
//     each of its SKUs, then reads every SKU from the ledger
//     (availability query) and compares each subscriber's last value with
//     it: a difference is a mismatch, the goal being none.
//
// # Matching deliveries to webhooks
//
// The run's SKUs are fresh (subs-<run>-<i>), so each starts at committed
// 0, and the sender never has two webhooks in flight for one SKU (it picks
// another SKU instead). A SKU's k-th accepted webhook is therefore the one
// that raises its committed quantity to k, and a delivery with committed k
// is timed from that webhook's send. A subscriber that skips from k to
// k+3 (the gateway keeps only the latest value of a slow reader's keys)
// counts two values coalesced away. A SKU whose webhook got no answer may
// or may not have committed it; its later deliveries are not timed.
//
// # Persisted-query run (-qps)
//
// Sends one webhook to each of -qps-seed SKUs so that the queries read
// real ledger rows, then hammers /graphql for -duration from -concurrency
// workers with availability queries as Apollo clients send them with
// automatic persisted queries: a GET carrying only the query's SHA-256 in
// extensions.persistedQuery and, when the gateway answers
// PERSISTED_QUERY_NOT_FOUND, the same request once as a POST with the
// full query, which registers it. It reports queries/s, latency and the
// gateway's CPU per query (with -pid).
//
// Each worker sends its GETs over one raw HTTP/1.1 keep-alive connection
// of its own, one in flight at a time, as prebuilt request bytes, and
// parses each answer with http.ReadResponse on a reused bufio.Reader; every
// answer is still checked to be the asked SKU's availability. With
// net/http's Client (its connection goroutines, a request, header map and
// context per call) the command spent 26–30 µs of CPU per query, nearly
// two thirds of what the gateway spent answering, on the 2 cores they
// share; this way it spends 14–16 µs, nearly all of it in the write and
// read system calls.
//
// # Report
//
// Deliveries/s; webhook → subscriber latency p50/p90/p99/max, its p99 per
// second of sending (a stall shows when it happened), and ledger →
// subscriber latency from the change's recordedAt (same clock); the
// webhooks' ack latency; values coalesced away and changes the gateway
// marked coalesced; memory per idle subscriber; mismatches against the
// ledger; the CPU the gateway, this command and everything else on the
// machine used meanwhile (/proc/stat), since they share it. -cpuprofile,
// -heapprofile and -ownprofile save profiles for go tool pprof.
//
// # Exit status
//
// 0 after a run, even one that missed a goal; 1 when the gateway is
// unreachable, refuses the key or secret, or a subscriber fails; 2 for bad
// flags.
package main
