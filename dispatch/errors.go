package dispatch

import (
	"context"
	"errors"
	"strconv"
)

// Code classifies a write failure, in the project's gcerrors-style
// vocabulary (the same names as connectors/shopify/admin). The Dispatcher
// branches on the Code, never on message text.
type Code int

// The codes and what the Dispatcher does with each.
const (
	// OK: written.
	OK Code = iota
	// Unknown: an answer the driver cannot classify. Retried with backoff;
	// counts as a breaker failure.
	Unknown
	// InvalidArgument: the marketplace will refuse the write as it is
	// (validation, an unmapped item). Dead-lettered at once; a breaker
	// success, since the marketplace answered.
	InvalidArgument
	// NotFound: the account's endpoint does not exist (wrong shop or API
	// version). The account is paused and an alert raised.
	NotFound
	// FailedPrecondition: a stale compare-and-set. Sent again at once from a
	// fresh ledger read; a breaker success.
	FailedPrecondition
	// ResourceExhausted: throttled (HTTP 429, Shopify THROTTLED). Retried
	// after RetryAfter; neither success nor failure for the breaker.
	ResourceExhausted
	// Unauthenticated: the credentials were refused (HTTP 401/403). The
	// account is paused and an alert raised; Resume restarts it.
	Unauthenticated
	// Unavailable: HTTP 5xx, a transport failure or a timeout. Retried with
	// backoff; a breaker failure.
	Unavailable
	// Aborted: a concurrent request or a sibling's failure in an
	// all-or-nothing call; retried. A breaker success.
	Aborted
	// Canceled, DeadlineExceeded: the Dispatcher's own context. Retried
	// later; neither success nor failure for the breaker.
	Canceled
	DeadlineExceeded
)

var codeNames = [...]string{
	OK: "OK", Unknown: "Unknown", InvalidArgument: "InvalidArgument", NotFound: "NotFound",
	FailedPrecondition: "FailedPrecondition", ResourceExhausted: "ResourceExhausted",
	Unauthenticated: "Unauthenticated", Unavailable: "Unavailable", Aborted: "Aborted",
	Canceled: "Canceled", DeadlineExceeded: "DeadlineExceeded",
}

func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Code(" + strconv.Itoa(int(c)) + ")"
}

// Sentinel errors; match with errors.Is.
var (
	// ErrRunning: Run was called while another Run of the same Dispatcher
	// is going.
	ErrRunning = errors.New("dispatch: already running")
	// ErrUnknownAccount: no account has the key.
	ErrUnknownAccount = errors.New("dispatch: unknown account")
	// ErrUnsynced: the account does not sync the SKU.
	ErrUnsynced = errors.New("dispatch: the account does not sync the SKU")
	// ErrPaused is the breaker-level error of a call to a paused account.
	ErrPaused = errors.New("dispatch: account paused")
)

// Error is a write failure as the Dispatcher records it: the driver's
// error, wrapped once with the account and the code.
type Error struct {
	Account string
	Code    Code
	Err     error
}

func (e *Error) Error() string {
	return "dispatch: " + e.Account + ": " + e.Code.String() + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// classify returns the code of a Write error: the context's own
// cancellation wins over whatever the driver made of it.
func classify(ctx context.Context, w Writer, err error) Code {
	switch {
	case err == nil:
		return OK
	case errors.Is(ctx.Err(), context.Canceled):
		return Canceled
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return DeadlineExceeded
	}
	return w.ErrorCode(err)
}
