package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stockgate/stockgate/internal/testsvc"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestKfake: the subcommand serves the Kafka protocol on its port with the
// topics it was asked for, until interrupted.
func TestKfake(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"kfake", "-port", fmt.Sprint(port), "-partitions", "3", "-topics", "sg-in, sg-av"}, &out, &out)
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "kfake listening on "+addr) {
		if time.Now().After(deadline) {
			t.Fatalf("no listening line within 10 s: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	client, err := sarama.NewClient([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for _, topic := range []string{"sg-in", "sg-av"} {
		ps, err := client.Partitions(topic)
		if err != nil || len(ps) != 3 {
			t.Errorf("topic %s: partitions %v, %v; want 3", topic, ps, err)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("kfake ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("kfake did not stop when interrupted")
	}
}

// TestRabbitDeclare, against the RabbitMQ of shared/SERVICES.md: the
// declared queues each get what is published to the exchange; -delete
// removes them.
func TestRabbitDeclare(t *testing.T) {
	t.Parallel()
	u := os.Getenv("RABBIT_SERVER_URL")
	if u == "" {
		u = defaultRabbitURL
	}
	conn, err := amqp.Dial(u)
	if err != nil {
		msg := "RabbitMQ is not reachable at " + u + " (" + err.Error() + "); start it with: rabbitmq-server -detached"
		testsvc.Missing(t, msg)
	}
	defer conn.Close()
	name := fmt.Sprintf("sgload-%d", time.Now().UnixNano())
	ex, q1, q2 := name+"-ex", name+"-q1", name+"-q2"
	var out bytes.Buffer
	if err := run(context.Background(), []string{"rabbit-declare", "-exchange", ex, "-queues", q1 + "," + q2}, &out, &out); err != nil {
		t.Fatalf("declare: %v\n%s", err, &out)
	}
	t.Cleanup(func() {
		_ = run(context.Background(), []string{"rabbit-declare", "-exchange", ex, "-queues", q1 + "," + q2, "-delete"}, &out, &out)
	})
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.PublishWithContext(context.Background(), ex, "", true, false, amqp.Publishing{Body: []byte("fan")}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{q1, q2} {
		var m amqp.Delivery
		ok := false
		for deadline := time.Now().Add(5 * time.Second); !ok && time.Now().Before(deadline); {
			if m, ok, err = ch.Get(q, true); err != nil {
				t.Fatal(err)
			}
			if !ok {
				time.Sleep(10 * time.Millisecond)
			}
		}
		if !ok || string(m.Body) != "fan" {
			t.Errorf("queue %s: got %q (%v), want the message published to the exchange", q, m.Body, ok)
		}
	}
	if err := run(context.Background(), []string{"rabbit-declare", "-exchange", ex, "-queues", q1 + "," + q2, "-delete"}, &out, &out); err != nil {
		t.Fatalf("delete: %v\n%s", err, &out)
	}
	ch2, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch2.Close()
	if _, err := ch2.QueueDeclarePassive(q1, true, false, false, false, nil); err == nil {
		t.Errorf("queue %s still exists after -delete", q1)
	}
}
