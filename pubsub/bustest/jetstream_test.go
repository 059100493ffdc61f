package bustest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/pubsub/bustest"
	"github.com/stockgate/stockgate/pubsub/jetstreampubsub"
)

const (
	natsAddr  = "127.0.0.1:4222"
	natsStart = "start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log"
	// jsAckWait is the AckWait of every durable the backend makes.
	jsAckWait = 2 * time.Second
)

// jsBackend runs the suite on stockgate's jetstreampubsub against the
// pre-started nats-server: a stream of its own per scenario (deleted in
// Close) capturing one subject, and a durable pull consumer per group.
// Each subscription has a NATS connection of its own, which Crash closes.
type jsBackend struct {
	admin   *nats.Conn // the topic's, and for the stream
	js      jetstream.JetStream
	stream  string
	subject string

	mu    sync.Mutex
	conns map[*gcpubsub.Subscription]*nats.Conn
}

func newJSBackend(ctx context.Context, t testing.TB) (bustest.Backend, error) {
	requireService(t, "NATS with JetStream", natsAddr, natsStart)
	nc, err := nats.Connect("nats://"+natsAddr, nats.Name(t.Name()))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	name := bustest.UniqueName("bustest")
	b := &jsBackend{admin: nc, js: js, stream: name, subject: "bustest." + name, conns: map[*gcpubsub.Subscription]*nats.Conn{}}
	// 2.9 features only: the pre-started server is Debian's 2.9.10.
	if err := jetstreampubsub.EnsureStream(ctx, js, b.stream, b.subject); err != nil {
		nc.Close()
		return nil, err
	}
	return b, nil
}

func (b *jsBackend) OpenTopic(context.Context) (*gcpubsub.Topic, error) {
	return jetstreampubsub.OpenTopic(b.js, b.subject, nil)
}

func (b *jsBackend) OpenSubscription(_ context.Context, group string) (*gcpubsub.Subscription, error) {
	nc, err := nats.Connect("nats://"+natsAddr, nats.Name(b.stream+"/"+group))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	sub, err := jetstreampubsub.OpenSubscription(js, b.stream, group, &jetstreampubsub.SubscriptionOptions{AckWait: jsAckWait})
	if err != nil {
		nc.Close()
		return nil, err
	}
	b.mu.Lock()
	b.conns[sub] = nc
	b.mu.Unlock()
	return sub, nil
}

// Crash closes the subscription's NATS connection: what it fetched and did
// not ack comes back after AckWait.
func (b *jsBackend) Crash(_ context.Context, sub *gcpubsub.Subscription) error {
	b.mu.Lock()
	nc := b.conns[sub]
	delete(b.conns, sub)
	b.mu.Unlock()
	if nc == nil {
		return errors.New("jetstream backend: Crash of a subscription it did not open")
	}
	nc.Close()
	return nil
}

func (b *jsBackend) Capabilities() bustest.Capabilities {
	return bustest.Capabilities{
		Nack:                 true,
		OrderedByKey:         true, // one subject, stream order, one fetch at a time
		Durable:              true,
		FanOut:               true,
		LateGroupSeesBacklog: true, // a durable delivers from the start of the stream
		AckDeadline:          jsAckWait,
	}
}

func (b *jsBackend) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, nc := range b.conns {
		nc.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = b.js.DeleteStream(ctx, b.stream)
	b.admin.Close()
}

func TestJetStream(t *testing.T) { bustest.Run(t, newJSBackend) }

func BenchmarkJetStream(b *testing.B) { bustest.RunBenchmarks(b, newJSBackend) }
