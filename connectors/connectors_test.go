package connectors_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
)

func TestDedupTimeSortsAsTimes(t *testing.T) {
	t.Parallel()
	// Times whose RFC 3339 forms differ in length, and one in another zone.
	times := []time.Time{
		time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 14, 8, 0, 0, 100_000_000, time.UTC),
		time.Date(2026, 3, 14, 8, 0, 0, 120_000_000, time.UTC),
		time.Date(2026, 3, 14, 8, 0, 0, 120_000_001, time.UTC),
		time.Date(2026, 3, 14, 10, 0, 1, 0, time.FixedZone("CEST", 2*3600)), // 08:00:01Z
		time.Date(2026, 3, 14, 8, 0, 1, 5, time.UTC),
	}
	var got []string
	for _, tm := range times {
		got = append(got, connectors.DedupTime(tm))
	}
	if !slices.IsSorted(got) {
		t.Errorf("DedupTime of ascending times does not sort: %q", got)
	}
	if got[4] != "2026-03-14T08:00:01.000000000Z" {
		t.Errorf("DedupTime(10:00:01+02:00) = %q, want it in UTC", got[4])
	}
	for _, s := range got {
		if len(s) != len(got[0]) {
			t.Errorf("DedupTime gave %q and %q: widths differ", got[0], s)
		}
	}
}
