package fbaapi

import (
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/spapi"
	"github.com/stockgate/stockgate/errcode"
)

// APIError is one entry of a response's "errors" (fbaInventory.json
// definitions Error: code required, message, details): SP-API's.
type APIError = spapi.APIError

// Error is every error the Client returns: SP-API's, with Op
// "getInventorySummaries" for a call.
type Error = spapi.Error

// ErrorCode returns the Code of err: OK for nil, Unknown for an error that
// is not an *Error.
func ErrorCode(err error) errcode.Code { return spapi.ErrorCode(err) }

// IsRetryable reports whether the same request may succeed later
// (ResourceExhausted, Unavailable, Aborted).
func IsRetryable(err error) bool { return spapi.IsRetryable(err) }

// RetryAfter is the Retry-After of the answer, zero when it had none (the
// documented case, ref §6.1 [U]).
func RetryAfter(err error) time.Duration { return spapi.RetryAfter(err) }
