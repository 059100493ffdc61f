package shopifywriter_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
	"github.com/stockgate/stockgate/dispatch"
)

func TestSmoke(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newShop(t, shopifyfake.Options{})
		l := newLedger(t)
		stock(l, 600)
		w := newWriter(t, s, "shopify-eu", 600, nil)
		r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		time.Sleep(100 * time.Millisecond)
		r.Idle(t, time.Minute)
		converged(t, l, s, 600)
		t.Logf("%+v", r.Status())
		t.Logf("%+v", s.Stats())
	})
}
