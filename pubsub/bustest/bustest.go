package bustest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/pubsub"
)

// Backend is one bus under test: one topic and the subscription groups on
// it, created for one scenario and torn down by Close. A harness file per
// backend implements it (see the package doc).
type Backend interface {
	// OpenTopic opens the backend's topic. The suite calls it once per
	// scenario and shuts the topic down itself.
	OpenTopic(ctx context.Context) (*pubsub.Topic, error)

	// OpenSubscription opens a new subscription in group, creating the
	// group on first use (a Kafka consumer group, a RabbitMQ queue bound to
	// the topic, a Pub/Sub subscription, a JetStream durable). Subscriptions
	// in one group compete for its messages; see Capabilities.FanOut and
	// LateGroupSeesBacklog for groups. The suite opens a group before it
	// sends anything the group must see. The suite shuts subscriptions down
	// itself, and may do so twice; a backend that hands out one
	// Subscription per group (mem) must tolerate that.
	OpenSubscription(ctx context.Context, group string) (*pubsub.Subscription, error)

	// Crash drops sub the way a killed process would: without acking or
	// nacking what it holds, by closing its connection to the bus. sub is
	// not used afterwards (the suite still calls Shutdown and ignores the
	// error).
	Crash(ctx context.Context, sub *pubsub.Subscription) error

	// Capabilities says what the suite may expect of the backend.
	Capabilities() Capabilities

	// Close releases everything the backend made: groups, topic, connections,
	// in-process servers. It runs after the suite has shut down its topic
	// and subscriptions.
	Close()
}

// BackendMaker makes a fresh Backend for one scenario or benchmark.
// Scenarios run in parallel, so every Backend must use names of its own on
// shared servers. It may skip tb (a server that is not running).
type BackendMaker func(ctx context.Context, tb testing.TB) (Backend, error)

// Capabilities are what a backend promises; each scenario checks the
// promise it depends on and is skipped where the backend makes none. The
// zero value promises only at-least-once delivery to one group.
type Capabilities struct {
	// Nack: Message.Nackable reports true and a nacked message is delivered
	// again. False: Nackable reports false (Kafka), which the suite checks.
	Nack bool

	// OrderedByKey: one Receive loop sees the messages that carry one
	// value of metadata "sku" (store.MetaKey) in the order they were sent,
	// counting first deliveries (a redelivery may repeat an earlier
	// message). Senders send each key's messages one after the other.
	OrderedByKey bool

	// Durable: a group outlives its subscriptions. What a crashed
	// subscription received and never acked is delivered to the next
	// subscription in the same group.
	Durable bool

	// FanOut: every group receives every message. False: all groups share
	// one queue (SQS without SNS), so they compete like subscriptions in one
	// group.
	FanOut bool

	// LateGroupSeesBacklog: a group opened after messages were sent
	// receives them too (a Kafka group from the oldest offset, a JetStream
	// durable from the start of its stream). False: it gets only what is
	// sent after it opened. Checked only with FanOut.
	LateGroupSeesBacklog bool

	// AckDeadline is how long a received, unacked message stays with its
	// receiver before the bus hands it out again: the SQS visibility
	// timeout, the Pub/Sub ack deadline, JetStream's AckWait, the Kafka
	// group session timeout after a crash. Zero means the bus redelivers as
	// soon as the receiver's connection closes (RabbitMQ). The suite waits
	// this long plus a margin for redeliveries.
	AckDeadline time.Duration
}

// Metadata the suite sets on every message it sends.
const (
	// KeyMeta is the ordering key: store.MetaKey, the metadata the relay
	// sets to the SKU and that backends map to their partition or ordering
	// key.
	KeyMeta = "sku"
	// idMeta identifies a message across redeliveries.
	idMeta = "bustest-id"
	// seqMeta numbers the messages of one key from 0 in send order.
	seqMeta = "bustest-seq"
)

// Timeouts. Scenarios run in parallel on small machines with the race
// detector on, so waits are generous; a passing run takes far less.
const (
	// scenarioTimeout bounds one scenario.
	scenarioTimeout = 80 * time.Second
	// deliverWithin bounds the wait for messages that are due now.
	deliverWithin = 45 * time.Second
	// redeliveryMargin is added to Capabilities.AckDeadline.
	redeliveryMargin = 20 * time.Second
)

// Run runs every scenario against backends made by newBackend, each
// scenario a parallel subtest with a Backend of its own.
func Run(t *testing.T, newBackend BackendMaker) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
			defer cancel()
			b, err := newBackend(ctx, t)
			if err != nil {
				t.Fatalf("making backend: %v", err)
			}
			t.Cleanup(b.Close)
			if sc.needs != nil {
				if why := sc.needs(b.Capabilities()); why != "" {
					t.Skip(why)
				}
			}
			start := time.Now()
			sc.run(ctx, t, newEnv(t, b))
			t.Logf("%s took %v", sc.name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// runID and seq make the message ids and names of one test process unique
// on shared servers.
var (
	runID = func() string {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		return hex.EncodeToString(b[:])
	}()
	seq atomic.Uint64
)

// UniqueName returns a name unique to this process and call, made of
// lower-case letters, digits and underscores after prefix: usable as a
// queue, exchange, stream, consumer or topic name.
func UniqueName(prefix string) string {
	return prefix + "_" + runID + "_" + strconv.FormatUint(seq.Add(1), 10)
}

func uniquePrefix() string { return fmt.Sprintf("m%s.%d", runID, seq.Add(1)) }
