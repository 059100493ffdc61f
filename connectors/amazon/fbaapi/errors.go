package fbaapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stockgate/stockgate/errcode"
)

// APIError is one entry of a response's "errors" (fbaInventory.json
// definitions Error: code required, message, details).
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
	Details string `json:"details,omitempty"`
}

// Error is every error the Client returns.
type Error struct {
	// Code classifies the error, as the package doc lists.
	Code errcode.Code
	// HTTPStatus is the response status; 0 when there was no response.
	HTTPStatus int
	// Errors are the response's "errors" entries, such as
	// {"code":"QuotaExceeded",…} (ref §6.1).
	Errors []APIError
	// RequestID is the x-amzn-RequestId header, for Amazon support.
	RequestID string
	// RetryAfter is the Retry-After header, zero when the answer had none:
	// SP-API documents none (ref §6.1 [U]).
	RetryAfter time.Duration
	// Err describes the failure.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("fba inventory api: ")
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

// IsRetryable reports whether sending the same request again later may
// succeed: errcode.Retryable of its code, which for this driver means
// ResourceExhausted and Unavailable. A retry of a page must
// happen within the nextToken's 30 seconds (ref §5.3).
func IsRetryable(err error) bool {
	return errcode.Retryable(ErrorCode(err))
}

// RetryAfter is the Retry-After of the answer, zero when it had none
// (the usual case: ref §6.1, "No Retry-After is documented for SP-API").
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// errorCode classifies an SP-API error code in a 2xx answer.
func errorCode(code string) errcode.Code {
	switch code {
	case "QuotaExceeded":
		return errcode.ResourceExhausted
	case "InternalFailure", "ServiceUnavailable":
		return errcode.Unavailable
	case "Unauthorized", "AccessDenied", "InvalidSignature", "ExpiredToken":
		return errcode.Unauthenticated
	case "InvalidInput", "InvalidParameterValue":
		return errcode.InvalidArgument
	}
	return errcode.Unknown
}

func retryAfterHeader(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && !math.IsInf(s, 0) {
		return time.Duration(math.Ceil(s*1000)) * time.Millisecond
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return 0
}

func describe(errs []APIError) string {
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

func transportError(ctx context.Context, err error) *Error {
	code := errcode.Unavailable
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		code = errcode.Canceled
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		code = errcode.DeadlineExceeded
	}
	return &Error{Code: code, Err: err}
}
