package amazon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	gcpubsub "gocloud.dev/pubsub"

	// The awssqs:// scheme, Amazon's default destination (ref §2.2), so that
	// OpenSQSSource can open it. It registers on gocloud's DefaultURLMux,
	// which stockgate's pubsub package falls back to.
	_ "gocloud.dev/pubsub/awssnssqs"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/pubsub"
	"github.com/stockgate/stockgate/store"
)

// Handler takes the result of one SQS message. It must make the result
// durable (the gateway stores it in its outbox) before returning nil: the
// message is acked only then. An error nacks the message, which SQS
// delivers again.
type Handler func(ctx context.Context, res *connectors.Result) error

// SQSSourceOptions configures an SQSSource. nil means defaults.
type SQSSourceOptions struct {
	// MaxConcurrency is how many messages are handled at once. Zero: 1.
	// SQS standard queues do not keep order (ref §3.2), so handling in
	// parallel loses nothing; the ledger orders counts by EventTime.
	MaxConcurrency int
	// OnError is told of every message that is nacked, with the reason.
	// Nil: nothing is told.
	OnError func(loggableID string, err error)
}

// SQSSource receives SP-API notifications from an SQS queue, Amazon's
// default destination (ref §2.2), through a gocloud pubsub subscription,
// normalizes each and hands the result to a Handler.
//
// # Delivery semantics
//
// At-least-once, as SQS standard queues are (ref §3.2): a message is acked
// only after the Handler returned nil; a Handler error or a failure to
// fetch order items nacks it (where the driver can Nack; otherwise it is
// left to come back after the visibility timeout). Duplicates normalize to
// the same Result.DedupKey and event ids. A message that cannot be
// normalized (connectors.ErrMalformed) would fail forever, so it is handed
// to the Handler as a Result holding one dead letter and acked: kept, never
// dropped, never retried in a loop.
//
// A message body may be the notification itself (Amazon's SQS destination,
// ref §2.2), an EventBridge event (an EventBridge rule targeting SQS,
// ref §2.3) or an SNS message (an SNS subscription without raw delivery).
// Nothing in the body is authenticated: access to the queue is (ref §1), so
// an SNS SubscriptionConfirmation found in the queue is not confirmed but
// kept as a dead letter for an operator.
type SQSSource struct {
	sub     *gcpubsub.Subscription
	owned   bool
	c       *Connector
	handle  Handler
	sem     chan struct{}
	onError func(string, error)

	mu       sync.Mutex
	shutdown bool
}

// NewSQSSource returns a source receiving from sub, which may be any
// gocloud subscription (awssqs:// in production, mem:// in tests). The
// caller keeps ownership of sub and shuts it down after Run returns.
func NewSQSSource(sub *gcpubsub.Subscription, c *Connector, handle Handler, opts *SQSSourceOptions) (*SQSSource, error) {
	if opts == nil {
		opts = &SQSSourceOptions{}
	}
	var errs []error
	if sub == nil {
		errs = append(errs, errors.New("amazon: NewSQSSource: nil subscription"))
	}
	if c == nil {
		errs = append(errs, errors.New("amazon: NewSQSSource: nil connector"))
	}
	if handle == nil {
		errs = append(errs, errors.New("amazon: NewSQSSource: nil handler"))
	}
	if opts.MaxConcurrency < 0 {
		errs = append(errs, fmt.Errorf("amazon: NewSQSSource: MaxConcurrency %d is negative", opts.MaxConcurrency))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &SQSSource{
		sub:     sub,
		c:       c,
		handle:  handle,
		sem:     make(chan struct{}, max(opts.MaxConcurrency, 1)),
		onError: opts.OnError,
	}, nil
}

// OpenSQSSource opens the subscription at urlstr with stockgate's pubsub
// package and returns a source over it that owns it: Shutdown shuts it
// down. For Amazon's queue use
//
//	awssqs://sqs.us-east-1.amazonaws.com/123456789012/sp-api-notifications?region=us-east-1&raw=true
//
// (gocloud.dev/pubsub/awssnssqs: the host and path, prefixed with https://,
// are the queue URL; credentials come from the environment). raw=true
// hands the body over untouched; without it gocloud unwraps SNS messages
// itself, which this source also does.
func OpenSQSSource(ctx context.Context, urlstr string, c *Connector, handle Handler, opts *SQSSourceOptions) (*SQSSource, error) {
	sub, err := pubsub.OpenSubscription(ctx, urlstr)
	if err != nil {
		return nil, fmt.Errorf("amazon: OpenSQSSource: %w", err)
	}
	s, err := NewSQSSource(sub, c, handle, opts)
	if err != nil {
		_ = sub.Shutdown(ctx)
		return nil, err
	}
	s.owned = true
	return s, nil
}

// Run receives and handles messages until ctx is done (it then returns
// nil) or the subscription fails. It waits for the messages in hand before
// it returns; their handlers see ctx and, once it is done, fail and nack.
func (s *SQSSource) Run(ctx context.Context) error {
	s.mu.Lock()
	down := s.shutdown
	s.mu.Unlock()
	if down {
		return errors.New("amazon: SQSSource: Run after Shutdown")
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		m, err := s.sub.Receive(ctx)
		if err != nil {
			s.mu.Lock()
			down := s.shutdown
			s.mu.Unlock()
			if ctx.Err() != nil || down {
				return nil
			}
			return fmt.Errorf("amazon: SQSSource: receive: %w", err)
		}
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			s.fail(m, ctx.Err())
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-s.sem }()
			s.process(ctx, m)
		}()
	}
}

// process normalizes one message, hands it over and acks or nacks it.
func (s *SQSSource) process(ctx context.Context, m *gcpubsub.Message) {
	r := &connectors.Request{Header: http.Header{}, Body: m.Body, ReceivedAt: s.c.now()}
	res, err := s.c.normalize(ctx, r, false)
	switch {
	case errors.Is(err, connectors.ErrMalformed):
		res = s.poison(m, r, err)
	case err != nil:
		s.fail(m, err)
		return
	}
	if err := s.handle(ctx, res); err != nil {
		s.fail(m, fmt.Errorf("handler: %w", err))
		return
	}
	m.Ack()
}

// poison is the Result of a message that cannot be normalized: one dead
// letter with the whole body, deduplicated on the body's digest.
func (s *SQSSource) poison(m *gcpubsub.Message, r *connectors.Request, err error) *connectors.Result {
	key := digestKey(m.Body)
	id := m.LoggableID
	if id == "" {
		id = key
	}
	return &connectors.Result{
		DedupKey: "amazon:" + key,
		Topic:    "malformed",
		Unmapped: []store.DeadLetter{{
			Connector: s.c.id,
			EventID:   id,
			EventType: "malformed",
			Reason:    err.Error(),
			Body:      r.Body,
			CreatedAt: r.ReceivedAt,
		}},
	}
}

// fail reports err and nacks m where the driver allows; otherwise m comes
// back after its visibility timeout (gocloud: Nack panics when Nackable is
// false).
func (s *SQSSource) fail(m *gcpubsub.Message, err error) {
	if s.onError != nil {
		s.onError(m.LoggableID, err)
	}
	if m.Nackable() {
		m.Nack()
	}
}

// Shutdown stops the source: a Run in progress returns once its messages
// in hand are done, and a later Run fails. If OpenSQSSource opened the
// subscription, Shutdown shuts it down (flushing acks) and returns its
// error; otherwise the caller does that. Later calls return nil.
func (s *SQSSource) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return nil
	}
	s.shutdown = true
	s.mu.Unlock()
	if s.owned {
		if err := s.sub.Shutdown(ctx); err != nil {
			return fmt.Errorf("amazon: SQSSource: shutdown: %w", err)
		}
	}
	return nil
}
