package pubsub_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gocloud.dev/gcerrors"
	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/pubsub"
)

func openBus(t *testing.T, opts *pubsub.BusOptions) *pubsub.Bus {
	t.Helper()
	bus, err := pubsub.OpenBus(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return bus
}

// TestBusDefaults is the only test on the default topic names, which are
// process-wide.
func TestBusDefaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bus := openBus(t, nil)
	if bus.Durable() {
		t.Error("Durable() = true for mem://")
	}
	// Two subscriptions both get the message (fan-out); the other topic's
	// subscription gets nothing of it.
	in1, err := bus.SubscribeInbound(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer in1.Shutdown(ctx)
	in2, err := bus.SubscribeInbound(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer in2.Shutdown(ctx)
	av, err := bus.SubscribeAvailability(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer av.Shutdown(ctx)

	if err := bus.Inbound().Send(ctx, &gcpubsub.Message{Body: []byte("order placed")}); err != nil {
		t.Fatal(err)
	}
	if err := bus.Availability().Send(ctx, &gcpubsub.Message{Body: []byte("sku-1: 4")}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		sub  *gcpubsub.Subscription
		want string
	}{
		"inbound 1":    {in1, "order placed"},
		"inbound 2":    {in2, "order placed"},
		"availability": {av, "sku-1: 4"},
	} {
		m, err := c.sub.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m.Ack()
		if string(m.Body) != c.want {
			t.Errorf("%s: got %q, want %q", name, m.Body, c.want)
		}
	}
	if err := bus.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBusShutdown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := uniqueURL(t)
	bus := openBus(t, &pubsub.BusOptions{InboundTopicURL: u + "-in", AvailabilityTopicURL: u + "-av"})
	if err := bus.Shutdown(ctx); err != nil {
		t.Fatalf("first Shutdown: %v", err)
	}
	for _, tc := range []struct {
		op      string
		err     error
		fromBus bool // wraps ErrBusShutdown (the rest come from gocloud's Topic)
	}{
		{"second Shutdown", bus.Shutdown(ctx), true},
		{"third Shutdown", bus.Shutdown(ctx), true},
		{"SubscribeInbound", second(bus.SubscribeInbound(ctx)), true},
		{"SubscribeAvailability", second(bus.SubscribeAvailability(ctx)), true},
		{"Inbound().Send", bus.Inbound().Send(ctx, &gcpubsub.Message{}), false},
		{"Availability().Send", bus.Availability().Send(ctx, &gcpubsub.Message{}), false},
	} {
		if gcerrors.Code(tc.err) != gcerrors.FailedPrecondition {
			t.Errorf("%s after Shutdown: %v (code %v), want FailedPrecondition", tc.op, tc.err, gcerrors.Code(tc.err))
		}
		if tc.fromBus && !errors.Is(tc.err, pubsub.ErrBusShutdown) {
			t.Errorf("%s after Shutdown: %v does not wrap ErrBusShutdown", tc.op, tc.err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestBusOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := uniqueURL(t)

	// A non-mem topic needs its subscription URL; every problem is reported.
	_, err := pubsub.OpenBus(ctx, &pubsub.BusOptions{
		InboundTopicURL:             testScheme + "://in",
		AvailabilityTopicURL:        testScheme + "://av",
		AvailabilitySubscriptionURL: "kafka://group?topic=av",
	})
	if err == nil {
		t.Fatal("OpenBus succeeded, want an error")
	}
	for _, s := range []string{"InboundSubscriptionURL: required", "AvailabilitySubscriptionURL: ", `"kafka"`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if !errors.Is(err, pubsub.ErrUnknownScheme) {
		t.Errorf("error %v does not wrap ErrUnknownScheme", err)
	}

	// Explicit subscription URLs are used as given.
	bus := openBus(t, &pubsub.BusOptions{
		InboundTopicURL:             testScheme + "://" + t.Name() + "-in",
		InboundSubscriptionURL:      testScheme + "://" + t.Name() + "-in",
		AvailabilityTopicURL:        u + "-av",
		AvailabilitySubscriptionURL: u + "-av?ackdeadline=10s",
	})
	defer bus.Shutdown(ctx)
	sub, err := bus.SubscribeAvailability(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown(ctx)
	sub2, err := bus.SubscribeInbound(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Shutdown(ctx)
}

// TestBusReplica: {replica} in a URL becomes BusOptions.Replica, so one
// configuration gives each replica a subscription of its own; without a
// Replica, or with one no broker accepts as a name, OpenBus says so.
func TestBusReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := uniqueURL(t)
	open := func(replica string) (*pubsub.Bus, *gcpubsub.Subscription) {
		// mem:// names topics by URL: each replica gets an availability
		// topic of its own here, which shows where {replica} went.
		bus := openBus(t, &pubsub.BusOptions{
			InboundTopicURL:             u + "-in",
			AvailabilityTopicURL:        u + "-av-" + pubsub.ReplicaPlaceholder,
			AvailabilitySubscriptionURL: u + "-av-" + pubsub.ReplicaPlaceholder + "?ackdeadline=10s",
			Replica:                     replica,
		})
		t.Cleanup(func() { bus.Shutdown(ctx) })
		sub, err := bus.SubscribeAvailability(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sub.Shutdown(ctx) })
		return bus, sub
	}
	b1, s1 := open("r-1")
	_, s2 := open("r_2")
	if err := b1.Availability().Send(ctx, &gcpubsub.Message{Body: []byte("to r-1")}); err != nil {
		t.Fatal(err)
	}
	m, err := s1.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Ack()
	rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if m, err := s2.Receive(rctx); err == nil {
		m.Ack()
		t.Fatalf("replica r_2 received %q, sent to replica r-1's topic", m.Body)
	}

	for _, tc := range []struct {
		replica string
		mention string
	}{
		{"", "AvailabilitySubscriptionURL: contains {replica} but Replica is empty"},
		{"r/1", `Replica: "r/1"`},
		{strings.Repeat("r", 65), "Replica: "},
	} {
		_, err := pubsub.OpenBus(ctx, &pubsub.BusOptions{
			AvailabilityTopicURL:        u + "-bad",
			AvailabilitySubscriptionURL: u + "-bad-" + pubsub.ReplicaPlaceholder,
			Replica:                     tc.replica,
		})
		if err == nil || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("Replica %q: OpenBus error %v, want one mentioning %q", tc.replica, err, tc.mention)
		}
	}
	for r, want := range map[string]bool{"r1": true, "pod-7_a": true, "": false, "a.b": false, "ä": false} {
		if got := pubsub.ValidReplica(r); got != want {
			t.Errorf("ValidReplica(%q) = %v, want %v", r, got, want)
		}
	}
}
