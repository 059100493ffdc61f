package graph

import (
	"context"
	"testing"
	"time"

	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

// TestPipelineStatus: an event accepted a minute and a half ago and not
// yet consumed is what pipeline reports, with its age; once consumed,
// nothing waits.
func TestPipelineStatus(t *testing.T) {
	ctx := context.Background()
	st := store.New(memstore.New(nil))
	defer st.Close()
	q := &queryResolver{&Resolver{Store: st}}
	if p, err := q.Pipeline(ctx); err != nil || p.LagSeconds != 0 || p.Topic != nil || p.WaitingSince != nil || p.EventID != nil {
		t.Fatalf("empty outbox: %+v, %v", p, err)
	}
	at := time.Now().Add(-90 * time.Second)
	err := st.Accept(ctx, store.Acceptance{Messages: []store.Message{{Topic: "inbound", EventID: "ev-1", Body: []byte("{}"), Key: "sku", CreatedAt: at}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := q.Pipeline(ctx)
	if err != nil || p.Topic == nil || *p.Topic != "inbound" || p.EventID == nil || *p.EventID != "ev-1" || p.WaitingSince == nil || !p.WaitingSince.Equal(at) {
		t.Fatalf("one waiting event: %+v, %v", p, err)
	}
	if p.LagSeconds < 90 || p.LagSeconds > 120 {
		t.Errorf("lag %v s, want about 90", p.LagSeconds)
	}
	if err := st.DeleteOutbox(ctx, []uint64{1}); err != nil {
		t.Fatal(err)
	}
	if p, err := q.Pipeline(ctx); err != nil || p.LagSeconds != 0 || p.Topic != nil {
		t.Fatalf("after it was consumed: %+v, %v", p, err)
	}
}
