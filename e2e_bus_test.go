package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stockgate/stockgate/internal/testsvc"
)

// needNATS fails (under CI) or skips when the NATS server is not there.
func needNATS(t *testing.T) {
	t.Helper()
	testsvc.Dial(t, "NATS with JetStream", "127.0.0.1:4222",
		"start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log")
}

// TestJetStreamBusEndToEnd runs the gateway with both topics on NATS
// JetStream instead of mem://, changing nothing but the bus URLs.
func TestJetStreamBusEndToEnd(t *testing.T) {
	needNATS(t)
	run := fmt.Sprintf("e2e%d", time.Now().UnixNano())
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")
	extra := fmt.Sprintf(`bus:
  inbound: jetstream://%[1]s.inbound?create_stream=%[1]s_IN
  inboundSubscription: jetstream://%[1]s_IN/ledger?ack_wait=5s
  availability: jetstream://%[1]s.availability?create_stream=%[1]s_AV
  availabilitySubscription: jetstream://%[1]s_AV/live?ack_wait=5s
`, run)
	raw, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append([]byte(extra), raw...), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteStreams(t, run+"_IN", run+"_AV") })
	base := startGateway(t, "--config", cfg)
	ws := wsSubscribe(t, base, testStoreKey, []string{"JS-SKU"}, false)
	wh := newOrderWebhook(map[string]int{"JS-SKU": 4})
	if code, body := post(t, wh.request(t, base)); code != http.StatusOK || !strings.Contains(body, "accepted") {
		t.Fatalf("webhook answered %d %s", code, body)
	}
	got := await(t, ws, "committed 4 via JetStream", func(l level) bool { return l.SKU == "JS-SKU" && l.Committed == 4 })
	if got.Seq != 1 {
		t.Fatalf("change = %+v", got)
	}
	if ids := history(t, base, "JS-SKU", "web"); len(ids) != 1 {
		t.Fatalf("history = %v", ids)
	}
}

// deleteStreams removes the test's streams from the shared server.
func deleteStreams(t *testing.T, names ...string) {
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	for _, n := range names {
		if err := js.DeleteStream(context.Background(), n); err != nil {
			t.Logf("cleanup: delete stream %s: %v", n, err)
		}
	}
}
