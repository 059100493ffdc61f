package squareapi

import (
	"errors"
	"strings"
)

// Ways a Square quantity can fail to be a whole number of units.
var (
	// ErrQuantitySyntax: the string is not a Square decimal quantity (an
	// optional minus, digits, optionally a point and more digits, at most
	// 26 characters; ref §3 "InventoryCount fields").
	ErrQuantitySyntax = errors.New("squareapi: not a decimal quantity")
	// ErrNotWhole: the quantity has a fraction other than zeros ("2.5", a
	// unit sold by weight, say).
	ErrNotWhole = errors.New("squareapi: not a whole number of units")
	// ErrQuantityRange: the quantity is beyond ±1,000,000,000, the range of
	// stockgate quantities.
	ErrQuantityRange = errors.New("squareapi: quantity beyond ±1000000000")
)

const (
	maxQuantityLen = 26
	maxQuantity    = 1_000_000_000
)

// ParseQuantity returns the whole number of units a Square quantity
// string states, parsed digit by digit, never through float64 (ref §6
// pitfall 8): "79" and "5.00000" are 79 and 5; "2.5" is ErrNotWhole.
func ParseQuantity(s string) (int64, error) {
	if len(s) == 0 || len(s) > maxQuantityLen {
		return 0, ErrQuantitySyntax
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	if !digits(whole) || (hasPoint && !digits(frac)) {
		return 0, ErrQuantitySyntax
	}
	if strings.Trim(frac, "0") != "" {
		return 0, ErrNotWhole
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 10 {
		return 0, ErrQuantityRange
	}
	var n int64
	for i := 0; i < len(whole); i++ {
		n = n*10 + int64(whole[i]-'0')
	}
	if n > maxQuantity {
		return 0, ErrQuantityRange
	}
	if neg {
		n = -n
	}
	return n, nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
