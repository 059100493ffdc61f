package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFloorCarriesALoadRun runs the load command against the floor and
// checks that every webhook is acknowledged as the gateway would.
func TestFloorCarriesALoadRun(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(floorHandler())
	defer srv.Close()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-url", srv.URL, "-secret", "s", "-key", "k",
		"-subscribers", "0", "-rate", "200", "-duration", "500ms", "-drain", "0s"}, &out, &errOut)
	if err != nil {
		t.Fatalf("load run against the floor: %v\n%s", err, errOut.String())
	}
	if !regexp.MustCompile(`acked \(200\) +100 `).MatchString(out.String()) || !regexp.MustCompile(`failed +none`).MatchString(out.String()) {
		t.Errorf("report does not count the 100 webhooks as acked:\n%s", out.String())
	}
}

func TestFloorAnswers(t *testing.T) {
	t.Parallel()
	h := floorHandler()
	for _, c := range []struct {
		method, path string
		body         string
		want         int
		wantBody     string
	}{
		{"POST", "/webhooks/shop", `{"id":1}`, http.StatusOK, floorAnswer},
		{"POST", "/webhooks/shop", strings.Repeat("x", floorBodyLimit+1), http.StatusRequestEntityTooLarge, ""},
		{"GET", "/webhooks/shop", "", http.StatusMethodNotAllowed, ""},
		{"GET", "/readyz", "", http.StatusOK, "ok\n"},
		{"POST", "/graphql", "{}", http.StatusNotFound, ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader(c.body)))
		if rec.Code != c.want || c.wantBody != "" && rec.Body.String() != c.wantBody {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.path, rec.Code, rec.Body.String(), c.want, c.wantBody)
		}
	}
}

// TestFloorServesUntilCancelled starts the subcommand on a free port and
// stops it with the context.
func TestFloorServesUntilCancelled(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() { done <- runFloor(ctx, []string{"-addr", addr}, &out, &bytes.Buffer{}) }()
	var resp *http.Response
	for deadline := time.Now().Add(5 * time.Second); ; {
		if resp, err = http.Post("http://"+addr+"/webhooks/shop", "application/json", strings.NewReader("{}")); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST /webhooks/shop: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("floor after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("floor did not stop when cancelled")
	}
}
