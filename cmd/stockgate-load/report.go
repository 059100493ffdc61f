package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// report is a run's result, printed as text and, with -json, as one JSON
// object.
type report struct {
	RunID       string  `json:"runId"`
	URL         string  `json:"url"`
	Connector   string  `json:"connector"`
	TargetRate  float64 `json:"targetRate"` // webhooks/s; 0: as fast as possible
	Duration    float64 `json:"durationSeconds"`
	Concurrency int     `json:"concurrency"`
	SKUs        int     `json:"skus"`
	Subscribers int     `json:"subscribers"`

	// WallSeconds runs from the first send to the last answer.
	WallSeconds float64 `json:"wallSeconds"`
	Sent        int64   `json:"sent"`
	// Acked counts 200 answers, duplicates and unmapped included.
	Acked          int64   `json:"acked"`
	AckedPerSecond float64 `json:"ackedPerSecond"`
	Duplicates     int64   `json:"duplicates"`
	Unmapped       int64   `json:"unmapped"`
	// Non200 counts other answers by status code.
	Non200          map[int]int64 `json:"non200"`
	TransportErrors int64         `json:"transportErrors"`
	FirstError      string        `json:"firstError,omitempty"`
	// Late counts paced sends that waited for a free slot or SKU.
	Late       int64   `json:"late"`
	AckLatency latency `json:"ackLatency"`
	// AckFromSchedule is, for paced runs, the latency of the same answers
	// from when each send was due (start + k/rate) rather than from when
	// it went out: it includes the wait for a free slot (and the
	// command's own delay in sending), as a webhook sender that does not
	// wait for earlier answers would see it. Nil without -rate.
	AckFromSchedule *latency `json:"ackFromSchedule,omitempty"`
	// AckSeries splits AckLatency by send time, one window per -interval;
	// empty without -interval.
	AckSeries []window `json:"ackSeries,omitempty"`

	// Delivery is nil without subscribers.
	Delivery *deliveryReport `json:"delivery,omitempty"`
}

// deliveryReport is the webhook → subscriber side of a report.
type deliveryReport struct {
	Latency latency `json:"latency"`
	deliveryCounts
	DrainSeconds float64  `json:"drainSeconds"`
	Errors       []string `json:"subscriberErrors,omitempty"`
}

func (l *load) report(wall time.Duration, subs []*liveSub) *report {
	l.mu.Lock()
	codes := maps.Clone(l.codes)
	firstErr := l.firstErr
	l.mu.Unlock()
	r := &report{
		RunID:           l.runID,
		URL:             l.cfg.URL,
		Connector:       l.cfg.Connector,
		TargetRate:      l.cfg.Rate,
		Duration:        l.cfg.Duration.Seconds(),
		Concurrency:     l.cfg.Concurrency,
		SKUs:            l.cfg.SKUs,
		Subscribers:     l.cfg.Subscribers,
		WallSeconds:     wall.Seconds(),
		Sent:            l.sent.Load(),
		Acked:           l.acked.Load(),
		Duplicates:      l.duplicates.Load(),
		Unmapped:        l.unmapped.Load(),
		Non200:          codes,
		TransportErrors: l.transportErrs.Load(),
		FirstError:      firstErr,
		Late:            l.late.Load(),
		AckLatency:      l.acks.summary(),
		AckSeries:       l.acks.series(l.cfg.Interval),
	}
	if l.cfg.Rate > 0 {
		sched := l.sched.summary()
		r.AckFromSchedule = &sched
	}
	if wall > 0 {
		r.AckedPerSecond = float64(r.Acked) / wall.Seconds()
	}
	if len(subs) > 0 {
		lat, counts := l.track.result()
		d := &deliveryReport{Latency: summarize(lat), deliveryCounts: counts, DrainSeconds: l.cfg.Drain.Seconds()}
		for i, ls := range subs {
			if ls.err != nil {
				d.Errors = append(d.Errors, fmt.Sprintf("subscriber %d: %v", i+1, ls.err))
			}
		}
		r.Delivery = d
	}
	return r
}

// failures lists the non-200 answers and transport errors, such as
// "503×12 401×3, 2 transport errors (first: …)", or "none".
func (r *report) failures() string {
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(r.Non200)) {
		parts = append(parts, fmt.Sprintf("%d×%d", code, r.Non200[code]))
	}
	s := strings.Join(parts, " ")
	if r.TransportErrors > 0 {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%d transport errors", r.TransportErrors)
	}
	if s == "" {
		return "none"
	}
	if r.FirstError != "" {
		s += fmt.Sprintf(" (first: %s)", r.FirstError)
	}
	return s
}

// write prints the report as aligned text.
func (r *report) write(w io.Writer) error {
	rate := "as fast as possible"
	if r.TargetRate > 0 {
		rate = fmt.Sprintf("%g/s", r.TargetRate)
	}
	fmt.Fprintf(w, "stockgate-load run %s → %s (connector %s)\n", r.RunID, r.URL, r.Connector)
	fmt.Fprintf(w, "  rate %s for %gs, concurrency %d, %d SKUs, %d subscriber(s)\n",
		rate, r.Duration, r.Concurrency, r.SKUs, r.Subscribers)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(label, format string, args ...any) {
		fmt.Fprintf(tw, "  %s\t%s\n", label, fmt.Sprintf(format, args...))
	}
	if r.TargetRate > 0 {
		line("sent", "%d (%d late: waited for a free slot)", r.Sent, r.Late)
	} else {
		line("sent", "%d", r.Sent)
	}
	acked := fmt.Sprintf("%d  %.1f/s over %.3fs", r.Acked, r.AckedPerSecond, r.WallSeconds)
	if r.Duplicates > 0 || r.Unmapped > 0 {
		acked += fmt.Sprintf(" (%d duplicate, %d unmapped)", r.Duplicates, r.Unmapped)
	}
	line("acked (200)", "%s", acked)
	line("failed", "%s", r.failures())
	line("ack latency", "%v", r.AckLatency)
	if r.AckFromSchedule != nil {
		line("from schedule", "%v (from when each send was due: the wait for a slot included)", *r.AckFromSchedule)
	}
	for _, w := range r.AckSeries {
		line(fmt.Sprintf("  sent at %vs", w.From.Seconds()), "%d acked  %v", w.Count, w.latency)
	}
	if d := r.Delivery; d != nil {
		line("to subscriber", "%v", d.Latency)
		line("changes", "%d matched, %d coalesced, %d missing after %gs drain",
			d.Latency.Count, d.Coalesced, d.Missing, d.DrainSeconds)
		if d.Unmatched+d.Unexpected+d.Repeats > 0 {
			line("", "%d unmatched (SKU had a request without answer), %d unexpected, %d repeats",
				d.Unmatched, d.Unexpected, d.Repeats)
		}
		for _, e := range d.Errors {
			line("subscriber error", "%s", e)
		}
	}
	return tw.Flush()
}
