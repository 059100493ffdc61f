package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sgconfig "github.com/stockgate/stockgate/config"
	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFakes: the subcommand serves the three fakes and prints a gateway
// configuration that validates and points at them.
func TestFakes(t *testing.T) {
	ports := []int{freePort(t), freePort(t), freePort(t)}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{cmdFakes, "-sku-name", "t1", "-skus", "3", "-every", "50ms",
			"-shopify-port", fmt.Sprint(ports[0]), "-square-port", fmt.Sprint(ports[1]), "-amazon-port", fmt.Sprint(ports[2])}, &out, &errOut)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(errOut.String(), "fakes: shopify") {
		if time.Now().After(deadline) {
			t.Fatalf("no report; stdout %q stderr %q", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range ports {
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/", p), "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatalf("port %d: %v", p, err)
		}
		resp.Body.Close()
	}
	cfgText := out.String()
	for _, want := range []string{"load-t1-0", "load-t1-2", fmt.Sprintf("127.0.0.1:%d", ports[0]), shopifyfake.DefaultToken} {
		if !strings.Contains(cfgText, want) {
			t.Errorf("config lacks %q:\n%s", want, cfgText)
		}
	}
	path := filepath.Join(t.TempDir(), "sync.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"STOCKGATE_ADMIN_KEY", "SHOPIFY_WEBHOOK_SECRET", "FAKE_SHOPIFY_TOKEN", "FAKE_SQUARE_TOKEN", "FAKE_AMAZON_TOKEN", "SQUARE_SIGNATURE_KEY"} {
		t.Setenv(k, "value-long-enough-0123456789")
	}
	c, err := sgconfig.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("the printed configuration does not validate: %v", err)
	}
	if n := len(c.Connectors); n != 3 || c.Connectors[2].Sync == nil || len(c.Connectors[1].Items) != 3 {
		t.Fatalf("connectors %+v", c.Connectors)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
