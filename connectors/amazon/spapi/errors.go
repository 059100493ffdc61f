package spapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stockgate/stockgate/errcode"
)

// APIError is one entry of an answer's "errors": the models' Error
// definition (code and message required, details optional), for example
// {"code":"QuotaExceeded","message":"You exceeded your quota for the
// requested resource.","details":""} (ref §6.1).
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
	Details string `json:"details,omitempty"`
}

// Error is every error a Client returns.
type Error struct {
	// Op names the operation, such as "patchListingsItem".
	Op string
	// Code classifies the error, as the package doc lists.
	Code errcode.Code
	// HTTPStatus is the response status; 0 when there was no response.
	HTTPStatus int
	// Errors are the answer's "errors" entries.
	Errors []APIError
	// RequestID is the x-amzn-RequestId header, for Amazon support.
	RequestID string
	// RateLimit is the answer's x-amzn-RateLimit-Limit in requests per
	// second; 0 when absent (always so on 403, 429 and 5xx, ref §6.1).
	RateLimit float64
	// RetryAfter is the Retry-After header; zero when absent, which is
	// the documented case (ref §6.1 [U]).
	RetryAfter time.Duration
	// Err describes the failure.
	Err error
}

// Error describes the failure: the operation, the code, the HTTP status
// and Amazon's first error code, the message and the request id.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sp-api")
	if e.Op != "" {
		b.WriteString(" ")
		b.WriteString(e.Op)
	}
	b.WriteString(": ")
	b.WriteString(e.Code.String())
	switch {
	case e.HTTPStatus != 0 && len(e.Errors) > 0:
		fmt.Fprintf(&b, " (HTTP %d, %s)", e.HTTPStatus, e.Errors[0].Code)
	case e.HTTPStatus != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.RequestID != "" {
		b.WriteString(" (request ")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the Code of err: OK for nil, Unknown for an error that
// is not an *Error.
func ErrorCode(err error) errcode.Code {
	if err == nil {
		return errcode.OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return errcode.Unknown
}

// IsRetryable reports whether the same request may succeed later:
// errcode.Retryable of its code (ResourceExhausted, Unavailable, Aborted).
func IsRetryable(err error) bool { return errcode.Retryable(ErrorCode(err)) }

// RetryAfter is the Retry-After of the answer, zero when it had none (the
// documented case, ref §6.1 [U]).
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// RateLimit is the x-amzn-RateLimit-Limit of the answer that failed, 0
// when it had none.
func RateLimit(err error) float64 {
	var e *Error
	if errors.As(err, &e) {
		return e.RateLimit
	}
	return 0
}

// CodeOf classifies an SP-API error code found in an answer's "errors"
// (models' ErrorList; ref §6.1 for QuotaExceeded, §6.2 and the 403
// descriptions for the access codes). The status wins when it is not 2xx.
func CodeOf(code string) errcode.Code {
	switch code {
	case "QuotaExceeded":
		return errcode.ResourceExhausted
	case "InternalFailure", "ServiceUnavailable":
		return errcode.Unavailable
	case "Unauthorized", "AccessDenied", "InvalidSignature", "ExpiredToken", "Unauthenticated":
		return errcode.Unauthenticated
	case "InvalidInput", "InvalidParameterValue", "BAD_REQUEST", "400":
		return errcode.InvalidArgument
	case "NotFound", "NOT_FOUND":
		return errcode.NotFound
	}
	return errcode.Unknown
}

// Describe joins errors as "code: message (details); …".
func Describe(errs []APIError) string {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		m := e.Code
		if e.Message != "" {
			m += ": " + e.Message
		}
		if e.Details != "" {
			m += " (" + e.Details + ")"
		}
		msgs = append(msgs, m)
	}
	return strings.Join(msgs, "; ")
}

// TransportError classifies a failure without an answer: the caller's
// context gives Canceled or DeadlineExceeded, anything else (a refused
// connection, a client timeout) is Unavailable.
func TransportError(ctx context.Context, op string, err error) *Error {
	return &Error{Op: op, Code: errcode.Transport(ctx), Err: err}
}
