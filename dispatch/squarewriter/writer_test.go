package squarewriter_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/square/squareapi"
	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/squarewriter"
	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/ratelimit"
)

// stub is a Changer that records requests and answers from a script.
type stub struct {
	reqs    []squareapi.ChangeRequest
	answers []error // one per call; nil: success
}

func (s *stub) BatchChangeInventory(_ context.Context, req squareapi.ChangeRequest) (squareapi.ChangeResponse, error) {
	s.reqs = append(s.reqs, req)
	var err error
	if len(s.answers) > 0 {
		err, s.answers = s.answers[0], s.answers[1:]
	}
	return squareapi.ChangeResponse{}, err
}

// pacer grants everything and records what it was told.
type pacer struct {
	waits []float64
	obs   []ratelimit.Observation
}

func (p *pacer) Wait(_ context.Context, cost float64) error {
	p.waits = append(p.waits, cost)
	return nil
}
func (p *pacer) Observe(o ratelimit.Observation) { p.obs = append(p.obs, o) }

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func stubWriter(t *testing.T, s *stub, c *clock) *squarewriter.Writer {
	t.Helper()
	w, err := squarewriter.New(squarewriter.Options{Account: "square-berlin", Client: s, LocationID: squareLocation,
		Items: items(5), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestNewReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := squarewriter.New(squarewriter.Options{
		Items:    map[string]string{"A": "OBJ1", "B": "OBJ1", "C": ""},
		MaxBatch: 101, RequestsPerSecond: -1,
	})
	if err == nil {
		t.Fatal("New accepted a bad configuration")
	}
	for _, want := range []string{"Account", "Client", "LocationID", "MaxBatch", "RequestsPerSecond", `Items["B"]: catalog object OBJ1 is already SKU "A"`, `Items["C"]: empty`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %s", err, want)
		}
	}
	w, err := squarewriter.New(squarewriter.Options{Account: "a", Client: &stub{}, LocationID: "L", Items: items(3)})
	if err != nil {
		t.Fatal(err)
	}
	if w.MaxBatch() != 100 || w.Cost(100) != 1 || len(w.SKUs()) != 3 || !w.Syncs(skuName(2)) || w.Syncs("nope") {
		t.Errorf("defaults: batch %d, cost %g, SKUs %v", w.MaxBatch(), w.Cost(100), w.SKUs())
	}
	if limit, burst := w.InitialBudget(); limit != squarewriter.DefaultRequestsPerSecond || burst != squarewriter.DefaultRequestsPerSecond {
		t.Errorf("initial budget %g/%g", limit, burst)
	}
}

// A retry of the same updates after an answer that never came is the
// same request, whatever their order and however much later; once Square
// has answered, the same updates are a new request.
func TestRetryIsTheSameRequest(t *testing.T) {
	t.Parallel()
	unavailable := &squareapi.Error{Code: errcode.Unavailable, HTTPStatus: 503}
	s := &stub{answers: []error{unavailable, nil, nil, unavailable, nil}}
	c := &clock{t: time.Date(2026, 11, 20, 10, 0, 0, 123456789, time.UTC)}
	w := stubWriter(t, s, c)
	ups := []dispatch.Update{{SKU: skuName(3), Quantity: 7, Version: 12}, {SKU: skuName(1), Quantity: 0, Version: 4}}
	p := &pacer{}
	write := func(ups ...dispatch.Update) error {
		t.Helper()
		_, err := w.Write(context.Background(), p, ups)
		return err
	}
	if err := write(ups...); w.ErrorCode(err) != errcode.Unavailable {
		t.Fatalf("first write: %v", err)
	}
	c.t = c.t.Add(30 * time.Second)
	if err := write(ups[1], ups[0]); err != nil {
		t.Fatalf("retry: %v", err)
	}
	first, retry := s.reqs[0], s.reqs[1]
	if first.IdempotencyKey != retry.IdempotencyKey || len(first.IdempotencyKey) > squareapi.MaxIdempotencyKeyLen {
		t.Errorf("keys %q and %q", first.IdempotencyKey, retry.IdempotencyKey)
	}
	for j := range first.Counts {
		if first.Counts[j] != retry.Counts[j] {
			t.Errorf("change %d: %+v, then %+v", j, first.Counts[j], retry.Counts[j])
		}
	}
	if pc := first.Counts[0]; pc.CatalogObjectID != objectID(1) || pc.Quantity != 0 || pc.State != "IN_STOCK" ||
		pc.LocationID != squareLocation || !pc.OccurredAt.Equal(time.Date(2026, 11, 20, 10, 0, 0, 123e6, time.UTC)) ||
		pc.ReferenceID != "stockgate:square-berlin:4" {
		t.Errorf("first change %+v", pc)
	}
	if first.IgnoreUnchangedCounts == nil || !*first.IgnoreUnchangedCounts {
		t.Error("ignore_unchanged_counts not sent true")
	}

	// Confirmed: the same updates again (a reconcile pass) are a new
	// write, dated now.
	c.t = c.t.Add(time.Minute)
	if err := write(ups...); err != nil {
		t.Fatal(err)
	}
	if again := s.reqs[2]; again.IdempotencyKey == first.IdempotencyKey || !again.Counts[0].OccurredAt.Equal(c.t.Truncate(time.Millisecond)) {
		t.Errorf("after a confirmed write: key %s (was %s), changes %+v", again.IdempotencyKey, first.IdempotencyKey, again.Counts)
	}
	// A write in doubt for 23 hours gets a new stamp: Square refuses
	// older ones.
	if err := write(ups[0]); w.ErrorCode(err) != errcode.Unavailable {
		t.Fatal(err)
	}
	c.t = c.t.Add(23*time.Hour + time.Second)
	if err := write(ups[0]); err != nil {
		t.Fatal(err)
	}
	if got := s.reqs[4].Counts[0].OccurredAt; !got.Equal(c.t.Truncate(time.Millisecond)) || s.reqs[4].IdempotencyKey == s.reqs[3].IdempotencyKey {
		t.Errorf("a 23-hour-old stamp was reused: %v", got)
	}
	if len(p.waits) != 5 || p.waits[0] != 1 || len(p.obs) != 5 {
		t.Errorf("pacer: waits %v, %d observations", p.waits, len(p.obs))
	}
}

// IDEMPOTENCY_KEY_REUSED fails the call as Aborted, and the next write of
// the same updates carries a new key.
func TestKeyReusedGetsANewKey(t *testing.T) {
	t.Parallel()
	reused := &squareapi.Error{Code: errcode.InvalidArgument, HTTPStatus: 400, Err: errors.New("reused"),
		Errors: []squareapi.APIError{{Category: "INVALID_REQUEST_ERROR", Code: "IDEMPOTENCY_KEY_REUSED", Field: "idempotency_key"}}}
	s := &stub{answers: []error{reused}}
	c := &clock{t: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	w := stubWriter(t, s, c)
	ups := []dispatch.Update{{SKU: skuName(0), Quantity: 5, Version: 2}}
	_, err := w.Write(context.Background(), &pacer{}, ups)
	if w.ErrorCode(err) != errcode.Aborted {
		t.Fatalf("reused key: %v (%v), want Aborted", w.ErrorCode(err), err)
	}
	c.t = c.t.Add(time.Second)
	if _, err := w.Write(context.Background(), &pacer{}, ups); err != nil {
		t.Fatal(err)
	}
	if s.reqs[0].IdempotencyKey == s.reqs[1].IdempotencyKey {
		t.Error("the write after IDEMPOTENCY_KEY_REUSED used the same key")
	}
}

// A 400 naming single changes sorts them: the named ones are refused
// (InvalidArgument), or retried when only their occurred_at was; the
// rest are Aborted. Changes are sent in catalog object order, so indexes
// are mapped back to the updates.
func TestPerChangeOutcomes(t *testing.T) {
	t.Parallel()
	refused := &squareapi.Error{Code: errcode.InvalidArgument, HTTPStatus: 400, Err: errors.New("refused"), Errors: []squareapi.APIError{
		{Code: "NOT_FOUND", Field: "changes[0].physical_count.catalog_object_id"},
		{Code: "INVALID_VALUE", Field: "changes[2].physical_count.occurred_at"},
	}}
	s := &stub{answers: []error{refused}}
	w := stubWriter(t, s, &clock{t: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)})
	ups := []dispatch.Update{
		{SKU: skuName(2), Quantity: 1, Version: 1}, // changes[2]
		{SKU: "unmapped", Quantity: 1, Version: 1},
		{SKU: skuName(0), Quantity: 1, Version: 1}, // changes[0]
		{SKU: skuName(1), Quantity: -1, Version: 1},
		{SKU: skuName(1), Quantity: 1, Version: 1}, // changes[1]
	}
	outs, err := w.Write(context.Background(), &pacer{}, ups)
	if err != nil {
		t.Fatal(err)
	}
	want := []errcode.Code{errcode.Unknown, errcode.InvalidArgument, errcode.InvalidArgument, errcode.InvalidArgument, errcode.Aborted}
	for i, o := range outs {
		if o.Code != want[i] {
			t.Errorf("update %d (%s): %v (%v), want %v", i, ups[i].SKU, o.Code, o.Err, want[i])
		}
	}
	if !strings.Contains(outs[2].Err.Error(), "NOT_FOUND") {
		t.Errorf("outcome error %q does not say why", outs[2].Err)
	}
	if len(s.reqs) != 1 || len(s.reqs[0].Counts) != 3 {
		t.Errorf("sent %+v, want one call of the 3 valid updates", s.reqs)
	}
	// Nothing to send: no call, no budget.
	p := &pacer{}
	outs, err = w.Write(context.Background(), p, ups[1:2])
	if err != nil || outs[0].Code != errcode.InvalidArgument || len(p.waits) != 0 || len(s.reqs) != 1 {
		t.Errorf("only an unmapped SKU: %v %+v, %d waits", err, outs, len(p.waits))
	}
}

// A 429 is a throttle that halves the rate; answered calls bring it back.
func TestObservations(t *testing.T) {
	t.Parallel()
	throttled := &squareapi.Error{Code: errcode.ResourceExhausted, HTTPStatus: 429, RetryAfter: 2 * time.Second}
	s := &stub{answers: []error{throttled, throttled, nil}}
	w := stubWriter(t, s, &clock{t: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)})
	p := &pacer{}
	for range 3 {
		_, _ = w.Write(context.Background(), p, []dispatch.Update{{SKU: skuName(0), Quantity: 1, Version: 1}})
	}
	o := p.obs
	if !o[0].Throttled || o[0].ActualCost != 0 || o[0].ReservedCost != 1 || o[0].RetryAfter != 2*time.Second || o[0].Limit != 5 || o[0].Burst != 5 {
		t.Errorf("first 429: %+v, want a throttle at half the rate", o[0])
	}
	if o[1].Limit != 2.5 || o[2].Throttled || o[2].ActualCost != 1 || o[2].Limit != 2.6 {
		t.Errorf("then %+v and %+v", o[1], o[2])
	}
	if w.RetryAfter(throttled) != 2*time.Second || w.ErrorCode(throttled) != errcode.ResourceExhausted {
		t.Error("RetryAfter or ErrorCode do not pass the client's through")
	}
}

// TestRewriteInTheSameMillisecond: a write that repeats the last confirmed
// one (a reconcile pass) is a new operation under a new idempotency key,
// even when it is stamped in the same millisecond, so it puts back a
// count changed at Square in between. With keys made of content and time
// alone, Square would answer it as a duplicate of the first write and
// keep the hand-set count.
func TestRewriteInTheSameMillisecond(t *testing.T) {
	m := newMerchant(t, squarefake.Options{})
	c := &clock{t: time.Now()}
	w := newWriter(t, m, 1, func(o *squarewriter.Options) { o.Now = c.now })
	ups := []dispatch.Update{{SKU: skuName(0), Quantity: 5, Version: 3}}
	write := func() {
		t.Helper()
		outs, err := w.Write(context.Background(), &pacer{}, ups)
		if err != nil || len(outs) != 1 || outs[0].Code != errcode.OK {
			t.Fatalf("write: %+v, %v", outs, err)
		}
	}
	write()
	m.SetCount(squarefake.Count{CatalogObjectID: objectID(0), LocationID: squareLocation, Quantity: "77"})
	write()
	if got, ok := m.level(0); !ok || got != 5 {
		t.Errorf("after the rewrite Square shows %d (exists %v), want 5", got, ok)
	}
}
