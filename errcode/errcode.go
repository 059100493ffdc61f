// Package errcode is stockgate's one error-code vocabulary, in the style of
// gocloud.dev/gcerrors: every driver and the Dispatcher classify a failure
// as a [Code], and callers branch on the Code, never on message text.
//
// gcerrors has no Unauthenticated, Unavailable or Aborted, which a
// marketplace driver needs, so the names are the gRPC ones, cut to what
// stockgate returns. A package's own Error type carries the Code along with
// the marketplace's details (HTTP status, the marketplace's own code,
// Retry-After); the package's ErrorCode(err) reads it back. Code that
// classifies a failure itself (a Writer deciding that a call was throttled
// or aborted) returns an [Error], and [Of] reads a code from either.
//
// # HTTP statuses
//
// [FromHTTPStatus] maps a response status to a Code, the same way for
// every driver:
//
//	2xx                     OK
//	429                     ResourceExhausted (throttled)
//	401, 403                Unauthenticated
//	404                     NotFound
//	408, 5xx                Unavailable (a timeout or a server failure)
//	other 4xx               InvalidArgument
//	anything else (1xx/3xx) Unknown
//
// Statuses are only half of it: marketplaces also answer 200 with errors
// in the body, which the driver classifies with the same codes (a stale
// compare-and-set is FailedPrecondition; a throttle reported in the body
// is ResourceExhausted; a transport failure or client timeout is
// Unavailable; the caller's own context gives Canceled or
// DeadlineExceeded).
package errcode

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Code classifies an error. The zero value is OK, the code of a nil error.
// Codes are compared, switched on and logged by name (String); their
// numeric values are not stable and must not be stored.
type Code int

// The codes, with what each means and whether [Retryable] says to send the
// same request again.
const (
	// OK: no error.
	OK Code = iota
	// Unknown: an answer that cannot be classified (an unexpected
	// marketplace code, a body that is not the documented shape, an
	// unexpected status), or an error that carries no Code. Not
	// Retryable as is; a caller may still choose to back off and retry.
	Unknown
	// InvalidArgument: the request is wrong and will fail again as it is:
	// client-side validation, the marketplace's validation errors, HTTP
	// 400 and the other 4xx statuses not listed with another code.
	InvalidArgument
	// NotFound: the thing addressed does not exist: HTTP 404 (a wrong
	// shop, base URL or API version) or an item or level that is not
	// there.
	NotFound
	// FailedPrecondition: the system is not in the state the request
	// assumed, typically a stale compare-and-set (the quantity changed
	// since it was read). Not Retryable as is: re-read, recompute, and
	// send a new request.
	FailedPrecondition
	// ResourceExhausted: throttled: HTTP 429 or a throttle reported in
	// the body. Retryable after the wait the marketplace asks for.
	ResourceExhausted
	// Unauthenticated: the credentials were refused: HTTP 401 or 403, an
	// access-denied answer, or no token could be had. Not Retryable until
	// someone fixes the credentials.
	Unauthenticated
	// Unavailable: the marketplace could not answer now: HTTP 5xx, HTTP
	// 408, a transport failure or a client timeout. Retryable, with
	// backoff and the same idempotency key.
	Unavailable
	// Aborted: the request lost a race it did not cause (the same
	// idempotency key is already in progress, a sibling failed in an
	// all-or-nothing call). Retryable.
	Aborted
	// Canceled: the caller's own context was canceled. Not Retryable
	// within that context.
	Canceled
	// DeadlineExceeded: the caller's own context deadline passed. Not
	// Retryable within that context.
	DeadlineExceeded
)

var names = [...]string{
	OK: "OK", Unknown: "Unknown", InvalidArgument: "InvalidArgument", NotFound: "NotFound",
	FailedPrecondition: "FailedPrecondition", ResourceExhausted: "ResourceExhausted",
	Unauthenticated: "Unauthenticated", Unavailable: "Unavailable", Aborted: "Aborted",
	Canceled: "Canceled", DeadlineExceeded: "DeadlineExceeded",
}

// String returns the code's name, such as "NotFound", or "Code(n)" for a
// value that is not one of the constants.
func (c Code) String() string {
	if c >= 0 && int(c) < len(names) {
		return names[c]
	}
	return "Code(" + strconv.Itoa(int(c)) + ")"
}

// Retryable reports whether sending the same request again, unchanged and
// with the same idempotency key, may succeed: ResourceExhausted (after the
// wait asked for), Unavailable and Aborted. FailedPrecondition is not: it
// needs a re-read and a new request. Canceled and DeadlineExceeded are
// not: the caller gave up.
func Retryable(c Code) bool {
	switch c {
	case ResourceExhausted, Unavailable, Aborted:
		return true
	}
	return false
}

// FromHTTPStatus classifies an HTTP response status; see the package doc
// for the table.
func FromHTTPStatus(status int) Code {
	switch {
	case status >= 200 && status <= 299:
		return OK
	case status == 429: // Too Many Requests
		return ResourceExhausted
	case status == 401 || status == 403: // Unauthorized, Forbidden
		return Unauthenticated
	case status == 404:
		return NotFound
	case status == 408: // Request Timeout
		return Unavailable
	case status >= 500 && status <= 599:
		return Unavailable
	case status >= 400 && status <= 499:
		return InvalidArgument
	}
	return Unknown
}

// Error is an error its maker classified itself (a Writer's verdict on a
// marketplace's answer, say), as opposed to a driver's own error type.
type Error struct {
	// Code classifies Err.
	Code Code
	// RetryAfter, when positive, is how long to wait before sending again.
	RetryAfter time.Duration
	// Err describes the failure.
	Err error
}

// Error returns Err's text.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Of classifies err: the Code of the first *Error in its chain; Canceled
// or DeadlineExceeded for a context's own errors; else what driver says,
// the ErrorCode of the driver package that made err.
func Of(err error, driver func(error) Code) Code {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded
	}
	return driver(err)
}

// Transport classifies a failure to get an answer at all, made under ctx:
// Canceled or DeadlineExceeded when ctx ended, else Unavailable (a refused
// connection, a client timeout, a reset).
func Transport(ctx context.Context) Code {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return Canceled
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return DeadlineExceeded
	}
	return Unavailable
}
