package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// idle is the gateway's memory per idle subscriber: what connecting the
// subscribers added, divided by their number. A field is -1 when it was
// not measured.
type idle struct {
	Subscribers int
	RSS         float64 // bytes per subscriber
	Heap        float64 // heap in use after a collection, bytes per subscriber
	Live        float64 // heap allocated (live objects) after a collection
	Stack       float64 // goroutine stacks, bytes per subscriber
	Goroutines  float64 // per subscriber
	Before      memory
	After       memory
}

func idleMemory(before, after memory, n int) idle {
	per := func(a, b int64) float64 {
		if a < 0 || b < 0 || n == 0 {
			return -1
		}
		return float64(b-a) / float64(n)
	}
	return idle{
		Subscribers: n,
		RSS:         per(before.RSS, after.RSS),
		Heap:        per(before.HeapInuse, after.HeapInuse),
		Live:        per(before.HeapAlloc, after.HeapAlloc),
		Stack:       per(before.StackInuse, after.StackInuse),
		Goroutines:  per(before.Goroutines, after.Goroutines),
		Before:      before, After: after,
	}
}

// subsReport is a subscription run's result.
type subsReport struct {
	cfg   config
	RunID string

	OwnFDLimit     uint64
	GatewayFDLimit int64
	ConnectTime    time.Duration
	Idle           idle

	SendTime, DrainTime      time.Duration
	Sent, Accepted, Rejected int64
	Lost, Late               int64
	Codes                    map[int]int64
	FirstErr                 string

	Delivered      int64
	Expected       int64 // Σ accepted webhooks × watchers of their SKU
	DeliveryWindow time.Duration
	Counts         counts
	Latency        dist
	BySecond       []dist // by the second of the run the webhook was sent in
	LedgerLatency  dist
	Caught         bool

	HeapProfile string

	Acks    dist
	CPU     *cpuWindow // traffic and drain
	Profile string

	Pairs, Mismatches int64
	LedgerDisagrees   int64
	Examples          []string
}

func kib(b float64) string {
	if b < 0 {
		return "not measured"
	}
	return fmt.Sprintf("%.1f KiB", b/1024)
}

func mib(b int64) string {
	if b < 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

func (r *subsReport) write(w io.Writer) {
	c := r.cfg
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("run %s: %d subscribers × %d SKUs of %d at %q (graphql-transport-ws, cursor %v), connected in %v",
		r.RunID, c.Subscribers, c.PerSub, c.SKUs, c.Location, c.Cursor, r.ConnectTime.Round(time.Millisecond))
	gwLimit := "not checked"
	if r.GatewayFDLimit != 0 {
		gwLimit = fmt.Sprint(r.GatewayFDLimit)
	}
	p("open-file limits: this process %d, gateway %s", r.OwnFDLimit, gwLimit)
	m := r.Idle
	p("memory per idle subscriber: RSS %s, heap in use %s (live %s), stacks %s, %.2f goroutines",
		kib(m.RSS), kib(m.Heap), kib(m.Live), kib(m.Stack), m.Goroutines)
	p("  gateway before → after: RSS %s → %s, heap in use %s → %s, stacks %s → %s, goroutines %d → %d",
		mib(m.Before.RSS), mib(m.After.RSS), mib(m.Before.HeapInuse), mib(m.After.HeapInuse),
		mib(m.Before.StackInuse), mib(m.After.StackInuse), m.Before.Goroutines, m.After.Goroutines)
	if r.HeapProfile != "" {
		p("  gateway heap profile with the subscribers idle: %s (go tool pprof -sample_index inuse_space -top %s)", r.HeapProfile, r.HeapProfile)
	}
	if r.SendTime == 0 {
		return
	}
	p("webhooks: %d sent in %v (%.1f/s, target %v/s), %d accepted, %d rejected %v, %d without answer, %d late",
		r.Sent, r.SendTime.Round(time.Millisecond), float64(r.Sent)/r.SendTime.Seconds(), c.Rate, r.Accepted, r.Rejected, codes(r.Codes), r.Lost, r.Late)
	if r.FirstErr != "" {
		p("  first failure: %s", r.FirstErr)
	}
	p("  ack latency (request to 200): %v", r.Acks)
	rate := 0.0
	if r.DeliveryWindow > 0 {
		rate = float64(r.Delivered) / r.DeliveryWindow.Seconds()
	}
	p("deliveries: %d in %v = %.1f/s; expected %d (accepted webhooks × watchers); %d values coalesced away, %d deliveries marked coalesced",
		r.Delivered, r.DeliveryWindow.Round(time.Millisecond), rate, r.Expected, r.Counts.Skipped, r.Counts.Flagged)
	if r.Counts.Repeats+r.Counts.Unexpected+r.Counts.Unmatched > 0 {
		p("  repeats %d, unexpected %d, untimed (SKU had a webhook without answer) %d", r.Counts.Repeats, r.Counts.Unexpected, r.Counts.Unmatched)
	}
	p("latency webhook → subscriber: %v", r.Latency)
	if len(r.BySecond) > 1 {
		var b strings.Builder
		for i, d := range r.BySecond {
			fmt.Fprintf(&b, " %d: %v", i, ms(d.quantile(0.99)))
		}
		p("  p99 by second of sending:%s", b.String())
	}
	p("latency ledger → subscriber (recordedAt): %v", r.LedgerLatency)
	caught := "every subscriber caught up"
	if !r.Caught {
		caught = fmt.Sprintf("NOT every subscriber caught up within -drain %v", c.Drain)
	}
	p("drain: %s, %v after the last send", caught, r.DrainTime.Round(time.Millisecond))
	if w := r.CPU; w != nil {
		line := fmt.Sprintf("CPU over %v of traffic and drain: %v", w.Wall.Round(time.Millisecond), w)
		if w.pid && r.Accepted > 0 {
			line += fmt.Sprintf("; gateway %.0f µs per accepted webhook with its deliveries", float64(w.Gateway.Microseconds())/float64(r.Accepted))
		}
		p("%s", line)
	}
	if r.Profile != "" {
		p("gateway CPU profile: %s (go tool pprof -top %s)", r.Profile, r.Profile)
	}
	p("last values against the ledger: %d mismatches of %d subscriber×SKU pairs; ledger committed ≠ accepted webhooks for %d SKUs",
		r.Mismatches, r.Pairs, r.LedgerDisagrees)
	for _, e := range r.Examples {
		p("  %s", e)
	}
}

func codes(m map[int]int64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d×%d", m[k], k))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
