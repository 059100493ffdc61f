package dispatch

import (
	"context"
	"errors"

	"github.com/stockgate/stockgate/errcode"
)

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
	Code    errcode.Code
	Err     error
}

func (e *Error) Error() string {
	return "dispatch: " + e.Account + ": " + e.Code.String() + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// classify returns the code of a Write error: the context's own
// cancellation wins over whatever the driver made of it.
func classify(ctx context.Context, w Writer, err error) errcode.Code {
	switch {
	case err == nil:
		return errcode.OK
	case ctx.Err() != nil:
		return errcode.Transport(ctx)
	}
	return w.ErrorCode(err)
}
