package bustest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/gcppubsub"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stockgate/stockgate/pubsub/bustest"
)

// gcpAckDeadline is the ack deadline of every Pub/Sub subscription the
// backend creates (pstest allows less than the service's 10 s minimum).
const gcpAckDeadline = 2 * time.Second

// gcpBackend runs the suite on gocloud's gcppubsub (the v1 driver:
// synchronous Pull; the v2 driver receives from pstest at ~90 msg/s)
// against pstest, Google's in-process Pub/Sub fake, one server per
// scenario. A group is a Pub/Sub subscription with message ordering
// enabled, created on first use. Each subscription has a gRPC connection
// of its own, which Crash closes.
//
// Ordering keys: the v1 driver has no KeyName-like option; it exposes each
// outgoing *pb.PubsubMessage to Message.BeforeSend, where the suite's
// sender, like the relay, sets OrderingKey (stockgate's
// pubsub.OrderingKey). The backend sets nothing itself.
type gcpBackend struct {
	srv       *pstest.Server
	project   string
	topicPath string

	mu    sync.Mutex
	pub   *grpc.ClientConn
	subs  map[string]string // group → subscription path
	conns map[*gcpubsub.Subscription]*grpc.ClientConn
}

func newGCPBackend(ctx context.Context, _ testing.TB) (bustest.Backend, error) {
	srv := pstest.NewServer()
	b := &gcpBackend{
		srv:   srv,
		subs:  map[string]string{},
		conns: map[*gcpubsub.Subscription]*grpc.ClientConn{},
	}
	b.topicPath = "projects/bustest/topics/" + bustest.UniqueName("t")
	if _, err := srv.GServer.CreateTopic(ctx, &pb.Topic{Name: b.topicPath}); err != nil {
		srv.Close()
		return nil, err
	}
	return b, nil
}

func (b *gcpBackend) OpenTopic(ctx context.Context) (*gcpubsub.Topic, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pub == nil {
		conn, err := grpc.NewClient(b.srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, err
		}
		b.pub = conn
	}
	client, err := gcppubsub.PublisherClient(ctx, b.pub)
	if err != nil {
		return nil, err
	}
	return gcppubsub.OpenTopicByPath(client, b.topicPath, nil)
}

func (b *gcpBackend) OpenSubscription(ctx context.Context, group string) (*gcpubsub.Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	path, ok := b.subs[group]
	if !ok {
		path = "projects/bustest/subscriptions/" + bustest.UniqueName(group)
		if _, err := b.srv.GServer.CreateSubscription(ctx, &pb.Subscription{
			Name:                  path,
			Topic:                 b.topicPath,
			AckDeadlineSeconds:    int32(gcpAckDeadline / time.Second),
			EnableMessageOrdering: true,
		}); err != nil {
			return nil, err
		}
		b.subs[group] = path
	}
	conn, err := grpc.NewClient(b.srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	client, err := gcppubsub.SubscriberClient(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	sub, err := gcppubsub.OpenSubscriptionByPath(client, path, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	b.conns[sub] = conn
	return sub, nil
}

// Crash closes the subscription's gRPC connection. Pub/Sub keeps no
// connection state: what it delivered comes back after the ack deadline.
func (b *gcpBackend) Crash(_ context.Context, sub *gcpubsub.Subscription) error {
	b.mu.Lock()
	conn := b.conns[sub]
	delete(b.conns, sub)
	b.mu.Unlock()
	if conn == nil {
		return errors.New("gcp backend: Crash of a subscription it did not open")
	}
	return conn.Close()
}

func (b *gcpBackend) Capabilities() bustest.Capabilities {
	return bustest.Capabilities{
		Nack:         true, // ModifyAckDeadline to 0
		OrderedByKey: true, // ordering keys (pubsub.OrderingKey), subscriptions with message ordering
		Durable:      true,
		FanOut:       true,
		// A subscription gets only what is published after it exists.
		AckDeadline: gcpAckDeadline,
	}
}

func (b *gcpBackend) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
	if b.pub != nil {
		b.pub.Close()
	}
	b.srv.Close()
}

func TestGCPPubSub(t *testing.T) { bustest.Run(t, newGCPBackend) }

func BenchmarkGCPPubSub(b *testing.B) { bustest.RunBenchmarks(b, newGCPBackend) }
