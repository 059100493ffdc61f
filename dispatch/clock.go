package dispatch

import "time"

// Clock is the Dispatcher's time: coalescing windows, backoff, budget
// waits and lag are computed and slept on it. Tests run the Dispatcher in
// a testing/synctest bubble, where the system clock is already fake, or
// inject their own.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// systemClock is the zero Options.Clock.
type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
