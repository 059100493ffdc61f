package pos

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// batch is the body: one delivery of movements from one register. It is
// stockgate's own format, documented in the package doc; unknown fields
// are rejected so a misspelt field fails loudly instead of being ignored.
type batch struct {
	IdempotencyKey string `json:"idempotencyKey"`
	Store          string `json:"store"`
	Register       string `json:"register"`
	SentAt         string `json:"sentAt"`
	// Movements stay raw until each is decoded on its own, so an error
	// names the movement's index. A pointer tells a missing or null array
	// from an empty one.
	Movements *[]json.RawMessage `json:"movements"`
}

// movement is one entry of movements.
type movement struct {
	Type string `json:"type"`
	SKU  string `json:"sku"`
	// Quantity is a pointer so that a missing quantity is an error rather
	// than a count of zero.
	Quantity *int64 `json:"quantity"`
	At       string `json:"at"`
	Ref      string `json:"ref"`
	Reason   string `json:"reason"`
}

// movementType is the closed set of movement types.
type movementType string

const (
	typeSale       movementType = "sale"
	typeReturn     movementType = "return"
	typeReceipt    movementType = "receipt"
	typeCount      movementType = "count"
	typeAdjustment movementType = "adjustment"
)

// movementTypes lists the types, in the order the doc gives them.
var movementTypes = []movementType{typeSale, typeReturn, typeReceipt, typeCount, typeAdjustment}

// parseMovementType returns the type named s, or false.
func parseMovementType(s string) (movementType, bool) {
	for _, t := range movementTypes {
		if string(t) == s {
			return t, true
		}
	}
	return "", false
}

// Field limits. Store, register and key together stay within the schemas'
// 256-byte correlationId ("pos:<store>:<register>:<key>").
const (
	maxKeyLen      = 128
	maxStoreLen    = 64
	maxRegisterLen = 32
	maxRefLen      = 128 // the schemas' orderId
	maxReasonLen   = 128 // the schemas' reason
)

// checkText says what is wrong with a required text field, or "".
func checkText(s string, max int) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > max:
		return "is longer than " + strconv.Itoa(max) + " bytes"
	case !utf8.ValidString(s):
		return "is not UTF-8"
	case strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return "contains control characters"
	}
	return ""
}

// checkKey says what is wrong with an idempotency key, or "": 1 to 128
// printable ASCII characters without space.
func checkKey(s string) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > maxKeyLen:
		return "is longer than " + strconv.Itoa(maxKeyLen) + " bytes"
	case strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }):
		return "must be printable ASCII without spaces"
	}
	return ""
}
