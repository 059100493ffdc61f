package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"github.com/stockgate/stockgate/internal/testsvc"
)

// TestRecoveryFromStoreAndBrokerOutages runs the built binary on a Redis
// and a NATS JetStream server of the test's own (free ports, data in the
// test's temporary directory; the shared services are never touched) and
// sends signed webhooks continuously while it kills each server with
// SIGKILL and starts it again on the same port and data:
//
//   - Redis, run as production must run it, with an fsync'd append-only
//     file (--appendonly yes --appendfsync always): while it is down
//     /readyz answers 503 and so does every webhook (the marketplace
//     retries), never 200; once it is back /readyz turns 200 and webhooks
//     are acknowledged again.
//   - NATS: while it is down webhooks are still acknowledged (kept in the
//     store's outbox) and none of them reaches the ledger; once it is back
//     the relay delivers them.
//
// At the end every webhook answered 200 is in the ledger exactly once.
func TestRecoveryFromStoreAndBrokerOutages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and restarts Redis and NATS; skipped with -short")
	}
	redisBin := needBinary(t, "redis-server", "apt-get install -y redis-server")
	natsBin := needBinary(t, "nats-server", "apt-get install -y nats-server")
	dir := t.TempDir()
	rs := &server{t: t, name: "redis", port: freePort(t), dir: filepath.Join(dir, "redis")}
	rs.args = []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(rs.port), "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--dir", rs.dir, "--logfile", filepath.Join(rs.dir, "redis.log")}
	rs.bin, rs.ready = redisBin, func(ctx context.Context) error {
		c := redis.NewClient(&redis.Options{Addr: rs.addr()})
		defer c.Close()
		return c.Ping(ctx).Err()
	}
	ns := &server{t: t, name: "nats", port: freePort(t), dir: filepath.Join(dir, "nats")}
	ns.args = []string{"-a", "127.0.0.1", "-p", strconv.Itoa(ns.port), "-js", "-sd", ns.dir, "-l", filepath.Join(ns.dir, "nats.log")}
	ns.bin, ns.ready = natsBin, func(ctx context.Context) error {
		nc, err := nats.Connect("nats://"+ns.addr(), nats.Timeout(time.Second))
		if err != nil {
			return err
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		_, err = js.AccountInfo(ctx)
		return err
	}
	rs.start()
	ns.start()

	cfg := writeConfig(t, t.TempDir(), "")
	prependConfig(t, cfg, fmt.Sprintf(`store: redis://%s/0?prefix=rec%%3A
bus:
  inbound: jetstream://rec.inbound?create_stream=REC_IN
  inboundSubscription: jetstream://REC_IN/ledger?ack_wait=5s
  availability: jetstream://rec.availability?create_stream=REC_AV
  availabilitySubscription: jetstream://REC_AV/live?ack_wait=5s
`, rs.addr()))
	t.Setenv("NATS_SERVER_URL", "nats://"+ns.addr())
	gw := startProcess(t, buildGateway(t), cfg)
	logOnFailure(t, gw)

	const (
		skus   = 8
		outage = 3 * time.Second // at least; longer than NATS's 2 s reconnect wait
	)
	var names []string
	for i := range skus {
		names = append(names, fmt.Sprintf("REC-%d", i))
	}
	ld := &loadGen{t: t, base: gw.base, skus: names}
	ld.start(8)
	defer ld.stop()

	// Warm: the whole chain works.
	ld.waitAcked(100, 20*time.Second)

	// Redis down: readiness red, every webhook 503, none 200.
	rs.kill()
	down := time.Now()
	if !waitStatus(gw.base+"/readyz", http.StatusServiceUnavailable, 10*time.Second) {
		t.Fatal("/readyz did not turn 503 with Redis down")
	}
	ld.waitStatus(http.StatusServiceUnavailable, 20, 30*time.Second)
	time.Sleep(time.Until(down.Add(outage))) // an outage of some length, whatever the load
	up := time.Now()
	rs.start()
	if !waitStatus(gw.base+"/readyz", http.StatusOK, 20*time.Second) {
		t.Fatal("/readyz did not turn 200 again after Redis came back")
	}
	okDuring, notOK := ld.during(down, up)
	if okDuring > 0 {
		t.Errorf("%d webhooks sent and answered while Redis was down were answered 200", okDuring)
	}
	t.Logf("Redis down %v: %d webhooks answered 503 meanwhile", up.Sub(down).Round(time.Millisecond), notOK[http.StatusServiceUnavailable])
	for code, n := range notOK {
		if code != http.StatusServiceUnavailable {
			t.Errorf("%d webhooks answered %d while Redis was down; want 503", n, code)
		}
	}
	ld.waitAcked(ld.ackedCount()+100, 30*time.Second)

	// NATS down: webhooks still acknowledged, kept in the outbox.
	ns.kill()
	down = time.Now()
	ld.waitAcked(ld.ackedCount()+100, 30*time.Second)
	time.Sleep(time.Until(down.Add(outage)))
	up = time.Now()
	keptIDs := ld.ackedBetween(down, up)
	if len(keptIDs) == 0 {
		t.Fatal("no webhook was acknowledged while NATS was down")
	}
	counts := ledgerEventCounts(t, gw.base, names, "web", 0, func(map[string]int) bool { return true })
	applied := 0
	for _, id := range keptIDs {
		applied += counts[id]
	}
	if applied > 0 {
		t.Errorf("%d of the %d webhooks acknowledged while NATS was down reached the ledger without a bus", applied, len(keptIDs))
	}
	ns.start()
	t.Logf("NATS down %v: %d webhooks acknowledged meanwhile", up.Sub(down).Round(time.Millisecond), len(keptIDs))
	ld.waitAcked(ld.ackedCount()+100, 30*time.Second)
	ld.stop()

	// Every acknowledged webhook is in the ledger exactly once.
	acked := ld.ackedIDs()
	counts = ledgerEventCounts(t, gw.base, names, "web", 90*time.Second, func(c map[string]int) bool {
		for _, id := range acked {
			if c[id] == 0 {
				return false
			}
		}
		return true
	})
	missing := 0
	for _, id := range acked {
		if counts[id] != 1 {
			if counts[id] == 0 {
				missing++
			}
			if missing <= 5 || counts[id] > 1 {
				t.Errorf("acknowledged webhook %s is in the ledger %d times", id, counts[id])
			}
		}
	}
	if missing > 5 {
		t.Errorf("%d acknowledged webhooks are missing from the ledger in all", missing)
	}
	for id, n := range counts {
		if n > 1 {
			t.Errorf("webhook %s applied %d times", id, n)
		}
	}
	t.Logf("%d webhooks acknowledged in all, every one in the ledger once", len(acked))
}

// logOnFailure prints the end of the gateway's log if the test fails.
func logOnFailure(t *testing.T, gw *gatewayProcess) {
	f, ok := gw.cmd.Stderr.(*os.File)
	if !ok {
		return
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		raw, err := os.ReadFile(f.Name())
		if err != nil {
			return
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		t.Logf("the gateway's log ends (%d lines in all):\n%s", len(lines), strings.Join(lines[max(0, len(lines)-40):], "\n"))
	})
}

// needBinary returns the path of a server binary, or fails (CI=true) or
// skips the test, saying how to install it.
func needBinary(t *testing.T, name, install string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := "/usr/sbin/" + name; fileExists(p) {
		return p
	}
	msg := name + " is not installed; install it with: " + install
	testsvc.Missing(t, msg)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// server is a server process of the test's own, started and killed by the
// test; its data stays in dir across restarts.
type server struct {
	t     *testing.T
	name  string
	bin   string
	args  []string
	port  int
	dir   string
	ready func(context.Context) error
	cmd   *exec.Cmd
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// start starts the server and waits until it answers.
func (s *server) start() {
	s.t.Helper()
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(s.bin, s.args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", s.name, err)
	}
	s.cmd = cmd
	s.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := s.ready(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s did not answer on %s within 20 s: %v (log in %s)", s.name, s.addr(), err, s.dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the server with SIGKILL, as a crash would, and waits for it.
func (s *server) kill() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatalf("kill %s: %v", s.name, err)
	}
	_ = s.cmd.Wait()
}

// waitStatus polls url until it answers status (true) or d passes.
func waitStatus(url string, status int, d time.Duration) bool {
	client := &http.Client{Timeout: 3 * time.Second}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == status {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// loadGen sends signed order webhooks (each a new order, one unit of one
// of skus) from several workers until stopped, and records every answer.
type loadGen struct {
	t    *testing.T
	base string
	skus []string

	mu      sync.Mutex
	results []result
	more    chan struct{}
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// result is one webhook's fate.
type result struct {
	eventID    string
	start, end time.Time
	status     int // 0: no answer
}

func (l *loadGen) start(workers int) {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.more = make(chan struct{}, 1)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range workers {
		l.wg.Go(func() {
			for i := w; ctx.Err() == nil; i += workers {
				h := newOrderWebhook(map[string]int{l.skus[i%len(l.skus)]: 1})
				r := result{eventID: h.eventID, start: time.Now()}
				if resp, err := client.Do(h.request(l.t, l.base).WithContext(ctx)); err == nil {
					resp.Body.Close()
					r.status = resp.StatusCode
				}
				r.end = time.Now()
				l.mu.Lock()
				l.results = append(l.results, r)
				l.mu.Unlock()
				select {
				case l.more <- struct{}{}:
				default:
				}
				if r.status != http.StatusOK {
					time.Sleep(20 * time.Millisecond) // a marketplace backs off too
				}
			}
		})
	}
}

// stop ends the load and waits for the workers; it may be called twice.
func (l *loadGen) stop() {
	l.cancel()
	l.wg.Wait()
}

func (l *loadGen) snapshot() []result {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]result(nil), l.results...)
}

func (l *loadGen) ackedCount() int {
	n := 0
	for _, r := range l.snapshot() {
		if r.status == http.StatusOK {
			n++
		}
	}
	return n
}

// ackedIDs returns the event ids of every webhook answered 200.
func (l *loadGen) ackedIDs() []string {
	var ids []string
	for _, r := range l.snapshot() {
		if r.status == http.StatusOK {
			ids = append(ids, r.eventID)
		}
	}
	return ids
}

// ackedBetween returns the webhooks sent after from and answered 200
// before to.
func (l *loadGen) ackedBetween(from, to time.Time) []string {
	var ids []string
	for _, r := range l.snapshot() {
		if r.status == http.StatusOK && !r.start.Before(from) && !r.end.After(to) {
			ids = append(ids, r.eventID)
		}
	}
	return ids
}

// during counts, among the webhooks sent after from and answered before
// to, those answered 200 and the others by status (0: no answer).
func (l *loadGen) during(from, to time.Time) (ok int, other map[int]int) {
	other = map[int]int{}
	for _, r := range l.snapshot() {
		if r.start.Before(from) || r.end.After(to) {
			continue
		}
		if r.status == http.StatusOK {
			ok++
		} else {
			other[r.status]++
		}
	}
	return ok, other
}

// waitAcked waits until n webhooks in all were answered 200.
func (l *loadGen) waitAcked(n int, d time.Duration) {
	l.t.Helper()
	if !l.wait(d, func(rs []result) bool {
		c := 0
		for _, r := range rs {
			if r.status == http.StatusOK {
				c++
			}
		}
		return c >= n
	}) {
		l.t.Fatalf("fewer than %d webhooks acknowledged within %v (%d so far)", n, d, l.ackedCount())
	}
}

// waitStatus waits until n more webhooks than now were answered status.
func (l *loadGen) waitStatus(status, n int, d time.Duration) {
	l.t.Helper()
	count := func(rs []result) int {
		c := 0
		for _, r := range rs {
			if r.status == status {
				c++
			}
		}
		return c
	}
	want := count(l.snapshot()) + n
	if !l.wait(d, func(rs []result) bool { return count(rs) >= want }) {
		l.t.Fatalf("fewer than %d more webhooks answered %d within %v", n, status, d)
	}
}

func (l *loadGen) wait(d time.Duration, cond func([]result) bool) bool {
	timeout := time.After(d)
	for {
		if cond(l.snapshot()) {
			return true
		}
		select {
		case <-l.more:
		case <-timeout:
			return cond(l.snapshot())
		}
	}
}
