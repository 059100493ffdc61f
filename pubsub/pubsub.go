// Package pubsub opens stockgate's message bus: gocloud.dev/pubsub topics
// and subscriptions named by URL, and the Bus that holds the two topics the
// gateway uses (inbound marketplace events, availability changes).
//
// # URLs
//
// OpenTopic and OpenSubscription serve mem:// with stockgate's in-process
// driver, github.com/stockgate/stockgate/pubsub/mempubsub, and hand every
// other scheme to gocloud's gcpubsub.DefaultURLMux. To use a broker,
// blank-import its gocloud driver in package main and pass its URLs:
//
//	import _ "gocloud.dev/pubsub/kafkapubsub"  // kafka://GROUP?topic=T (subscription), kafka://T (topic)
//	import _ "gocloud.dev/pubsub/rabbitpubsub" // rabbit://QUEUE, rabbit://EXCHANGE
//	import _ "gocloud.dev/pubsub/awssnssqs"    // awssns:///ARN, awssqs://QUEUE-URL
//	import _ "gocloud.dev/pubsub/gcppubsub"    // gcppubsub://projects/P/topics/T, .../subscriptions/S
//	import _ "github.com/stockgate/stockgate/pubsub/jetstreampubsub" // jetstream://SUBJECT, jetstream://STREAM/DURABLE
//
// The stockgate binary links the JetStream, Kafka, RabbitMQ and Google
// Pub/Sub (v1) drivers, and the awssqs driver (for Amazon's SQS queues).
//
// BusOptions.Replica replaces "{replica}" in the Bus's URLs, so that gateway
// replicas sharing one configuration each get a subscription of their own
// where they need one (the availability topic) and share one where they
// must (the inbound topic).
//
// mem:// always means stockgate's driver here, even in a binary that also
// links gocloud.dev/pubsub/mempubsub (stockgate itself never imports it).
// The mem forms are mem://TOPIC and, for a subscription,
// mem://TOPIC?ackdeadline=2s; see mempubsub for the details. Broker URLs
// carry no secrets: gocloud's drivers read addresses and credentials from
// the environment (KAFKA_BROKERS, RABBIT_SERVER_URL, ...).
//
// # Delivery semantics
//
// mem:// is at-least-once within the life of the process and nothing
// survives a restart (Durable reports false). Each subscription is a FIFO
// queue and gets every message sent after it opened; a message sent while a
// topic has no subscription is dropped, which is safe only because the
// gateway's outbox re-sends. Unacked messages come back after the ack
// deadline (1 min unless ?ackdeadline= says otherwise) and at once after
// Nack.
//
// Every other scheme behaves as its gocloud driver documents. In particular
// NATS core is at-most-once and Kafka and NATS cannot Nack: check
// Message.Nackable before calling Nack, which panics otherwise.
//
// # Order
//
// OrderingKey is the Message.BeforeSend hook that makes a message's SKU its
// Kafka record key or Pub/Sub ordering key (no key_name in the Kafka URL
// is needed); the relay sets it on everything it sends, one message of a
// SKU at a time. Kafka, Pub/Sub with message ordering, JetStream, mem://
// and a RabbitMQ queue with one consumer then deliver each SKU's messages
// in the order sent (pubsub/bustest checks it); SQS standard queues do not,
// and the ledger stays correct regardless.
//
// # Errors
//
// Opening a URL whose scheme no driver serves fails with an error wrapping
// ErrUnknownScheme. Topics and subscriptions return errors that carry
// gcerrors codes: NotFound for a missing topic or subscription,
// FailedPrecondition after Shutdown. After Bus.Shutdown, Bus methods return
// an error wrapping ErrBusShutdown whose code is FailedPrecondition.
package pubsub

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/pubsub/mempubsub"
)

var (
	// ErrUnknownScheme means no driver serves a URL's scheme: neither
	// stockgate's mem driver nor a gocloud driver linked into the binary.
	ErrUnknownScheme = errors.New("pubsub: no driver for URL scheme")

	// ErrBusShutdown is wrapped by the errors Bus methods return after
	// Shutdown.
	ErrBusShutdown = errors.New("pubsub: Bus has been Shutdown")
)

// mux serves the schemes of stockgate's own drivers. It is separate from
// gcpubsub.DefaultURLMux so that "mem" cannot clash with gocloud's mempubsub.
var mux = newMux()

func newMux() *gcpubsub.URLMux {
	m := new(gcpubsub.URLMux)
	o := mempubsub.DefaultURLOpener()
	m.RegisterTopic(mempubsub.Scheme, o)
	m.RegisterSubscription(mempubsub.Scheme, o)
	return m
}

// OpenTopic opens the topic at urlstr (see the package doc for URLs).
func OpenTopic(ctx context.Context, urlstr string) (*gcpubsub.Topic, error) {
	u, scheme, err := parseURL("topic", urlstr)
	if err != nil {
		return nil, err
	}
	if mux.ValidTopicScheme(scheme) {
		return mux.OpenTopicURL(ctx, u)
	}
	if d := gcpubsub.DefaultURLMux(); d.ValidTopicScheme(scheme) {
		return d.OpenTopicURL(ctx, u)
	}
	return nil, unknownScheme("topic", u, scheme, mux.TopicSchemes(), gcpubsub.DefaultURLMux().TopicSchemes())
}

// OpenSubscription opens the subscription at urlstr (see the package doc for
// URLs). For mem:// every call opens a new subscription, which gets every
// message sent after it opened.
func OpenSubscription(ctx context.Context, urlstr string) (*gcpubsub.Subscription, error) {
	u, scheme, err := parseURL("subscription", urlstr)
	if err != nil {
		return nil, err
	}
	if mux.ValidSubscriptionScheme(scheme) {
		return mux.OpenSubscriptionURL(ctx, u)
	}
	if d := gcpubsub.DefaultURLMux(); d.ValidSubscriptionScheme(scheme) {
		return d.OpenSubscriptionURL(ctx, u)
	}
	return nil, unknownScheme("subscription", u, scheme, mux.SubscriptionSchemes(), gcpubsub.DefaultURLMux().SubscriptionSchemes())
}

// durableSchemes lists the schemes whose brokers keep messages across a
// restart of this process, provided the queues or subscriptions are declared
// durable on the broker side. NATS core ("nats") is at-most-once and absent;
// NATS JetStream ("jetstream", stockgate's jetstreampubsub) is present.
var durableSchemes = map[string]bool{
	"jetstream":   true,
	"kafka":       true,
	"rabbit":      true,
	"gcppubsub":   true,
	"gcppubsubv2": true,
	"awssns":      true,
	"awssqs":      true,
	"azuresb":     true,
}

// Durable reports whether messages sent to the bus at urlstr survive a
// restart of this process, as far as this package knows: false for mem://,
// for NATS core, and for any scheme it does not know or a URL it cannot
// parse; true for NATS JetStream, Kafka, RabbitMQ, GCP Pub/Sub, AWS SNS/SQS
// and Azure Service Bus.
func Durable(urlstr string) bool {
	u, err := url.Parse(urlstr)
	if err != nil {
		return false
	}
	return durableSchemes[driverScheme(u.Scheme)]
}

// parseURL parses urlstr and returns the scheme a URLMux matches it by.
func parseURL(kind, urlstr string) (*url.URL, string, error) {
	u, err := url.Parse(urlstr)
	if err != nil {
		return nil, "", fmt.Errorf("pubsub: open %s: %w", kind, err)
	}
	if u.Scheme == "" {
		return nil, "", fmt.Errorf("pubsub: open %s: no scheme in URL %q: want e.g. mem://NAME", kind, u.Redacted())
	}
	return u, driverScheme(u.Scheme), nil
}

// driverScheme lower-cases scheme and strips the optional "pubsub+",
// "pubsub+topic+" and "pubsub+subscription+" prefixes, as gcpubsub.URLMux
// does when it opens a URL.
func driverScheme(scheme string) string {
	s := strings.ToLower(scheme)
	for _, prefix := range []string{"pubsub+topic+", "pubsub+subscription+", "pubsub+"} {
		s = strings.TrimPrefix(s, prefix)
	}
	return s
}

func unknownScheme(kind string, u *url.URL, scheme string, own, gocloud []string) error {
	known := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(own), gocloud...))))
	return fmt.Errorf("%w %q in %s URL %s: registered schemes are %s; "+
		"for a broker, blank-import its gocloud driver (e.g. _ \"gocloud.dev/pubsub/rabbitpubsub\")",
		ErrUnknownScheme, scheme, kind, u.Redacted(), strings.Join(known, ", "))
}
