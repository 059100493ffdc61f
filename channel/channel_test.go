package channel_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/store"
)

func ptr(v int64) *int64 { return &v }

func proj(loc string, available int64, seq uint64) store.Projection {
	return store.Projection{
		Key:        store.Key{SKU: "SKU-1", Location: loc},
		Quantities: store.Quantities{OnHand: available, Available: available},
		Seq:        seq,
	}
}

func TestCompute(t *testing.T) {
	t.Parallel()
	ps := []store.Projection{proj("berlin", 7, 3), proj("hamburg", 5, 2), proj("munich", 100, 9)}
	tests := []struct {
		name       string
		rule       channel.Rule
		ps         []store.Projection
		want       int64
		sum        int64
		buffer     int64
		capped     bool
		belowFloor bool
		sentence   string // a substring of Explanation.Rule
	}{
		{name: "sum of the rule's locations only", rule: channel.Rule{Channel: "c", Locations: []string{"berlin", "hamburg"}},
			ps: ps, want: 12, sum: 12, sentence: "berlin 7 + hamburg 5 = 12; no buffer ⇒ 12"},
		{name: "missing location counts as 0", rule: channel.Rule{Channel: "c", Locations: []string{"berlin", "paris"}},
			ps: ps, want: 7, sum: 7, sentence: "paris 0"},
		{name: "no projections", rule: channel.Rule{Channel: "c", Locations: []string{"berlin"}}, want: 0},
		{name: "oversold location counts as 0", rule: channel.Rule{Channel: "c", Locations: []string{"berlin", "hamburg"}},
			ps: []store.Projection{proj("berlin", 7, 1), proj("hamburg", -4, 1)}, want: 7, sum: 7, sentence: "hamburg -4 (oversold, counts as 0)"},
		{name: "unit buffer", rule: channel.Rule{Channel: "c", Locations: []string{"berlin"}, BufferUnits: 2},
			ps: ps, want: 5, sum: 7, buffer: 2, sentence: "buffer 2 units → 5"},
		{name: "unit buffer larger than the sum gives 0", rule: channel.Rule{Channel: "c", Locations: []string{"berlin"}, BufferUnits: 9},
			ps: ps, want: 0, sum: 7, buffer: 9},
		{name: "percent buffer rounds up", rule: channel.Rule{Channel: "c", Locations: []string{"berlin"}, BufferPercent: 10},
			ps: ps, want: 6, sum: 7, buffer: 1, sentence: "buffer 10% of 7 (rounded up) = 1 → 6"},
		{name: "percent buffer exact (10% of 30 is 3)", rule: channel.Rule{Channel: "c", Locations: []string{"x"}, BufferPercent: 10},
			ps: []store.Projection{proj("x", 30, 1)}, want: 27, sum: 30, buffer: 3},
		{name: "percent buffer of 0 is 0", rule: channel.Rule{Channel: "c", Locations: []string{"x"}, BufferPercent: 50},
			ps: []store.Projection{proj("x", 0, 1)}, want: 0},
		{name: "fractional percent", rule: channel.Rule{Channel: "c", Locations: []string{"x"}, BufferPercent: 12.5},
			ps: []store.Projection{proj("x", 8, 1)}, want: 7, sum: 8, buffer: 1},
		{name: "100 percent holds everything back", rule: channel.Rule{Channel: "c", Locations: []string{"x"}, BufferPercent: 100},
			ps: []store.Projection{proj("x", 8, 1)}, want: 0, sum: 8, buffer: 8},
		{name: "max caps", rule: channel.Rule{Channel: "c", Locations: []string{"munich"}, Max: ptr(50)},
			ps: ps, want: 50, sum: 100, capped: true, sentence: "capped at max 50 ⇒ 50"},
		{name: "max 0 hides the channel", rule: channel.Rule{Channel: "c", Locations: []string{"munich"}, Max: ptr(0)},
			ps: ps, want: 0, sum: 100, capped: true},
		{name: "below floor shows 0", rule: channel.Rule{Channel: "c", Locations: []string{"berlin"}, BufferUnits: 3, Floor: 5},
			ps: ps, want: 0, sum: 7, buffer: 3, belowFloor: true, sentence: "4 is below floor 5, so the channel shows 0 ⇒ 0"},
		{name: "at floor shows the value", rule: channel.Rule{Channel: "c", Locations: []string{"berlin"}, BufferUnits: 2, Floor: 5},
			ps: ps, want: 5, sum: 7, buffer: 2},
		{name: "buffer, max and floor together", rule: channel.Rule{Channel: "c", Locations: []string{"berlin", "hamburg", "munich"}, BufferPercent: 5, Max: ptr(100), Floor: 3},
			ps: ps, want: 100, sum: 112, buffer: 6, capped: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.rule.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			q := tc.rule.Compute(tc.ps)
			ex := q.Explanation
			if q.Value != tc.want || ex.Sum != tc.sum || ex.Buffer != tc.buffer || ex.Capped != tc.capped || ex.BelowFloor != tc.belowFloor {
				t.Errorf("Compute = %d (sum %d, buffer %d, capped %v, below floor %v); want %d (sum %d, buffer %d, capped %v, below floor %v)\n%s",
					q.Value, ex.Sum, ex.Buffer, ex.Capped, ex.BelowFloor, tc.want, tc.sum, tc.buffer, tc.capped, tc.belowFloor, ex.Rule)
			}
			if q.Value < 0 {
				t.Errorf("negative value %d", q.Value)
			}
			if len(ex.Locations) != len(tc.rule.Locations) {
				t.Errorf("explanation has %d locations, want %d", len(ex.Locations), len(tc.rule.Locations))
			}
			if !strings.Contains(ex.Rule, tc.sentence) {
				t.Errorf("Rule = %q, want it to contain %q", ex.Rule, tc.sentence)
			}
		})
	}
}

func TestVersionGrowsWithEveryEntry(t *testing.T) {
	t.Parallel()
	r := channel.Rule{Channel: "c", Locations: []string{"a", "b"}}
	// Location b moves while a stays: the max of the seqs would not move,
	// the sum does.
	v1 := r.Compute([]store.Projection{proj("a", 1, 10), proj("b", 1, 3)}).Explanation.Version()
	v2 := r.Compute([]store.Projection{proj("a", 1, 10), proj("b", 0, 4)}).Explanation.Version()
	if v2 <= v1 {
		t.Fatalf("version %d after a change, was %d", v2, v1)
	}
	if v := r.Compute([]store.Projection{proj("a", 1, 10), proj("zz", 0, 99)}).Explanation.Version(); v != 10 {
		t.Fatalf("version counts a location outside the rule: %d", v)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	t.Parallel()
	r := channel.Rule{
		Locations:     []string{"a", "", "a"},
		BufferUnits:   -1,
		BufferPercent: 120,
		Max:           ptr(-2),
		Floor:         -3,
	}
	err := r.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"channel: required",
		"locations[1]: empty location id",
		`locations[2]: "a" is already locations[0]`,
		"bufferUnits: -1 is negative",
		"bufferPercent: 120 is not between 0 and 100",
		"bufferPercent: set bufferUnits or bufferPercent, not both",
		"max: -2 is negative",
		"floor: -3 is negative",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if err := (channel.Rule{Channel: "c", Locations: []string{"a"}, Max: ptr(2), Floor: 3}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "floor: 3 is above max 2") {
		t.Errorf("floor above max: %v", err)
	}
	if err := (channel.Rule{Channel: "c"}).Validate(); err == nil || !strings.Contains(err.Error(), "locations: at least one") {
		t.Errorf("no locations: %v", err)
	}
}

func TestComputeNeverNegative(t *testing.T) {
	t.Parallel()
	for _, avail := range []int64{-1 << 40, -5, 0, 3, 1 << 40} {
		for _, buf := range []int64{0, 1, 10, 1 << 41} {
			for _, floor := range []int64{0, 2} {
				r := channel.Rule{Channel: "c", Locations: []string{"x", "y"}, BufferUnits: buf, Floor: floor}
				q := r.Compute([]store.Projection{proj("x", avail, 1), proj("y", avail, 1)})
				if q.Value < 0 {
					t.Fatalf("avail %d buffer %d floor %d: %d", avail, buf, floor, q.Value)
				}
			}
		}
	}
}

func ExampleRule_Compute() {
	r := channel.Rule{Channel: "shopify-eu", Locations: []string{"berlin", "hamburg"}, BufferPercent: 10, Max: ptr(50), Floor: 2}
	q := r.Compute([]store.Projection{
		{Key: store.Key{SKU: "TSHIRT-M", Location: "berlin"}, Quantities: store.Quantities{Available: 7}, Seq: 4},
		{Key: store.Key{SKU: "TSHIRT-M", Location: "hamburg"}, Quantities: store.Quantities{Available: -2}, Seq: 9},
	})
	fmt.Println(q.Value)
	fmt.Println(q.Explanation.Rule)
	// Output:
	// 6
	// shopify-eu: berlin 7 + hamburg -2 (oversold, counts as 0) = 7; buffer 10% of 7 (rounded up) = 1 → 6 ⇒ 6
}
