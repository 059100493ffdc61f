package pubsub

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/pubsub/mempubsub"
)

// Default topic URLs of a Bus: in-process, so the gateway runs with no
// broker.
const (
	DefaultInboundURL      = "mem://stockgate-inbound"
	DefaultAvailabilityURL = "mem://stockgate-availability"
)

// BusOptions names the Bus topics and subscriptions by URL. The zero value
// means both topics on mem://.
type BusOptions struct {
	// InboundTopicURL is where webhook handlers publish marketplace events.
	// Empty means DefaultInboundURL.
	InboundTopicURL string

	// InboundSubscriptionURL is what SubscribeInbound opens. Empty means
	// InboundTopicURL if that is a mem:// URL; for other schemes it must be
	// set, because brokers name subscriptions differently from topics.
	InboundSubscriptionURL string

	// AvailabilityTopicURL is where the gateway publishes availability
	// changes. Empty means DefaultAvailabilityURL.
	AvailabilityTopicURL string

	// AvailabilitySubscriptionURL is what SubscribeAvailability opens. Empty
	// means AvailabilityTopicURL if that is a mem:// URL; for other schemes
	// it must be set.
	AvailabilitySubscriptionURL string

	// Replica names this process among the gateway replicas that share the
	// bus: letters, digits, '-' and '_', at most 64. Every "{replica}" in
	// the URLs above is replaced with it, so that one configuration gives
	// each replica a subscription of its own where it needs one and a
	// shared one where it must not have one:
	//
	//   - AvailabilitySubscriptionURL: one per replica (a JetStream
	//     durable, Kafka group, RabbitMQ queue or Pub/Sub subscription
	//     named with {replica}), so that every replica's live subscribers
	//     see every change;
	//   - InboundSubscriptionURL: one for all (no {replica}), so that the
	//     replicas compete for inbound events and each is applied once.
	//
	// Empty: the URLs must not contain "{replica}".
	Replica string
}

// ReplicaPlaceholder is replaced with BusOptions.Replica in bus URLs.
const ReplicaPlaceholder = "{replica}"

// maxReplicaLen bounds BusOptions.Replica, so that names made from it stay
// within every broker's limits.
const maxReplicaLen = 64

// withDefaults returns a copy of o with the zero-value defaults applied
// and {replica} replaced, if o.Replica is set.
func (o BusOptions) withDefaults() BusOptions {
	if o.Replica != "" {
		for _, u := range o.urls() {
			*u = strings.ReplaceAll(*u, ReplicaPlaceholder, o.Replica)
		}
	}
	if o.InboundTopicURL == "" {
		o.InboundTopicURL = DefaultInboundURL
	}
	if o.AvailabilityTopicURL == "" {
		o.AvailabilityTopicURL = DefaultAvailabilityURL
	}
	if o.InboundSubscriptionURL == "" && isMem(o.InboundTopicURL) {
		o.InboundSubscriptionURL = o.InboundTopicURL
	}
	if o.AvailabilitySubscriptionURL == "" && isMem(o.AvailabilityTopicURL) {
		o.AvailabilitySubscriptionURL = o.AvailabilityTopicURL
	}
	return o
}

// urls returns pointers to o's four URLs.
func (o *BusOptions) urls() []*string {
	return []*string{&o.InboundTopicURL, &o.InboundSubscriptionURL, &o.AvailabilityTopicURL, &o.AvailabilitySubscriptionURL}
}

// ValidReplica reports whether r is usable as BusOptions.Replica: 1 to 64
// letters, digits, '-' and '_', which every broker accepts in queue,
// group, consumer and subscription names.
func ValidReplica(r string) bool {
	if r == "" || len(r) > maxReplicaLen {
		return false
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validate reports every problem of o (defaults applied) at once, each
// with its field name.
func (o BusOptions) validate() error {
	var errs []error
	if o.Replica != "" && !ValidReplica(o.Replica) {
		errs = append(errs, fmt.Errorf("Replica: %q: want 1 to %d letters, digits, '-' and '_'", o.Replica, maxReplicaLen))
	}
	check := func(field, urlstr, kind string) {
		if urlstr == "" {
			errs = append(errs, fmt.Errorf("%s: required unless the topic URL is mem://", field))
			return
		}
		if strings.Contains(urlstr, ReplicaPlaceholder) {
			errs = append(errs, fmt.Errorf("%s: contains %s but Replica is empty", field, ReplicaPlaceholder))
			return
		}
		if err := checkScheme(kind, urlstr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
	}
	check("InboundTopicURL", o.InboundTopicURL, "topic")
	check("InboundSubscriptionURL", o.InboundSubscriptionURL, "subscription")
	check("AvailabilityTopicURL", o.AvailabilityTopicURL, "topic")
	check("AvailabilitySubscriptionURL", o.AvailabilitySubscriptionURL, "subscription")
	return errors.Join(errs...)
}

func isMem(urlstr string) bool {
	u, err := url.Parse(urlstr)
	return err == nil && driverScheme(u.Scheme) == mempubsub.Scheme
}

// checkScheme reports whether some driver serves urlstr's scheme for kind.
func checkScheme(kind, urlstr string) error {
	u, scheme, err := parseURL(kind, urlstr)
	if err != nil {
		return err
	}
	own, gc := mux.ValidTopicScheme, gcpubsub.DefaultURLMux().ValidTopicScheme
	ownList, gcList := mux.TopicSchemes, gcpubsub.DefaultURLMux().TopicSchemes
	if kind == "subscription" {
		own, gc = mux.ValidSubscriptionScheme, gcpubsub.DefaultURLMux().ValidSubscriptionScheme
		ownList, gcList = mux.SubscriptionSchemes, gcpubsub.DefaultURLMux().SubscriptionSchemes
	}
	if own(scheme) || gc(scheme) {
		return nil
	}
	return unknownScheme(kind, u, scheme, ownList(), gcList())
}

// Bus holds the gateway's two topics: Inbound, where webhook handlers
// publish marketplace events, and Availability, where the gateway publishes
// availability changes. Subscriptions are opened on demand and belong to
// the caller, who shuts them down.
//
// Open a Bus with OpenBus and close it with Shutdown. Its methods are safe
// for concurrent use.
type Bus struct {
	opts                  BusOptions // defaults applied
	inbound, availability *gcpubsub.Topic

	mu     sync.Mutex
	closed error // non-nil after Shutdown: what later calls return
}

// OpenBus validates opts, reporting every problem at once, and opens both
// topics. nil opts means defaults (both topics on mem://).
func OpenBus(ctx context.Context, opts *BusOptions) (*Bus, error) {
	var o BusOptions
	if opts != nil {
		o = *opts
	}
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("pubsub: OpenBus: invalid options:\n%w", err)
	}
	inbound, err := OpenTopic(ctx, o.InboundTopicURL)
	if err != nil {
		return nil, fmt.Errorf("pubsub: OpenBus: InboundTopicURL: %w", err)
	}
	availability, err := OpenTopic(ctx, o.AvailabilityTopicURL)
	if err != nil {
		return nil, errors.Join(
			fmt.Errorf("pubsub: OpenBus: AvailabilityTopicURL: %w", err),
			inbound.Shutdown(ctx))
	}
	return &Bus{opts: o, inbound: inbound, availability: availability}, nil
}

// Inbound returns the topic of inbound marketplace events. After Shutdown
// its Send fails with FailedPrecondition.
func (b *Bus) Inbound() *gcpubsub.Topic { return b.inbound }

// Availability returns the topic of availability changes. After Shutdown
// its Send fails with FailedPrecondition.
func (b *Bus) Availability() *gcpubsub.Topic { return b.availability }

// SubscribeInbound opens a new subscription to the inbound topic; the caller
// shuts it down. With mem:// each subscription gets every message sent after
// it opened (fan-out); with a broker, subscriptions opened from the same URL
// share one queue and compete for its messages.
func (b *Bus) SubscribeInbound(ctx context.Context) (*gcpubsub.Subscription, error) {
	return b.subscribe(ctx, "InboundSubscriptionURL", b.opts.InboundSubscriptionURL)
}

// SubscribeAvailability opens a new subscription to the availability topic,
// as SubscribeInbound does for the inbound one.
func (b *Bus) SubscribeAvailability(ctx context.Context) (*gcpubsub.Subscription, error) {
	return b.subscribe(ctx, "AvailabilitySubscriptionURL", b.opts.AvailabilitySubscriptionURL)
}

func (b *Bus) subscribe(ctx context.Context, field, urlstr string) (*gcpubsub.Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed != nil {
		return nil, b.closed
	}
	s, err := OpenSubscription(ctx, urlstr)
	if err != nil {
		return nil, fmt.Errorf("pubsub: Bus: %s: %w", field, err)
	}
	return s, nil
}

// Durable reports whether messages on both topics survive a restart of
// this process (see Durable); false for mem://.
func (b *Bus) Durable() bool {
	return Durable(b.opts.InboundTopicURL) && Durable(b.opts.AvailabilityTopicURL)
}

// InboundDurable reports whether messages on the inbound topic survive a
// restart of this process; false for mem://, where every message sent and
// not yet consumed is held in this process's memory.
func (b *Bus) InboundDurable() bool { return Durable(b.opts.InboundTopicURL) }

// Shutdown flushes and shuts down the inbound topic, then the availability
// one (handling inbound events may still publish availability changes). It
// does not touch subscriptions, which belong to their callers. Shutdown is
// idempotent: later calls, and Subscribe calls after it, return an error
// wrapping ErrBusShutdown with code FailedPrecondition.
func (b *Bus) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed != nil {
		return b.closed
	}
	var errs []error
	if err := b.inbound.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("pubsub: Bus: inbound topic: %w", err))
	}
	if err := b.availability.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("pubsub: Bus: availability topic: %w", err))
	}
	// gcerrors codes only errors made inside gocloud. A second
	// Topic.Shutdown has no effect and returns gocloud's own
	// "Topic has been Shutdown" error, coded FailedPrecondition: wrapping it
	// gives later calls that code.
	b.closed = ErrBusShutdown
	if again := b.inbound.Shutdown(ctx); again != nil {
		b.closed = fmt.Errorf("%w: %w", ErrBusShutdown, again)
	}
	return errors.Join(errs...)
}
