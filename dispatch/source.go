package dispatch

import (
	"context"
	"errors"
	"io"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/live"
)

// Source yields availability changes: the ledger's output. Next blocks
// until there is at least one change and returns every change it has;
// io.EOF means there will be no more (the Dispatcher keeps writing what it
// has and reconciling); any other error ends Run.
//
// A Source may drop intermediate values of a SKU and location (as
// live.Subscriber does): the Dispatcher only needs to hear that a SKU
// changed, and reads its quantities from the store.
type Source interface {
	Next(ctx context.Context) ([]event.Availability, error)
}

// ChanSource is a Source over a channel; a closed channel is io.EOF.
type ChanSource <-chan event.Availability

// maxChanBatch bounds what one ChanSource.Next returns.
const maxChanBatch = 1024

// Next implements Source.
func (c ChanSource) Next(ctx context.Context) ([]event.Availability, error) {
	var out []event.Availability
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case a, ok := <-c:
		if !ok {
			return nil, io.EOF
		}
		out = append(out, a)
	}
	for len(out) < maxChanBatch {
		select {
		case a, ok := <-c:
			if !ok {
				return out, nil
			}
			out = append(out, a)
		default:
			return out, nil
		}
	}
	return out, nil
}

// LiveSource adapts a live.Subscriber; subscribe with an empty filter to
// hear every SKU and location. The hub never blocks on it, and keeps the
// latest change per key while the Dispatcher is busy. A closed hub or
// subscriber is io.EOF.
func LiveSource(s *live.Subscriber) Source { return liveSource{s} }

type liveSource struct{ s *live.Subscriber }

func (l liveSource) Next(ctx context.Context) ([]event.Availability, error) {
	cs, err := l.s.Next(ctx)
	if errors.Is(err, live.ErrClosed) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, err
	}
	out := make([]event.Availability, len(cs))
	for i, c := range cs {
		out[i] = c.Availability
	}
	return out, nil
}
