package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// gatewayProcess is the built binary running as a child process.
type gatewayProcess struct {
	cmd  *exec.Cmd
	base string
	log  string // the process's stderr, a file
}

func buildGateway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "stockgate")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startProcess(t *testing.T, bin, cfg string) *gatewayProcess {
	t.Helper()
	cmd := exec.Command(bin, "--config", cfg)
	cmd.Env = os.Environ()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "gateway.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "stockgate listening on "); ok {
				addrc <- strings.TrimSpace(rest)
			}
		}
	}()
	select {
	case base := <-addrc:
		return &gatewayProcess{cmd: cmd, base: base, log: logf.Name()}
	case <-time.After(30 * time.Second):
		t.Fatal("gateway process did not start in 30 s")
	}
	return nil
}

// TestKill9LosesNothingAcknowledged sends signed webhooks to the built
// binary, kills it with SIGKILL mid-stream, restarts it on the same data
// dir, and checks that every webhook that was answered 200 is in the
// ledger exactly once; then redelivers everything, as Shopify would, and
// checks that every webhook is in the ledger exactly once.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary; skipped with -short")
	}
	dir := t.TempDir()
	// A small window, so that the kill finds acknowledged events both on
	// the bus and held back in the outbox (as a test run showed), and the
	// restart finds a backlog larger than the window.
	cfg := writeConfig(t, dir, "bus: {memoryWindow: 16}\n")
	bin := buildGateway(t)
	gw := startProcess(t, bin, cfg)

	const (
		total   = 3000
		skus    = 10
		workers = 32
		killAt  = 1200
	)
	hooks := make([]webhook, total)
	for i := range hooks {
		hooks[i] = newOrderWebhook(map[string]int{fmt.Sprintf("CRASH-%d", i%skus): 1})
	}
	var (
		mu     sync.Mutex
		acked  = map[string]bool{}
		killed = make(chan struct{})
		once   sync.Once
	)
	client := &http.Client{Timeout: 10 * time.Second}
	jobs := make(chan webhook)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range jobs {
				resp, err := client.Do(h.request(t, gw.base))
				if err != nil {
					continue // the process died under this request
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					mu.Lock()
					acked[h.eventID] = true
					n := len(acked)
					mu.Unlock()
					if n >= killAt {
						once.Do(func() {
							_ = gw.cmd.Process.Signal(syscall.SIGKILL)
							close(killed)
						})
					}
				}
			}
		}()
	}
	for _, h := range hooks {
		select {
		case <-killed:
		default:
			jobs <- h
			continue
		}
		break
	}
	close(jobs)
	wg.Wait()
	_ = gw.cmd.Wait()
	mu.Lock()
	nAcked := len(acked)
	mu.Unlock()
	if nAcked < killAt {
		t.Fatalf("only %d webhooks acknowledged before the kill", nAcked)
	}
	t.Logf("killed after %d acknowledged webhooks", nAcked)

	gw = startProcess(t, bin, cfg)
	counts := ledgerCounts(t, gw.base, skus, func(c map[string]int) bool {
		for id := range acked {
			if c[id] == 0 {
				return false
			}
		}
		return true
	})
	for id := range acked {
		if counts[id] != 1 {
			t.Errorf("acknowledged webhook %s is in the ledger %d times", id, counts[id])
		}
	}
	for id, n := range counts {
		if n > 1 {
			t.Errorf("webhook %s applied %d times", id, n)
		}
	}

	// Redeliver everything, as the marketplace retries what it did not see
	// acknowledged (and sometimes what it did).
	dups := 0
	for _, h := range hooks {
		code, body := post(t, h.request(t, gw.base))
		if code != http.StatusOK {
			t.Fatalf("redelivery answered %d %s", code, body)
		}
		if strings.Contains(body, "duplicate") {
			dups++
		}
	}
	if dups < nAcked {
		t.Errorf("%d redeliveries were duplicates, want at least the %d acknowledged", dups, nAcked)
	}
	counts = ledgerCounts(t, gw.base, skus, func(c map[string]int) bool { return len(c) == total })
	for _, h := range hooks {
		if counts[h.eventID] != 1 {
			t.Errorf("webhook %s is in the ledger %d times after redelivery, want 1", h.eventID, counts[h.eventID])
		}
	}
}

// ledgerCounts reads the history of every crash SKU until done says the
// counts are complete (or 60 s pass) and returns, per webhook event id,
// how many ledger entries it has.
func ledgerCounts(t *testing.T, base string, skus int, done func(map[string]int) bool) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		counts := map[string]int{}
		for i := 0; i < skus; i++ {
			for _, src := range history(t, base, fmt.Sprintf("CRASH-%d", i), "web") {
				id, _, _ := strings.Cut(src, "/")
				counts[id]++
			}
		}
		if done(counts) || ctx.Err() != nil {
			return counts
		}
		time.Sleep(100 * time.Millisecond)
	}
}
