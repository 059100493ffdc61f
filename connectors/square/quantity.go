package square

import (
	"errors"
	"strings"
)

// Square quantities are decimal strings with up to 5 decimals and at most
// 26 characters, such as "10" or "2.50000" (ref §3 "InventoryCount fields",
// §6 pitfall 8): parsed digit by digit, never through float64.
const maxQuantityLen = 26

// Ways a well-formed Square quantity cannot be a stockgate quantity. They
// make dead letters, not ErrMalformed: Square sent what it documents.
var (
	errNotWhole = errors.New("is not a whole number of units")
	errTooLarge = errors.New("is beyond ±1000000000")
)

// errSyntax: the string is not a Square decimal quantity at all.
var errSyntax = errors.New("is not a decimal quantity")

// parseQuantity returns the whole number a Square quantity string states:
// an optional minus, digits, and optionally a point and more digits. Zeros
// after the point are allowed ("5.00000" is 5); any other fraction is
// errNotWhole, since stockgate counts units. A value beyond ±maxQuantity is
// errTooLarge; a string of the wrong shape, or longer than 26 characters,
// errSyntax.
func parseQuantity(s string) (int64, error) {
	if len(s) == 0 || len(s) > maxQuantityLen {
		return 0, errSyntax
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	if !digits(whole) || (hasPoint && !digits(frac)) {
		return 0, errSyntax
	}
	if strings.Trim(frac, "0") != "" {
		return 0, errNotWhole
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 10 { // more than 9_999_999_999
		return 0, errTooLarge
	}
	var n int64
	for i := 0; i < len(whole); i++ {
		n = n*10 + int64(whole[i]-'0')
	}
	if n > maxQuantity {
		return 0, errTooLarge
	}
	if neg {
		n = -n
	}
	return n, nil
}

// digits reports whether s is one or more ASCII digits.
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
