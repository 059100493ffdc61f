package bustest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/relay"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

// relayTopic is the outbox topic name the relay scenario uses.
const relayTopic = "availability"

// relayOrder: the gateway's own sender, end to end. Availability-like
// messages for numKeys SKUs are written to a memstore outbox interleaved,
// as a busy ledger writes them; a running relay.Relay (128 sends in
// flight) publishes them to the backend's topic, and one Receive loop
// reads them. Every message must arrive with the relay's metadata (the SKU
// and the outbox sequence number), and the outbox must empty. With
// OrderedByKey, each SKU's first deliveries must come in outbox order: the
// relay sends a SKU's messages one after the other with the SKU as the
// ordering or partition key. Without, the inversions are reported and the
// scenario is skipped.
func relayOrder(ctx context.Context, t *testing.T, e *env) {
	st := store.New(memstore.New(nil))
	t.Cleanup(func() { st.Close() })
	top := e.topic(ctx)
	sub := e.subscribe(ctx, "g")

	// Outbox order: round i holds message i of every key.
	total := numKeys * perKey
	for i := range perKey {
		for k := range numKeys {
			id := fmt.Sprintf("%s.relay.%d.%d", e.prefix, k, i)
			if err := st.Accept(ctx, store.Acceptance{Messages: []store.Message{{
				Topic: relayTopic, EventID: id, Body: []byte(id), Key: keyName(k),
			}}}); err != nil {
				t.Fatalf("Accept: %v", err)
			}
		}
	}
	r := relay.New(st, map[string]*pubsub.Topic{relayTopic: top}, &relay.Options{
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	rctx, stopRelay := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.Run(rctx) })
	defer func() { stopRelay(); wg.Wait() }()

	start := time.Now()
	seen := map[string]bool{}
	last := map[string]int{}
	var inversions []string
	redeliveries := 0
	recvCtx, cancel := context.WithTimeout(ctx, deliverWithin)
	defer cancel()
	for len(seen) < total {
		m, err := sub.Receive(recvCtx)
		if err != nil {
			t.Fatalf("Receive after %d of %d messages: %v", len(seen), total, err)
		}
		m.Ack()
		id := string(m.Body)
		var k, i int
		if _, err := fmt.Sscanf(strings.TrimPrefix(id, e.prefix), ".relay.%d.%d", &k, &i); err != nil || !strings.HasPrefix(id, e.prefix) {
			t.Fatalf("delivery with body %q: not a message of this scenario", id)
		}
		key := keyName(k)
		if got := m.Metadata[KeyMeta]; got != key {
			t.Errorf("delivery %s: metadata %q = %q, want %q", id, KeyMeta, got, key)
		}
		if m.Metadata[store.MetaOutboxSeq] == "" {
			t.Errorf("delivery %s: no metadata %q", id, store.MetaOutboxSeq)
		}
		if seen[id] {
			redeliveries++
			continue
		}
		seen[id] = true
		if l, ok := last[key]; ok && i < l {
			inversions = append(inversions, fmt.Sprintf("%s #%d after #%d", key, i, l))
		}
		last[key] = max(last[key], i)
	}
	var left []store.Message
	if !waitFor(ctx, 5*time.Second, func() bool {
		var err error
		left, err = st.Outbox(ctx, 0, total)
		return err == nil && len(left) == 0
	}) {
		t.Errorf("%d relayed messages are still in the outbox", len(left))
	}
	measured := fmt.Sprintf("%d of %d first deliveries came before an earlier message of their key (%d redeliveries), all received in %v",
		len(inversions), total, redeliveries, time.Since(start).Round(time.Millisecond))
	if !e.caps.OrderedByKey {
		t.Skipf("not OrderedByKey; measured through the relay: %s", measured)
	}
	if len(inversions) > 0 {
		t.Errorf("order per key broken through the relay: %s, e.g. %s", measured, strings.Join(inversions[:min(5, len(inversions))], "; "))
	}
	t.Log(measured)
}
