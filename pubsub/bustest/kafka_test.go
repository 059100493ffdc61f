package bustest_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/kafkapubsub"

	"github.com/stockgate/stockgate/pubsub/bustest"
)

// kafkaSession is the consumer-group session timeout: how long the group
// waits for a crashed member before it hands its partitions to another.
const kafkaSession = 2 * time.Second

// kafkaBackend runs the suite on gocloud's kafkapubsub (sarama) against
// franz-go's kfake, an in-process server that speaks the Kafka protocol:
// one single-broker cluster per scenario, one 4-partition topic, a
// consumer group per group. The topic has no KeyName: the suite's sender,
// like the relay, makes the SKU the record key with stockgate's
// pubsub.OrderingKey, so sarama's hash partitioner keeps a SKU on one
// partition. The subscription's KeyName puts the record key back into
// metadata "sku".
type kafkaBackend struct {
	cluster *kfake.Cluster
	topic   string

	mu      sync.Mutex
	dialers map[*gcpubsub.Subscription]*killDialer
}

func newKafkaBackend(context.Context, testing.TB) (bustest.Backend, error) {
	topic := bustest.UniqueName("bustest")
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.SeedTopics(4, topic),
		kfake.GroupMinSessionTimeout(500*time.Millisecond),
	)
	if err != nil {
		return nil, err
	}
	return &kafkaBackend{cluster: c, topic: topic, dialers: map[*gcpubsub.Subscription]*killDialer{}}, nil
}

// config is sarama's configuration for the suite: headers need protocol
// 0.11 or later; a new group starts at the oldest offset; short session
// and heartbeat so that rebalances and crashes settle in seconds. Every
// connection goes through d, so that Crash can cut them.
func (b *kafkaBackend) config(d *killDialer) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Producer.Return.Successes = true // SyncProducer
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	cfg.Consumer.Group.Session.Timeout = kafkaSession
	cfg.Consumer.Group.Heartbeat.Interval = 200 * time.Millisecond
	cfg.Consumer.Group.Rebalance.Timeout = 10 * time.Second
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	cfg.Net.Proxy.Enable = true
	cfg.Net.Proxy.Dialer = d
	return cfg
}

func (b *kafkaBackend) OpenTopic(context.Context) (*gcpubsub.Topic, error) {
	return kafkapubsub.OpenTopic(b.cluster.ListenAddrs(), b.config(new(killDialer)), b.topic, nil)
}

func (b *kafkaBackend) OpenSubscription(_ context.Context, group string) (*gcpubsub.Subscription, error) {
	d := new(killDialer)
	sub, err := kafkapubsub.OpenSubscription(b.cluster.ListenAddrs(), b.config(d), b.topic+"."+group, []string{b.topic},
		&kafkapubsub.SubscriptionOptions{KeyName: bustest.KeyMeta})
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.dialers[sub] = d
	b.mu.Unlock()
	return sub, nil
}

// Crash cuts the subscription's connections and refuses new ones, as a
// killed process would leave them: no LeaveGroup, no offset commit. The
// group notices after the session timeout.
func (b *kafkaBackend) Crash(ctx context.Context, sub *gcpubsub.Subscription) error {
	b.mu.Lock()
	d := b.dialers[sub]
	b.mu.Unlock()
	if d == nil {
		return errors.New("kafka backend: Crash of a subscription it did not open")
	}
	d.kill()
	return nil
}

func (b *kafkaBackend) Capabilities() bustest.Capabilities {
	return bustest.Capabilities{
		Nack:                 false, // kafkapubsub: CanNack is false
		OrderedByKey:         true,  // the record key (pubsub.OrderingKey) picks one partition per key, one consumer per partition
		Durable:              true,
		FanOut:               true,
		LateGroupSeesBacklog: true, // OffsetOldest
		AckDeadline:          kafkaSession,
	}
}

func (b *kafkaBackend) Close() { b.cluster.Close() }

// killDialer dials sarama's connections and can cut them all at once.
type killDialer struct {
	mu     sync.Mutex
	killed bool
	conns  []net.Conn
}

func (k *killDialer) Dial(network, addr string) (net.Conn, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.killed {
		return nil, errors.New("bustest: the process was killed")
	}
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	k.conns = append(k.conns, c)
	return c, nil
}

func (k *killDialer) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.killed = true
	for _, c := range k.conns {
		c.Close()
	}
}

func TestKafka(t *testing.T) { bustest.Run(t, newKafkaBackend) }

func BenchmarkKafka(b *testing.B) { bustest.RunBenchmarks(b, newKafkaBackend) }
