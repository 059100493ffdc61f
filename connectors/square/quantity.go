package square

import (
	"errors"

	"github.com/stockgate/stockgate/connectors/square/squareapi"
)

// Square quantities are decimal strings with up to 5 decimals and at most
// 26 characters, such as "10" or "2.50000" (ref §3 "InventoryCount fields",
// §6 pitfall 8). squareapi.ParseQuantity, shared with the reconciliation
// source, parses them digit by digit, never through float64. A syntax
// error (squareapi.ErrQuantitySyntax) makes the message malformed; a
// well-formed quantity that is not a stockgate quantity (ErrNotWhole,
// ErrQuantityRange) makes a dead letter, since Square sent what it
// documents.

// quantityProblem words an error of squareapi.ParseQuantity for this
// package's dead letters and malformed-message errors, which read
// `quantity "2.25" is not a whole number of units`.
func quantityProblem(err error) string {
	switch {
	case errors.Is(err, squareapi.ErrNotWhole):
		return "is not a whole number of units"
	case errors.Is(err, squareapi.ErrQuantityRange):
		return "is beyond ±1000000000"
	}
	return "is not a decimal quantity"
}
