package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stockgate/stockgate/errcode"
)

// ErrTooManyQuantities is wrapped by the error of a SetRequest with more
// than MaxQuantities quantities; nothing was sent.
var ErrTooManyQuantities = errors.New("shopify admin: more than 250 quantities in one call (ref §5.1 input limits)")

// Error is every error the Client returns.
type Error struct {
	// Code classifies the error, as the package doc lists.
	Code errcode.Code
	// HTTPStatus is the response status; 0 when there was no response
	// (validation, transport).
	HTTPStatus int
	// ShopifyCode is Shopify's own code: the userError code, or the
	// top-level errors[].extensions.code ("THROTTLED",
	// "MAX_INPUT_SIZE_EXCEEDED", …). Empty when there is none.
	ShopifyCode string
	// RetryAfter is how long to wait before retrying; see RetryAfter.
	RetryAfter time.Duration
	// Cost is the response's extensions.cost, nil when it had none
	// (401, 5xx, transport errors).
	Cost *Cost
	// Err describes the failure.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("shopify admin: ")
	b.WriteString(e.Code.String())
	switch {
	case e.HTTPStatus != 0 && e.ShopifyCode != "":
		fmt.Fprintf(&b, " (HTTP %d, %s)", e.HTTPStatus, e.ShopifyCode)
	case e.HTTPStatus != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	case e.ShopifyCode != "":
		fmt.Fprintf(&b, " (%s)", e.ShopifyCode)
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

// IsRetryable reports whether sending the same request again, with the
// same idempotency key, may succeed: ResourceExhausted (after RetryAfter),
// Unavailable and Aborted. A stale compare-and-set (FailedPrecondition) is
// not: it needs a re-read and a new request.
func IsRetryable(err error) bool {
	return errcode.Retryable(ErrorCode(err))
}

// RetryAfter is how long err says to wait before a retry, zero when it
// says nothing. Derived as ref §5.1 says: the Retry-After header in
// seconds (429, 503) when present, else, for a throttle,
// (requestedQueryCost − currentlyAvailable) / restoreRate from
// extensions.cost, rounded up to the millisecond.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// costWait is (requested − currentlyAvailable) / restoreRate (ref §5.1).
func costWait(c *Cost) time.Duration {
	if c == nil || c.ThrottleStatus.RestoreRate <= 0 {
		return 0
	}
	need := c.Requested - c.ThrottleStatus.CurrentlyAvailable
	if need <= 0 {
		return 0
	}
	return ceilMillis(need / c.ThrottleStatus.RestoreRate)
}

func ceilMillis(seconds float64) time.Duration {
	return time.Duration(math.Ceil(seconds*1000)) * time.Millisecond
}

// retryAfterHeader reads Retry-After: seconds (fractional accepted, as
// Shopify's own clients parse it, ref §5.2) or an HTTP date.
func retryAfterHeader(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && !math.IsInf(s, 0) {
		return ceilMillis(s), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t)), true
	}
	return 0, false
}

// statusCode classifies a non-2xx HTTP status: errcode.FromHTTPStatus,
// except 402 Payment Required (the shop is frozen) and 423 Locked (the
// shop is locked), which are no fault of the request and may clear on
// their own, so they stay Unknown rather than InvalidArgument.
func statusCode(status int) errcode.Code {
	switch status {
	case http.StatusPaymentRequired, http.StatusLocked:
		return errcode.Unknown
	}
	return errcode.FromHTTPStatus(status)
}

// topLevelCode classifies errors[].extensions.code. A GraphQL request
// error is the client's fault unless it says otherwise.
func topLevelCode(code string) errcode.Code {
	switch code {
	case "THROTTLED":
		return errcode.ResourceExhausted
	case "INTERNAL_SERVER_ERROR":
		return errcode.Unavailable
	case "ACCESS_DENIED":
		return errcode.Unauthenticated
	}
	return errcode.InvalidArgument
}

// userErrorCode classifies an InventorySetQuantitiesUserErrorCode
// (ref §4.2 table).
func userErrorCode(code string) errcode.Code {
	switch code {
	case "CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE", "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED":
		return errcode.FailedPrecondition
	case "IDEMPOTENCY_CONCURRENT_REQUEST":
		return errcode.Aborted
	case "COMPARE_QUANTITY_REQUIRED", "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
		"NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", "ITEM_NOT_STOCKED_AT_LOCATION", "NON_MUTABLE_INVENTORY_ITEM":
		return errcode.InvalidArgument
	}
	if strings.HasPrefix(code, "INVALID_") {
		return errcode.InvalidArgument
	}
	return errcode.Unknown
}

// userErrorRank orders codes when one call has several userErrors: the
// one that makes a retry least useful wins.
func userErrorRank(c errcode.Code) int {
	switch c {
	case errcode.InvalidArgument:
		return 4
	case errcode.Unknown:
		return 3
	case errcode.FailedPrecondition:
		return 2
	case errcode.Aborted:
		return 1
	}
	return 0
}

// userErrorsError is the error of a call answered with userErrors.
func userErrorsError(ues []UserError, cost *Cost) *Error {
	e := &Error{Code: errcode.Aborted, HTTPStatus: http.StatusOK, Cost: cost}
	rank := -1
	msgs := make([]string, 0, min(len(ues), 5))
	for i, ue := range ues {
		if c := userErrorCode(ue.Code); userErrorRank(c) > rank {
			rank, e.Code, e.ShopifyCode = userErrorRank(c), c, ue.Code
		}
		if i < 5 {
			msgs = append(msgs, fmt.Sprintf("%s at %s: %s", ue.Code, strings.Join(ue.Field, "."), ue.Message))
		}
	}
	if len(ues) > 5 {
		msgs = append(msgs, fmt.Sprintf("and %d more", len(ues)-5))
	}
	e.Err = fmt.Errorf("inventorySetQuantities userErrors: %s", strings.Join(msgs, "; "))
	return e
}

// wireError is an entry of the top-level "errors" array.
type wireError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// parseErrors reads "errors", which Shopify sends as an array (GraphQL),
// a string (401: "[API] Invalid API key…") or an object.
func parseErrors(raw json.RawMessage) []wireError {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	switch raw[0] {
	case '[':
		var errs []wireError
		if json.Unmarshal(raw, &errs) == nil {
			return errs
		}
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return []wireError{{Message: s}}
		}
	}
	return []wireError{{Message: string(raw)}}
}

func joinMessages(errs []wireError) string {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Message)
	}
	return strings.Join(msgs, "; ")
}

// topLevelError is the error of a 200 answer with "errors": THROTTLED if
// any entry says so, else the first entry's code.
func topLevelError(errs []wireError, cost *Cost) *Error {
	first := errs[0]
	for _, e := range errs {
		if e.Extensions.Code == "THROTTLED" {
			first = e
			break
		}
	}
	e := &Error{
		Code: topLevelCode(first.Extensions.Code), HTTPStatus: http.StatusOK, ShopifyCode: first.Extensions.Code,
		Cost: cost, Err: errors.New(joinMessages(errs)),
	}
	if e.Code == errcode.ResourceExhausted {
		e.RetryAfter = costWait(cost)
	}
	return e
}

// statusError is the error of a non-2xx answer.
func statusError(resp *http.Response, errs []wireError, cost *Cost) *Error {
	e := &Error{Code: statusCode(resp.StatusCode), HTTPStatus: resp.StatusCode, Cost: cost}
	for _, we := range errs {
		if we.Extensions.Code != "" {
			e.ShopifyCode = we.Extensions.Code
			break
		}
	}
	msg := joinMessages(errs)
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	e.Err = errors.New(msg)
	if d, ok := retryAfterHeader(resp.Header); ok {
		e.RetryAfter = d
	} else if e.Code == errcode.ResourceExhausted {
		e.RetryAfter = costWait(cost)
	}
	return e
}

// transportError classifies a failure to get a response.
func transportError(ctx context.Context, err error) *Error {
	return &Error{Code: errcode.Transport(ctx), Err: err}
}
