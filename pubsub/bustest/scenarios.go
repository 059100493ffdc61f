package bustest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/pubsub"
)

// scenario is one property of a bus, checked against a fresh Backend.
type scenario struct {
	name string
	// needs returns why the scenario does not apply to a backend with
	// these capabilities, or "" if it does. nil: it always applies.
	needs func(Capabilities) string
	run   func(ctx context.Context, t *testing.T, e *env)
}

var scenarios = []scenario{
	{"AtLeastOnce", nil, atLeastOnce},
	{"NackRedelivers", nil, nackRedelivers},
	{"RedeliveryAfterCrash", needDurable, redeliveryAfterCrash},
	{"OrderPerKey", nil, orderPerKey},
	{"RelayOrderPerKey", nil, relayOrder},
	{"CompetingConsumers", nil, competingConsumers},
	{"FanOut", needFanOut, fanOut},
	{"LateGroup", needFanOut, lateGroup},
	{"Ledger", nil, func(ctx context.Context, t *testing.T, e *env) { runLedger(ctx, t, e, false) }},
	{"LedgerAfterCrash", needDurable, func(ctx context.Context, t *testing.T, e *env) { runLedger(ctx, t, e, true) }},
}

func needDurable(c Capabilities) string {
	if !c.Durable {
		return "not Durable: unacked messages die with their subscription"
	}
	return ""
}

func needFanOut(c Capabilities) string {
	if !c.FanOut {
		return "no FanOut: all groups share one queue"
	}
	return ""
}

// The sizes of the keyed scenarios.
const (
	numKeys   = 20
	perKey    = 25 // numKeys*perKey = 500 messages
	recvLoops = 4
)

// atLeastOnce: every message sent is received, with its metadata, while
// the sends are still going on.
func atLeastOnce(ctx context.Context, t *testing.T, e *env) {
	top := e.topic(ctx)
	sub := e.subscribe(ctx, "g")
	plan := e.plan("alo", numKeys, perKey)
	want := make(map[string]sent, len(plan))
	for _, s := range plan {
		want[s.id] = s
	}
	start := time.Now()
	rctx, wait := e.sendInBackground(ctx, top, plan)
	seen := map[string]int{}
	deliveries := 0
	err := consume(rctx, sub, recvLoops, deliverWithin, func(g got) bool {
		g.msg.Ack()
		deliveries++
		if w, ok := want[g.id]; !ok || w != g.sent {
			t.Errorf("delivery %+v: sent as %+v (found %v)", g.sent, w, ok)
		}
		seen[g.id]++
		return len(seen) == len(want)
	})
	if serr := wait(); serr != nil {
		t.Fatal(serr)
	}
	if err != nil {
		t.Fatalf("%v; %s", err, missing(plan, seen))
	}
	t.Logf("%d messages over %d keys: all received in %v, %d deliveries (%d redeliveries)",
		len(plan), numKeys, time.Since(start).Round(time.Millisecond), deliveries, deliveries-len(plan))
}

// nackRedelivers: a nacked message comes back. Without Nack, the suite
// checks that Nackable says so, since Nack would panic.
func nackRedelivers(ctx context.Context, t *testing.T, e *env) {
	top := e.topic(ctx)
	sub := e.subscribe(ctx, "g")
	plan := e.sendKeyed(ctx, top, "nack", 1, 5)
	if !e.caps.Nack {
		err := consume(ctx, sub, 1, deliverWithin, func(g got) bool {
			if g.msg.Nackable() {
				t.Errorf("Nackable reports true; Capabilities.Nack says false")
			}
			g.msg.Ack()
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Skip("no Nack: Message.Nackable reports false, as declared")
	}
	start := time.Now()
	nacked := map[string]bool{}
	back := map[string]int{}
	err := consume(ctx, sub, 1, e.caps.AckDeadline+deliverWithin, func(g got) bool {
		if !g.msg.Nackable() {
			t.Errorf("Nackable reports false; Capabilities.Nack says true")
			g.msg.Ack()
			back[g.id]++
		} else if !nacked[g.id] {
			nacked[g.id] = true
			g.msg.Nack()
		} else {
			back[g.id]++
			g.msg.Ack()
		}
		return len(back) == len(plan)
	})
	if err != nil {
		t.Fatalf("%v; nacked %d, back %d", err, len(nacked), len(back))
	}
	t.Logf("%d nacked messages all came back within %v", len(plan), time.Since(start).Round(time.Millisecond))
}

// redeliveryAfterCrash: what a crashed subscription received and did not
// ack reaches the next subscription of its group.
func redeliveryAfterCrash(ctx context.Context, t *testing.T, e *env) {
	top := e.topic(ctx)
	sub1 := e.subscribe(ctx, "g")
	plan := e.sendKeyed(ctx, top, "crash", 3, 4)

	// Ack three, hold three (received, neither acked nor nacked), crash.
	acked := map[string]bool{}
	var held []*pubsub.Message
	n := 0
	err := consume(ctx, sub1, 1, deliverWithin, func(g got) bool {
		n++
		if n <= 3 {
			g.msg.Ack()
			acked[g.id] = true
		} else {
			held = append(held, g.msg)
		}
		return n >= 6
	})
	if err != nil {
		t.Fatalf("first subscription: %v (%d received)", err, n)
	}
	heldIDs := make([]string, len(held))
	for i, m := range held {
		heldIDs[i] = m.Metadata[idMeta]
	}
	if err := e.b.Crash(ctx, sub1); err != nil {
		t.Fatalf("Crash: %v", err)
	}
	crashed := time.Now()
	// sub1 is gone: these acks reach no broker, and keep gocloud from
	// logging that the messages were never acked.
	shutdown(sub1)
	for _, m := range held {
		m.Ack()
	}

	sub2 := e.subscribe(ctx, "g")
	var need []sent
	for _, s := range plan {
		if !acked[s.id] {
			need = append(need, s)
		}
	}
	seen := map[string]int{}
	ackedAgain := 0
	left := len(need)
	err = consume(ctx, sub2, 2, e.caps.AckDeadline+redeliveryMargin, func(g got) bool {
		g.msg.Ack()
		if acked[g.id] {
			ackedAgain++
		}
		if seen[g.id] == 0 && !acked[g.id] {
			left--
		}
		seen[g.id]++
		return left == 0
	})
	if err != nil {
		t.Fatalf("after the crash, the next subscription in the group: %v; %s (held %v)", err, missing(need, seen), heldIDs)
	}
	t.Logf("held %d, crashed; all %d unacked messages redelivered within %v (%d acked ones came again)",
		len(held), len(need), time.Since(crashed).Round(time.Millisecond), ackedAgain)
}

// orderPerKey: one Receive loop sees each key's messages in send order,
// counting first deliveries, while 20 keys are sent concurrently.
func orderPerKey(ctx context.Context, t *testing.T, e *env) {
	top := e.topic(ctx)
	sub := e.subscribe(ctx, "g")
	plan := e.plan("order", numKeys, perKey)
	rctx, wait := e.sendInBackground(ctx, top, plan)
	seen := map[string]int{}
	last := map[string]int{}
	var inversions []string
	redeliveries := 0
	err := consume(rctx, sub, 1, deliverWithin, func(g got) bool {
		g.msg.Ack()
		if seen[g.id] > 0 {
			redeliveries++
			seen[g.id]++
			return false
		}
		seen[g.id] = 1
		if l, ok := last[g.key]; ok && g.seq < l {
			inversions = append(inversions, fmt.Sprintf("%s #%d after #%d", g.key, g.seq, l))
		}
		last[g.key] = max(last[g.key], g.seq)
		return len(seen) == len(plan)
	})
	if serr := wait(); serr != nil {
		t.Fatal(serr)
	}
	if err != nil {
		t.Fatalf("%v; %s", err, missing(plan, seen))
	}
	measured := fmt.Sprintf("%d of %d first deliveries came before an earlier message of their key (%d redeliveries)",
		len(inversions), len(plan), redeliveries)
	if !e.caps.OrderedByKey {
		t.Skipf("not OrderedByKey; measured: %s", measured)
	}
	if len(inversions) > 0 {
		t.Errorf("order per key broken: %s, e.g. %s", measured, strings.Join(inversions[:min(5, len(inversions))], "; "))
	}
	t.Log(measured)
}

// competingConsumers: two subscriptions in one group share its messages;
// between them they receive every message.
func competingConsumers(ctx context.Context, t *testing.T, e *env) {
	top := e.topic(ctx)
	subs := []*pubsub.Subscription{e.subscribe(ctx, "g"), e.subscribe(ctx, "g")}
	plan := e.plan("compete", 10, 10)
	rctx, wait := e.sendInBackground(ctx, top, plan)
	cctx, stop := context.WithCancel(rctx)
	defer stop()
	var (
		mu    sync.Mutex
		union = map[string]int{}
		by    = []map[string]int{{}, {}}
	)
	errs := make([]error, len(subs))
	var wg sync.WaitGroup
	for i, sub := range subs {
		wg.Go(func() {
			errs[i] = consume(cctx, sub, 2, deliverWithin, func(g got) bool {
				g.msg.Ack()
				mu.Lock()
				defer mu.Unlock()
				by[i][g.id]++
				union[g.id]++
				if len(union) == len(plan) {
					stop()
					return true
				}
				return false
			})
		})
	}
	wg.Wait()
	if serr := wait(); serr != nil {
		t.Fatal(serr)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("subscription %d: %v; %s", i, err, missing(plan, union))
		}
	}
	if len(union) != len(plan) {
		t.Fatalf("%s", missing(plan, union))
	}
	both := 0
	for id := range by[0] {
		if by[1][id] > 0 {
			both++
		}
	}
	if subs[0] != subs[1] && both == len(plan) {
		t.Errorf("both subscriptions of one group received every message: the group fans out instead of sharing")
	}
	t.Logf("%d messages: %d to the first subscription, %d to the second, %d to both", len(plan), len(by[0]), len(by[1]), both)
}

// fanOut: two groups each receive every message.
func fanOut(ctx context.Context, t *testing.T, e *env) {
	top := e.topic(ctx)
	groups := []string{"a", "b"}
	subs := make([]*pubsub.Subscription, len(groups))
	for i, g := range groups {
		subs[i] = e.subscribe(ctx, g)
	}
	plan := e.sendKeyed(ctx, top, "fan", 4, 5)
	for i, sub := range subs {
		seen := map[string]int{}
		err := consume(ctx, sub, 2, deliverWithin, func(g got) bool {
			g.msg.Ack()
			seen[g.id]++
			return len(seen) == len(plan)
		})
		if err != nil {
			t.Fatalf("group %q: %v; %s", groups[i], err, missing(plan, seen))
		}
	}
}

// lateGroup: whether a group opened after messages were sent receives
// them is as LateGroupSeesBacklog says.
func lateGroup(ctx context.Context, t *testing.T, e *env) {
	top := e.topic(ctx)
	a := e.subscribe(ctx, "a")
	old := e.sendKeyed(ctx, top, "old", 2, 5)
	seen := map[string]int{}
	if err := consume(ctx, a, 1, deliverWithin, func(g got) bool {
		g.msg.Ack()
		seen[g.id]++
		return len(seen) == len(old)
	}); err != nil {
		t.Fatalf("group a: %v; %s", err, missing(old, seen))
	}

	b := e.subscribe(ctx, "late")
	marker := e.sendKeyed(ctx, top, "new", 1, 1)[0]
	isOld := map[string]bool{}
	for _, s := range old {
		isOld[s.id] = true
	}
	seenOld := map[string]int{}
	gotMarker := false
	handle := func(g got) bool {
		g.msg.Ack()
		switch {
		case g.id == marker.id:
			gotMarker = true
		case isOld[g.id]:
			seenOld[g.id]++
		}
		if e.caps.LateGroupSeesBacklog {
			return gotMarker && len(seenOld) == len(old)
		}
		return gotMarker
	}
	if err := consume(ctx, b, 1, deliverWithin, handle); err != nil {
		t.Fatalf("late group: %v (marker received: %v); %s", err, gotMarker, missing(old, seenOld))
	}
	if e.caps.LateGroupSeesBacklog {
		t.Logf("the late group received all %d earlier messages", len(old))
		return
	}
	// Give stragglers a moment: the marker may have overtaken them.
	_ = consume(ctx, b, 1, time.Second, func(g got) bool { handle(g); return false })
	if len(seenOld) > 0 {
		t.Errorf("the late group received %d of %d messages sent before it opened; LateGroupSeesBacklog says it would not", len(seenOld), len(old))
	}
}
