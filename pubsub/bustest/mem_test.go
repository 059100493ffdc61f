package bustest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/pubsub"
	"github.com/stockgate/stockgate/pubsub/bustest"
)

// memBackend runs the suite on stockgate's mem:// driver, opened by URL.
// A group is one in-process subscription: opening a group again returns
// the same Subscription, whose Receive loops compete.
type memBackend struct {
	topicURL string

	mu     sync.Mutex
	groups map[string]*gcpubsub.Subscription
}

func newMemBackend(context.Context, testing.TB) (bustest.Backend, error) {
	return &memBackend{
		topicURL: "mem://" + bustest.UniqueName("bustest"),
		groups:   map[string]*gcpubsub.Subscription{},
	}, nil
}

func (b *memBackend) OpenTopic(ctx context.Context) (*gcpubsub.Topic, error) {
	return pubsub.OpenTopic(ctx, b.topicURL)
}

func (b *memBackend) OpenSubscription(ctx context.Context, group string) (*gcpubsub.Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if sub := b.groups[group]; sub != nil {
		return sub, nil
	}
	sub, err := pubsub.OpenSubscription(ctx, b.topicURL+"?ackdeadline=2s")
	if err != nil {
		return nil, err
	}
	b.groups[group] = sub
	return sub, nil
}

// Crash shuts sub down: in-process, that is all a crash does, and what it
// held dies with it.
func (b *memBackend) Crash(ctx context.Context, sub *gcpubsub.Subscription) error {
	b.mu.Lock()
	for g, s := range b.groups {
		if s == sub {
			delete(b.groups, g)
		}
	}
	b.mu.Unlock()
	if err := sub.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (b *memBackend) Capabilities() bustest.Capabilities {
	return bustest.Capabilities{
		Nack:         true,
		OrderedByKey: true, // each subscription is a FIFO queue
		FanOut:       true,
		AckDeadline:  2 * time.Second,
	}
}

func (b *memBackend) Close() {}

func TestMem(t *testing.T) { bustest.Run(t, newMemBackend) }

func BenchmarkMem(b *testing.B) { bustest.RunBenchmarks(b, newMemBackend) }
