package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Subcommands that prepare the buses of a load run (BENCHMARKS.md), so
// that a run needs nothing but this command, the gateway and the
// services of the machine.
const (
	cmdKfake         = "kfake"
	cmdRabbitDeclare = "rabbit-declare"
)

// defaultRabbitURL is the RabbitMQ of shared/SERVICES.md, used when
// RABBIT_SERVER_URL (the variable gocloud's rabbitpubsub reads) is unset.
const defaultRabbitURL = "amqp://guest:guest@127.0.0.1:5672/"

// runKfake serves franz-go's kfake, an in-process server that speaks the
// Kafka protocol, until ctx is done: a Kafka for a gateway's kafka:// bus
// on a machine with no Kafka broker. It keeps everything in memory and is
// one broker; its figures show the gateway's Kafka path, not a Kafka
// cluster's.
func runKfake(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stockgate-load "+cmdKfake, flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 9092, "port to listen on, on 127.0.0.1")
	partitions := fs.Int("partitions", 4, "partitions of each topic")
	topics := fs.String("topics", "", "comma-separated `topics` to create (others are created on first use)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: stockgate-load %s [flags]\n\nServes an in-process Kafka-protocol server (franz-go kfake) until interrupted.\nPoint the gateway at it with KAFKA_BROKERS=127.0.0.1:PORT.\n\nFlags:\n", cmdKfake)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if *partitions < 1 {
		return fmt.Errorf("%w: -partitions must be at least 1", errUsage)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1), kfake.Ports(*port),
		kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(*partitions),
	}
	if ts := splitList(*topics); len(ts) > 0 {
		opts = append(opts, kfake.SeedTopics(int32(*partitions), ts...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(stdout, "kfake listening on %s\n", strings.Join(c.ListenAddrs(), ","))
	<-ctx.Done()
	return nil
}

// runRabbitDeclare declares, on the RabbitMQ at $RABBIT_SERVER_URL, a
// durable fanout exchange and durable queues bound to it: what gocloud's
// rabbitpubsub, which declares nothing, needs before a gateway opens
// rabbit://EXCHANGE as a topic and rabbit://QUEUE as a subscription. A
// queue per gateway replica gives each replica every message; replicas
// that share a queue compete for its messages. With -delete it deletes
// them instead.
func runRabbitDeclare(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stockgate-load "+cmdRabbitDeclare, flag.ContinueOnError)
	fs.SetOutput(stderr)
	exchange := fs.String("exchange", "", "fanout `exchange` to declare (required)")
	queues := fs.String("queues", "", "comma-separated durable `queues` to declare and bind to the exchange")
	del := fs.Bool("delete", false, "delete the queues and the exchange instead")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: stockgate-load %s -exchange X -queues q1,q2 [-delete]\n\nDeclares a fanout exchange and queues bound to it on $RABBIT_SERVER_URL (default %s).\n\nFlags:\n", cmdRabbitDeclare, defaultRabbitURL)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if *exchange == "" {
		fmt.Fprintln(stderr, "stockgate-load: -exchange is required")
		return fmt.Errorf("%w: -exchange is required", errUsage)
	}
	u := os.Getenv("RABBIT_SERVER_URL")
	if u == "" {
		u = defaultRabbitURL
	}
	conn, err := amqp.Dial(u)
	if err != nil {
		return fmt.Errorf("rabbitmq: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("rabbitmq: %w", err)
	}
	defer ch.Close()
	qs := splitList(*queues)
	if *del {
		for _, q := range qs {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				return fmt.Errorf("delete queue %s: %w", q, err)
			}
		}
		if err := ch.ExchangeDelete(*exchange, false, false); err != nil {
			return fmt.Errorf("delete exchange %s: %w", *exchange, err)
		}
		fmt.Fprintf(stdout, "deleted exchange %s and %d queue(s)\n", *exchange, len(qs))
		return nil
	}
	if err := ch.ExchangeDeclare(*exchange, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", *exchange, err)
	}
	for _, q := range qs {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare queue %s: %w", q, err)
		}
		if err := ch.QueueBind(q, "", *exchange, false, nil); err != nil {
			return fmt.Errorf("bind queue %s: %w", q, err)
		}
	}
	fmt.Fprintf(stdout, "declared fanout exchange %s with queue(s) %s\n", *exchange, strings.Join(qs, ", "))
	return nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
