package bustest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"gocloud.dev/pubsub"

	sgpubsub "github.com/stockgate/stockgate/pubsub"
)

// env is what a scenario works with: the backend, its promises, and a
// prefix that makes the scenario's message ids unique.
type env struct {
	t      testing.TB
	b      Backend
	caps   Capabilities
	prefix string
}

func newEnv(t testing.TB, b Backend) *env {
	return &env{t: t, b: b, caps: b.Capabilities(), prefix: uniquePrefix()}
}

// message returns a message to send with key, which it makes the bus's
// ordering or partition key as the relay does (stockgate's
// pubsub.OrderingKey): backends open their topics without key settings of
// their own, so per-key order on Kafka and Pub/Sub is the hook's doing.
func (e *env) message(key string, body []byte, md map[string]string) *pubsub.Message {
	return &pubsub.Message{Body: body, Metadata: md, BeforeSend: sgpubsub.OrderingKey(key)}
}

// topic opens the backend's topic, shut down when the test ends.
func (e *env) topic(ctx context.Context) *pubsub.Topic {
	e.t.Helper()
	top, err := e.b.OpenTopic(ctx)
	if err != nil {
		e.t.Fatalf("OpenTopic: %v", err)
	}
	e.t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = top.Shutdown(sctx)
	})
	return top
}

// subscribe opens a subscription in group, shut down when the test ends
// (ignoring the error: it may have crashed or been shut down already).
func (e *env) subscribe(ctx context.Context, group string) *pubsub.Subscription {
	e.t.Helper()
	sub, err := e.b.OpenSubscription(ctx, group)
	if err != nil {
		e.t.Fatalf("OpenSubscription(%q): %v", group, err)
	}
	e.t.Cleanup(func() { shutdown(sub) })
	return sub
}

func shutdown(sub *pubsub.Subscription) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = sub.Shutdown(ctx)
}

// sent describes one message the suite sent.
type sent struct {
	id  string
	key string
	seq int // position among its key's messages, from 0
}

// keyName returns the i-th key of a scenario: a SKU-like string.
func keyName(i int) string { return fmt.Sprintf("SKU-%03d", i) }

// plan names perKey messages on each of keys keys, key by key.
func (e *env) plan(tag string, keys, perKey int) []sent {
	all := make([]sent, 0, keys*perKey)
	for k := range keys {
		for i := range perKey {
			all = append(all, sent{id: fmt.Sprintf("%s.%s.%d.%d", e.prefix, tag, k, i), key: keyName(k), seq: i})
		}
	}
	return all
}

// sendAll sends a plan: one goroutine per key sends that key's messages
// one after the other, so each key's send order is defined while keys
// interleave and share batches.
func (e *env) sendAll(ctx context.Context, top *pubsub.Topic, plan []sent) error {
	byKey := map[string][]sent{}
	for _, s := range plan {
		byKey[s.key] = append(byKey[s.key], s)
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, ss := range byKey {
		wg.Go(func() {
			for _, s := range ss {
				if err := e.send(ctx, top, s); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("send %s: %w", s.id, err))
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sendKeyed sends a plan of perKey messages on each of keys keys and
// returns it.
func (e *env) sendKeyed(ctx context.Context, top *pubsub.Topic, tag string, keys, perKey int) []sent {
	e.t.Helper()
	plan := e.plan(tag, keys, perKey)
	if err := e.sendAll(ctx, top, plan); err != nil {
		e.t.Fatal(err)
	}
	return plan
}

// sendInBackground sends plan while the caller receives. The returned
// context is canceled if a send fails; wait returns the send error.
func (e *env) sendInBackground(ctx context.Context, top *pubsub.Topic, plan []sent) (rctx context.Context, wait func() error) {
	rctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		err := e.sendAll(ctx, top, plan)
		if err != nil {
			cancel()
		}
		errc <- err
	}()
	return rctx, func() error { defer cancel(); return <-errc }
}

func (e *env) send(ctx context.Context, top *pubsub.Topic, s sent) error {
	return top.Send(ctx, e.message(s.key, []byte(s.id), map[string]string{
		KeyMeta: s.key,
		idMeta:  s.id,
		seqMeta: strconv.Itoa(s.seq),
	}))
}

// got is one delivery, parsed.
type got struct {
	sent
	msg *pubsub.Message
}

// parse checks a delivery of a message sendKeyed sent: body and metadata
// must round-trip.
func parse(m *pubsub.Message) (got, error) {
	id := m.Metadata[idMeta]
	if id == "" || string(m.Body) != id {
		return got{}, fmt.Errorf("delivery with body %q and metadata %v: want body == metadata %q", m.Body, m.Metadata, idMeta)
	}
	n, err := strconv.Atoi(m.Metadata[seqMeta])
	if err != nil {
		return got{}, fmt.Errorf("delivery %s: metadata %q: %v", id, seqMeta, err)
	}
	if m.Metadata[KeyMeta] == "" {
		return got{}, fmt.Errorf("delivery %s: metadata %q (the ordering key) is missing: %v", id, KeyMeta, m.Metadata)
	}
	return got{sent: sent{id: id, key: m.Metadata[KeyMeta], seq: n}, msg: m}, nil
}

// consume runs loops concurrent Receive loops on sub and passes every
// delivery to handle, one at a time, until handle returns true. handle
// must ack or nack (or deliberately hold) each message; whatever the loops
// receive after handle returned true is still passed to handle. consume
// returns an error if sub fails, a delivery does not round-trip, or handle
// has not returned true within d. It returns nil early if ctx is canceled
// (not timed out): that is how a caller stops several consumers at once.
func consume(ctx context.Context, sub *pubsub.Subscription, loops int, d time.Duration, handle func(got) bool) error {
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu   sync.Mutex
		done bool
		perr error
		rerr error
		wg   sync.WaitGroup
	)
	for range loops {
		wg.Go(func() {
			for {
				m, err := sub.Receive(rctx)
				if err != nil {
					mu.Lock()
					if rctx.Err() == nil && rerr == nil {
						rerr = err
						cancel()
					}
					mu.Unlock()
					return
				}
				g, err := parse(m)
				mu.Lock()
				if err != nil {
					if perr == nil {
						perr = err
					}
					m.Ack()
				} else if handle(g) && !done {
					done = true
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	switch {
	case perr != nil:
		return perr
	case rerr != nil:
		return fmt.Errorf("Receive: %w", rerr)
	case !done && errors.Is(ctx.Err(), context.Canceled):
		// The caller stopped several consumers at once.
		return nil
	case !done:
		return fmt.Errorf("not done within %v", d)
	}
	return nil
}

// missing lists up to 5 of want's ids not in have.
func missing(want []sent, have map[string]int) string {
	var ids []string
	n := 0
	for _, s := range want {
		if have[s.id] == 0 {
			n++
			if len(ids) < 5 {
				ids = append(ids, s.id)
			}
		}
	}
	slices.Sort(ids)
	return fmt.Sprintf("%d missing, e.g. %v", n, ids)
}
