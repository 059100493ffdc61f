package amazonwriter_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/listingsapi"
	"github.com/stockgate/stockgate/connectors/amazon/listingsapi/listingsfake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/amazonwriter"
)

// TestLoopback runs the Writer on real time against the fake on a
// loopback port: a feed for the reconcile, patches for a few changes,
// presigned URLs on the test server's host.
func TestLoopback(t *testing.T) {
	const skus = 300
	fake := newFake(t, &listingsfake.Options{QueueTime: 100 * time.Millisecond}, skus)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c, err := listingsapi.New(srv.URL, func(context.Context) (string, error) { return listingsfake.DefaultToken, nil },
		&listingsapi.Options{HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter(t, fake, skus, func(o *amazonwriter.Options) { o.Client = c; o.PollInterval = 100 * time.Millisecond })
	l := newLedger(t)
	stock(l, skus)
	r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
	r.Idle(t, 30*time.Second)
	for i := range 5 {
		r.Src <- l.Move(skuName(i*50), "berlin", -1)
	}
	time.Sleep(300 * time.Millisecond)
	r.Idle(t, 30*time.Second)
	converged(t, l, fake, skus)
	if st, ws := fake.Stats(), w.Stats(); st.Throttled != 0 || st.FeedsDone != 1 || ws.PatchesAccepted != 5 {
		t.Errorf("fake %+v, writer %+v", st, ws)
	}
}
