package amazon

import (
	"context"
	"testing"
	"time"

	"github.com/stockgate/stockgate/event"
)

// TestMFNQuantityEcho: an MFN quantity report of the value stockgate wrote
// is a confirmation; any other value, or one reported long before the
// write, is a channel report the ledger compares.
func TestMFNQuantityEcho(t *testing.T) {
	t.Parallel()
	echoes := &MemoryEchoes{}
	c := newConnector(t, nil, func(cfg *Config) { cfg.Echoes = echoes })
	body := ebEnvelope(readTestdata(t, "listings_item_mfn_quantity_change.json")) // BNE-RDG-CHAR, 37, 2026-11-19T09:41:07.702Z
	eventTime := time.Date(2026, 11, 19, 9, 41, 7, 702_000_000, time.UTC)
	reason := func() string {
		t.Helper()
		res, err := c.Normalize(context.Background(), ebRequest(body, testAPIKey))
		if err != nil || len(res.Events) != 1 {
			t.Fatalf("Normalize: %v, %+v", err, res)
		}
		return res.Events[0].Movement.Reason
	}
	if got := reason(); got != reasonChannelReport {
		t.Fatalf("nothing written yet: reason %q, want %q", got, reasonChannelReport)
	}
	echoes.Record("BNE-RDG-CHAR", 37, eventTime.Add(-2*time.Second))
	if got := reason(); got != event.ReasonEchoConfirmation {
		t.Fatalf("our own 37 reported back: reason %q, want %q", got, event.ReasonEchoConfirmation)
	}
	echoes.Record("BNE-RDG-CHAR", 36, eventTime.Add(-2*time.Second))
	if got := reason(); got != reasonChannelReport {
		t.Fatalf("we wrote 36, Amazon says 37: reason %q, want %q", got, reasonChannelReport)
	}
	echoes.Record("BNE-RDG-CHAR", 37, eventTime.Add(time.Hour))
	if got := reason(); got != reasonChannelReport {
		t.Fatalf("a report from an hour before our write: reason %q, want %q", got, reasonChannelReport)
	}
}
