// Package bustest is stockgate's bus conformance suite: the delivery
// properties the gateway relies on, checked through the portable
// gocloud.dev/pubsub types against every bus backend it can run on. It sits
// above gocloud's drivertest (which checks a driver's contract) and asks
// what stockgate needs: that nothing is lost, that what is not acked comes
// back, that per-SKU order holds where the bus promises it, and that the
// ledger applies each event exactly once where it does not.
//
// A backend is a Backend (a topic, subscription groups on it, a way to
// crash a subscription) with Capabilities that say what it promises; Run
// runs every scenario against it, each a parallel subtest with a Backend
// of its own, and skips the scenarios a backend promises nothing about.
// RunBenchmarks measures end-to-end throughput. The model is watermill's
// universal Pub/Sub tests with their feature flags.
//
// # Scenarios
//
//   - AtLeastOnce: 500 messages over 20 keys, sent concurrently (each key's
//     one after the other) while four Receive loops ack them: every message
//     arrives, with its body and metadata, "sku" included.
//   - NackRedelivers: a nacked message comes back. Without Nack, Nackable
//     must report false (Nack would panic).
//   - RedeliveryAfterCrash (Durable): a subscription receives six of twelve
//     messages, acks three and holds three; Crash drops it like a killed
//     process; the next subscription in the group gets every message that
//     was not acked.
//   - OrderPerKey: as AtLeastOnce with one Receive loop; with OrderedByKey,
//     no message may arrive (first delivery) before an earlier one of its
//     key. Without, the measured inversions are reported and it is skipped.
//     The suite's sender sets each message's ordering or partition key
//     only through stockgate's pubsub.OrderingKey, as the relay does;
//     backends configure no key of their own (no Kafka KeyName, no
//     Pub/Sub hook), so the order Kafka and Pub/Sub keep is that hook's.
//   - RelayOrderPerKey: the gateway's own sender end to end. 500 messages
//     over 20 SKUs, interleaved in a memstore outbox as a busy ledger
//     writes them, published by a running relay.Relay (128 sends in
//     flight) and read by one Receive loop: every message arrives with the
//     relay's metadata (SKU, outbox sequence), the outbox empties, and with
//     OrderedByKey each SKU's first deliveries come in outbox order.
//   - CompetingConsumers: two subscriptions in one group get every message
//     between them, and do not both get all of them.
//   - FanOut, LateGroup (FanOut): two groups each get every message; a group
//     opened after a send gets it only if LateGroupSeesBacklog.
//   - Ledger: 300 order-committed events over 10 SKUs, accepted into a
//     memstore outbox and sent as the relay sends them (outbox sequence and
//     SKU in the metadata), 50 of them twice, into ledger.Run with 16
//     workers. Once drained, each SKU's committed quantity equals its number
//     of distinct events, its history holds one entry per distinct event,
//     there are no dead letters and the consumed events have left the
//     outbox: exactly-once application over at-least-once delivery, in
//     whatever order the workers apply them.
//   - LedgerAfterCrash (Durable): the same, with the ledger's subscription
//     crashed after a third of the events and a second ledger taking over
//     the group, so that applied-but-unacked events come again.
//
// # Backends
//
// One harness file each, in this package's tests. The real servers are the
// pre-started ones of shared/SERVICES.md: if one does not answer, its test
// fails under CI=true and is skipped otherwise, naming the start command.
//
//   - mem: stockgate's mem:// driver (pubsub/mempubsub), opened by URL. A
//     group is one in-process subscription.
//   - kafka: gocloud.dev/pubsub/kafkapubsub v0.46.0 (IBM/sarama, protocol
//     2.8, OffsetOldest; no KeyName on the topic, so the record key is the
//     one pubsub.OrderingKey sets; KeyName "sku" on the subscription) against
//     franz-go's kfake, an in-process Kafka-protocol server: one broker, a
//     4-partition topic per scenario, a consumer group per group, 2 s
//     session timeout. Crash cuts the member's TCP connections and refuses
//     new ones: no LeaveGroup, no commit.
//   - rabbit: gocloud.dev/pubsub/rabbitpubsub v0.47.0 with amqp091-go
//     against the pre-started RabbitMQ: a fanout exchange per scenario and a
//     durable queue per group, declared with amqp091 and deleted afterwards;
//     one connection per subscription; Crash closes it.
//   - gcppubsub: gocloud.dev/pubsub/gcppubsub (v1, synchronous Pull)
//     against pstest (cloud.google.com/go/pubsub/v2/pstest), in-process: a
//     Pub/Sub subscription per group with message ordering on and a 2 s ack
//     deadline. The driver has no ordering-key option, but exposes each
//     PubsubMessage to BeforeSend, where pubsub.OrderingKey sets
//     OrderingKey. Crash closes the subscription's gRPC connection.
//   - awssqs: gocloud.dev/pubsub/awssnssqs, SQS only (OpenSQSTopic, raw
//     subscriptions, 1 s long polling), with aws-sdk-go-v2 against a
//     LOOPBACK FAKE of the SQS JSON 1.0 protocol written for these tests
//     (sqsfake_test.go), because no SQS emulator runs on the project's
//     machines (shared/reference/infrastructure.md §11). Its results show
//     the driver on SQS's documented behaviour, not AWS itself. One queue,
//     2 s visibility timeout; every group is that queue. Crash cuts the
//     subscription's HTTP transport.
//   - jetstream: stockgate's pubsub/jetstreampubsub against the pre-started
//     nats-server (2.9.10, JetStream): a stream per scenario, a durable pull
//     consumer per group with a 2 s AckWait, a NATS connection per
//     subscription; Crash closes it.
//
// # Delivery semantics
//
// As measured by this suite (go test -race on a 2-core machine, November
// 2026); every backend passed every scenario that applies to it. Through
// the relay (RelayOrderPerKey) every OrderedByKey backend kept each SKU's
// order (0 of 500 inversions); SQS (fake) inverted 64 of 500. With
// pubsub.OrderingKey made a no-op, Kafka inverted 143–199 and Pub/Sub
// 48–428 of 500 in OrderPerKey and RelayOrderPerKey: the hook is what
// keeps their order.
//
//   - Every backend delivered every message at least once, and the ledger
//     applied every event exactly once on every backend, duplicates sent by
//     the relay and redeliveries after a crash alike. With 16 workers the
//     ledger applied events out of their send order on every bus (1–60 of
//     300 events per run), except Pub/Sub with ordering keys, which hands
//     out one message per key at a time (0).
//   - mem: Nack redelivers at once (~1 ms). Per-key order holds (each
//     subscription is a FIFO queue). Not durable: what a subscription holds
//     dies with it. Groups fan out; a new group gets only later messages.
//   - kafka: no Nack (Nackable is false). Per-key order holds (a key stays
//     on one partition; one member reads a partition in order). After a
//     crash the group rebalances when the session times out and the next
//     member re-reads from the last committed offset: the held messages came
//     back in ~2 s, and so may acked ones whose offsets were not yet
//     committed (3 of 3 in some runs). A new group reads from the oldest
//     offset, so it gets the backlog.
//   - rabbit: Nack requeues (~100 ms for five). Per-key order holds for a
//     queue read by one consumer. Closing a crashed subscription's
//     connection requeued its unacked messages within ~60 ms. A queue
//     declared after a send does not get it.
//   - gcppubsub: Nack redelivers (ModifyAckDeadline 0), but with ordering a
//     key's next message waits for the nacked one, and an empty Pull waits
//     500 ms on pstest: five nacks on one key took ~2.5 s. Per-key order
//     holds only with OrderingKey set: without it 357 of 500 first
//     deliveries overtook an earlier message of their key. After a crash,
//     held messages came back after the ack deadline (2–3 s). A new
//     subscription gets only later messages. Ordering keys slow pstest to
//     roughly 50–150 messages/s end to end.
//   - awssqs (fake): Nack makes the message visible after 1 s (gocloud
//     sets VisibilityTimeout 1). No order: 55–70 of 500 first deliveries
//     overtook an earlier message of their key, from the driver's
//     concurrent ReceiveMessage calls alone. After a crash, held messages
//     came back after the visibility timeout (~2 s). No fan-out without SNS.
//   - jetstream: Nack redelivers at once (~10 ms). Per-key order holds (one
//     subject, stream order, one fetch at a time). After a crash, held
//     messages came back after AckWait (~2 s). A new durable delivers from
//     the start of the stream.
package bustest
