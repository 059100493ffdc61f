package mempubsub

import (
	"context"
	"testing"
	"time"

	"gocloud.dev/pubsub/driver"
	"gocloud.dev/pubsub/drivertest"
)

// harness runs gocloud's conformance suite against this driver. Each
// harness has its own URLOpener, so tests cannot see each other's topics.
type harness struct {
	o *URLOpener
}

func newHarness(context.Context, *testing.T) (drivertest.Harness, error) {
	return &harness{o: new(URLOpener)}, nil
}

func (h *harness) CreateTopic(_ context.Context, testName string) (driver.Topic, func(), error) {
	h.o.mu.Lock()
	defer h.o.mu.Unlock()
	if h.o.topics == nil {
		h.o.topics = make(map[string]*broker)
	}
	b := newBroker(testName)
	h.o.topics[testName] = b
	return &topic{b: b}, func() {}, nil
}

// MakeNonexistentTopic returns a handle on no broker: sends fail with NotFound.
func (h *harness) MakeNonexistentTopic(context.Context) (driver.Topic, error) {
	return &topic{}, nil
}

// CreateSubscription uses a 1 s ack deadline, as gocloud's mempubsub harness does.
func (h *harness) CreateSubscription(_ context.Context, dt driver.Topic, _ string) (driver.Subscription, func(), error) {
	return newSubscription(dt.(*topic).b, time.Second), func() {}, nil
}

// MakeNonexistentSubscription returns what OpenSubscriptionURL returns for a
// topic that was never opened: it opens, and Receive fails with NotFound.
func (h *harness) MakeNonexistentSubscription(context.Context) (driver.Subscription, func(), error) {
	return newSubscription(nil, time.Second), func() {}, nil
}

func (h *harness) Close() {}

func (h *harness) MaxBatchSizes() (int, int) { return 0, 0 }

func (h *harness) SupportsMultipleSubscriptions() bool { return true }

func TestConformance(t *testing.T) {
	drivertest.RunConformanceTests(t, newHarness, nil)
}

func BenchmarkConformance(b *testing.B) {
	ctx := context.Background()
	topic := NewTopic(nil)
	sub, err := NewSubscription(topic, &SubscriptionOptions{AckDeadline: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := topic.Shutdown(ctx); err != nil {
			b.Errorf("topic Shutdown: %v", err)
		}
		if err := sub.Shutdown(ctx); err != nil {
			b.Errorf("subscription Shutdown: %v", err)
		}
	}()
	drivertest.RunBenchmarks(b, topic, sub)
}
