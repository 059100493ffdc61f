package bustest_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/rabbitpubsub"

	"github.com/stockgate/stockgate/pubsub/bustest"
)

const (
	rabbitAddr  = "127.0.0.1:5672"
	rabbitURL   = "amqp://guest:guest@" + rabbitAddr + "/"
	rabbitStart = "rabbitmq-server -detached"
)

// rabbitBackend runs the suite on gocloud's rabbitpubsub against the
// pre-started RabbitMQ. rabbitpubsub declares nothing, so the backend
// declares a fanout exchange per scenario and a durable queue per group
// bound to it, and deletes them in Close. Each subscription has a
// connection of its own: rabbitpubsub's Shutdown only cancels the consumer,
// so unacked messages go back to the queue only when the connection
// closes, which is also what Crash does.
type rabbitBackend struct {
	admin    *amqp.Connection // declares and deletes
	pub      *amqp.Connection // the topic's
	exchange string

	mu     sync.Mutex
	queues map[string]string // group → queue
	conns  map[*gcpubsub.Subscription]*amqp.Connection
}

func newRabbitBackend(_ context.Context, t testing.TB) (bustest.Backend, error) {
	requireService(t, "RabbitMQ", rabbitAddr, rabbitStart)
	admin, err := amqp.Dial(rabbitURL)
	if err != nil {
		return nil, err
	}
	b := &rabbitBackend{
		admin:    admin,
		exchange: bustest.UniqueName("bustest"),
		queues:   map[string]string{},
		conns:    map[*gcpubsub.Subscription]*amqp.Connection{},
	}
	if err := b.declare(func(ch *amqp.Channel) error {
		return ch.ExchangeDeclare(b.exchange, amqp.ExchangeFanout, false, false, false, false, nil)
	}); err != nil {
		admin.Close()
		return nil, err
	}
	return b, nil
}

// declare runs f on a fresh channel of the admin connection: a channel
// that fails is closed by the server and cannot be reused.
func (b *rabbitBackend) declare(f func(*amqp.Channel) error) error {
	ch, err := b.admin.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	return f(ch)
}

func (b *rabbitBackend) OpenTopic(context.Context) (*gcpubsub.Topic, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pub == nil {
		conn, err := amqp.Dial(rabbitURL)
		if err != nil {
			return nil, err
		}
		b.pub = conn
	}
	return rabbitpubsub.OpenTopic(b.pub, b.exchange, &rabbitpubsub.TopicOptions{KeyName: bustest.KeyMeta}), nil
}

func (b *rabbitBackend) OpenSubscription(_ context.Context, group string) (*gcpubsub.Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q, ok := b.queues[group]
	if !ok {
		q = b.exchange + "." + group
		// Durable and not auto-delete: the queue is the group, and must
		// outlive its consumers.
		if err := b.declare(func(ch *amqp.Channel) error {
			if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
				return err
			}
			return ch.QueueBind(q, "", b.exchange, false, nil)
		}); err != nil {
			return nil, err
		}
		b.queues[group] = q
	}
	conn, err := amqp.Dial(rabbitURL)
	if err != nil {
		return nil, err
	}
	prefetch := 50
	sub := rabbitpubsub.OpenSubscription(conn, q, &rabbitpubsub.SubscriptionOptions{KeyName: bustest.KeyMeta, PrefetchCount: &prefetch})
	b.conns[sub] = conn
	return sub, nil
}

// Crash closes the subscription's connection: the broker requeues what
// it had delivered and not been acked.
func (b *rabbitBackend) Crash(_ context.Context, sub *gcpubsub.Subscription) error {
	b.mu.Lock()
	conn := b.conns[sub]
	delete(b.conns, sub)
	b.mu.Unlock()
	if conn == nil {
		return errors.New("rabbit backend: Crash of a subscription it did not open")
	}
	return conn.Close()
}

func (b *rabbitBackend) Capabilities() bustest.Capabilities {
	return bustest.Capabilities{
		Nack:         true,
		OrderedByKey: true, // one queue per group, FIFO to a single consumer
		Durable:      true,
		FanOut:       true,
		// A queue declared after a send did not get it; AckDeadline zero:
		// RabbitMQ has none, it requeues when the connection closes.
	}
}

func (b *rabbitBackend) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
	if b.pub != nil {
		b.pub.Close()
	}
	for _, q := range b.queues {
		_ = b.declare(func(ch *amqp.Channel) error { _, err := ch.QueueDelete(q, false, false, false); return err })
	}
	_ = b.declare(func(ch *amqp.Channel) error { return ch.ExchangeDelete(b.exchange, false, false) })
	b.admin.Close()
}

func TestRabbit(t *testing.T) { bustest.Run(t, newRabbitBackend) }

func BenchmarkRabbit(b *testing.B) { bustest.RunBenchmarks(b, newRabbitBackend) }
