package reconcile

import (
	"context"
	"time"

	"github.com/stockgate/stockgate/connectors"
)

// Acceptor stores a normalized delivery with its dedup key; the ingest
// handler (*ingest.Handler) is one.
type Acceptor interface {
	Accept(ctx context.Context, res *connectors.Result, receivedAt time.Time) (duplicate bool, err error)
}

// SubmitTo returns a Submit that stores a Job's Results through a, as
// deliveries received at now() (nil: time.Now): the events go to the
// outbox with their DedupKey, in one transaction, and reach the ledger
// like a webhook's. A duplicate DedupKey is ErrDuplicate.
func SubmitTo(a Acceptor, now func() time.Time) Submit {
	if now == nil {
		now = time.Now
	}
	return func(ctx context.Context, res *connectors.Result) error {
		dup, err := a.Accept(ctx, res, now())
		if err != nil {
			return err
		}
		if dup {
			return ErrDuplicate
		}
		return nil
	}
}
