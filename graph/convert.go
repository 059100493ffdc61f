package graph

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stockgate/stockgate/auth"
	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/graph/model"
	"github.com/stockgate/stockgate/live"
	"github.com/stockgate/stockgate/reconcile"
	"github.com/stockgate/stockgate/relay"
	"github.com/stockgate/stockgate/store"
)

func stockLevel(p store.Projection) *model.StockLevel {
	l := &model.StockLevel{
		Sku: p.SKU, Location: p.Location,
		OnHand: p.OnHand, Committed: p.Committed, SafetyStock: p.SafetyStock, Available: p.Available,
		Seq: int64(p.Seq),
	}
	if !p.UpdatedAt.IsZero() {
		t := p.UpdatedAt
		l.UpdatedAt = &t
	}
	return l
}

func quantities(q store.Quantities) *model.Quantities {
	return &model.Quantities{OnHand: q.OnHand, Committed: q.Committed, SafetyStock: q.SafetyStock, Available: q.Available}
}

func ledgerEntry(e store.Entry) *model.LedgerEntry {
	m := &model.LedgerEntry{
		Seq: int64(e.Seq), EventID: e.EventID, EventType: e.EventType, Connector: e.Connector,
		SourceEventID: e.SourceEventID, CorrelationID: e.CorrelationID, Reason: e.Reason,
		Outcome: e.Outcome, Delta: quantities(e.Delta), Result: quantities(e.Result),
		OccurredAt: e.OccurredAt, RecordedAt: e.RecordedAt,
	}
	if e.Note != "" {
		n := e.Note
		m.Note = &n
	}
	return m
}

func deadLetter(d store.DeadLetter) *model.DeadLetter {
	out := &model.DeadLetter{ID: d.ID, Connector: d.Connector, EventID: d.EventID, EventType: d.EventType,
		Reason: d.Reason, Body: string(d.Body), CreatedAt: d.CreatedAt, AwaitingMapping: d.Header != nil && d.Resolution == ""}
	if d.Resolution != "" {
		r, at := d.Resolution, d.ResolvedAt
		out.Resolution, out.ResolvedAt = &r, &at
	}
	return out
}

func mappingOut(m store.Mapping) *model.Mapping {
	k := model.MappingKindSku
	if m.Kind == store.MapLocation {
		k = model.MappingKindLocation
	}
	return &model.Mapping{Connector: m.Connector, Kind: k, ExternalID: m.External, Internal: m.Internal, UpdatedAt: m.UpdatedAt}
}

func alert(a store.Alert) *model.Alert {
	return &model.Alert{ID: a.ID, Kind: a.Kind, Sku: a.Key.SKU, Location: a.Key.Location,
		EventID: a.EventID, Message: a.Message, CreatedAt: a.CreatedAt}
}

func availabilityChange(c live.Change) *model.AvailabilityChange {
	return &model.AvailabilityChange{
		Sku: c.SKU, Location: c.Location, OnHand: c.OnHand, Committed: c.Committed,
		SafetyStock: c.SafetyStock, Available: c.Available, Seq: int64(c.Seq),
		CauseEventID: c.CauseEventID, CauseType: c.CauseType,
		OccurredAt: c.OccurredAt, RecordedAt: c.RecordedAt, Coalesced: c.Coalesced,
	}
}

// seqCursor encodes a ledger sequence number as an opaque cursor.
func seqCursor(seq uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("seq:" + strconv.FormatUint(seq, 10)))
}

func parseSeqCursor(c *string) (uint64, error) {
	if c == nil || *c == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*c)
	if err != nil || !strings.HasPrefix(string(raw), "seq:") {
		return 0, badInput("after: not a cursor from this API")
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(string(raw), "seq:"), 10, 64)
	if err != nil {
		return 0, badInput("after: not a cursor from this API")
	}
	return n, nil
}

// pageSize checks a first argument.
func pageSize(first *int64, max int) (int, error) {
	if first == nil {
		return 50, nil
	}
	if *first < 0 || *first > int64(max) {
		return 0, badInput(fmt.Sprintf("first must be between 0 and %d", max))
	}
	return int(*first), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func reconcileReport(r reconcile.Report) *model.ReconcileReport {
	out := &model.ReconcileReport{
		Connector: r.Connector, Started: r.Started, Finished: r.Finished,
		Read: int64(r.Read), Matched: int64(r.Matched), Corrected: int64(r.Corrected + r.Resubmitted),
		Skipped: int64(r.Skipped), Stale: int64(r.Stale), Corrections: []*model.Correction{},
	}
	for _, c := range r.Corrections {
		out.Corrections = append(out.Corrections, &model.Correction{Sku: c.SKU, Location: c.Location, State: c.State,
			LedgerQuantity: c.LedgerQty, SourceQuantity: c.SourceQty, EventID: c.EventID})
	}
	if r.Err != nil {
		e := r.Err.Error()
		out.Error = &e
	}
	return out
}

func connectorStatus(st dispatch.Status) *model.ConnectorStatus {
	out := &model.ConnectorStatus{
		Connector: st.Account, QueueDepth: int64(st.QueueDepth), LagSeconds: st.Lag.Seconds(),
		Budget:       &model.RateBudget{Limit: st.Budget.Limit, Burst: st.Budget.Burst, Available: st.Budget.Tokens},
		BreakerState: st.BreakerState, Paused: st.Paused,
		Written: int64(st.Written), DeadLettered: int64(st.DeadLettered), Calls: int64(st.Calls), Throttled: int64(st.Throttled),
	}
	if st.LastError != "" {
		e, at := st.LastError, st.LastErrorAt
		out.LastError, out.LastErrorAt = &e, &at
	}
	if !st.LastWriteAt.IsZero() {
		at := st.LastWriteAt
		out.LastWriteAt = &at
	}
	return out
}

func channelQuantity(sku string, q channel.Quantity) *model.ChannelQuantity {
	x := q.Explanation
	out := &model.ChannelQuantity{
		Channel: x.Channel, Sku: sku, Quantity: q.Value, Rule: x.Rule, Sum: x.Sum, Buffer: x.Buffer,
		AfterBuffer: x.AfterBuffer, Max: x.Max, Capped: x.Capped, Floor: x.Floor, BelowFloor: x.BelowFloor,
		Locations: []*model.ChannelLocation{},
	}
	for _, l := range x.Locations {
		out.Locations = append(out.Locations, &model.ChannelLocation{Location: l.Location, Available: l.Available, Offered: l.Offered})
	}
	return out
}

// page checks a first argument, reads up to that many items and converts
// them for the schema.
func page[T, M any](first *int64, max int, read func(n int) ([]T, error), conv func(T) *M) ([]*M, error) {
	n, err := pageSize(first, max)
	if err != nil {
		return nil, err
	}
	items, err := read(n)
	if err != nil {
		return nil, err
	}
	out := make([]*M, len(items))
	for i, it := range items {
		out[i] = conv(it)
	}
	return out, nil
}

func apiKey(k auth.ManagedKey) *model.APIKey {
	out := &model.APIKey{
		ID: k.ID, Name: k.Name, Role: model.RoleStorefront, Channels: k.Channels,
		CreatedAt: k.CreatedAt, CreatedBy: k.CreatedBy, RevokedAt: k.RevokedAt,
	}
	if out.Channels == nil {
		out.Channels = []string{}
	}
	if k.Role == auth.Admin {
		out.Role = model.RoleAdmin
	}
	if k.RevokedBy != "" {
		by := k.RevokedBy
		out.RevokedBy = &by
	}
	return out
}

// idempotencyKey returns the caller's key, or a new one.
func idempotencyKey(k *string) string {
	if k != nil && *k != "" {
		return *k
	}
	return uuid.NewString()
}

// pipelineStatus is the outbox's backlog at now.
func pipelineStatus(b relay.Backlog, now time.Time) *model.PipelineStatus {
	out := &model.PipelineStatus{LagSeconds: b.Lag(now).Seconds()}
	if !b.Oldest.IsZero() {
		out.WaitingSince, out.Topic, out.EventID = &b.Oldest, &b.Topic, &b.EventID
	}
	return out
}

// afterID turns the store's "no item with that id" for a list's after
// argument into the client's mistake it is.
func afterID[T any](items []T, err error) ([]T, error) {
	if errors.Is(err, store.ErrNotFound) {
		return nil, badInput("after: no item with that id in this list")
	}
	return items, err
}

// pageStart completes a forward page's PageInfo as Relay's spec allows for
// first/after paging: hasPreviousPage when an after cursor was given (the
// item it names comes before the page), and the first edge's cursor.
func pageStart[E any](pi *model.PageInfo, after *string, edges []*E, cursor func(*E) string) {
	pi.HasPreviousPage = deref(after) != ""
	if len(edges) > 0 {
		c := cursor(edges[0])
		pi.StartCursor = &c
	}
}
