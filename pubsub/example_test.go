package pubsub_test

import (
	"context"
	"fmt"
	"log"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/pubsub"
)

func ExampleOpenTopic() {
	ctx := context.Background()
	// For a broker, blank-import its gocloud driver and pass its URL
	// instead, e.g. "rabbit://inventory" with gocloud.dev/pubsub/rabbitpubsub.
	topic, err := pubsub.OpenTopic(ctx, "mem://example-stock")
	if err != nil {
		log.Fatal(err)
	}
	defer topic.Shutdown(ctx)
	sub, err := pubsub.OpenSubscription(ctx, "mem://example-stock?ackdeadline=30s")
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Shutdown(ctx)

	err = topic.Send(ctx, &gcpubsub.Message{
		Body:     []byte(`{"sku":"sku-1","available":4}`),
		Metadata: map[string]string{"type": "stock.changed"},
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := sub.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Metadata["type"], string(m.Body))
	m.Ack()
	fmt.Println("durable:", pubsub.Durable("mem://example-stock"), pubsub.Durable("kafka://stock"))
	// Output:
	// stock.changed {"sku":"sku-1","available":4}
	// durable: false true
}

func ExampleOpenBus() {
	ctx := context.Background()
	// nil options put both topics on mem:// under their default names; this
	// example names its own. Subscription URLs default to the mem:// topic URLs.
	bus, err := pubsub.OpenBus(ctx, &pubsub.BusOptions{
		InboundTopicURL:      "mem://example-inbound",
		AvailabilityTopicURL: "mem://example-availability",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Shutdown(ctx)

	// Subscribe before publishing: mem:// keeps only what is sent after a
	// subscription opens.
	audit, err := bus.SubscribeInbound(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer audit.Shutdown(ctx)
	worker, err := bus.SubscribeInbound(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer worker.Shutdown(ctx)

	if err := bus.Inbound().Send(ctx, &gcpubsub.Message{Body: []byte("shopify order 1001 paid")}); err != nil {
		log.Fatal(err)
	}
	for _, sub := range []*gcpubsub.Subscription{audit, worker} {
		m, err := sub.Receive(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(m.Body))
		m.Ack()
	}
	// Output:
	// shopify order 1001 paid
	// shopify order 1001 paid
}

func ExampleOrderingKey() {
	ctx := context.Background()
	// With kafka:// the SKU becomes the record key (one partition per SKU);
	// with gcppubsub:// the ordering key. mem:// keeps send order anyway.
	topic, err := pubsub.OpenTopic(ctx, "mem://example-keyed")
	if err != nil {
		log.Fatal(err)
	}
	defer topic.Shutdown(ctx)
	sub, err := pubsub.OpenSubscription(ctx, "mem://example-keyed")
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Shutdown(ctx)
	// One SKU's changes, one after the other: each Send returns before the
	// next starts.
	for _, available := range []string{"4", "3", "2"} {
		err := topic.Send(ctx, &gcpubsub.Message{
			Body:       []byte(available),
			Metadata:   map[string]string{"sku": "SHIRT-M"},
			BeforeSend: pubsub.OrderingKey("SHIRT-M"),
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	for range 3 {
		m, err := sub.Receive(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(string(m.Body), " ")
		m.Ack()
	}
	fmt.Println()
	// Output: 4 3 2
}
