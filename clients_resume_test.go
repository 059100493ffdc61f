package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// nodeRun is one run of clients/resume.mjs.
type nodeRun struct {
	lines  chan string
	wait   func() error
	stderr *bytes.Buffer
}

func startResumeClient(t *testing.T, node string, args ...string) *nodeRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join("clients", "resume.mjs")}, args...)...)
	r := &nodeRun{lines: make(chan string, 16), stderr: &bytes.Buffer{}}
	cmd.Stderr = r.stderr
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
	}()
	r.wait = cmd.Wait
	return r
}

// line returns the next stdout line of r.
func (r *nodeRun) line(t *testing.T, what string) string {
	t.Helper()
	select {
	case l, ok := <-r.lines:
		if !ok {
			t.Fatalf("resume.mjs ended before %s: %v\n%s", what, r.wait(), r.stderr)
		}
		return l
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s from resume.mjs within 20 s\n%s", what, r.stderr)
	}
	return ""
}

// TestRealClientResumesAndIsRevoked: with the real graphql-ws client, a
// subscriber that reconnects with its cursor gets exactly the changes it
// missed, in order; and a key revoked by an admin closes the client's
// open socket.
func TestRealClientResumesAndIsRevoked(t *testing.T) {
	node := needNode(t)
	base := startGateway(t, "--config", writeConfig(t, t.TempDir(), ""))
	url := base + "/graphql"
	const sku = "CLI-RESUME"
	order := func() {
		t.Helper()
		if code, body := post(t, newOrderWebhook(map[string]int{sku: 1}).request(t, base)); code != http.StatusOK {
			t.Fatalf("webhook: %d %s", code, body)
		}
	}

	first := startResumeClient(t, node, "--url", url, "--key", testStoreKey, "--sku", sku, "--mode", "first", "--expect", "2")
	if l := first.line(t, "READY"); l != "READY" {
		t.Fatalf("first client: %q", l)
	}
	time.Sleep(300 * time.Millisecond) // the subscribe message follows the ack
	order()
	order()
	var got struct {
		Seqs   []int64 `json:"seqs"`
		Cursor string  `json:"cursor"`
	}
	if err := json.Unmarshal([]byte(first.line(t, "the first result")), &got); err != nil || len(got.Seqs) != 2 || got.Cursor == "" {
		t.Fatalf("first client result %+v, %v", got, err)
	}
	if err := first.wait(); err != nil {
		t.Fatalf("first client: %v\n%s", err, first.stderr)
	}

	// Missed while disconnected: three changes.
	order()
	order()
	order()
	resumed := startResumeClient(t, node, "--url", url, "--key", testStoreKey, "--sku", sku, "--mode", "resume", "--after", got.Cursor, "--expect", "3")
	var res struct {
		Seqs []int64 `json:"seqs"`
	}
	if l := resumed.line(t, "READY"); l != "READY" {
		t.Fatalf("resumed client: %q", l)
	}
	line := resumed.line(t, "the resumed result")
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("resumed result %q: %v", line, err)
	}
	want := []int64{got.Seqs[1] + 1, got.Seqs[1] + 2, got.Seqs[1] + 3}
	if !slices.Equal(res.Seqs, want) {
		t.Fatalf("resumed with seqs %v, want exactly the missed %v", res.Seqs, want)
	}
	if err := resumed.wait(); err != nil {
		t.Fatalf("resumed client: %v\n%s", err, resumed.stderr)
	}

	// Revocation closes the real client's socket.
	var made struct {
		CreateAPIKey struct {
			Secret string
			Key    struct{ ID string }
		} `json:"createApiKey"`
	}
	if errs := gql(t, base, testAdminKey, `mutation{ createApiKey(name:"node", role:STOREFRONT){ secret key{ id } } }`, nil, &made); len(errs) != 0 {
		t.Fatal(errs)
	}
	rv := startResumeClient(t, node, "--url", url, "--key", made.CreateAPIKey.Secret, "--sku", sku, "--mode", "revoke")
	if l := rv.line(t, "READY"); l != "READY" {
		t.Fatalf("revoke client: %q", l)
	}
	time.Sleep(300 * time.Millisecond)
	if errs := gql(t, base, testAdminKey, `mutation($id:ID!){ revokeApiKey(id:$id){ id } }`, map[string]any{"id": made.CreateAPIKey.Key.ID}, nil); len(errs) != 0 {
		t.Fatal(errs)
	}
	var closed struct {
		Closed int    `json:"closed"`
		Reason string `json:"reason"`
	}
	line = rv.line(t, "the close")
	if err := json.Unmarshal([]byte(line), &closed); err != nil || closed.Closed != 4403 {
		t.Fatalf("revoked client: %q %v; want a 4403 close", line, err)
	}
}
