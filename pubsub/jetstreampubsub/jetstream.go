// Package jetstreampubsub is stockgate's gocloud.dev/pubsub driver for NATS
// JetStream, built on github.com/nats-io/nats.go/jetstream: an
// at-least-once bus that survives restarts of the gateway, for the ledger
// and anything else that must not lose a message.
//
// gocloud's own NATS driver (gocloud.dev/pubsub/natspubsub) speaks core
// NATS, which is at-most-once: Ack is a no-op and a message sent while
// nobody listens is gone. This driver publishes into a JetStream stream and
// receives through a durable pull consumer with explicit acks instead.
//
// Open topics and subscriptions by URL through
// github.com/stockgate/stockgate/pubsub (blank-import this package in
// package main), through a URLOpener, or with OpenTopic and
// OpenSubscription on a jetstream.JetStream of your own.
//
// # URLs
//
// Importing the package registers Scheme ("jetstream") on gocloud's
// pubsub.DefaultURLMux, which stockgate's pubsub package falls through to.
// It does not take "nats": that is gocloud's core-NATS driver.
//
//	jetstream://inv.stock
//	    topic: publish to subject inv.stock; some stream must capture it
//	jetstream://inv.stock?create_stream=INVENTORY&msg_id_key=event-id
//	    topic: also create stream INVENTORY capturing inv.stock if there is
//	    no stream of that name, and send metadata "event-id" as the message
//	    ID for the stream's duplicate window
//	jetstream://INVENTORY/ledger?filter_subject=inv.stock&ack_wait=30s&max_deliver=10
//	    subscription: durable pull consumer "ledger" on stream INVENTORY
//
// Topic URLs take create_stream and msg_id_key. create_stream=NAME creates
// stream NAME (file storage, the server's default limits) with the topic's
// subject when no stream of that name exists; if one does, it must already
// capture the subject, or opening fails with an error wrapping
// ErrSubjectNotCaptured: the driver never changes an existing stream.
// Streams that need limits, replicas or retention settings are for the
// operator to create.
//
// Subscription URLs take filter_subject (default: every subject of the
// stream), ack_wait (a time.ParseDuration string; default 30s),
// max_deliver (a positive integer; default unlimited), deliver ("all", the
// default: a new durable starts at the beginning of the stream; "new": at
// the messages stored after it is created) and inactive_threshold (a
// duration: the server deletes the durable once nobody has pulled from it
// that long; default never). A gateway replica's own availability durable
// is the case for the last two:
//
//	jetstream://AVAILABILITY/live-{replica}?deliver=new&inactive_threshold=1h
//
// The first Receive,
// not the open, creates the durable consumer or updates it to these
// settings (see Errors). The subscription owns the durable's configuration:
// settings made elsewhere go back to these and the server's defaults, and
// one the server cannot change (such as the deliver policy) fails the
// Receive with InvalidArgument.
//
// Any other query parameter is an error. URLs carry no addresses or
// secrets: the default opener connects, on first use, to NATS_SERVER_URL
// (default nats://127.0.0.1:4222; a comma-separated list is allowed) and
// reads credentials from NATS_CREDS (a .creds file path), NATS_USER and
// NATS_PASSWORD, or NATS_TOKEN. All URLs opened through it share one
// connection, which lives as long as the process and reconnects forever.
// stockgate's pubsub.Durable reports true for jetstream:// URLs.
//
// # Delivery semantics
//
//   - At-least-once. A Send succeeds only once the stream has stored the
//     message and answered with a PubAck. A Send that failed or timed out
//     may still have been stored; the portable Topic retries timeouts, so a
//     message can be stored twice unless it carries an ID (MsgIDKey), which
//     the stream deduplicates within its duplicate window (2 min by
//     default). Choose an ID that is unique across producers, such as an
//     event ID; a per-producer sequence is not. The gateway's relay puts
//     the event id in metadata stockgate-event-id, so msg_id_key=
//     stockgate-event-id also stores once what several gateway replicas
//     relay from one shared outbox.
//   - A received message that is not acked within the consumer's AckWait
//     is delivered again, to any Receive on the same durable; Nack
//     (Nackable is always true) makes it deliverable again at once. This
//     also covers a crash: whatever was received and not acked comes back
//     after AckWait. MaxDeliver bounds the deliveries of one message, after
//     which the server drops it from the consumer (no dead-letter queue).
//   - Acks are sent without waiting for the server to confirm them, but
//     each batch of acks is flushed to the server before SendAcks returns,
//     so once Subscription.Shutdown returns the acks have reached the
//     server. A lost ack means one more delivery, never a lost message.
//   - Every durable consumer gets every message of its stream (or of its
//     filter subject), from the start of the stream; Receive loops on one
//     durable, in one process or many, share its messages.
//   - Order: the stream stores one sender's messages in Send order, and one
//     durable delivers them in stream order, so a single Receive loop sees
//     each subject in order, redeliveries aside. The publishes of one batch
//     are pipelined; the nats.go client retries a publish that found no
//     stream (a leader election), which can reorder within that batch.
//   - ReceiveBatch takes what is ready, or waits up to MaxWait (default
//     500 ms) for one message. When a Subscription is shut down, a fetch in
//     progress Nacks what it got; messages the portable Subscription had
//     fetched but not yet handed out, and any the server sent as the fetch
//     was cancelled, come back after AckWait.
//   - Metadata travels as NATS headers, keys and values url.QueryEscape'd:
//     the wire form of natspubsub's natsv2 mode, so core-NATS natsv2
//     publishers and any other NATS client interoperate. Every header of a
//     received message becomes metadata, including those NATS sets, such
//     as Nats-Msg-Id. A header with several values yields its first.
//     Metadata keys must not be empty.
//
// # Errors
//
// Errors carry gcerrors codes:
//   - NotFound: a send to a subject that no stream captures; a Receive from
//     a subscription whose stream does not exist (the subscription opens
//     fine, and every Receive fails); a consumer or stream deleted while
//     in use (noticed within a few seconds; the driver does not create
//     the consumer again).
//   - InvalidArgument: invalid stream, consumer or subject names, empty
//     metadata keys, and configurations the server rejects.
//   - FailedPrecondition: the connection was closed, by its owner or for
//     good once its reconnect attempts ran out; JetStream is not enabled;
//     after Shutdown (from the portable types).
//   - DeadlineExceeded: no PubAck within PublishTimeout.
//   - ResourceExhausted: too many publishes in flight on the connection.
//   - Unknown, among others: a disconnect, a server restart, a leader
//     election (gcerrors has no code for "unavailable"). This includes the
//     "connection closed" error nats.go gives what was waiting on a
//     connection that dropped and is reconnecting (an ack flush, a pull).
//
// The driver never retries. It reports DeadlineExceeded, ResourceExhausted
// and the transient errors as retryable, and the portable types retry them
// with backoff until their context is done. (The nats.go client itself
// tries a publish that finds no stream twice more, 250 ms apart, before it
// reports NotFound.)
//
// # As
//
// Each As takes a pointer to a variable of the type listed.
//   - Topic.As: jetstream.JetStream.
//   - Subscription.As: jetstream.JetStream, and jetstream.Consumer once
//     the first Receive has resolved the consumer.
//   - Message.As: jetstream.Msg (its Metadata has NumDelivered and the
//     sequences).
//   - Message.BeforeSend: *nats.Msg. Message.AfterSend: *jetstream.PubAck.
//   - ErrorAs: *jetstream.APIError, jetstream.JetStreamError.
package jetstreampubsub

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/batcher"
	"gocloud.dev/pubsub/driver"
)

// Defaults for the zero values of TopicOptions and SubscriptionOptions.
const (
	// DefaultPublishTimeout bounds the wait for the PubAcks of one batch,
	// as jetstream's own default API timeout does.
	DefaultPublishTimeout = 5 * time.Second

	// DefaultAckWait is the consumer's AckWait, the server's default.
	DefaultAckWait = 30 * time.Second

	// DefaultMaxWait is how long a ReceiveBatch waits for a first message.
	// The driver contract asks for "no more than about 1 second".
	DefaultMaxWait = 500 * time.Millisecond
)

// ackFlushTimeout bounds the flush after a batch of acks or nacks when the
// context has no deadline.
const ackFlushTimeout = 5 * time.Second

var (
	// ErrEmptyMetadataKey is returned by a Send whose metadata has an empty
	// key, which cannot be a NATS header. Its code is InvalidArgument.
	ErrEmptyMetadataKey = errors.New("jetstreampubsub: empty metadata key")

	// ErrSubjectNotCaptured is wrapped by the error EnsureStream returns,
	// and so opening a topic URL with create_stream, when the existing
	// stream does not capture the topic's subject.
	ErrSubjectNotCaptured = errors.New("jetstreampubsub: stream does not capture the subject")

	errInvalidOptions = errors.New("jetstreampubsub: invalid options")
)

// Default batcher options, merged with the caller's: the caller may lower
// them, not raise them. 1000 matches the server's default MaxAckPending and
// stays well under the client's 4000 async publishes in flight.
var (
	sendBatcherOpts = batcher.Options{MaxBatchSize: 1000, MaxHandlers: 2}
	recvBatcherOpts = batcher.Options{MaxBatchSize: 1000, MaxHandlers: 1} // one fetch at a time keeps stream order
	ackBatcherOpts  = batcher.Options{MaxBatchSize: 1000, MaxHandlers: 2}
)

// TopicOptions configures a topic. The zero value means the defaults.
type TopicOptions struct {
	// MsgIDKey names a metadata key whose value, when present and not
	// empty, is sent as the message ID (the Nats-Msg-Id header): the stream
	// stores a message only once per ID within its duplicate window. The
	// value must identify the message across every producer. Empty means
	// no message IDs. The metadata is sent as a header as well.
	MsgIDKey string

	// PublishTimeout bounds the wait for the PubAcks of one batch; the
	// portable Topic gives SendBatch no deadline of its own. Zero means
	// DefaultPublishTimeout; negative is invalid.
	PublishTimeout time.Duration

	// BatcherOptions bounds the batching the portable Topic does for sends.
	// The zero value means at most 1000 messages a batch and two batches in
	// flight; larger values are lowered to those.
	BatcherOptions batcher.Options
}

func (o *TopicOptions) validate() error {
	if o.PublishTimeout < 0 {
		return fmt.Errorf("%w: negative PublishTimeout %v", errInvalidOptions, o.PublishTimeout)
	}
	return nil
}

// SubscriptionOptions configures a subscription and the durable consumer
// behind it. The zero value means the defaults.
type SubscriptionOptions struct {
	// FilterSubject limits the consumer to the stream's messages on this
	// subject, which may have wildcards. Empty means every subject of the
	// stream. One subject only: servers before 2.10 know no more.
	FilterSubject string

	// AckWait is how long a delivered message may stay unacked before the
	// server delivers it again. Zero means DefaultAckWait; negative is
	// invalid.
	AckWait time.Duration

	// MaxDeliver bounds how often one message is delivered. Zero means no
	// limit; negative is invalid.
	MaxDeliver int

	// DeliverNew makes a consumer that does not exist yet start with the
	// messages stored after it is created, instead of the whole stream. It
	// suits a subscription of one process's own (a gateway replica's live
	// feed) that has no use for the backlog. The server fixes the policy
	// when it creates the consumer: opening an existing durable with the
	// other policy fails its first Receive with InvalidArgument.
	DeliverNew bool

	// InactiveThreshold makes the server delete the durable consumer once
	// no client has pulled from it for this long, as it should for a
	// durable named after a replica that is gone for good. Zero means
	// never; negative is invalid. The driver does not create a deleted
	// consumer again while a subscription is open (see Errors).
	InactiveThreshold time.Duration

	// MaxWait is how long a ReceiveBatch waits for a first message before
	// returning none. Zero means DefaultMaxWait; negative is invalid.
	MaxWait time.Duration

	// ReceiveBatcherOptions bounds the batching the portable Subscription
	// does for receives. The zero value means at most 1000 messages a batch
	// (the server's default MaxAckPending) and one fetch at a time, which
	// keeps stream order; larger values are lowered to those.
	ReceiveBatcherOptions batcher.Options

	// AckBatcherOptions bounds the batching the portable Subscription does
	// for acks and nacks. The zero value means at most 1000 a batch and two
	// batches in flight.
	AckBatcherOptions batcher.Options
}

func (o *SubscriptionOptions) validate() error {
	var errs []error
	if o.AckWait < 0 {
		errs = append(errs, fmt.Errorf("negative AckWait %v", o.AckWait))
	}
	if o.MaxDeliver < 0 {
		errs = append(errs, fmt.Errorf("negative MaxDeliver %d", o.MaxDeliver))
	}
	if o.MaxWait < 0 {
		errs = append(errs, fmt.Errorf("negative MaxWait %v", o.MaxWait))
	}
	if o.InactiveThreshold < 0 {
		errs = append(errs, fmt.Errorf("negative InactiveThreshold %v", o.InactiveThreshold))
	}
	if o.FilterSubject != "" {
		if err := checkSubject(o.FilterSubject, true); err != nil {
			errs = append(errs, fmt.Errorf("FilterSubject: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", errInvalidOptions, err)
	}
	return nil
}

// consumerConfig returns the durable consumer's configuration. Only 2.9
// features: one FilterSubject, no metadata.
func (o *SubscriptionOptions) consumerConfig(durable string) jetstream.ConsumerConfig {
	cfg := jetstream.ConsumerConfig{
		Durable:       durable,
		FilterSubject: o.FilterSubject,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.AckWait,
		MaxDeliver:    -1,
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = DefaultAckWait
	}
	if o.MaxDeliver > 0 {
		cfg.MaxDeliver = o.MaxDeliver
	}
	if o.DeliverNew {
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	}
	cfg.InactiveThreshold = o.InactiveThreshold
	return cfg
}

// OpenTopic returns a topic that publishes to subject through js. Some
// stream must capture subject; if none does, sends fail with NotFound.
// nil opts means defaults.
func OpenTopic(js jetstream.JetStream, subject string, opts *TopicOptions) (*pubsub.Topic, error) {
	t, err := newTopic(js, subject, opts)
	if err != nil {
		return nil, fmt.Errorf("jetstreampubsub: OpenTopic %q: %w", subject, err)
	}
	return pubsub.NewTopic(t, sendBatcherOpts.NewMergedOptions(&t.opts.BatcherOptions)), nil
}

// OpenSubscription returns a subscription that receives through the
// durable pull consumer named consumer on stream, creating or updating the
// consumer with opts on the first Receive. If stream does not exist the
// subscription still opens, and Receive fails with NotFound. nil opts means
// defaults.
func OpenSubscription(js jetstream.JetStream, stream, consumer string, opts *SubscriptionOptions) (*pubsub.Subscription, error) {
	s, err := newSubscription(js, stream, consumer, opts)
	if err != nil {
		return nil, fmt.Errorf("jetstreampubsub: OpenSubscription %s/%s: %w", stream, consumer, err)
	}
	return pubsub.NewSubscription(s,
		recvBatcherOpts.NewMergedOptions(&s.opts.ReceiveBatcherOptions),
		ackBatcherOpts.NewMergedOptions(&s.opts.AckBatcherOptions)), nil
}

// topic is a driver.Topic publishing to one subject.
type topic struct {
	js      jetstream.JetStream
	subject string
	opts    TopicOptions
}

var _ driver.Topic = (*topic)(nil)

func newTopic(js jetstream.JetStream, subject string, opts *TopicOptions) (*topic, error) {
	if js == nil {
		return nil, fmt.Errorf("%w: nil JetStream", errInvalidOptions)
	}
	if err := checkSubject(subject, false); err != nil {
		return nil, err
	}
	t := &topic{js: js, subject: subject}
	if opts != nil {
		t.opts = *opts
	}
	if err := t.opts.validate(); err != nil {
		return nil, err
	}
	if t.opts.PublishTimeout == 0 {
		t.opts.PublishTimeout = DefaultPublishTimeout
	}
	return t, nil
}

// SendBatch implements driver.Topic.SendBatch: it publishes every message
// without waiting, then waits for every PubAck, in order.
func (t *topic) SendBatch(ctx context.Context, dms []*driver.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, t.opts.PublishTimeout)
	defer cancel()

	// Encode the whole batch first: a bad message fails it before any is sent.
	nms := make([]*nats.Msg, len(dms))
	for i, dm := range dms {
		nm, err := t.encode(dm)
		if err != nil {
			return err
		}
		if dm.BeforeSend != nil {
			if err := dm.BeforeSend(asNatsMsg(nm)); err != nil {
				return err
			}
		}
		nms[i] = nm
	}
	futures := make([]jetstream.PubAckFuture, 0, len(dms))
	var popts []jetstream.PublishOpt
	for i, nm := range nms {
		popts = popts[:0]
		if id := t.msgID(dms[i]); id != "" {
			popts = append(popts, jetstream.WithMsgID(id))
		}
		f, err := t.js.PublishMsgAsync(nm, popts...)
		if err != nil {
			return err
		}
		futures = append(futures, f)
	}
	acks := make([]*jetstream.PubAck, len(futures))
	for i, f := range futures {
		select {
		case acks[i] = <-f.Ok():
		case err := <-f.Err():
			return err
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return ctx.Err() // Shutdown
			}
			return fmt.Errorf("jetstreampubsub: no PubAck for %d of %d messages on %q within %v: %w",
				len(futures)-i, len(futures), t.subject, t.opts.PublishTimeout, ctx.Err())
		}
	}
	for i, dm := range dms {
		if dm.AfterSend != nil {
			if err := dm.AfterSend(asPubAck(acks[i])); err != nil {
				return err
			}
		}
	}
	return nil
}

// encode returns dm as a NATS message: metadata as headers, keys and values
// query-escaped (natsv2's wire form).
func (t *topic) encode(dm *driver.Message) (*nats.Msg, error) {
	nm := &nats.Msg{Subject: t.subject, Data: dm.Body}
	if len(dm.Metadata) > 0 {
		nm.Header = make(nats.Header, len(dm.Metadata))
		for k, v := range dm.Metadata {
			if k == "" {
				return nil, ErrEmptyMetadataKey
			}
			// Assign, not Set: keys keep their case, as natsv2 readers expect.
			nm.Header[url.QueryEscape(k)] = []string{url.QueryEscape(v)}
		}
	}
	return nm, nil
}

func (t *topic) msgID(dm *driver.Message) string {
	if t.opts.MsgIDKey == "" {
		return ""
	}
	return dm.Metadata[t.opts.MsgIDKey]
}

// IsRetryable implements driver.Topic.IsRetryable.
func (t *topic) IsRetryable(err error) bool {
	return isRetryable(err) || closedByDrop(t.js.Conn(), err)
}

// As implements driver.Topic.As: *jetstream.JetStream.
func (t *topic) As(i any) bool {
	p, ok := i.(*jetstream.JetStream)
	if !ok || p == nil {
		return false
	}
	*p = t.js
	return true
}

// ErrorAs implements driver.Topic.ErrorAs.
func (*topic) ErrorAs(err error, i any) bool { return errorAs(err, i) }

// ErrorCode implements driver.Topic.ErrorCode.
func (t *topic) ErrorCode(err error) gcerrors.ErrorCode {
	if closedByDrop(t.js.Conn(), err) {
		return gcerrors.Unknown
	}
	return errorCode(err)
}

// Close implements driver.Topic.Close. The connection belongs to the caller.
func (*topic) Close() error { return nil }

// subscription is a driver.Subscription on one durable pull consumer,
// resolved (created or updated) on the first ReceiveBatch.
type subscription struct {
	js       jetstream.JetStream
	stream   string
	durable  string
	opts     SubscriptionOptions
	cfg      jetstream.ConsumerConfig
	loggable string // LoggableID prefix

	mu   sync.Mutex
	cons jetstream.Consumer // nil until resolved
}

var _ driver.Subscription = (*subscription)(nil)

func newSubscription(js jetstream.JetStream, stream, durable string, opts *SubscriptionOptions) (*subscription, error) {
	if js == nil {
		return nil, fmt.Errorf("%w: nil JetStream", errInvalidOptions)
	}
	if err := checkName("stream", stream); err != nil {
		return nil, err
	}
	if err := checkName("consumer", durable); err != nil {
		return nil, err
	}
	s := &subscription{js: js, stream: stream, durable: durable, loggable: stream + "/" + durable + "#"}
	if opts != nil {
		s.opts = *opts
	}
	if err := s.opts.validate(); err != nil {
		return nil, err
	}
	if s.opts.MaxWait == 0 {
		s.opts.MaxWait = DefaultMaxWait
	}
	s.cfg = s.opts.consumerConfig(durable)
	return s, nil
}

// consumer returns the durable consumer, creating or updating it on first
// use. Failures are not kept: a stream created later is found later.
func (s *subscription) consumer(ctx context.Context) (jetstream.Consumer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cons != nil {
		return s.cons, nil
	}
	c, err := s.js.CreateOrUpdateConsumer(ctx, s.stream, s.cfg)
	if err != nil {
		return nil, err
	}
	s.cons = c
	return c, nil
}

// ReceiveBatch implements driver.Subscription.ReceiveBatch. It takes what
// the consumer has ready without waiting; if that is nothing, it waits up to
// MaxWait for one message.
//
// It returns ctx.Err() if ctx is done on entry, but no messages and no
// error if ctx is done while it works: the portable Subscription cancels
// ctx in Shutdown, and an error then would replace Shutdown's own. Messages
// fetched by then are Nacked.
func (s *subscription) ReceiveBatch(ctx context.Context, maxMessages int) ([]*driver.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cons, err := s.consumer(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, err
	}
	msgs, err := collect(cons.FetchNoWait(max(maxMessages, 1)))
	silent := false // the server did not answer the pull request
	if err == nil && len(msgs) == 0 && ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, s.opts.MaxWait)
		msgs, err = collect(cons.Fetch(1, jetstream.FetchContext(fctx)))
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			// The server ends a pull request that finds nothing with a
			// timeout status shortly before this deadline.
			silent, err = true, nil
		}
	}
	if ctx.Err() != nil {
		for _, m := range msgs {
			_ = m.Nak() // best effort: otherwise it returns after AckWait
		}
		return nil, nil
	}
	if silent || errors.Is(err, nats.ErrNoResponders) {
		// A pull request for a consumer the server does not know gets no
		// answer (2.9) or "no responders" (2.10+); so may one during a
		// restart or leader election. Ask.
		if _, cerr := s.js.Consumer(ctx, s.stream, s.durable); cerr != nil {
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, cerr
		}
	}
	if err != nil {
		return nil, err
	}
	dms := make([]*driver.Message, len(msgs))
	for i, m := range msgs {
		dms[i] = s.decode(m)
	}
	return dms, nil
}

// collect drains a fetch.
func collect(b jetstream.MessageBatch, err error) ([]jetstream.Msg, error) {
	if err != nil {
		return nil, err
	}
	var msgs []jetstream.Msg
	for m := range b.Messages() {
		msgs = append(msgs, m)
	}
	return msgs, b.Error()
}

// decode returns m as a driver.Message: headers, query-unescaped, as
// metadata. A header that does not unescape is kept as it is.
func (s *subscription) decode(m jetstream.Msg) *driver.Message {
	dm := &driver.Message{
		Body:   m.Data(),
		AckID:  m,
		AsFunc: asJetStreamMsg(m),
	}
	if meta, err := m.Metadata(); err == nil {
		dm.LoggableID = s.loggable + strconv.FormatUint(meta.Sequence.Stream, 10)
	} else {
		dm.LoggableID = s.loggable + "?"
	}
	if h := m.Headers(); len(h) > 0 {
		dm.Metadata = make(map[string]string, len(h))
		for k, vs := range h {
			v := ""
			if len(vs) > 0 {
				v = vs[0]
			}
			dm.Metadata[unescape(k)] = unescape(v)
		}
	}
	return dm
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// SendAcks implements driver.Subscription.SendAcks. A message acked (or
// nacked) before is skipped.
func (s *subscription) SendAcks(ctx context.Context, ids []driver.AckID) error {
	return s.reply(ctx, ids, jetstream.Msg.Ack)
}

// CanNack implements driver.Subscription.CanNack.
func (*subscription) CanNack() bool { return true }

// SendNacks implements driver.Subscription.SendNacks: each message is
// deliverable again at once. A message acked (or nacked) before is skipped.
func (s *subscription) SendNacks(ctx context.Context, ids []driver.AckID) error {
	return s.reply(ctx, ids, jetstream.Msg.Nak)
}

// reply sends one ack or nak per message, then flushes the connection so
// they have reached the server when it returns.
func (s *subscription) reply(ctx context.Context, ids []driver.AckID, send func(jetstream.Msg) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		m, ok := id.(jetstream.Msg)
		if !ok {
			continue
		}
		if err := send(m); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
			return err
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ackFlushTimeout)
		defer cancel()
	}
	return s.js.Conn().FlushWithContext(ctx)
}

// IsRetryable implements driver.Subscription.IsRetryable.
func (s *subscription) IsRetryable(err error) bool {
	return isRetryable(err) || closedByDrop(s.js.Conn(), err)
}

// As implements driver.Subscription.As: *jetstream.JetStream, and
// *jetstream.Consumer once resolved.
func (s *subscription) As(i any) bool {
	switch p := i.(type) {
	case *jetstream.JetStream:
		if p == nil {
			return false
		}
		*p = s.js
		return true
	case *jetstream.Consumer:
		if p == nil {
			return false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.cons == nil {
			return false
		}
		*p = s.cons
		return true
	}
	return false
}

// ErrorAs implements driver.Subscription.ErrorAs.
func (*subscription) ErrorAs(err error, i any) bool { return errorAs(err, i) }

// ErrorCode implements driver.Subscription.ErrorCode.
func (s *subscription) ErrorCode(err error) gcerrors.ErrorCode {
	if closedByDrop(s.js.Conn(), err) {
		return gcerrors.Unknown
	}
	return errorCode(err)
}

// Close implements driver.Subscription.Close. The consumer stays on the
// server, with its unacked messages; the connection belongs to the caller.
func (*subscription) Close() error { return nil }

func asNatsMsg(nm *nats.Msg) func(any) bool {
	return func(i any) bool {
		p, ok := i.(**nats.Msg)
		if !ok || p == nil {
			return false
		}
		*p = nm
		return true
	}
}

func asPubAck(a *jetstream.PubAck) func(any) bool {
	return func(i any) bool {
		p, ok := i.(**jetstream.PubAck)
		if !ok || p == nil {
			return false
		}
		*p = a
		return true
	}
}

func asJetStreamMsg(m jetstream.Msg) func(any) bool {
	return func(i any) bool {
		p, ok := i.(*jetstream.Msg)
		if !ok || p == nil {
			return false
		}
		*p = m
		return true
	}
}

func errorAs(err error, i any) bool {
	switch p := i.(type) {
	case **jetstream.APIError:
		return errors.As(err, p)
	case *jetstream.JetStreamError:
		return errors.As(err, p)
	}
	return false
}

// errorCode classifies the errors of nats.go, jetstream and this package.
// gcerrors has no code for a server that is briefly unavailable: those
// errors are Unknown, and isRetryable tells them apart.
func errorCode(err error) gcerrors.ErrorCode {
	switch {
	case err == nil:
		return gcerrors.OK
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrTimeout),
		errors.Is(err, jetstream.ErrAsyncPublishTimeout):
		return gcerrors.DeadlineExceeded
	case errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrStreamNotFound),
		errors.Is(err, jetstream.ErrConsumerNotFound),
		errors.Is(err, jetstream.ErrConsumerDeleted):
		return gcerrors.NotFound
	case errors.Is(err, ErrEmptyMetadataKey),
		errors.Is(err, errInvalidOptions),
		errors.Is(err, jetstream.ErrInvalidStreamName),
		errors.Is(err, jetstream.ErrStreamNameRequired),
		errors.Is(err, jetstream.ErrInvalidConsumerName),
		errors.Is(err, jetstream.ErrInvalidSubject):
		return gcerrors.InvalidArgument
	case errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, jetstream.ErrConnectionClosed),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return gcerrors.FailedPrecondition
	case errors.Is(err, jetstream.ErrTooManyStalledMsgs):
		return gcerrors.ResourceExhausted
	case transient(err):
		return gcerrors.Unknown
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.Code {
		case 400:
			return gcerrors.InvalidArgument
		case 404:
			return gcerrors.NotFound
		case 408:
			return gcerrors.DeadlineExceeded
		case 409:
			return gcerrors.FailedPrecondition
		case 429:
			return gcerrors.ResourceExhausted
		}
	}
	return gcerrors.Unknown
}

// transient reports whether err means the server or the connection is
// briefly unavailable: a disconnect, a restart, a leader election.
func transient(err error) bool {
	switch {
	case errors.Is(err, jetstream.ErrNoHeartbeat),
		errors.Is(err, jetstream.ErrServerShutdown),
		errors.Is(err, jetstream.ErrConsumerLeadershipChanged),
		errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrNoServers),
		errors.Is(err, nats.ErrNoResponders):
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 503 &&
		!errors.Is(err, jetstream.ErrJetStreamNotEnabled) &&
		!errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount)
}

// closedByDrop reports whether err says that the connection is closed
// while nc is in fact only reconnecting. nats.go fails what is waiting on
// the connection when it drops, a Flush (the driver flushes every batch of
// acks) and a pull among them, with ErrConnectionClosed, although it is
// about to reconnect. Such an error is transient: reported as permanent, it
// would end the portable Subscription for good (gocloud keeps a
// non-retryable ack error and returns it from every later Receive).
func closedByDrop(nc *nats.Conn, err error) bool {
	return (errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, jetstream.ErrConnectionClosed)) &&
		nc != nil && !nc.IsClosed()
}

// isRetryable reports whether err is worth another try: a timeout, too many
// publishes in flight, or a transient error. The portable types retry.
func isRetryable(err error) bool {
	switch errorCode(err) {
	case gcerrors.DeadlineExceeded, gcerrors.ResourceExhausted:
		return true
	}
	return transient(err)
}

// checkName checks a stream or consumer name as the server does.
func checkName(kind, name string) error {
	var err error
	switch {
	case name == "":
		err = errors.New("empty")
	case strings.ContainsAny(name, ">*. /\\\t\r\n\f\v\x00"):
		err = fmt.Errorf("%q has one of '.', '*', '>', '/', '\\' or whitespace", name)
	}
	if err == nil {
		return nil
	}
	if kind == "stream" {
		return fmt.Errorf("%w: %w", jetstream.ErrInvalidStreamName, err)
	}
	return fmt.Errorf("%w: %w", jetstream.ErrInvalidConsumerName, err)
}

// checkSubject checks a subject: dot-separated non-empty tokens without
// whitespace; '*' and a final '>' only if wildcards are allowed.
func checkSubject(subject string, wildcards bool) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: %q: %s", jetstream.ErrInvalidSubject, subject, why)
	}
	if subject == "" {
		return bad("empty")
	}
	if strings.ContainsAny(subject, " \t\r\n\f\v\x00") {
		return bad("whitespace")
	}
	tokens := strings.Split(subject, ".")
	for i, tok := range tokens {
		switch {
		case tok == "":
			return bad("empty token")
		case tok == "*" || tok == ">":
			if !wildcards {
				return bad("wildcards are not allowed here")
			}
			if tok == ">" && i != len(tokens)-1 {
				return bad("'>' must be the last token")
			}
		}
	}
	return nil
}

// subjectCovers reports whether pattern, which may have wildcards, matches
// every message sent to subject, which has none.
func subjectCovers(pattern, subject string) bool {
	ps, ss := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, p := range ps {
		if p == ">" {
			return len(ss) > i
		}
		if i >= len(ss) || (p != "*" && p != ss[i]) {
			return false
		}
	}
	return len(ps) == len(ss)
}
