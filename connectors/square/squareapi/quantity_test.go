package squareapi

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
		{"79", 79, nil},
		{"0", 0, nil},
		{"-0", 0, nil},
		{"007", 7, nil},
		{"12.00000", 12, nil}, // up to 5 decimals (ref §3)
		{"5.0", 5, nil},
		{"-3", -3, nil},
		{"1000000000", 1_000_000_000, nil},
		{"-1000000000", -1_000_000_000, nil},
		{"0000000000000000000000001", 1, nil}, // 25 characters
		{"2.5", 0, ErrNotWhole},
		{"0.00001", 0, ErrNotWhole},
		{"-1.10000", 0, ErrNotWhole},
		{"1000000001", 0, ErrQuantityRange},
		{"99999999999", 0, ErrQuantityRange},
		{"99999999999999999999", 0, ErrQuantityRange}, // beyond int64: never parsed as a number
		{"-12345678901", 0, ErrQuantityRange},
		{"", 0, ErrQuantitySyntax},
		{"-", 0, ErrQuantitySyntax},
		{"+1", 0, ErrQuantitySyntax},
		{" 1", 0, ErrQuantitySyntax},
		{"1.", 0, ErrQuantitySyntax},
		{".5", 0, ErrQuantitySyntax},
		{"1e3", 0, ErrQuantitySyntax},
		{"1,5", 0, ErrQuantitySyntax},
		{"0x10", 0, ErrQuantitySyntax},
		{"NaN", 0, ErrQuantitySyntax},
		{"1.2.3", 0, ErrQuantitySyntax},
		{"--1", 0, ErrQuantitySyntax},
		{"000000000000000000000000001", 0, ErrQuantitySyntax}, // 27 characters (max 26, ref §3)
	}
	for _, tt := range tests {
		got, err := ParseQuantity(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("ParseQuantity(%q) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"10", "12.00000", "-3", "2.5", "1e3", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseQuantity(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("ParseQuantity(%q) = %d with error %v", s, n, err)
			}
			return
		}
		if n < -maxQuantity || n > maxQuantity || len(s) > maxQuantityLen {
			t.Fatalf("ParseQuantity(%q) = %d", s, n)
		}
	})
}

func BenchmarkParseQuantity(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if n, err := ParseQuantity("12.00000"); err != nil || n != 12 {
			b.Fatal(n, err)
		}
	}
}
