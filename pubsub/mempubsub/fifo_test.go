package mempubsub

import "testing"

func TestFIFO(t *testing.T) {
	t.Parallel()
	var q fifo[int]
	next := 0 // next value expected from pop
	push := 0 // next value to push
	// Interleave pushes and pops so the queue compacts and empties many times.
	for round := range 50 {
		for range 3000 + round*7 {
			q.push(push)
			push++
		}
		for range 2000 + round*13 {
			if q.len() == 0 {
				break
			}
			if got := q.pop(); got != next {
				t.Fatalf("pop = %d, want %d", got, next)
			}
			next++
		}
		if q.len() != push-next {
			t.Fatalf("len = %d, want %d", q.len(), push-next)
		}
		if q.head > compactAfter && 2*q.head > len(q.buf) {
			t.Fatalf("not compacted: head %d, len(buf) %d", q.head, len(q.buf))
		}
	}
	for q.len() > 0 {
		if got := q.pop(); got != next {
			t.Fatalf("pop = %d, want %d", got, next)
		}
		next++
	}
	if q.buf != nil {
		t.Errorf("emptied queue kept a backing array of cap %d", cap(q.buf))
	}
}

func TestFIFOFilter(t *testing.T) {
	t.Parallel()
	var q fifo[int]
	for i := range 10 {
		q.push(i)
	}
	q.pop()
	q.filter(func(v int) bool { return v%2 == 0 })
	var got []int
	for q.len() > 0 {
		got = append(got, q.pop())
	}
	want := []int{2, 4, 6, 8}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
