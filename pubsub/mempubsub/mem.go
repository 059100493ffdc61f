// Package mempubsub is stockgate's in-process driver for gocloud.dev/pubsub:
// the bus behind mem:// URLs, for running the gateway with no broker and for
// tests.
//
// It replaces gocloud.dev/pubsub/mempubsub, which sleeps 250 ms whenever a
// subscription is idle and walks a map of every unacked message on each
// receive (no order, O(n) per receive). Here each subscription is a FIFO
// queue and a waiting receive is woken the moment a message arrives.
//
// Wrap the driver with the portable gocloud.dev/pubsub types: open by URL
// through github.com/stockgate/stockgate/pubsub, through a URLOpener, or with
// NewTopic and NewSubscription.
//
// # URLs
//
// Scheme is "mem", the same as gocloud's mempubsub. This package does not
// register itself on gocloud's DefaultURLMux (two drivers for one scheme
// panic at init); stockgate's pubsub package registers DefaultURLOpener on
// its own mux instead.
//
//	mem://stockgate-inbound                  topic "stockgate-inbound", created on first open
//	mem://stockgate-inbound?ackdeadline=2s   a new subscription to that topic
//
// The URL's host and path name the topic. Topic URLs take no query
// parameters; subscription URLs take only ackdeadline (a time.ParseDuration
// string, greater than zero; default DefaultAckDeadline). Any other
// parameter is an error. Topics are shared by name within one URLOpener: use
// a URLOpener of your own (new(URLOpener)) for an isolated namespace.
//
// Opening a subscription to a topic that has not been opened yet succeeds,
// but every Receive from it fails with gcerrors.NotFound, even once the
// topic is opened: this is what gocloud.dev/pubsub/drivertest requires of a
// nonexistent subscription. Open the topic first.
//
// # Delivery semantics
//
//   - At-least-once for the life of the process. Messages live only in
//     memory: nothing survives a restart, and a shut-down subscription drops
//     the messages it held.
//   - Fan-out: every subscription of a topic gets every message sent after
//     it was opened. A message sent while a topic has no subscription is
//     dropped, silently (as gocloud's mempubsub does, minus the log line).
//     The gateway's outbox re-sends, so this is safe for stockgate.
//   - FIFO per subscription: messages are delivered in the order the topic
//     accepted them (Send order for one sender; concurrent senders
//     interleave). Messages due again (Nacked, or past the ack deadline) are
//     delivered before never-delivered ones. Order holds through the
//     portable Subscription with its default receive batching (one
//     ReceiveBatch in flight); Receive loops on one subscription compete for
//     messages, so each sees a subsequence.
//   - A delivered message that is not acked within the subscription's ack
//     deadline is delivered again; Nack makes it deliverable at once
//     (Nackable is always true). Acking any delivery of a message acks it;
//     a Nack from a delivery that has since been superseded is ignored.
//   - Latency: a receive blocked on an empty subscription is woken by the
//     send itself (microseconds); with nothing to deliver it returns empty
//     after 100 ms, and the portable type calls again.
//   - Queues are unbounded: a subscription that nobody receives from keeps
//     every message. Shut down the subscriptions you stop using.
//   - The body is copied once at send; all subscriptions share that copy and
//     the metadata map. Treat a received Body and Metadata as read-only.
//
// # Errors
//
// Errors carry gcerrors codes: NotFound for a subscription whose topic does
// not exist (and for sends on a topic that does not exist, which only the
// conformance harness can make); FailedPrecondition after Shutdown (from
// the portable types). The driver never returns retryable errors.
//
// # As
//
// mempubsub supports no types for As or ErrorAs.
package mempubsub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/batcher"
	"gocloud.dev/pubsub/driver"
)

// Scheme is the URL scheme URLOpener serves.
const Scheme = "mem"

// DefaultAckDeadline is the ack deadline of a subscription that sets none.
const DefaultAckDeadline = time.Minute

// maxWait bounds how long ReceiveBatch blocks with nothing to deliver. The
// driver contract asks for "no more than about 1 second"; a short wait keeps
// Shutdown and ack-deadline checks prompt at ten idle wake-ups a second.
const maxWait = 100 * time.Millisecond

var (
	errNotFound = errors.New("mempubsub: topic does not exist")
	errClosed   = errors.New("mempubsub: subscription is closed")
)

var defaultURLOpener = new(URLOpener)

// DefaultURLOpener returns the process-wide URLOpener that stockgate's
// pubsub package serves mem:// URLs with.
func DefaultURLOpener() *URLOpener { return defaultURLOpener }

// URLOpener opens mem:// URLs (see the package doc for the format). Each
// URLOpener is a namespace: topics opened through it are shared by name by
// everything that uses the same URLOpener and invisible to any other.
//
// Every OpenTopicURL returns a new *pubsub.Topic over the shared named
// topic, so shutting one down does not affect other holders. Named topics
// live as long as their URLOpener.
//
// The zero value is ready to use. Set the option fields before the first
// open: they are read without locking.
type URLOpener struct {
	// TopicOptions apply to every topic opened. The zero value means
	// gocloud's default batching.
	TopicOptions TopicOptions

	// SubscriptionOptions apply to every subscription opened; the URL's
	// ackdeadline parameter overrides AckDeadline.
	SubscriptionOptions SubscriptionOptions

	mu     sync.Mutex
	topics map[string]*broker
}

// OpenTopicURL opens the topic named by u, creating it on first use.
func (o *URLOpener) OpenTopicURL(_ context.Context, u *url.URL) (*pubsub.Topic, error) {
	name, err := topicName(u)
	if err == nil {
		err = unknownParams(u.Query())
	}
	if err != nil {
		return nil, fmt.Errorf("mempubsub: open topic %s: %w", u.Redacted(), err)
	}
	o.mu.Lock()
	b := o.topics[name]
	if b == nil {
		if o.topics == nil {
			o.topics = make(map[string]*broker)
		}
		b = newBroker(name)
		o.topics[name] = b
	}
	o.mu.Unlock()
	bo := o.TopicOptions.BatcherOptions
	return pubsub.NewTopic(&topic{b: b}, &bo), nil
}

// OpenSubscriptionURL opens a new subscription to the topic named by u. If
// that topic has not been opened yet, the subscription still opens, but
// Receive fails with gcerrors.NotFound.
func (o *URLOpener) OpenSubscriptionURL(_ context.Context, u *url.URL) (*pubsub.Subscription, error) {
	opts := o.SubscriptionOptions
	q := u.Query()
	name, err := topicName(u)
	if vs, ok := q["ackdeadline"]; ok && err == nil {
		delete(q, "ackdeadline")
		err = parseAckDeadline(vs, &opts.AckDeadline)
	}
	if err == nil {
		err = unknownParams(q)
	}
	if err == nil {
		err = opts.validate()
	}
	if err != nil {
		return nil, fmt.Errorf("mempubsub: open subscription %s: %w", u.Redacted(), err)
	}
	o.mu.Lock()
	b := o.topics[name] // nil: the topic does not exist
	o.mu.Unlock()
	return opts.wrap(newSubscription(b, opts.ackDeadline())), nil
}

func topicName(u *url.URL) (string, error) {
	if u.Opaque != "" {
		return "", fmt.Errorf("want mem://TOPIC, not an opaque URL")
	}
	name := path.Join(u.Host, u.Path)
	if name == "" || name == "/" {
		return "", fmt.Errorf("missing topic name: want mem://TOPIC")
	}
	return name, nil
}

func parseAckDeadline(vs []string, d *time.Duration) error {
	if len(vs) != 1 {
		return fmt.Errorf("ackdeadline given %d times", len(vs))
	}
	v, err := time.ParseDuration(vs[0])
	if err != nil {
		return fmt.Errorf("invalid ackdeadline: %w", err)
	}
	if v <= 0 {
		return fmt.Errorf("invalid ackdeadline %q: must be greater than zero", vs[0])
	}
	*d = v
	return nil
}

func unknownParams(q url.Values) error {
	if len(q) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(q))
	return fmt.Errorf("unknown query parameter(s) %s", strings.Join(names, ", "))
}

// TopicOptions configures a topic.
type TopicOptions struct {
	// BatcherOptions bounds the batching the portable Topic does for sends.
	// The zero value means gocloud's defaults.
	BatcherOptions batcher.Options
}

// SubscriptionOptions configures a subscription.
type SubscriptionOptions struct {
	// AckDeadline is how long a delivered message may stay unacked before it
	// is delivered again. Zero means DefaultAckDeadline; negative is invalid.
	AckDeadline time.Duration

	// ReceiveBatcherOptions bounds the batching the portable Subscription
	// does for receives. The zero value means gocloud's defaults, which keep
	// one ReceiveBatch in flight and so keep FIFO order.
	ReceiveBatcherOptions batcher.Options

	// AckBatcherOptions bounds the batching the portable Subscription does
	// for acks and nacks. The zero value means gocloud's defaults.
	AckBatcherOptions batcher.Options
}

func (o *SubscriptionOptions) validate() error {
	if o.AckDeadline < 0 {
		return fmt.Errorf("negative AckDeadline %v", o.AckDeadline)
	}
	return nil
}

func (o *SubscriptionOptions) ackDeadline() time.Duration {
	if o.AckDeadline == 0 {
		return DefaultAckDeadline
	}
	return o.AckDeadline
}

// wrap returns the portable Subscription over s. The batcher options are
// copied: the portable type keeps the pointers.
func (o *SubscriptionOptions) wrap(s *subscription) *pubsub.Subscription {
	ro, ao := o.ReceiveBatcherOptions, o.AckBatcherOptions
	return pubsub.NewSubscription(s, &ro, &ao)
}

// NewTopic returns a new anonymous topic, reachable by no URL. nil opts
// means defaults.
func NewTopic(opts *TopicOptions) *pubsub.Topic {
	var bo batcher.Options
	if opts != nil {
		bo = opts.BatcherOptions
	}
	return pubsub.NewTopic(&topic{b: newBroker("")}, &bo)
}

// NewSubscription returns a new subscription to t, which must come from
// this package (NewTopic or a URLOpener). nil opts means defaults.
func NewSubscription(t *pubsub.Topic, opts *SubscriptionOptions) (*pubsub.Subscription, error) {
	if opts == nil {
		opts = new(SubscriptionOptions)
	}
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("mempubsub: NewSubscription: %w", err)
	}
	var dt *topic
	if t == nil || !t.As(&dt) {
		return nil, errors.New("mempubsub: NewSubscription: the topic is not a mempubsub topic")
	}
	return opts.wrap(newSubscription(dt.b, opts.ackDeadline())), nil
}

// broker is a topic's shared state: its subscriptions.
type broker struct {
	idPrefix string // LoggableID prefix
	seq      atomic.Uint64

	mu   sync.Mutex
	subs []*subscription
}

func newBroker(name string) *broker {
	p := "msg #"
	if name != "" {
		p = name + " #"
	}
	return &broker{idPrefix: p}
}

func (b *broker) subscribe(s *subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs = append(b.subs, s)
}

func (b *broker) unsubscribe(s *subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs = slices.DeleteFunc(b.subs, func(x *subscription) bool { return x == s })
}

// publish appends ps to every subscription. Holding b.mu across the fan-out
// gives every subscription the same order.
func (b *broker) publish(ps []payload) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.subs {
		s.enqueue(ps)
	}
}

// payload is a sent message, shared read-only by every subscription.
type payload struct {
	id   string
	body []byte
	md   map[string]string
}

// asNothing is the As function of every message: no types are supported.
func asNothing(any) bool { return false }

// topic is a driver.Topic handle on a broker.
type topic struct {
	b *broker // nil: the topic does not exist
}

var _ driver.Topic = (*topic)(nil)

// SendBatch implements driver.Topic.SendBatch. With no subscription the
// messages are dropped.
func (t *topic) SendBatch(ctx context.Context, ms []*driver.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t.b == nil {
		return errNotFound
	}
	ps := make([]payload, len(ms))
	for i, m := range ms {
		if m.BeforeSend != nil {
			if err := m.BeforeSend(asNothing); err != nil {
				return err
			}
		}
		ps[i] = payload{
			id:   t.b.idPrefix + strconv.FormatUint(t.b.seq.Add(1), 10),
			body: bytes.Clone(m.Body),
			md:   maps.Clone(m.Metadata),
		}
	}
	t.b.publish(ps)
	for _, m := range ms {
		if m.AfterSend != nil {
			if err := m.AfterSend(asNothing); err != nil {
				return err
			}
		}
	}
	return nil
}

// IsRetryable implements driver.Topic.IsRetryable.
func (*topic) IsRetryable(error) bool { return false }

// As implements driver.Topic.As. It supports only the unexported **topic,
// so NewSubscription can recover the driver from a *pubsub.Topic.
func (t *topic) As(i any) bool {
	p, ok := i.(**topic)
	if !ok || p == nil {
		return false
	}
	*p = t
	return true
}

// ErrorAs implements driver.Topic.ErrorAs.
func (*topic) ErrorAs(error, any) bool { return false }

// ErrorCode implements driver.Topic.ErrorCode.
func (*topic) ErrorCode(err error) gcerrors.ErrorCode { return errorCode(err) }

// Close implements driver.Topic.Close. The named topic outlives its handles.
func (*topic) Close() error { return nil }

func errorCode(err error) gcerrors.ErrorCode {
	switch {
	case errors.Is(err, errNotFound):
		return gcerrors.NotFound
	case errors.Is(err, errClosed):
		return gcerrors.FailedPrecondition
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return gcerrors.DeadlineExceeded
	}
	return gcerrors.Unknown
}

// Entry states.
const (
	queued uint8 = iota // in fresh or redeliver, waiting for delivery
	leased              // delivered, waiting for an ack
	acked               // done; dropped from queues when reached
)

// entry is one message in one subscription.
type entry struct {
	p     *payload
	sub   *subscription
	gen   uint32 // number of deliveries so far
	state uint8
}

// lease records one delivery of e. It is current while e is still leased by
// that delivery; leases that are not current are skipped.
type lease struct {
	e        *entry
	gen      uint32
	deadline time.Time
}

func (l lease) current() bool { return l.e.state == leased && l.e.gen == l.gen }

// delivery is the AckID of one delivery, allocated with its driver.Message.
type delivery struct {
	dm  driver.Message
	e   *entry
	gen uint32
}

// subscription is a driver.Subscription: a FIFO of entries plus the leases
// of delivered ones.
//
// Every lease has the same duration, so leases expire in delivery order and
// a FIFO of them is also a deadline queue: expiry looks only at its front.
// Acks and nacks leave stale leases behind, which are skipped when they reach
// the front and compacted away when they outnumber the current ones.
type subscription struct {
	b           *broker // nil: the topic does not exist
	ackDeadline time.Duration

	mu        sync.Mutex
	closed    bool
	fresh     fifo[*entry]  // never delivered, in publish order
	redeliver fifo[*entry]  // due again (nacked or expired), in that order
	leases    fifo[lease]   // deliveries in deadline order, some stale
	live      int           // current leases
	wake      chan struct{} // non-nil while a ReceiveBatch waits; closed when messages become ready
}

var _ driver.Subscription = (*subscription)(nil)

func newSubscription(b *broker, ackDeadline time.Duration) *subscription {
	s := &subscription{b: b, ackDeadline: ackDeadline}
	if b != nil {
		b.subscribe(s)
	}
	return s
}

// enqueue appends ps to s and wakes waiting receivers.
func (s *subscription) enqueue(ps []payload) {
	es := make([]entry, len(ps))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for i := range ps {
		es[i] = entry{p: &ps[i], sub: s}
		s.fresh.push(&es[i])
	}
	s.signalLocked()
}

func (s *subscription) signalLocked() {
	if s.wake != nil {
		close(s.wake)
		s.wake = nil
	}
}

// ReceiveBatch implements driver.Subscription.ReceiveBatch. It returns as
// soon as at least one message is deliverable, or with none after maxWait.
//
// It returns ctx.Err() if ctx is done on entry, but no messages and no error
// if ctx is done while it waits. The portable Subscription cancels ctx in
// Shutdown; an error there would replace Shutdown's FailedPrecondition as the
// error later Receive and Shutdown calls report.
func (s *subscription) ReceiveBatch(ctx context.Context, maxMessages int) ([]*driver.Message, error) {
	if s.b == nil {
		return nil, errNotFound
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	maxMessages = max(maxMessages, 1)
	var giveUp time.Time // set when ReceiveBatch first has to wait
	var timer *time.Timer
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, errClosed
		}
		now := time.Now()
		if ms := s.pollLocked(now, maxMessages); len(ms) > 0 {
			s.mu.Unlock()
			return ms, nil
		}
		if giveUp.IsZero() {
			giveUp = now.Add(maxWait)
		}
		wait := giveUp.Sub(now)
		if wait <= 0 {
			s.mu.Unlock()
			return nil, nil
		}
		if dl, ok := s.nextDeadlineLocked(); ok {
			wait = min(wait, dl.Sub(now))
		}
		if s.wake == nil {
			s.wake = make(chan struct{})
		}
		wake := s.wake
		s.mu.Unlock()

		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		} else {
			timer.Reset(wait)
		}
		select {
		case <-wake:
		case <-timer.C:
		case <-ctx.Done():
			return nil, nil
		}
	}
}

// pollLocked delivers up to maxMessages deliverable at now, leasing each
// until now plus the ack deadline. It is the explicit-time core of
// ReceiveBatch.
func (s *subscription) pollLocked(now time.Time, maxMessages int) []*driver.Message {
	s.expireLocked(now)
	n := min(maxMessages, s.redeliver.len()+s.fresh.len()) // upper bound: queues may hold acked entries
	if n == 0 {
		return nil
	}
	ds := make([]delivery, n)
	ms := make([]*driver.Message, 0, n)
	deadline := now.Add(s.ackDeadline)
	for len(ms) < n {
		e := s.nextLocked()
		if e == nil {
			break
		}
		e.gen++
		e.state = leased
		s.leases.push(lease{e: e, gen: e.gen, deadline: deadline})
		s.live++
		d := &ds[len(ms)]
		d.e, d.gen = e, e.gen
		d.dm = driver.Message{
			LoggableID: e.p.id,
			Body:       e.p.body,
			Metadata:   e.p.md,
			AckID:      d,
			AsFunc:     asNothing,
		}
		ms = append(ms, &d.dm)
	}
	return ms
}

// nextLocked pops the next deliverable entry: redeliveries first, then
// fresh messages.
func (s *subscription) nextLocked() *entry {
	for s.redeliver.len() > 0 {
		if e := s.redeliver.pop(); e.state == queued {
			return e
		}
	}
	for s.fresh.len() > 0 {
		if e := s.fresh.pop(); e.state == queued {
			return e
		}
	}
	return nil
}

// expireLocked moves the leases past their deadline at now to redeliver.
func (s *subscription) expireLocked(now time.Time) {
	for s.leases.len() > 0 {
		l := s.leases.front()
		if !l.current() {
			s.leases.pop()
			continue
		}
		if now.Before(l.deadline) {
			return
		}
		s.leases.pop()
		s.live--
		l.e.state = queued
		s.redeliver.push(l.e)
	}
}

// nextDeadlineLocked returns the deadline of the oldest current lease. Call
// it after expireLocked, which leaves a current lease (or none) at the front.
func (s *subscription) nextDeadlineLocked() (time.Time, bool) {
	if s.leases.len() == 0 {
		return time.Time{}, false
	}
	return s.leases.front().deadline, true
}

// compactLocked drops stale leases once they outnumber the current ones, so
// an old unacked message cannot pin the leases of everything after it.
func (s *subscription) compactLocked() {
	if s.leases.len() > 2*s.live+compactAfter {
		s.leases.filter(lease.current)
	}
}

// own returns the delivery an AckID stands for, or nil if it is not one of
// this subscription's.
func (s *subscription) own(id driver.AckID) *delivery {
	d, ok := id.(*delivery)
	if !ok || d == nil || d.e.sub != s {
		return nil
	}
	return d
}

// SendAcks implements driver.Subscription.SendAcks. Acking any delivery of a
// message acks the message; acking twice is not an error.
func (s *subscription) SendAcks(ctx context.Context, ids []driver.AckID) error {
	if s.b == nil {
		return errNotFound
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	for _, id := range ids {
		d := s.own(id)
		if d == nil {
			continue
		}
		if d.e.state == leased {
			s.live--
		}
		d.e.state = acked
	}
	s.compactLocked()
	return nil
}

// CanNack implements driver.Subscription.CanNack.
func (*subscription) CanNack() bool { return true }

// SendNacks implements driver.Subscription.SendNacks: each message still
// leased by the nacked delivery is deliverable again at once.
func (s *subscription) SendNacks(ctx context.Context, ids []driver.AckID) error {
	if s.b == nil {
		return errNotFound
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	n := 0
	for _, id := range ids {
		d := s.own(id)
		if d == nil || d.e.state != leased || d.e.gen != d.gen {
			continue
		}
		d.e.state = queued
		s.live--
		s.redeliver.push(d.e)
		n++
	}
	if n > 0 {
		s.signalLocked()
	}
	s.compactLocked()
	return nil
}

// IsRetryable implements driver.Subscription.IsRetryable.
func (*subscription) IsRetryable(error) bool { return false }

// As implements driver.Subscription.As. No types are supported.
func (*subscription) As(any) bool { return false }

// ErrorAs implements driver.Subscription.ErrorAs.
func (*subscription) ErrorAs(error, any) bool { return false }

// ErrorCode implements driver.Subscription.ErrorCode.
func (*subscription) ErrorCode(err error) gcerrors.ErrorCode { return errorCode(err) }

// Close implements driver.Subscription.Close: s leaves its topic and drops
// every message it holds.
func (s *subscription) Close() error {
	if s.b != nil {
		s.b.unsubscribe(s)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.fresh.reset()
	s.redeliver.reset()
	s.leases.reset()
	s.live = 0
	s.signalLocked()
	return nil
}
