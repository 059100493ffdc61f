// Package relay publishes the store's outbox to the bus: the second half
// of the transactional outbox. The ingest handler and the ledger write
// canonical events to the outbox in the same transaction as their other
// effects; the relay sends them to their bus topics and removes them.
//
// # Delivery semantics
//
// At least once. A message of a retained topic (the inbound events) stays
// in the outbox after it is sent, until its consumer deletes it once the
// event is applied; the relay sends it again after a restart, and when it
// has waited ResendAfter and looks lost (the consumer has since consumed a
// message sent after it, or has consumed nothing for ResendAfter), so a bus
// that loses messages (mem://, or a crash between send and apply) loses
// nothing, while a message merely queued behind a backlog is not copied
// into it again. With a window (Options.Window), at most that many
// retained messages are sent and not yet consumed at a time; the others
// wait in the outbox, in order, until the consumer reports (Consumed) that
// it caught up, so that a bus that holds what it is sent in memory
// (mem://) does not hold an overload's whole backlog. Messages of other
// topics are never held back, and are
// deleted once the bus has accepted them, in the background while the
// relay goes on sending; one whose deletion a crash lost is sent again.
//
// # Order
//
// Each message carries its outbox sequence number (store.MetaOutboxSeq),
// its key, the SKU (store.MetaKey), and its event id (MetaEventID) as
// metadata, and the key as the
// bus's ordering or partition key where the bus has one
// (pubsub.OrderingKey: the Kafka record key, the Pub/Sub ordering key).
// The messages of one topic and key are sent one after the other in
// outbox order, which for availability changes is ledger order, so a bus
// that orders by key (Kafka, Pub/Sub with message ordering, JetStream,
// mem://, a RabbitMQ queue with one consumer) delivers each SKU's changes
// in the order the ledger made them; different SKUs go out concurrently.
// That caps one SKU's throughput at one bus round trip per message.
// Resends of retained messages, and the sends of several relays over one
// shared store (gateway replicas), may repeat a message after later ones;
// consumers recognise repeats (the ledger by event id, the live hub by
// ledger sequence number).
//
// # Replicas
//
// Every relay over a shared store reads the whole outbox and sends what it
// finds, whichever replica wrote it, so that nothing waits on a replica
// that died: with N replicas a message is sent up to N times. A bus that
// deduplicates by message id stores it once (JetStream with
// msg_id_key=stockgate-event-id, within its duplicate window); on the
// others the consumers receive the copies and drop them.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/pubsub"
	"github.com/stockgate/stockgate/store"
)

// MetaEventID is the metadata key of the canonical event id the relay
// puts on every message. The id is the same whoever sends the message, so
// a bus that deduplicates by message id collapses the copies several
// relays send (gateway replicas over one store) into one: for NATS
// JetStream, a topic URL with msg_id_key=stockgate-event-id.
const MetaEventID = "stockgate-event-id"

// DefaultWindow is a window (Options.Window) for a bus that holds its
// messages in memory: a couple of seconds of the ledger's work on a small
// machine, a few megabytes of messages.
const DefaultWindow = 8192

// Options configure a Relay. A nil *Options means the defaults.
type Options struct {
	// Retain lists the topics whose messages stay in the outbox until
	// their consumer deletes them. Empty: none.
	Retain []string
	// Window is how many retained messages may be sent and not yet
	// consumed at once; zero means no bound. The others wait in the
	// outbox, in outbox order, and go out as the consumer reports what it
	// consumed (Consumed), or a full pass finds it gone. Set it where the
	// bus holds what it is sent in memory (mem://) and the consumer runs
	// in this process: under an overload the backlog then stays in the
	// store. With a broker the broker holds it; there the consumer may be
	// another replica, whose consumption only full passes see.
	Window int
	// ResendAfter is how long a retained message may go unconsumed before
	// it is sent again, if by then the consumer has consumed a message
	// sent after it or has consumed nothing for as long; zero means 30 s.
	ResendAfter time.Duration
	// PollInterval is how often the outbox is read when nobody calls
	// Notify (another replica may have written it); zero means 250 ms.
	PollInterval time.Duration
	// PageSize is how many messages are read at once; zero means 1,000.
	PageSize int
	// Parallel is how many sends may be in flight; zero means 128.
	Parallel int
	// LagWarning is how long the oldest message may wait in the outbox
	// (see Backlog) before Run logs a warning; zero means 10 s, negative
	// never.
	LagWarning time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Relay moves outbox messages to bus topics.
type Relay struct {
	st     *store.Store
	topics map[string]*gcpubsub.Topic
	opts   Options
	retain map[string]bool
	wake   chan struct{}

	mu     sync.Mutex
	sentAt map[uint64]time.Time // retained messages sent and not yet consumed
	// The consumer's progress, as full passes see it: the last-sent
	// retained message found consumed (its send time, then its seq), and
	// when one last was found.
	consumedSent time.Time
	consumedSeq  uint64
	progressAt   time.Time
	// recent holds the seqs reported consumed since the last outbox read.
	recent map[uint64]struct{}
	// held is, with a window, the lowest retained message held back
	// because the window was full (0: none); every retained message not
	// sent after it waits too, so that they go out in outbox order.
	held uint64

	passMu   sync.Mutex // one pass at a time
	cursor   uint64     // every message up to here was sent
	lastFull time.Time  // when the whole outbox was last read

	behind   bool      // Run last found the backlog past LagWarning
	warnedAt time.Time // when Run last logged that
	lagAt    time.Time // when Run last read the backlog

	delMu    sync.Mutex
	toDelete []uint64            // sent, of topics not retained, to delete
	deleting map[uint64]struct{} // toDelete and deletions in flight
	delWake  chan struct{}
}

// New returns a relay from st to the named topics.
func New(st *store.Store, topics map[string]*gcpubsub.Topic, opts *Options) *Relay {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.ResendAfter == 0 {
		o.ResendAfter = 30 * time.Second
	}
	if o.PollInterval == 0 {
		o.PollInterval = 250 * time.Millisecond
	}
	if o.PageSize == 0 {
		o.PageSize = 1000
	}
	if o.Parallel == 0 {
		o.Parallel = 128
	}
	if o.LagWarning == 0 {
		o.LagWarning = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	r := &Relay{st: st, topics: topics, opts: o, retain: map[string]bool{},
		wake: make(chan struct{}, 1), sentAt: map[uint64]time.Time{}, recent: map[uint64]struct{}{},
		deleting: map[uint64]struct{}{}, delWake: make(chan struct{}, 1)}
	for _, t := range o.Retain {
		r.retain[t] = true
	}
	return r
}

// Notify tells the relay that the outbox has new messages. It never
// blocks.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run relays until ctx is done. Failures to send are logged and retried
// on the next pass; they never lose a message. Every second it also reads
// the backlog (ReadBacklog) and logs a warning while its oldest message
// has waited Options.LagWarning or longer: acknowledged events the
// ledger has not applied yet, or messages the bus does not take.
//
// Run deletes sent messages in the background, so that a pass never waits
// for a write to the store: the messages written while one pass sends go
// out in the next at once, and a deletion lost in a crash only means the
// message is sent again, which consumers recognise.
func (r *Relay) Run(ctx context.Context) error {
	delDone := make(chan struct{})
	go func() { defer close(delDone); r.deleteLoop(ctx) }()
	defer func() { <-delDone }()
	t := time.NewTicker(r.opts.PollInterval)
	defer t.Stop()
	for {
		if err := r.pass(ctx); err != nil && ctx.Err() == nil {
			r.opts.Logger.Warn("outbox relay pass failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-t.C:
		}
		if now := r.opts.Now(); r.opts.LagWarning > 0 && now.Sub(r.lagAt) >= lagCheckEvery {
			r.lagAt = now
			r.checkLag(ctx, now)
		}
	}
}

// Pass sends what is due. Usually it reads only the messages after the
// last one sent; every ResendAfter/4, and after a failure, it reads the
// whole outbox and also resends retained messages that were sent longer
// than ResendAfter ago, are still unconsumed and look lost (see lost).
// With a window, retained messages beyond it are held back, and those
// held go out, oldest first, once an eighth of the window is free.
//
// Pass deletes what it sent (of topics not retained), and what earlier
// passes of Run sent and have not deleted yet, before it returns. It is
// safe to call while Run runs (a final flush at shutdown).
func (r *Relay) Pass(ctx context.Context) error {
	return errors.Join(r.pass(ctx), r.flushDeletes(ctx))
}

// pass sends what is due, as Pass does, and leaves the deletion of what it
// sent to flushDeletes. With a window and retained messages held back, it
// then sends as many of those as the window has room for (refill).
func (r *Relay) pass(ctx context.Context) error {
	r.passMu.Lock()
	defer r.passMu.Unlock()
	now := r.opts.Now()
	// Held messages go out even when newer ones fail (an availability
	// topic whose broker is down must not stall the ledger's input).
	err := errors.Join(r.sendNew(ctx, now), r.refill(ctx, now))
	if err != nil {
		r.cursor = 0
	}
	return err
}

// read reads a page of the outbox after seq. What the consumer reports
// consumed from then on is noted (recent), so that pick and refill do not
// take a message consumed after the read for one never sent.
func (r *Relay) read(ctx context.Context, after uint64) ([]store.Message, error) {
	r.mu.Lock()
	clear(r.recent)
	r.mu.Unlock()
	return r.st.Outbox(ctx, after, r.opts.PageSize)
}

// sendNew sends the messages after the cursor, or, every ResendAfter/4,
// reads the whole outbox, resends what looks lost and forgets what was
// consumed. A full pass skips the messages held back by the window (see
// skippable). r.passMu is held.
func (r *Relay) sendNew(ctx context.Context, now time.Time) error {
	full := r.cursor == 0 || now.Sub(r.lastFull) >= r.opts.ResendAfter/4
	after := r.cursor
	var (
		present        map[uint64]bool
		skipLo, skipHi uint64
	)
	if full {
		after = 0
		r.lastFull = now
		present = map[uint64]bool{}
		skipLo, skipHi = r.skippable()
	}
	skipping := skipLo != 0
	for {
		page, err := r.read(ctx, after)
		if err != nil {
			return err
		}
		end := len(page) < r.opts.PageSize // nothing after this page
		if len(page) > 0 {
			after = page[len(page)-1].Seq
		}
		if skipping {
			if i := sort.Search(len(page), func(i int) bool { return page[i].Seq >= skipLo }); i < len(page) {
				page, end, after, skipping = page[:i], false, skipHi, false
			}
		}
		for _, m := range page {
			if full {
				present[m.Seq] = true
			}
		}
		due, resent := r.pick(page, now)
		if err := r.send(ctx, due, resent); err != nil {
			return err
		}
		if after > r.cursor {
			r.cursor = after
		}
		if end {
			if full {
				r.forgetConsumed(present, skipLo, skipHi, now)
			}
			return nil
		}
	}
}

// skippable returns the range of outbox seqs that a full pass need not
// read (0, 0: none): with a window and messages held back, from the first
// held, or past the last retained message sent, to the cursor. In an
// exclusive store, where messages are written in seq order, everything
// there was read before: retained messages held back, which stay held,
// and others sent. (After a failure the cursor is 0 and a pass reads
// everything.) r.passMu is held.
func (r *Relay) skippable() (lo, hi uint64) {
	if r.opts.Window <= 0 || r.cursor == 0 || !r.st.Exclusive() {
		return 0, 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held == 0 {
		return 0, 0
	}
	lo = r.held
	for seq := range r.sentAt {
		lo = max(lo, seq+1)
	}
	if lo > r.cursor {
		return 0, 0
	}
	return lo, r.cursor
}

// pick returns the messages of page that are due: not sent yet (and,
// retained, admitted by the window), or retained and lost, with the time
// each resent one was last sent. It marks the retained ones sent at now as
// it picks them, so that they count against the window from then on; send
// unmarks those it could not send (a resend keeps its last send).
func (r *Relay) pick(page []store.Message, now time.Time) (due []store.Message, resent map[uint64]time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delMu.Lock()
	defer r.delMu.Unlock()
	due = page[:0:0]
	for _, m := range page {
		if at, ok := r.sentAt[m.Seq]; ok {
			if !r.lost(m.Seq, at, now) {
				continue
			}
			if resent == nil {
				resent = map[uint64]time.Time{}
			}
			resent[m.Seq] = at
		} else if _, ok := r.recent[m.Seq]; ok {
			continue // consumed since the read
		} else if _, ok := r.deleting[m.Seq]; ok {
			continue // sent; its deletion is on its way
		} else if r.retain[m.Topic] && !r.admit(m.Seq, false) {
			continue // held back: the window is full
		}
		if r.retain[m.Topic] {
			r.sentAt[m.Seq] = now
		}
		due = append(due, m)
	}
	return due, resent
}

// admit reports whether the retained message seq, not sent yet, may be
// sent now: the window has room, and (unless refilling, which sends the
// held messages in order) no earlier retained message is held back. When
// it may not, it notes seq as held if it is the lowest. r.mu is held.
func (r *Relay) admit(seq uint64, refilling bool) bool {
	if r.opts.Window <= 0 {
		return true
	}
	if !refilling && r.held != 0 && seq >= r.held {
		return false
	}
	if len(r.sentAt) < r.opts.Window {
		return true
	}
	if r.held == 0 || seq < r.held || refilling {
		r.held = seq
	}
	return false
}

// refill sends held-back retained messages, in outbox order, while the
// window has room. Reaching the end of the outbox, nothing is held any
// more; r.passMu is held.
func (r *Relay) refill(ctx context.Context, now time.Time) error {
	r.mu.Lock()
	from, room := r.held, r.roomy()
	r.mu.Unlock()
	if from == 0 || !room {
		return nil
	}
	after := from - 1
	for {
		page, err := r.read(ctx, after)
		if err != nil {
			return err
		}
		due, stopped := page[:0:0], false
		r.mu.Lock()
		for _, m := range page {
			if !r.retain[m.Topic] {
				continue // the passes from the cursor send these
			}
			if _, ok := r.sentAt[m.Seq]; ok {
				continue
			}
			if _, ok := r.recent[m.Seq]; ok {
				continue // consumed since the read
			}
			if !r.admit(m.Seq, true) {
				stopped = true
				break
			}
			r.sentAt[m.Seq] = now
			due = append(due, m)
		}
		if !stopped && len(page) < r.opts.PageSize {
			r.held = 0 // all sent: nothing waits any more
		}
		r.mu.Unlock()
		if err := r.send(ctx, due, nil); err != nil {
			return err
		}
		if stopped || len(page) < r.opts.PageSize {
			return nil
		}
		after = page[len(page)-1].Seq
	}
}

// Consumed tells the relay that the consumer of a retained topic has
// consumed the message with outbox sequence number seq (and deleted it
// from the outbox): it no longer counts against the window, and it shows
// that the consumer is making progress (see lost), and a pass that read it
// before it was consumed does not send it again. It never blocks on the
// relay's work.
func (r *Relay) Consumed(seq uint64) {
	now := r.opts.Now()
	r.mu.Lock()
	r.recent[seq] = struct{}{}
	at, ok := r.sentAt[seq]
	if ok {
		r.consumed(seq, at, now)
	}
	wake := ok && r.held != 0 && r.roomy()
	r.mu.Unlock()
	if wake {
		r.Notify()
	}
}

// roomy reports whether a good part of the window is free (an eighth):
// held messages are refilled then, not at every message consumed, since a
// refill reads the outbox from the first one held. r.mu is held.
func (r *Relay) roomy() bool {
	return len(r.sentAt) <= r.opts.Window-max(1, r.opts.Window/8)
}

// consumed forgets the retained message seq, sent at, and notes the
// consumer's progress. r.mu is held.
func (r *Relay) consumed(seq uint64, at, now time.Time) {
	delete(r.sentAt, seq)
	if sentBefore(r.consumedSent, r.consumedSeq, at, seq) {
		r.consumedSent, r.consumedSeq = at, seq
	}
	r.progressAt = now
}

// forgetConsumed drops the bookkeeping of retained messages that are no
// longer in the outbox (their consumer deleted them), and notes the
// consumer's progress. Messages in the range a full pass skipped
// [skipLo, skipHi] are left alone.
func (r *Relay) forgetConsumed(present map[uint64]bool, skipLo, skipHi uint64, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for seq, at := range r.sentAt {
		if !present[seq] && (seq < skipLo || seq > skipHi) {
			r.consumed(seq, at, now)
		}
	}
}

// lost reports whether the retained message seq, sent at and still in the
// outbox at now, is to be taken for lost and sent again: it has waited
// ResendAfter, and either the consumer has since consumed a message sent
// after it, or the consumer has consumed nothing for ResendAfter. A
// message merely queued behind a backlog that the consumer is working
// through is not lost: sending it again would only add a copy to the
// backlog, and under a sustained overload every copy would in turn wait
// ResendAfter and be copied again. r.mu is held.
func (r *Relay) lost(seq uint64, at, now time.Time) bool {
	if now.Sub(at) < r.opts.ResendAfter {
		return false
	}
	return sentBefore(at, seq, r.consumedSent, r.consumedSeq) || now.Sub(r.progressAt) >= r.opts.ResendAfter
}

// sentBefore reports whether the message seq sent at was sent before the
// message seq2 sent at2: by send time, then (one pass sends at about the
// same time) by seq. A resent message counts from its last send.
func sentBefore(at time.Time, seq uint64, at2 time.Time, seq2 uint64) bool {
	return at.Before(at2) || at.Equal(at2) && seq < seq2
}

// send sends ms and queues the ones of topics that are not retained for
// deletion (queueDeletes). Messages with the same topic and key (the SKU)
// are sent one after the other in outbox order, each Send returning
// before the next starts, with the key as the bus's ordering or partition
// key (pubsub.OrderingKey), so that a bus that orders by key delivers them
// in ledger order. Different keys go out concurrently, up to
// Options.Parallel. When a send fails, the later messages of its key are
// not sent in this pass: they wait for the next one, behind the failed
// message.
func (r *Relay) send(ctx context.Context, ms []store.Message, resent map[uint64]time.Time) error {
	if len(ms) == 0 {
		return nil
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		done     []uint64
	)
	fail := func(err error, unsent []store.Message) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, m := range unsent {
			if !r.retain[m.Topic] {
				continue
			}
			if at, ok := resent[m.Seq]; ok {
				if _, still := r.sentAt[m.Seq]; still {
					r.sentAt[m.Seq] = at // the last send may still arrive
				}
				continue
			}
			delete(r.sentAt, m.Seq) // picked, not sent: due again
		}
	}
	// Parallel workers, each taking chain after chain: a goroutine per
	// chain would grow a fresh stack for every one (gocloud's Send and its
	// tracing go deep).
	sent := func(m *store.Message) {
		if r.retain[m.Topic] {
			return // kept until consumed; pick marked it sent
		}
		mu.Lock()
		defer mu.Unlock()
		done = append(done, m.Seq)
	}
	cs := chains(ms)
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(cs) {
				return
			}
			r.sendChain(ctx, cs[i], fail, sent)
		}
	}
	for range min(r.opts.Parallel, len(cs)) {
		wg.Go(work)
	}
	wg.Wait()
	r.queueDeletes(done)
	return firstErr
}

// sendChain sends one chain's messages in order, calling sent after each;
// at the first failure it reports it with the messages not sent, which
// wait for a later pass.
func (r *Relay) sendChain(ctx context.Context, chain []store.Message, fail func(error, []store.Message), sent func(*store.Message)) {
	t, ok := r.topics[chain[0].Topic]
	if !ok {
		// A bug, not a bus failure: keep the messages, send the rest.
		fail(fmt.Errorf("relay: outbox message %d names unknown topic %q", chain[0].Seq, chain[0].Topic), chain)
		return
	}
	for i := range chain {
		m := &chain[i]
		err := t.Send(ctx, &gcpubsub.Message{
			Body: m.Body,
			Metadata: map[string]string{
				store.MetaOutboxSeq: strconv.FormatUint(m.Seq, 10),
				store.MetaKey:       m.Key,
				MetaEventID:         m.EventID,
			},
			BeforeSend: pubsub.OrderingKey(m.Key),
		})
		if err != nil {
			fail(fmt.Errorf("relay: send %d to %s: %w", m.Seq, m.Topic, err), chain[i:])
			return
		}
		sent(m)
	}
}

// queueDeletes hands sent messages to flushDeletes.
func (r *Relay) queueDeletes(seqs []uint64) {
	if len(seqs) == 0 {
		return
	}
	r.delMu.Lock()
	r.toDelete = append(r.toDelete, seqs...)
	for _, seq := range seqs {
		r.deleting[seq] = struct{}{}
	}
	r.delMu.Unlock()
	select {
	case r.delWake <- struct{}{}:
	default:
	}
}

// flushDeletes deletes the queued messages from the outbox. Those it could
// not delete stay queued for the next flush, and passes keep skipping them.
func (r *Relay) flushDeletes(ctx context.Context) error {
	r.delMu.Lock()
	seqs := r.toDelete
	r.toDelete = nil
	r.delMu.Unlock()
	if len(seqs) == 0 {
		return nil
	}
	err := r.st.DeleteOutbox(ctx, seqs)
	r.delMu.Lock()
	defer r.delMu.Unlock()
	if err != nil && !errors.Is(err, store.ErrClosed) {
		r.toDelete = append(r.toDelete, seqs...)
		return fmt.Errorf("relay: delete %d sent messages: %w", len(seqs), err)
	}
	for _, seq := range seqs {
		delete(r.deleting, seq)
	}
	return nil
}

// deleteGather is how long deleteLoop waits after a pass queues deletions
// for more to join them.
const deleteGather = 5 * time.Millisecond

// deleteLoop runs flushDeletes shortly after a pass queues deletions, and
// once more when ctx is done, until then retrying failed ones every poll.
func (r *Relay) deleteLoop(ctx context.Context) {
	t := time.NewTicker(r.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = r.flushDeletes(context.WithoutCancel(ctx))
			return
		case <-r.delWake:
			// Let the next passes' deletions join, then delete them in
			// one write.
			time.Sleep(deleteGather)
		case <-t.C:
		}
		if err := r.flushDeletes(ctx); err != nil && ctx.Err() == nil {
			r.opts.Logger.Warn("outbox relay could not delete sent messages; retrying", "err", err)
		}
	}
}

// chains splits ms into runs of one topic and key, each in the order of ms
// (outbox order). A message without a key is a run of its own.
func chains(ms []store.Message) [][]store.Message {
	type topicKey struct{ topic, key string }
	var out [][]store.Message
	at := map[topicKey]int{}
	for _, m := range ms {
		if m.Key == "" {
			out = append(out, []store.Message{m})
			continue
		}
		k := topicKey{m.Topic, m.Key}
		if i, ok := at[k]; ok {
			out[i] = append(out[i], m)
			continue
		}
		at[k] = len(out)
		out = append(out, []store.Message{m})
	}
	return out
}
