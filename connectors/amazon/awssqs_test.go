package amazon

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/pubsub"
)

// TestAWSSQS opens the source by an awssqs:// URL through gocloud's
// awssnssqs driver (aws-sdk-go-v2, endpoint overridden to the loopback
// sqsFake), as the gateway will against Amazon's queue. The URL form, the
// dummy credentials and the endpoint parameter are what
// shared/reference/infrastructure.md §11 found to work. A message whose
// handler fails is nacked (ChangeMessageVisibilityBatch, visibility 1 s),
// comes back and is then deleted (DeleteMessageBatch).
//
// It sets environment variables, so it does not run in parallel.
func TestAWSSQS(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSTOCKGATETEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "stockgate-test-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	ctx := context.Background()
	fake := newSQSFake(t, "sp-api-notifications")
	host := fake.srv.Listener.Addr().String()
	q := fmt.Sprintf("awssqs://%s/000000000000/sp-api-notifications?endpoint=%s&region=us-east-1", host, fake.srv.URL)

	// Amazon's SQS destination puts the notification itself in the body
	// (ref §2.2); raw=true hands it over untouched.
	topic, err := pubsub.OpenTopic(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = topic.Shutdown(ctx) }()
	snsHost := newSNSFake(t).host()
	bodies, keys := sqsBodies(t, snsHost)
	for _, b := range bodies {
		if err := topic.Send(ctx, &gcpubsub.Message{Body: b}); err != nil {
			t.Fatalf("send through the fake: %v", err)
		}
	}
	if n, _ := fake.stats("sp-api-notifications", "SendMessageBatch"); n != len(bodies) {
		t.Fatalf("queue holds %d messages, want %d", n, len(bodies))
	}

	c := newConnector(t, nil, func(c *Config) { c.OrderItems = newOrdersFake(t).client(t) })
	rec := newRecorder(len(bodies), keys[1])
	src, err := OpenSQSSource(ctx, q+"&raw=true", c, rec.handle, &SQSSourceOptions{MaxConcurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- src.Run(ctx) }()
	select {
	case <-rec.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("handled %d of %d", len(rec.results), len(bodies))
	}
	if err := src.Shutdown(ctx); err != nil { // flushes the acks
		t.Fatal(err)
	}
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	queued, deletes := fake.stats("sp-api-notifications", "DeleteMessageBatch")
	_, nacks := fake.stats("sp-api-notifications", "ChangeMessageVisibilityBatch")
	if queued != 0 || deletes == 0 || nacks == 0 {
		t.Errorf("after the run: %d queued, %d DeleteMessageBatch, %d ChangeMessageVisibilityBatch; want 0, ≥1, ≥1", queued, deletes, nacks)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, k := range keys {
		if rec.results[k] == nil {
			t.Errorf("message %d (%s) not handled", i, k)
		}
	}
	if rec.attempts[keys[1]] != 2 {
		t.Errorf("the failed message was handled %d times, want 2", rec.attempts[keys[1]])
	}
}
