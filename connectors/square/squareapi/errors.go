package squareapi

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

// APIError is one entry of a response's "errors": Square's Error object
// {category, code, detail, field} (ref §4.1 "Error = {category, code,
// detail, field}"; spec components.schemas.Error).
type APIError struct {
	Category string `json:"category"`
	Code     string `json:"code"`
	Detail   string `json:"detail,omitempty"`
	Field    string `json:"field,omitempty"`
}

// Error is every error the Client returns.
type Error struct {
	// Code classifies the error, as the package doc lists.
	Code errcode.Code
	// HTTPStatus is the response status; 0 when there was no response
	// (validation, transport).
	HTTPStatus int
	// Errors are the response's "errors" entries, when it had any.
	Errors []APIError
	// RetryAfter is the Retry-After header of the answer, zero when it had
	// none. Square does not document one (ref §4.3 [U]); honour it when
	// present, else back off exponentially with jitter.
	RetryAfter time.Duration
	// Err describes the failure.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("square api: ")
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
// ResourceExhausted (after RetryAfter, ref §4.3: "use a retry
// mechanism with an exponential backoff schedule") and Unavailable.
func IsRetryable(err error) bool {
	return errcode.Retryable(ErrorCode(err))
}

// RetryAfter is how long err says to wait before a retry: the
// Retry-After header of the answer, zero when it had none.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// categoryCode classifies an ErrorCategory, for errors in a 2xx answer.
func categoryCode(category string) errcode.Code {
	switch category {
	case "RATE_LIMIT_ERROR":
		return errcode.ResourceExhausted
	case "AUTHENTICATION_ERROR":
		return errcode.Unauthenticated
	case "INVALID_REQUEST_ERROR":
		return errcode.InvalidArgument
	case "API_ERROR":
		return errcode.Unavailable
	}
	return errcode.Unknown
}

// retryAfterHeader reads Retry-After: seconds (fractions accepted) or an
// HTTP date, relative to now.
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
		m := e.Category + "/" + e.Code
		if e.Field != "" {
			m += " at " + e.Field
		}
		if e.Detail != "" {
			m += ": " + e.Detail
		}
		msgs = append(msgs, m)
	}
	return strings.Join(msgs, "; ")
}

// transportError classifies a failure to get a response.
func transportError(ctx context.Context, err error) *Error {
	return &Error{Code: errcode.Transport(ctx), Err: err}
}
