package mempubsub

// fifo is a slice-backed queue with amortized O(1) push and pop.
//
// Popped slots are zeroed so the garbage collector can reclaim what they
// pointed to; the live tail is copied to the front once at least half of the
// backing array is dead, so a long-lived queue does not grow without bound.
// The zero value is an empty queue.
type fifo[T any] struct {
	buf  []T
	head int
}

// compactAfter is the number of dead slots below which fifo never compacts:
// copying a short tail costs more than it saves.
const compactAfter = 1024

// shrinkAbove is the capacity above which an emptied fifo drops its backing
// array, so a burst does not pin memory for the life of a subscription.
const shrinkAbove = 4096

func (q *fifo[T]) len() int { return len(q.buf) - q.head }

func (q *fifo[T]) push(v T) { q.buf = append(q.buf, v) }

// front returns the oldest element. It panics if q is empty.
func (q *fifo[T]) front() T { return q.buf[q.head] }

// pop removes and returns the oldest element. It panics if q is empty.
func (q *fifo[T]) pop() T {
	var zero T
	v := q.buf[q.head]
	q.buf[q.head] = zero
	q.head++
	switch {
	case q.head == len(q.buf):
		if cap(q.buf) > shrinkAbove {
			q.buf = nil
		} else {
			q.buf = q.buf[:0]
		}
		q.head = 0
	case q.head >= compactAfter && 2*q.head >= len(q.buf):
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf = q.buf[:n]
		q.head = 0
	}
	return v
}

// filter keeps, in order, only the elements for which keep returns true.
func (q *fifo[T]) filter(keep func(T) bool) {
	n := 0
	for _, v := range q.buf[q.head:] {
		if keep(v) {
			q.buf[n] = v
			n++
		}
	}
	clear(q.buf[n:])
	q.buf = q.buf[:n]
	q.head = 0
}

// reset empties q and releases its backing array.
func (q *fifo[T]) reset() { *q = fifo[T]{} }
