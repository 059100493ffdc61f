package mempubsub_test

import (
	"context"
	"fmt"
	"log"
	"net/url"
	"time"

	"gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/pubsub/mempubsub"
)

// A URLOpener of your own is an isolated namespace of mem:// topics, for
// tests that must not see each other's messages.
func ExampleURLOpener() {
	ctx := context.Background()
	o := new(mempubsub.URLOpener)

	topicURL, _ := url.Parse("mem://stock")
	topic, err := o.OpenTopicURL(ctx, topicURL)
	if err != nil {
		log.Fatal(err)
	}
	defer topic.Shutdown(ctx)

	subURL, _ := url.Parse("mem://stock?ackdeadline=30s")
	sub, err := o.OpenSubscriptionURL(ctx, subURL) // after the topic: earlier messages are not kept
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Shutdown(ctx)

	for _, body := range []string{"sku-1:5", "sku-2:0", "sku-1:4"} {
		if err := topic.Send(ctx, &pubsub.Message{Body: []byte(body)}); err != nil {
			log.Fatal(err)
		}
	}
	for range 3 {
		m, err := sub.Receive(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(m.Body))
		m.Ack()
	}
	// Output:
	// sku-1:5
	// sku-2:0
	// sku-1:4
}

// Nack hands a message back for immediate redelivery.
func ExampleNewSubscription() {
	ctx := context.Background()
	topic := mempubsub.NewTopic(nil)
	defer topic.Shutdown(ctx)
	sub, err := mempubsub.NewSubscription(topic, &mempubsub.SubscriptionOptions{AckDeadline: 10 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Shutdown(ctx)

	if err := topic.Send(ctx, &pubsub.Message{Body: []byte("order-7 placed")}); err != nil {
		log.Fatal(err)
	}
	m, err := sub.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("first try:", string(m.Body))
	m.Nack()

	m, err = sub.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("second try:", string(m.Body))
	m.Ack()
	// Output:
	// first try: order-7 placed
	// second try: order-7 placed
}
