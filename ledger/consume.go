package ledger

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
)

// RunOptions configure Run. A nil *RunOptions means the defaults.
type RunOptions struct {
	// Workers is the number of events applied at once; zero means
	// DefaultWorkers. Events of one SKU are applied in the order the bus
	// delivered them, one after the other, but with a projection cache
	// over a store that queues commits (bbolt) each worker's commit of a
	// hot key joins the same group commit, so more workers help on one
	// key too.
	Workers int
	// Applied, when set, is called after each event is handled (for
	// metrics and tests).
	Applied func(Result)
	// Pace, when set, is called by a worker before it applies each event,
	// and may block to hold the ledger back (priority.Pacer.Wait). It
	// must return once ctx is done: the events received are applied
	// whatever Pace does.
	Pace func(ctx context.Context)
	// Consumed, when set, is called with the outbox sequence number
	// (store.MetaOutboxSeq) of each message whose outbox record the ledger
	// has deleted: in the commit that applied or dead-lettered its event,
	// or, for an event applied before, once the deleter has. The relay's
	// window (relay.Relay.Consumed) is refilled from it.
	Consumed func(seq uint64)
}

// DefaultWorkers is RunOptions.Workers' default. A store that commits in
// groups (bbolt) puts the commits of every worker waiting at once into one
// transaction, and most of a transaction's cost is pages that its events
// share, so the worker count sets how well a backlog is batched. Under a
// burst faster than the ledger, on the project's 2-core machine and with
// no Pace (BENCHMARKS.md §1): 512 workers spend up to a sixth less CPU on
// the burst and finish a second after the last acknowledgement instead of
// 5 – 11 s, but take the CPU the webhook endpoint needed, which then
// acknowledges a fifth to a third fewer webhooks a second; 16 leave it
// more CPU while the ledger falls further behind. 64 is the middle, and a
// deployment tunes it (config ledger.workers).
const DefaultWorkers = 64

// Run receives events from sub and applies them until ctx is done or the
// subscription fails. A message is acknowledged only after its effect is
// durable; one that could not be applied because the store failed is
// nacked (where the bus can) or left to its ack deadline.
//
// One loop receives, so that the events of one SKU (the bus's ordering
// key, store.MetaKey) keep the order the bus delivered them in, which a
// bus that is ordered by key gives in the order they were accepted; the
// workers apply them, each SKU's in that order (see turns). A count then a
// sale of the same SKU thus leaves the count less the sale, not the count.
// An event that fails and is redelivered (a store outage) may come back
// after later events of its SKU.
//
// When ctx is done, Run stops receiving and returns once the events it
// has received are applied and acknowledged: a shutdown does not cancel
// a commit half way (the store would refuse it, and the event would wait
// for its redelivery). Only the retries of a failing store stop with ctx.
func (l *Ledger) Run(ctx context.Context, sub *gcpubsub.Subscription, opts *RunOptions) error {
	var o RunOptions
	if opts != nil {
		o = *opts
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	del := newDeleter(l.st, o.Consumed)
	delCtx, stopDel := context.WithCancel(context.WithoutCancel(ctx))
	delDone := make(chan struct{})
	go func() { defer close(delDone); del.run(delCtx) }()
	defer func() { stopDel(); <-delDone }()

	type received struct {
		msg   *gcpubsub.Message
		order *turn
	}
	work := make(chan received, o.Workers)
	var wg sync.WaitGroup
	for i := 0; i < o.Workers; i++ {
		wg.Go(func() {
			for r := range work {
				if o.Pace != nil {
					o.Pace(ctx)
				}
				l.handle(ctx, context.WithoutCancel(ctx), r.msg, r.order, del, &o)
			}
		})
	}
	// Every message received is handed to a worker, even after ctx is
	// done, and every handled message finishes its turn: no worker waits
	// for a turn that never passes or finishes.
	var ts turns
	var err error
	for {
		var msg *gcpubsub.Message
		if msg, err = sub.Receive(ctx); err != nil {
			break
		}
		work <- received{msg: msg, order: ts.take(msg.Metadata[store.MetaKey])}
	}
	close(work)
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// handle applies msg with actx, which a shutdown does not cancel, and
// retries a failing store until ctx is done. order is msg's turn on its
// SKU: passed once the event holds its key, finished when handle returns.
func (l *Ledger) handle(ctx, actx context.Context, msg *gcpubsub.Message, order *turn, del *deleter, o *RunOptions) {
	defer order.finish()
	var (
		res Result
		err error
	)
	// The event's outbox message is deleted in the commit that consumes
	// it, or by the deleter when the event was applied before.
	var consumed []uint64
	if s := msg.Metadata[store.MetaOutboxSeq]; s != "" {
		if seq, perr := strconv.ParseUint(s, 10, 64); perr == nil {
			consumed = []uint64{seq}
		}
	}
	ev, perr := event.Parse(msg.Body)
	apply := func() (Result, error) {
		if perr != nil {
			id, typ, src := "", "", ""
			if ev != nil {
				id, typ, src = ev.ID(), ev.Envelope.Type(), ev.Envelope.Source()
			}
			return l.deadLetter(actx, id, typ, src, perr.Error(), msg.Body, consumed)
		}
		return l.apply(actx, ev, msg.Body, consumed, order)
	}
	res, err = apply()
	// A bus that cannot nack (Kafka) only moves past a message once it is
	// acked, so keep trying here, backing off, until the store answers or
	// the consumer stops; a bus that can nack redelivers it.
	for delay := 50 * time.Millisecond; err != nil && !msg.Nackable() && ctx.Err() == nil; delay = min(2*delay, 5*time.Second) {
		l.opts.Logger.Error("apply failed; retrying", "err", err, "in", delay)
		select {
		case <-ctx.Done():
		case <-time.After(delay):
			res, err = apply()
		}
	}
	if err != nil {
		// The store is failing (an outage, most likely): every worker backs
		// off before handing the event back, longer while failures go on,
		// so an outage is not a tight redelivery loop (nor a log flood).
		delay := l.failing.next()
		l.opts.Logger.Error("apply failed; the event will be redelivered", "err", err, "in", delay)
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		if msg.Nackable() {
			msg.Nack()
		}
		return
	}
	l.failing.reset()
	if len(consumed) > 0 {
		if res.Duplicate {
			del.add(consumed[0])
		} else if o.Consumed != nil {
			o.Consumed(consumed[0]) // deleted in the commit
		}
	}
	msg.Ack()
	if o.Applied != nil {
		o.Applied(res)
	}
}

// deleter batches outbox deletions of events found applied before (a
// redelivery; a first delivery is deleted by its commit). A deletion lost in
// a crash only means the event is relayed again and found applied.
type deleter struct {
	st      *store.Store
	deleted func(seq uint64) // RunOptions.Consumed
	mu      sync.Mutex
	seqs    []uint64
	wake    chan struct{}
}

func newDeleter(st *store.Store, deleted func(uint64)) *deleter {
	return &deleter{st: st, deleted: deleted, wake: make(chan struct{}, 1)}
}

func (d *deleter) add(seq uint64) {
	d.mu.Lock()
	d.seqs = append(d.seqs, seq)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *deleter) run(ctx context.Context) {
	flush := func() {
		d.mu.Lock()
		seqs := d.seqs
		d.seqs = nil
		d.mu.Unlock()
		if len(seqs) == 0 {
			return
		}
		if err := d.st.DeleteOutbox(context.WithoutCancel(ctx), seqs); err != nil {
			// Left in the outbox (or the store is closing): relayed again
			// later, then found applied.
			return
		}
		if d.deleted != nil {
			for _, seq := range seqs {
				d.deleted(seq)
			}
		}
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			flush()
			return
		case <-d.wake:
			// Let a few more arrive, then delete them together.
			time.Sleep(2 * time.Millisecond)
			flush()
		case <-t.C:
			flush()
		}
	}
}

// streak spaces redeliveries while applies fail in a row: 50ms, doubling,
// at most 5s; a success resets it. It is safe for concurrent use.
type streak struct{ n atomic.Int32 }

func (s *streak) next() time.Duration {
	n := min(s.n.Add(1)-1, 7)
	return min(50*time.Millisecond<<n, 5*time.Second)
}

func (s *streak) reset() {
	if s.n.Load() != 0 {
		s.n.Store(0)
	}
}
