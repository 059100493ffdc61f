package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
)

// Reason is the reason of every event a Job emits.
const Reason = "reconciliation"

// Topic is the Topic of the Results a Job submits, for logs.
const Topic = "reconciliation"

// Sentinel errors; match with errors.Is.
var (
	// ErrUnknownConnector: the Scheduler has no job for the connector id.
	ErrUnknownConnector = errors.New("reconcile: unknown connector")
	// ErrRunning: a run of the job is already in progress; runs of one job
	// never overlap.
	ErrRunning = errors.New("reconcile: a run of this job is in progress")
	// ErrDuplicate is what a Submit returns when the Result's DedupKey was
	// stored before (SubmitTo returns it): the same corrections were
	// submitted by an earlier run and the ledger has not caught up. The
	// Job counts them in Report.Resubmitted, not as a failure.
	ErrDuplicate = errors.New("reconcile: corrections already submitted")
)

// Observation is one quantity a marketplace reports for a SKU at a
// location, as a Source read it.
type Observation struct {
	// SKU and Location are stockgate's ids, mapped by the Source.
	SKU, Location string
	// Quantity is the absolute quantity, 0 to 1,000,000,000.
	Quantity int64
	// State is what Quantity measures: event.StateOnHand (the marketplace
	// holds the stock and its count is the truth: the ledger applies it)
	// or event.StateAvailable (a channel's view: the ledger records and
	// compares it, raising a drift alert).
	State string
	// AsOf is when the quantity was true at the source (Square's
	// calculated_at, Amazon's lastUpdatedTime, or the read time for a
	// channel view). It becomes the event's occurredAt and part of its id.
	AsOf time.Time
	// SourceID names the row at the source, such as
	// "W62UWFY35CWMYGVWK6TWJDNI@59TNP9SA8VGDA/IN_STOCK"; with AsOf it
	// makes the event id, so it must be stable across reads.
	SourceID string
	// Skip, when set, says why the row cannot be compared (an unmapped
	// id, a fractional quantity); the Job counts it in Report.Skipped and
	// lists it in Report.Skips. SourceID should still name the row.
	Skip string
}

// Source is the driver a Job reads a marketplace through: the one thing a
// new marketplace implements. Read returns what the marketplace reports
// now, limited to rows that changed after since when the marketplace can
// filter so (since zero: everything). It may retry and pace its own
// requests; it must not return a partial read without an error.
type Source interface {
	Read(ctx context.Context, since time.Time) ([]Observation, error)
}

// Ledger is the ledger's read side; *store.Store implements it.
type Ledger interface {
	Projection(ctx context.Context, k store.Key) (store.Projection, error)
}

var _ Ledger = (*store.Store)(nil)

// Submit hands a Job's corrections on, like a normalized webhook delivery:
// the ingest handler's Accept, through SubmitTo. It returns nil once the
// events are durable, ErrDuplicate when the DedupKey was seen before, and
// any other error when nothing was stored.
type Submit func(ctx context.Context, res *connectors.Result) error

// JobOptions configure a Job; nil means the defaults.
type JobOptions struct {
	// Now is the clock that stamps reports. Zero: time.Now.
	Now func() time.Time
	// BatchSize is the most events one submitted Result carries; each
	// Result is stored atomically with its own DedupKey. Zero: 500.
	BatchSize int
	// MaxListed bounds Report.Corrections and Report.Skips; the counts
	// stay exact. Zero: 1000.
	MaxListed int
}

// Job reconciles one connector: it reads what the marketplace reports
// through its Source, compares each observation with the ledger and
// submits a stock.counted event with reason "reconciliation" for every
// difference. It is safe for concurrent use, but two runs of one job
// should not overlap: the Scheduler sees to that.
//
// # Comparison
//
// An on-hand observation is corrected when the ledger's OnHand differs,
// unless it is older than the last count the ledger applied to the key
// (store.Projection.LastCountAt): the ledger would record such a count as
// stale and change nothing, so the Job counts it in Report.Stale instead.
// An available observation is corrected when the ledger's Available
// differs; the ledger records it and raises a drift alert, never changing
// quantities. Observations of the same SKU, location and state in one
// read collapse to the latest.
//
// # Idempotency
//
// An event's id derives from the connector, the observation's SourceID
// and AsOf, its state, SKU, location and quantity; a Result's DedupKey is
// "reconcile:<connector>:<hash of its event ids>". Running again before
// the ledger applied a correction submits the same ids (a duplicate that
// the store or the ledger drops); running again after it corrects
// nothing, since the ledger then agrees.
type Job struct {
	id     string
	src    Source
	ledger Ledger
	submit Submit
	opts   JobOptions
}

// NewJob returns the Job of connector (the connector id written into
// every event, at most 128 bytes). It reports every problem at once.
func NewJob(connector string, src Source, ledger Ledger, submit Submit, opts *JobOptions) (*Job, error) {
	var o JobOptions
	if opts != nil {
		o = *opts
	}
	var problems []error
	switch {
	case connector == "":
		problems = append(problems, errors.New("connector: required"))
	case len(connector) > 128:
		problems = append(problems, errors.New("connector: longer than 128 bytes"))
	}
	if src == nil {
		problems = append(problems, errors.New("source: nil"))
	}
	if ledger == nil {
		problems = append(problems, errors.New("ledger: nil"))
	}
	if submit == nil {
		problems = append(problems, errors.New("submit: nil"))
	}
	if o.BatchSize < 0 || o.MaxListed < 0 {
		problems = append(problems, errors.New("JobOptions: BatchSize and MaxListed must not be negative"))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("reconcile.NewJob: %w", errors.Join(problems...))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BatchSize == 0 {
		o.BatchSize = 500
	}
	if o.MaxListed == 0 {
		o.MaxListed = 1000
	}
	return &Job{id: connector, src: src, ledger: ledger, submit: submit, opts: o}, nil
}

// Connector returns the connector id.
func (j *Job) Connector() string { return j.id }

// Report says what one run did.
type Report struct {
	// Connector is the job's connector id.
	Connector string
	// Since is what the run asked the Source for (zero: everything).
	Since time.Time
	// Started and Finished bound the run.
	Started, Finished time.Time
	// Read is how many observations the Source returned, skipped ones
	// included.
	Read int
	// Matched is how many agreed with the ledger.
	Matched int
	// Stale is how many on-hand observations were older than the last
	// count the ledger applied, and so not submitted.
	Stale int
	// Skipped is how many could not be compared (unmapped, fractional,
	// negative, superseded in the same read, …); Skips lists them.
	Skipped int
	Skips   []Skip
	// Corrected is how many corrections were submitted and stored;
	// Resubmitted how many were already stored by an earlier run
	// (ErrDuplicate). Corrections lists every difference found, in the
	// order submitted: the first Corrected+Resubmitted of them went out.
	Corrected   int
	Resubmitted int
	Corrections []Correction
	// Err is why the run failed, nil when it succeeded. The Source's and
	// Submit's errors are wrapped, once, with the connector.
	Err error
}

// Skip is an observation the Job did not compare.
type Skip struct {
	SourceID string
	Reason   string
}

// Correction is one difference between the marketplace and the ledger.
type Correction struct {
	SKU, Location string
	// State is the observation's state (event.StateOnHand or
	// event.StateAvailable).
	State string
	// LedgerQty is the ledger's OnHand or Available; SourceQty what the
	// marketplace reports.
	LedgerQty, SourceQty int64
	// AsOf and SourceID are the observation's.
	AsOf     time.Time
	SourceID string
	// EventID is the id of the stock.counted event submitted for it.
	EventID string
}

func (r *Report) skip(max int, sourceID, reason string) {
	r.Skipped++
	if len(r.Skips) < max {
		r.Skips = append(r.Skips, Skip{SourceID: sourceID, Reason: reason})
	}
}

// Run reads the Source from since, compares and submits. The error, also
// kept in Report.Err, is the first failure (reading, a ledger read, a
// submit); corrections submitted before it stay submitted.
func (j *Job) Run(ctx context.Context, since time.Time) (Report, error) {
	r := Report{Connector: j.id, Since: since, Started: j.opts.Now()}
	err := j.run(ctx, since, &r)
	r.Finished = j.opts.Now()
	r.Err = err
	return r, err
}

// slot is what a correction is about.
type slot struct {
	key   store.Key
	state string
}

func (j *Job) run(ctx context.Context, since time.Time, r *Report) error {
	obs, err := j.src.Read(ctx, since)
	if err != nil {
		return fmt.Errorf("reconcile %s: read: %w", j.id, err)
	}
	r.Read = len(obs)

	latest := make(map[slot]int, len(obs))
	var order []slot
	for i := range obs {
		o := &obs[i]
		if o.Skip != "" {
			r.skip(j.opts.MaxListed, o.SourceID, o.Skip)
			continue
		}
		if why := check(o); why != "" {
			r.skip(j.opts.MaxListed, o.SourceID, why)
			continue
		}
		s := slot{store.Key{SKU: o.SKU, Location: o.Location}, o.State}
		k, dup := latest[s]
		switch {
		case !dup:
			latest[s] = i
			order = append(order, s)
		case obs[k].AsOf.After(o.AsOf):
			r.skip(j.opts.MaxListed, o.SourceID, "superseded by "+obs[k].SourceID+" in the same read")
		default:
			r.skip(j.opts.MaxListed, obs[k].SourceID, "superseded by "+o.SourceID+" in the same read")
			latest[s] = i
		}
	}

	correlation := "reconcile:" + j.id + ":" + r.Started.UTC().Format(time.RFC3339Nano)
	var events []*event.Event
	var found []Correction
	for _, s := range order {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reconcile %s: %w", j.id, err)
		}
		o := &obs[latest[s]]
		p, err := j.ledger.Projection(ctx, s.key)
		if err != nil {
			return fmt.Errorf("reconcile %s: ledger %s: %w", j.id, s.key, err)
		}
		ledgerQty := p.Available
		if o.State == event.StateOnHand {
			ledgerQty = p.OnHand
		}
		if ledgerQty == o.Quantity {
			r.Matched++
			continue
		}
		if o.State == event.StateOnHand && !p.LastCountAt.IsZero() && o.AsOf.Before(p.LastCountAt) {
			r.Stale++
			continue
		}
		ev, err := j.event(o, correlation)
		if err != nil {
			r.skip(j.opts.MaxListed, o.SourceID, err.Error())
			continue
		}
		events = append(events, ev)
		found = append(found, Correction{
			SKU: o.SKU, Location: o.Location, State: o.State, LedgerQty: ledgerQty, SourceQty: o.Quantity,
			AsOf: o.AsOf, SourceID: o.SourceID, EventID: ev.ID(),
		})
	}
	if len(found) > j.opts.MaxListed {
		r.Corrections = found[:j.opts.MaxListed]
	} else {
		r.Corrections = found
	}

	for start := 0; start < len(events); start += j.opts.BatchSize {
		batch := events[start:min(start+j.opts.BatchSize, len(events))]
		res := &connectors.Result{DedupKey: j.dedupKey(batch), Topic: Topic, Events: batch}
		switch err := j.submit(ctx, res); {
		case errors.Is(err, ErrDuplicate):
			r.Resubmitted += len(batch)
		case err != nil:
			return fmt.Errorf("reconcile %s: submit: %w", j.id, err)
		default:
			r.Corrected += len(batch)
		}
	}
	return nil
}

// check validates an observation against the stock.counted schema.
func check(o *Observation) string {
	switch {
	case o.SourceID == "":
		return "no source id"
	case o.SKU == "" || len(o.SKU) > 255:
		return "SKU is empty or longer than 255 bytes"
	case o.Location == "" || len(o.Location) > 128:
		return "location is empty or longer than 128 bytes"
	case o.State != event.StateOnHand && o.State != event.StateAvailable:
		return fmt.Sprintf("state %q is neither %s nor %s", o.State, event.StateOnHand, event.StateAvailable)
	case o.Quantity < 0:
		return fmt.Sprintf("quantity %d is negative; stock.counted needs 0 or more", o.Quantity)
	case o.Quantity > 1_000_000_000:
		return fmt.Sprintf("quantity %d is beyond 1000000000", o.Quantity)
	case o.AsOf.IsZero():
		return "no as-of time"
	}
	return ""
}

// event builds the correction's stock.counted.
func (j *Job) event(o *Observation, correlation string) (*event.Event, error) {
	asOf := o.AsOf.UTC().Format(time.RFC3339Nano)
	id := event.DeterministicID(Reason, j.id, o.SourceID, asOf, o.State, o.SKU, o.Location, strconv.FormatInt(o.Quantity, 10))
	return event.NewMovement(event.StockCounted, id, event.Movement{
		Connector:     j.id,
		SourceEventID: "reconcile:" + o.SourceID + "@" + asOf,
		OccurredAt:    o.AsOf.UTC(),
		SKU:           o.SKU,
		Location:      o.Location,
		Quantity:      o.Quantity,
		State:         o.State,
		Reason:        Reason,
		CorrelationID: correlation,
	})
}

// dedupKey is "reconcile:<connector>:<hash of the batch's event ids>".
func (j *Job) dedupKey(batch []*event.Event) string {
	h := sha256.New()
	for _, ev := range batch {
		h.Write([]byte(ev.ID()))
		h.Write([]byte{'\n'})
	}
	return "reconcile:" + j.id + ":" + hex.EncodeToString(h.Sum(nil)[:16])
}
