package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// cmdFloor serves the floor: a server that answers webhooks and does
// nothing else.
const cmdFloor = "floor"

// floorAnswer is the gateway's answer to a webhook it accepted as one
// canonical event (ingest.Answer), so that the floor's answers cost the
// load command what the gateway's do.
const floorAnswer = `{"status":"accepted","events":1}` + "\n"

// floorBodyLimit is the gateway's default webhook body limit.
const floorBodyLimit = 1 << 20

// runFloor serves POST /webhooks/{connector} on -addr, answering every
// webhook 200 with an accepted answer after reading its body, and
// /healthz and /readyz, until ctx ends. A load run against it measures
// what net/http's server and the load command itself cost on the machine:
// the floor under any gateway, to compare a gateway run with in the same
// session (BENCHMARKS.md §1). It verifies no signature and stores nothing.
func runFloor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stockgate-load "+cmdFloor, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "`address` to listen on")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: stockgate-load %s [flags]\n\nServes the floor under any gateway: POST /webhooks/{connector} answered 200\n(accepted) once the body is read, with no signature check and no store.\nRun stockgate-load against it to see what net/http and the load command\ncost on this machine, then against the gateway.\n\nFlags:\n", cmdFloor)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	s := &http.Server{Handler: floorHandler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	fmt.Fprintf(stdout, "floor: serving http://%s/webhooks/{connector}\n", ln.Addr())
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(sctx)
}

// floorHandler is the floor's routes.
func floorHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/{connector}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, floorBodyLimit)); err != nil {
			http.Error(w, `{"status":"error","error":"body over 1 MiB"}`, http.StatusRequestEntityTooLarge)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, floorAnswer)
	})
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") }
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("GET /readyz", ok)
	return mux
}
