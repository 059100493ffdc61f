package jetstreampubsub_test

import (
	"context"
	"fmt"
	"log"
	neturl "net/url"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/pubsub/jetstreampubsub"
)

// startServer starts an in-process NATS server with JetStream, standing in
// for a real one, and returns its URL and a function that stops it.
func startServer() (string, func()) {
	dir, err := os.MkdirTemp("", "jetstreampubsub-example")
	if err != nil {
		log.Fatal(err)
	}
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		log.Fatal("nats-server did not start")
	}
	return s.ClientURL(), func() {
		s.Shutdown()
		s.WaitForShutdown()
		os.RemoveAll(dir)
	}
}

// Publish into a stream and receive through a durable consumer; a Nacked
// message comes straight back, counted as a second delivery.
func ExampleOpenSubscription() {
	url, stop := startServer()
	defer stop()
	ctx := context.Background()

	nc, err := nats.Connect(url)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	// Streams are usually the operator's; EnsureStream is the create_stream
	// URL parameter.
	if err := jetstreampubsub.EnsureStream(ctx, js, "INVENTORY", "inv.stock"); err != nil {
		log.Fatal(err)
	}

	topic, err := jetstreampubsub.OpenTopic(js, "inv.stock", &jetstreampubsub.TopicOptions{MsgIDKey: "event-id"})
	if err != nil {
		log.Fatal(err)
	}
	defer topic.Shutdown(ctx)
	sub, err := jetstreampubsub.OpenSubscription(js, "INVENTORY", "ledger", &jetstreampubsub.SubscriptionOptions{
		FilterSubject: "inv.stock",
		AckWait:       30 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Shutdown(ctx)

	err = topic.Send(ctx, &pubsub.Message{
		Body:     []byte(`{"sku":"A-1","available":5}`),
		Metadata: map[string]string{"event-id": "evt-42"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for range 2 {
		m, err := sub.Receive(ctx)
		if err != nil {
			log.Fatal(err)
		}
		var jm jetstream.Msg
		m.As(&jm)
		meta, _ := jm.Metadata()
		fmt.Printf("%s %s delivery %d\n", m.Metadata["event-id"], m.Body, meta.NumDelivered)
		if meta.NumDelivered == 1 {
			m.Nack() // not yet: deliver it again
			continue
		}
		m.Ack()
	}
	// Output:
	// evt-42 {"sku":"A-1","available":5} delivery 1
	// evt-42 {"sku":"A-1","available":5} delivery 2
}

// A URLOpener of your own serves jetstream:// URLs on a connection you
// made. In package main, blank-import this package instead: stockgate's
// pubsub.OpenTopic and OpenSubscription then open these URLs on a
// connection to NATS_SERVER_URL.
func ExampleURLOpener() {
	url, stop := startServer()
	defer stop()
	ctx := context.Background()

	nc, err := nats.Connect(url)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	o := &jetstreampubsub.URLOpener{JetStream: js}

	topicURL, _ := neturl.Parse("jetstream://inv.orders?create_stream=ORDERS")
	topic, err := o.OpenTopicURL(ctx, topicURL)
	if err != nil {
		log.Fatal(err)
	}
	defer topic.Shutdown(ctx)
	subURL, _ := neturl.Parse("jetstream://ORDERS/fulfilment?ack_wait=1m&max_deliver=5")
	sub, err := o.OpenSubscriptionURL(ctx, subURL)
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
	m.Ack()
	fmt.Println(string(m.Body))
	// Output:
	// order-7 placed
}
