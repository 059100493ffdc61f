// Command stockgate-load drives a running stockgate gateway with signed
// Shopify orders/create webhooks at a target rate, and measures how fast
// the gateway acknowledges them and how long each takes to reach a live
// GraphQL subscriber as an availabilityChanged change.
//
//	go run ./cmd/stockgate-load -h
//	go run ./cmd/stockgate-load -rate 1000 -duration 10s
//	go run ./cmd/stockgate-load -rate 0 -duration 10s -json   # as fast as possible
//
// It is the load generator behind BENCHMARKS.md. Start the gateway with a
// configuration that declares a Shopify connector (id "shop"), its webhook
// secret and a default location, as examples/stockgate.yaml does, but
// without a skus: catalog: the loader uses fresh SKUs each run, and a
// gateway with a catalog keeps their events as dead letters, so no change
// would ever reach a subscriber. A minimal benchmark configuration:
//
//	addr: 127.0.0.1:8080
//	dataDir: /tmp/stockgate-bench
//	keys:
//	  - {name: ops, role: admin, secret: env:STOCKGATE_ADMIN_KEY}
//	connectors:
//	  - id: shop
//	    kind: shopify
//	    secrets: [env:SHOPIFY_WEBHOOK_SECRET]
//	    defaultLocation: web
//
// Then give the loader the same secret and a key:
//
//	export STOCKGATE_ADMIN_KEY=$(openssl rand -hex 16) SHOPIFY_WEBHOOK_SECRET=$(openssl rand -hex 16)
//	go run . --config bench.yaml &
//	STOCKGATE_API_KEY=$STOCKGATE_ADMIN_KEY go run ./cmd/stockgate-load -rate 1000 -duration 10s
//	STOCKGATE_API_KEY=$STOCKGATE_ADMIN_KEY go run ./cmd/stockgate-load -rate 0 -duration 10s   # the maximum
//
// # Several gateways
//
// -url takes a comma-separated list of gateways, the replicas of one
// deployment (one store, one bus): webhook k goes to gateway k mod n,
// subscriber i listens on gateway i mod n, and the warm-up webhooks go to
// the first, so the run starts only once a change made through one
// replica reaches the subscribers of all. The latencies then measure
// webhook → subscriber across replicas.
//
//	stockgate-load -url http://127.0.0.1:8081,http://127.0.0.1:8082,http://127.0.0.1:8083 -subscribers 3
//
// # Preparing a bus
//
// Two subcommands prepare the buses the benchmarks run the gateway on:
//
//	stockgate-load kfake -port 9092 -topics sg-inbound,sg-availability
//	    serves franz-go's kfake, an in-process Kafka-protocol server, until
//	    interrupted (no Kafka broker runs on the project's machines); start
//	    the gateway with KAFKA_BROKERS=127.0.0.1:9092
//	stockgate-load rabbit-declare -exchange sg-availability -queues live-r1,live-r2 [-delete]
//	    declares a durable fanout exchange and durable queues bound to it
//	    on $RABBIT_SERVER_URL (gocloud's rabbitpubsub declares nothing)
//
// # A flash sale
//
// The load run sends each webhook for a SKU of its own, so it never
// measures a hot key: many orders of one SKU at once, which the ledger
// applies one after the other on that key.
//
//	stockgate-load flash -n 5000 -concurrency 64 [-location web]
//	    sends -n orders of one unit of one fresh SKU as fast as they are
//	    acknowledged, then asks availability(sku:, location:) until its
//	    committed quantity counts every acknowledged order, and reports
//	    the acknowledged rate and how long after the first send (and after
//	    the last ack) the ledger had applied the whole sale
//
// # The floor
//
// The load command shares the machine's cores with what it measures. To
// know what is left for a gateway, run it first against the floor: a
// server that reads each webhook and answers it "accepted", with no
// signature check, no store and no bus, so that the run costs only
// net/http's server and the load command itself.
//
//	stockgate-load floor -addr 127.0.0.1:8080 &
//	stockgate-load -rate 10000 -duration 10s -concurrency 512 -subscribers 0
//
// # What a run does
//
//  1. Opens -subscribers websockets to /graphql (subprotocol
//     graphql-transport-ws, the key in connection_init) and subscribes each
//     to availabilityChanged for the run's SKUs (in several subscriptions
//     on its connection past the gateway's 1,000 SKUs per subscription).
//  2. Sends warm-up webhooks (for a SKU of their own) until every
//     subscriber has seen one's change, so the subscriptions are live
//     before the clock starts (graphql-transport-ws does not acknowledge a
//     subscribe) and a wrong secret, key, connector or location fails fast
//     with a clear message (waiting up to -warmup).
//  3. Sends -rate webhooks per second for -duration on an open-loop
//     schedule: sends are due at start + k/rate however long earlier ones
//     take. At most -concurrency requests are in flight; a send that finds
//     the cap reached waits for a free slot and is counted as late.
//  4. Waits up to -drain for the changes of every accepted webhook, then
//     prints the report (and, with -json, the same report as one JSON
//     object).
//
// # Webhooks
//
// Each webhook is an orders/create delivery whose body is a Shopify REST
// Order (the shape of shared/fixtures/shopify/rest_order.json) with a
// unique order id, a null location_id (so the connector's default location
// applies) and one line of quantity 1. It is signed with
// base64(HMAC-SHA256(secret, body)) and carries a unique
// X-Shopify-Event-Id, the gateway's dedup key. Event and webhook ids are
// UUIDs hashed from the run and the sequence number: as scattered as
// Shopify's random ones, so the gateway's dedup index pays what real
// deliveries cost it.
//
// The webhooks go over keep-alive connections of package internal/rawhttp,
// one request in flight on each, written with one write call and read back
// with net/http's response parser: the same requests as net/http's client
// sends, for about a third less of the command's CPU (gateway and command
// share the machine's cores, and every core-second the command spends is
// one the gateway cannot). -cpuprofile writes the command's own CPU
// profile, to check how much of the machine the measurement took.
//
// # Matching changes to webhooks
//
// The run uses -skus fresh SKUs named load-<runid>-<i>, so each starts with
// committed 0, and it never has two webhooks in flight for the same SKU: a
// send takes a free SKU from a pool and returns it when answered. The k-th
// accepted webhook of a SKU is therefore the one that raises its committed
// quantity to k, and a change with committed = k is matched to that
// webhook's send time exactly. (So in-flight requests are also capped by
// -skus: keep -skus ≥ -concurrency.) A subscriber that reads slowly may be
// sent only the latest value of a SKU; the values it skipped are counted as
// coalesced, not as latency samples. Changes still missing after -drain are
// counted as missing. A SKU whose request ended without an answer (a
// transport error or timeout) may or may not have committed, so its later
// changes are left out of the latency samples.
//
// # Report
//
//   - acked/s: 200 answers per second of wall time, from the first send
//     until the last answer.
//   - non-200 answers by status code, and transport errors.
//   - ack latency p50/p90/p99/max: request start to response, 200s only.
//     It does not include the time a late send waited for a slot.
//   - from schedule p50/p90/p99/max (paced runs): the same answers timed
//     from when each send was due, start + k/rate, so the wait for a slot
//     (and the command's own delay in sending) is included: what a sender
//     that never waits for earlier answers, as a marketplace does, would
//     see. Under an overload this is the figure that grows; the ack
//     latency stays near -concurrency / rate.
//   - with -interval (e.g. -interval 1s), the same per interval of send
//     time: the first second of a run against a fresh gateway (connections
//     opened, the heap and the store file growing from nothing) often has
//     a tail that the rest of the run does not, and a run's p99 alone does
//     not tell the two apart.
//   - webhook → subscriber latency p50/p90/p99/max: send start to the
//     change's arrival at the subscriber, over all subscribers.
//
// # Exit status
//
// 0 after a run, even a degraded one; 1 when the gateway is unreachable,
// the warm-up fails, or every webhook failed; 2 for bad flags.
package main
