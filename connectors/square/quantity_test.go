package square

import (
	"errors"
	"testing"
)

func TestParseQuantity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		err  error
	}{
		{"10", 10, nil}, // ref §3 fixture
		{"0", 0, nil},
		{"-0", 0, nil},
		{"007", 7, nil},
		{"12.00000", 12, nil}, // up to 5 decimals (ref §3)
		{"5.0", 5, nil},
		{"-3", -3, nil},
		{"1000000000", 1_000_000_000, nil},
		{"-1000000000", -1_000_000_000, nil},
		{"0000000000000000000000001", 1, nil}, // 25 characters
		{"2.5", 0, errNotWhole},
		{"0.00001", 0, errNotWhole},
		{"-1.10000", 0, errNotWhole},
		{"1000000001", 0, errTooLarge},
		{"99999999999999999999", 0, errTooLarge}, // beyond int64: never parsed as a number
		{"-12345678901", 0, errTooLarge},
		{"", 0, errSyntax},
		{"-", 0, errSyntax},
		{"+1", 0, errSyntax},
		{" 1", 0, errSyntax},
		{"1.", 0, errSyntax},
		{".5", 0, errSyntax},
		{"1e3", 0, errSyntax},
		{"1,5", 0, errSyntax},
		{"0x10", 0, errSyntax},
		{"NaN", 0, errSyntax},
		{"1.2.3", 0, errSyntax},
		{"--1", 0, errSyntax},
		{"000000000000000000000000001", 0, errSyntax}, // 27 characters (max 26, ref §3)
	}
	for _, tt := range tests {
		got, err := parseQuantity(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("parseQuantity(%q) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"10", "12.00000", "-3", "2.5", "1e3", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseQuantity(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("parseQuantity(%q) = %d with error %v", s, n, err)
			}
			return
		}
		if n < -maxQuantity || n > maxQuantity || len(s) > maxQuantityLen {
			t.Fatalf("parseQuantity(%q) = %d", s, n)
		}
	})
}
