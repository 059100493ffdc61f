package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestFlash: the flash sale sends -n orders of one unit of one SKU,
// reports those acknowledged and those refused, and returns once the
// availability query counts every acknowledged one; a ledger that never
// catches up makes it fail after -timeout, saying how far it got.
func TestFlash(t *testing.T) {
	t.Parallel()
	t.Run("all applied, a tenth refused", func(t *testing.T) {
		t.Parallel()
		var lag atomic.Int64
		lag.Store(40)
		srv := newFakeGateway(t, func(g *fakeGateway) {
			g.answer = func(_ string, n int) int {
				if n%10 == 0 {
					return http.StatusServiceUnavailable
				}
				return 0
			}
			// The ledger applies the last 40 orders a little after their acks.
			g.unapplied = func(string) int64 { return max(lag.Add(-1), 0) }
		})
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{cmdFlash, "-url", srv.URL, "-secret", fakeSecret, "-key", fakeKey, "-n", "300", "-concurrency", "8", "-timeout", "10s"}, &out, &errOut)
		if err != nil {
			t.Fatalf("flash: %v\n%s%s", err, out.String(), errOut.String())
		}
		s := out.String()
		if !strings.Contains(s, "300 orders, 270 acknowledged") || !strings.Contains(s, "30 failed") || !strings.Contains(s, "first failure: 503") || !strings.Contains(s, "all applied") {
			t.Fatalf("report:\n%s", s)
		}
		if lag.Load() > 0 {
			t.Fatalf("reported applied while %d orders were not", lag.Load())
		}
	})
	t.Run("a ledger that never catches up", func(t *testing.T) {
		t.Parallel()
		srv := newFakeGateway(t, func(g *fakeGateway) { g.unapplied = func(string) int64 { return 1 } })
		var out, errOut bytes.Buffer
		start := time.Now()
		err := run(context.Background(), []string{cmdFlash, "-url", srv.URL, "-secret", fakeSecret, "-key", fakeKey, "-n", "50", "-timeout", "300ms"}, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "had applied 49 of the 50") || time.Since(start) > 5*time.Second {
			t.Fatalf("flash against a stuck ledger: %v after %s\n%s", err, time.Since(start), out.String())
		}
	})
	t.Run("flags", func(t *testing.T) {
		t.Parallel()
		var out, errOut bytes.Buffer
		if err := run(context.Background(), []string{cmdFlash, "-secret", fakeSecret, "-n", "0"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Fatalf("-n 0 without a key: %v", err)
		}
	})
}
