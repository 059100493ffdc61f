package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestBannerSaysWhereEverythingIs: with no configuration at all (the
// README's first command), the gateway prints its GraphQL endpoint, where
// webhooks go, and the admin key it created.
func TestBannerSaysWhereEverythingIs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer // read once run has returned
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, &out, func(a string) { ready <- a })
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("gateway did not start: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("gateway did not start in 20 s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("gateway exited with %v", err)
	}
	base := "http://" + addr
	for _, want := range []string{base + "/graphql", base + "/webhooks/{connector}", "examples/stockgate.yaml", "admin key: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
}
