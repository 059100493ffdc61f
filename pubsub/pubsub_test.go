package pubsub_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gocloud.dev/gcerrors"
	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/pubsub"
	"github.com/stockgate/stockgate/pubsub/mempubsub"
)

// testScheme stands in for a gocloud driver a user blank-imports: it is
// registered on gocloud's DefaultURLMux, not on stockgate's mux.
const testScheme = "stockgatetest"

func init() {
	o := new(mempubsub.URLOpener)
	gcpubsub.DefaultURLMux().RegisterTopic(testScheme, o)
	gcpubsub.DefaultURLMux().RegisterSubscription(testScheme, o)
}

// uniqueURL returns a mem:// URL private to the test: mem topics are shared
// by name across the test binary.
func uniqueURL(t *testing.T) string {
	t.Helper()
	return "mem://" + strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
}

func TestOpenMem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := uniqueURL(t)
	topic, err := pubsub.OpenTopic(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer topic.Shutdown(ctx)
	sub, err := pubsub.OpenSubscription(ctx, u+"?ackdeadline=5s")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown(ctx)
	for _, body := range []string{"1", "2", "3"} {
		if err := topic.Send(ctx, &gcpubsub.Message{Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"1", "2", "3"} {
		m, err := sub.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m.Ack()
		if string(m.Body) != want {
			t.Fatalf("got %q, want %q (FIFO)", m.Body, want)
		}
	}
}

// TestMemIsStockgateDriver tells the drivers apart: gocloud's mempubsub
// fails to open a subscription to a missing topic; stockgate's opens it and
// fails Receive with NotFound.
func TestMemIsStockgateDriver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, u := range []string{uniqueURL(t), "pubsub+" + uniqueURL(t), "MEM" + strings.TrimPrefix(uniqueURL(t), "mem")} {
		sub, err := pubsub.OpenSubscription(ctx, u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		_, err = sub.Receive(ctx)
		if gcerrors.Code(err) != gcerrors.NotFound {
			t.Errorf("%s: Receive error %v, want NotFound", u, err)
		}
		if err := sub.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	}
}

func TestOtherSchemesFallThroughToGocloud(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	topic, err := pubsub.OpenTopic(ctx, testScheme+"://fallthrough")
	if err != nil {
		t.Fatal(err)
	}
	defer topic.Shutdown(ctx)
	sub, err := pubsub.OpenSubscription(ctx, "pubsub+subscription+"+testScheme+"://fallthrough")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown(ctx)
	if err := topic.Send(ctx, &gcpubsub.Message{Body: []byte("via DefaultURLMux")}); err != nil {
		t.Fatal(err)
	}
	m, err := sub.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Ack()
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		url     string
		unknown bool     // wraps ErrUnknownScheme
		mention []string // parts of the message
	}{
		{"kafka://orders", true, []string{`"kafka"`, "mem", testScheme, "blank-import"}},
		{"amqp://guest:secret@host/", true, []string{`"amqp"`, "xxxxx"}},
		{"orders", false, []string{"no scheme"}},
		{"mem://orders?durable=true", false, []string{"unknown query parameter(s) durable"}},
		{"mem://%zz", false, []string{"invalid URL escape"}},
	} {
		t.Run(tc.url, func(t *testing.T) {
			t.Parallel()
			_, topicErr := pubsub.OpenTopic(ctx, tc.url)
			_, subErr := pubsub.OpenSubscription(ctx, tc.url)
			for op, err := range map[string]error{"OpenTopic": topicErr, "OpenSubscription": subErr} {
				if err == nil {
					t.Fatalf("%s succeeded, want an error", op)
				}
				if errors.Is(err, pubsub.ErrUnknownScheme) != tc.unknown {
					t.Errorf("%s: errors.Is(%v, ErrUnknownScheme) = %v, want %v", op, err, !tc.unknown, tc.unknown)
				}
				for _, s := range tc.mention {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("%s: error %q does not mention %q", op, err, s)
					}
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("%s: error %q shows the URL's password", op, err)
				}
			}
		})
	}
}

func TestDurable(t *testing.T) {
	t.Parallel()
	for url, want := range map[string]bool{
		"mem://stock":                            false,
		"pubsub+mem://stock":                     false,
		"nats://inv.stock?natsv2":                false,
		"kafka://stock":                          true,
		"rabbit://inventory":                     true,
		"gcppubsub://projects/p/topics/t":        true,
		"awssqs://sqs.us-east-1.amazonaws.com/1": true,
		"pubsub+topic+kafka://stock":             true,
		"unknown://x":                            false,
		"%zz":                                    false,
	} {
		if got := pubsub.Durable(url); got != want {
			t.Errorf("Durable(%q) = %v, want %v", url, got, want)
		}
	}
}

// TestLatencyThroughOpen checks the property the gateway needs end to end:
// a message sent to an idle mem:// subscription arrives within milliseconds.
func TestLatencyThroughOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := uniqueURL(t)
	topic, err := pubsub.OpenTopic(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer topic.Shutdown(ctx)
	sub, err := pubsub.OpenSubscription(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown(ctx)

	var best time.Duration = time.Hour
	for range 5 {
		time.Sleep(120 * time.Millisecond) // idle: the subscription is waiting
		start := time.Now()
		if err := topic.Send(ctx, &gcpubsub.Message{Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		m, err := sub.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m.Ack()
		best = min(best, time.Since(start))
	}
	if best >= 50*time.Millisecond {
		t.Errorf("best of 5 idle send→receive = %v, want < 50ms", best)
	}
}
