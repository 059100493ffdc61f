package errcode_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stockgate/stockgate/errcode"
)

func TestString(t *testing.T) {
	t.Parallel()
	want := map[errcode.Code]string{
		errcode.OK: "OK", errcode.Unknown: "Unknown", errcode.InvalidArgument: "InvalidArgument",
		errcode.NotFound: "NotFound", errcode.FailedPrecondition: "FailedPrecondition",
		errcode.ResourceExhausted: "ResourceExhausted", errcode.Unauthenticated: "Unauthenticated",
		errcode.Unavailable: "Unavailable", errcode.Aborted: "Aborted", errcode.Canceled: "Canceled",
		errcode.DeadlineExceeded:     "DeadlineExceeded",
		errcode.DeadlineExceeded + 1: "Code(11)", -1: "Code(-1)",
	}
	for c, s := range want {
		if got := c.String(); got != s {
			t.Errorf("Code(%d).String() = %q, want %q", int(c), got, s)
		}
	}
	var zero errcode.Code
	if zero != errcode.OK {
		t.Errorf("zero Code = %v, want OK", zero)
	}
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	retryable := map[errcode.Code]bool{errcode.ResourceExhausted: true, errcode.Unavailable: true, errcode.Aborted: true}
	for c := errcode.OK; c <= errcode.DeadlineExceeded; c++ {
		if got := errcode.Retryable(c); got != retryable[c] {
			t.Errorf("Retryable(%v) = %v, want %v", c, got, retryable[c])
		}
	}
}

func TestFromHTTPStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   errcode.Code
	}{
		{http.StatusOK, errcode.OK},
		{http.StatusNoContent, errcode.OK},
		{http.StatusTooManyRequests, errcode.ResourceExhausted},
		{http.StatusUnauthorized, errcode.Unauthenticated},
		{http.StatusForbidden, errcode.Unauthenticated},
		{http.StatusNotFound, errcode.NotFound},
		{http.StatusRequestTimeout, errcode.Unavailable},
		{http.StatusInternalServerError, errcode.Unavailable},
		{http.StatusBadGateway, errcode.Unavailable},
		{http.StatusServiceUnavailable, errcode.Unavailable},
		{http.StatusGatewayTimeout, errcode.Unavailable},
		{599, errcode.Unavailable},
		{http.StatusBadRequest, errcode.InvalidArgument},
		{http.StatusMethodNotAllowed, errcode.InvalidArgument},
		{http.StatusConflict, errcode.InvalidArgument},
		{http.StatusRequestEntityTooLarge, errcode.InvalidArgument},
		{http.StatusUnprocessableEntity, errcode.InvalidArgument},
		{499, errcode.InvalidArgument},
		{0, errcode.Unknown},
		{http.StatusContinue, errcode.Unknown},
		{http.StatusFound, errcode.Unknown},
		{600, errcode.Unknown},
	}
	for _, tt := range tests {
		if got := errcode.FromHTTPStatus(tt.status); got != tt.want {
			t.Errorf("FromHTTPStatus(%d) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

// TestOf checks the order of classification: a maker's own *errcode.Error wins
// even around a context error, then the context's errors, then the
// driver's classifier.
func TestOf(t *testing.T) {
	driver := func(error) errcode.Code { return errcode.Unavailable }
	ctxErr := fmt.Errorf("call: %w", context.DeadlineExceeded)
	for _, tc := range []struct {
		name string
		err  error
		want errcode.Code
	}{
		{"own code", fmt.Errorf("batch: %w", &errcode.Error{Code: errcode.Aborted, Err: errors.New("sibling failed")}), errcode.Aborted},
		{"own code around a context error", &errcode.Error{Code: errcode.ResourceExhausted, Err: ctxErr}, errcode.ResourceExhausted},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), errcode.Canceled},
		{"deadline", ctxErr, errcode.DeadlineExceeded},
		{"driver's", errors.New("503"), errcode.Unavailable},
	} {
		if got := errcode.Of(tc.err, driver); got != tc.want {
			t.Errorf("%s: Of = %v, want %v", tc.name, got, tc.want)
		}
	}
	e := &errcode.Error{Code: errcode.Aborted, Err: errors.New("inner")}
	if e.Error() != "inner" || !errors.Is(e, e.Err) {
		t.Errorf("Error %q, Unwrap does not reach Err", e.Error())
	}
}

// TestTransport checks how a failure without an answer is classified by
// the context it was made under.
func TestTransport(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel2()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want errcode.Code
	}{
		{"live", context.Background(), errcode.Unavailable},
		{"canceled", canceled, errcode.Canceled},
		{"past its deadline", expired, errcode.DeadlineExceeded},
	} {
		if got := errcode.Transport(tc.ctx); got != tc.want {
			t.Errorf("%s: Transport = %v, want %v", tc.name, got, tc.want)
		}
	}
}
