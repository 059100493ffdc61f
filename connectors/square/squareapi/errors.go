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
)

// Code classifies an error, in the project's one gcerrors-style
// vocabulary (the names of connectors/shopify/admin). Callers branch on
// the Code, never on message text.
type Code int

// The codes this driver returns.
const (
	// OK is the code of a nil error.
	OK Code = iota
	// Unknown: an answer the driver cannot classify (a body that is not
	// the documented shape, an unexpected status).
	Unknown
	// InvalidArgument: the request is wrong and will fail again as it is:
	// client-side validation, HTTP 400 and other 4xx not listed below,
	// category INVALID_REQUEST_ERROR.
	InvalidArgument
	// NotFound: HTTP 404 (a wrong base URL or path).
	NotFound
	// ResourceExhausted: throttled, HTTP 429 RATE_LIMITED, category
	// RATE_LIMIT_ERROR (ref §4.3). Retryable after RetryAfter.
	ResourceExhausted
	// Unauthenticated: HTTP 401 or 403, category AUTHENTICATION_ERROR
	// (UNAUTHORIZED, ACCESS_TOKEN_EXPIRED, INSUFFICIENT_SCOPES, …).
	Unauthenticated
	// Unavailable: HTTP 5xx, category API_ERROR, a transport failure or a
	// client timeout. Retryable.
	Unavailable
	// Canceled: the caller's context was canceled.
	Canceled
	// DeadlineExceeded: the caller's context deadline passed.
	DeadlineExceeded
)

var codeNames = [...]string{
	OK: "OK", Unknown: "Unknown", InvalidArgument: "InvalidArgument", NotFound: "NotFound",
	ResourceExhausted: "ResourceExhausted", Unauthenticated: "Unauthenticated",
	Unavailable: "Unavailable", Canceled: "Canceled", DeadlineExceeded: "DeadlineExceeded",
}

func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Code(" + strconv.Itoa(int(c)) + ")"
}

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
	// Code classifies the error.
	Code Code
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
func ErrorCode(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Unknown
}

// IsRetryable reports whether sending the same request again later may
// succeed: ResourceExhausted (after RetryAfter, ref §4.3: "use a retry
// mechanism with an exponential backoff schedule") and Unavailable.
func IsRetryable(err error) bool {
	switch ErrorCode(err) {
	case ResourceExhausted, Unavailable:
		return true
	}
	return false
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

// statusCode classifies a non-2xx HTTP status.
func statusCode(status int) Code {
	switch {
	case status == http.StatusTooManyRequests:
		return ResourceExhausted
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Unauthenticated
	case status == http.StatusNotFound:
		return NotFound
	case status >= 500:
		return Unavailable
	case status >= 400:
		return InvalidArgument
	}
	return Unknown
}

// categoryCode classifies an ErrorCategory, for errors in a 2xx answer.
func categoryCode(category string) Code {
	switch category {
	case "RATE_LIMIT_ERROR":
		return ResourceExhausted
	case "AUTHENTICATION_ERROR":
		return Unauthenticated
	case "INVALID_REQUEST_ERROR":
		return InvalidArgument
	case "API_ERROR":
		return Unavailable
	}
	return Unknown
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
	code := Unavailable
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		code = Canceled
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		code = DeadlineExceeded
	}
	return &Error{Code: code, Err: err}
}
