package pos

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkVerifyNormalize is the hot path of a delivery: verify the
// signature, then normalize. "till" is a register's batch of 3 movements,
// "mixed" the README's 5, "max" a batch of MaxMovements.
func BenchmarkVerifyNormalize(b *testing.B) {
	c := newConnector(b)
	run := func(b *testing.B, body []byte, events int) {
		r := newRequest(body)
		ctx := context.Background()
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := c.Verify(r); err != nil {
				b.Fatal(err)
			}
			res, err := c.Normalize(ctx, r)
			if err != nil || len(res.Events) != events {
				b.Fatalf("Normalize = %+v, %v", res, err)
			}
		}
	}
	b.Run("till", func(b *testing.B) { run(b, readTestdata(b, "till_sales.json"), 3) })
	b.Run("mixed", func(b *testing.B) { run(b, readTestdata(b, "mixed_batch.json"), 5) })
	b.Run("max", func(b *testing.B) {
		m := make([]string, MaxMovements)
		for i := range m {
			m[i] = fmt.Sprintf(`{"type":"sale","sku":"SKU-%04d","quantity":1,"at":"2026-11-20T09:59:58Z","ref":"receipt-%d"}`, i, i)
		}
		run(b, []byte(batchBody(strings.Join(m, ","))), MaxMovements)
	})
}

func BenchmarkVerify(b *testing.B) {
	c := newConnector(b)
	r := newRequest(readTestdata(b, "mixed_batch.json"))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}
