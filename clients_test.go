package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/internal/testsvc"
)

// realClients are the client libraries clients/clients.mjs drives, by the
// key they report under.
var realClients = []string{"graphql-ws", "subscriptions-transport-ws", "graphql-sse"}

// TestRealGraphQLClients subscribes with the real JavaScript clients
// (graphql-ws, subscriptions-transport-ws, graphql-sse; see clients/) and
// checks that every webhook reaches each of them, in order, and that a
// graphql-ws client with a bad key is refused.
//
// It needs node and `npm ci --prefix clients`; without them it skips,
// except under CI=true, where it fails.
// needNode returns the path of node, after checking that the clients'
// packages are installed; it skips without them, or fails under CI=true.
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	var missing []string
	if err != nil {
		missing = append(missing, "node is not on PATH")
	}
	for _, pkg := range []string{"graphql", "graphql-ws", "ws", "subscriptions-transport-ws", "graphql-sse"} {
		if _, err := os.Stat(filepath.Join("clients", "node_modules", pkg, "package.json")); err != nil {
			missing = append(missing, "clients/node_modules/"+pkg+" is absent")
			break
		}
	}
	if len(missing) > 0 {
		msg := strings.Join(missing, "; ") + " (install node 20+ and run `npm ci --prefix clients`)"
		testsvc.Missing(t, msg)
	}
	return node
}

func TestRealGraphQLClients(t *testing.T) {
	node := needNode(t)

	const (
		webhooks = 5
		other    = "CLI-OTHER" // in every order, not subscribed
	)
	skus := []string{"CLI-A", "CLI-B"}
	perWebhook := len(skus)
	expect := webhooks * perWebhook

	dir := t.TempDir()
	base := startGateway(t, "--config", writeConfig(t, dir, ""))

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("clients", "clients.mjs"),
		"--url", base+"/graphql", "--key", testStoreKey, "--skus", strings.Join(skus, ","),
		"--expect", strconv.Itoa(expect), "--timeout", "60000", "--progress")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node: %v", err)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var waited bool
	var waitErr error
	wait := func() error { // drains stdout first: Wait closes the pipe
		if !waited {
			for range lines {
			}
			waitErr, waited = cmd.Wait(), true
		}
		return waitErr
	}
	fatal := func(format string, args ...any) {
		t.Helper()
		cancel()
		err := wait()
		t.Fatalf("%s\nnode: %v\nnode stderr:\n%s", fmt.Sprintf(format, args...), err, stderr.String())
	}
	defer func() { cancel(); _ = wait() }()

	counts := map[string]int{}
	var result []byte
	// next reads stdout until pred is met (CHANGE lines update counts, the
	// JSON line sets result).
	next := func(what string, d time.Duration, pred func() bool) {
		t.Helper()
		timer := time.NewTimer(d)
		defer timer.Stop()
		for !pred() {
			select {
			case line, ok := <-lines:
				if !ok {
					fatal("clients.mjs ended while waiting for %s", what)
				}
				switch f := strings.Fields(line); {
				case line == "READY":
					counts["READY"]++
				case len(f) >= 3 && f[0] == "CHANGE":
					counts[f[1]]++
				case strings.HasPrefix(line, "{"):
					result = []byte(line)
				default:
					t.Logf("clients.mjs: %s", line)
				}
			case <-timer.C:
				fatal("no %s within %v (changes so far: %v)", what, d, counts)
			}
		}
	}
	next("READY", 30*time.Second, func() bool { return counts["READY"] > 0 })

	// One webhook at a time, each waited for by every client: they are
	// idle when the next arrives, so nothing may be coalesced.
	for i := 1; i <= webhooks; i++ {
		order := map[string]int{other: 1}
		for _, sku := range skus {
			order[sku] = 1
		}
		wh := newOrderWebhook(order)
		if code, body := post(t, wh.request(t, base)); code != http.StatusOK || !strings.Contains(body, `"accepted"`) {
			fatal("webhook %d answered %d %s", i, code, body)
		}
		want := i * perWebhook
		next(fmt.Sprintf("change %d/%d on every client", want, expect), 15*time.Second, func() bool {
			for _, c := range realClients {
				if counts[c] < want {
					return false
				}
			}
			return true
		})
	}
	next("result JSON", 30*time.Second, func() bool { return result != nil })
	if err := wait(); err != nil {
		t.Fatalf("clients.mjs: %v\nstderr:\n%s", err, stderr.String())
	}

	var got map[string]json.RawMessage
	if err := json.Unmarshal(result, &got); err != nil {
		t.Fatalf("result %s: %v", result, err)
	}
	// Every client: exactly the subscribed SKUs' changes, per SKU committed
	// 1..5 in order, seq increasing, none coalesced, and the same seqs as
	// every other client.
	lastSeq := map[string]int64{}
	for _, c := range realClients {
		var changes []level
		if err := json.Unmarshal(got[c], &changes); err != nil {
			t.Fatalf("%s: %s: %v", c, got[c], err)
		}
		if len(changes) != expect {
			t.Errorf("%s received %d changes, want %d (one per subscribed line of %d webhooks): %+v", c, len(changes), expect, webhooks, changes)
		}
		bySKU := map[string][]level{}
		for _, l := range changes {
			bySKU[l.SKU] = append(bySKU[l.SKU], l)
		}
		if len(bySKU[other]) > 0 {
			t.Errorf("%s received %d changes of unsubscribed %s", c, len(bySKU[other]), other)
		}
		for _, sku := range skus {
			ls := bySKU[sku]
			if len(ls) != webhooks {
				t.Errorf("%s: %d changes of %s, want %d: %+v", c, len(ls), sku, webhooks, ls)
				continue
			}
			for i, l := range ls {
				n := int64(i + 1)
				if l.Location != "web" || l.Committed != n || l.OnHand != 0 || l.Available != -n {
					t.Errorf("%s: change %d of %s = %+v, want location web, on hand 0, committed %d, available %d", c, i+1, sku, l, n, -n)
				}
				if l.Coalesced {
					t.Errorf("%s: change %d of %s is coalesced, though the client was idle: %+v", c, i+1, sku, l)
				}
				if i > 0 && l.Seq <= ls[i-1].Seq {
					t.Errorf("%s: %s seq went %d -> %d", c, sku, ls[i-1].Seq, l.Seq)
				}
			}
			if c == realClients[0] {
				lastSeq[sku] = ls[len(ls)-1].Seq
			} else if s := ls[len(ls)-1].Seq; s != lastSeq[sku] {
				t.Errorf("%s: last seq of %s = %d, %s saw %d", c, sku, s, realClients[0], lastSeq[sku])
			}
		}
	}

	var query map[string]level
	if err := json.Unmarshal(got["query"], &query); err != nil {
		t.Fatalf("query: %s: %v", got["query"], err)
	}
	for _, sku := range skus {
		q, ok := query[sku]
		if !ok || q.SKU != sku || q.Location != "web" || q.Committed != webhooks || q.OnHand != 0 || q.Available != -webhooks || q.Seq != lastSeq[sku] {
			t.Errorf("query availability of %s = %+v, want committed %d, available %d, seq %d (the subscriptions' last)", sku, q, webhooks, -webhooks, lastSeq[sku])
		}
	}

	var rejected bool
	var how struct {
		CloseCode int `json:"closeCode"`
	}
	_ = json.Unmarshal(got["badKey"], &how)
	if err := json.Unmarshal(got["badKeyRejected"], &rejected); err != nil || !rejected || how.CloseCode != 4403 {
		// 4403 makes graphql-ws back off and report; a 1000 close makes it
		// reconnect in a tight loop.
		t.Errorf("graphql-ws with a bad key: badKeyRejected=%s, details %s; want refused with close code 4403", got["badKeyRejected"], got["badKey"])
	}
}
