// Package storeengines compares storage engines for stockgate's embedded
// store on the writes one webhook makes, to decide whether a different
// engine would pay off. It is a module of its own, so that the engines it
// tries are not dependencies of the gateway; `go test ./...` at the
// repository root does not enter it.
//
// Run it from this directory:
//
//	go test -run xxx -bench . -benchtime 400000x
//
// Each benchmark reports wall time per webhook (ns/op, from 64 concurrent
// callers), the process's CPU time per webhook (cpu-µs/op, every thread,
// background compaction included) and its allocations.
package storeengines
