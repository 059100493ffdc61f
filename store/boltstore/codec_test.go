package boltstore

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/stockgate/stockgate/store"
)

// TestOutboxCodec: a message survives the binary form, and an outbox
// value written as JSON by an earlier version is still read.
func TestOutboxCodec(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 123456789, time.FixedZone("", 3600))
	m := store.Message{Seq: 7, Topic: "inbound", EventID: "ev-1", Body: []byte(`{"a":1}`), Key: "SKU-1", CreatedAt: at}
	v, err := appendMessage(nil, &m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeMessage(7, v)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(at) || got.CreatedAt.Format(time.RFC3339Nano) != at.Format(time.RFC3339Nano) {
		t.Errorf("created at %v, want %v", got.CreatedAt, at)
	}
	got.CreatedAt = at
	if !reflect.DeepEqual(got, m) {
		t.Errorf("decoded %+v, want %+v", got, m)
	}
	for n := range len(v) {
		if _, err := decodeMessage(7, v[:n]); err == nil && n > 0 {
			t.Errorf("truncated to %d of %d bytes: no error", n, len(v))
		}
	}

	// A file with a JSON outbox value, as written before the binary form.
	d := open(t, &Options{NoSync: true})
	legacy := m
	legacy.Seq = 1
	j, err := json.Marshal(&legacy)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bOutbox)
		if _, err := b.NextSequence(); err != nil {
			return err
		}
		return b.Put(u64(1), j)
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := d.Accept(ctx, []store.Acceptance{{Messages: []store.Message{{Topic: "inbound", EventID: "ev-2", Key: "SKU-2", CreatedAt: at}}}}); err != nil {
		t.Fatal(err)
	}
	ms, err := d.Outbox(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Seq != 1 || ms[0].EventID != "ev-1" || string(ms[0].Body) != `{"a":1}` || ms[1].Seq != 2 || ms[1].EventID != "ev-2" || ms[1].Body != nil {
		t.Errorf("outbox %+v, want the JSON ev-1 at 1 and the binary ev-2 at 2", ms)
	}
}
