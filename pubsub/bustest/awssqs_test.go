package bustest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/awssnssqs"

	"github.com/stockgate/stockgate/pubsub/bustest"
)

// sqsVisibility is the visibility timeout of the queue the backend creates.
const sqsVisibility = 2 * time.Second

// sqsBackend runs the suite on gocloud's awssnssqs driver, SQS only (a
// topic that sends straight to the queue, raw subscriptions), with
// aws-sdk-go-v2 against sqsFake: a loopback fake of the SQS JSON protocol,
// because no SQS emulator runs here (see sqsfake_test.go and
// shared/reference/infrastructure.md §11). Results on this backend show
// what the driver does with SQS's documented behaviour, not what AWS does.
//
// A queue has no groups: every group is the one queue, so groups compete
// (no FanOut; SNS with a queue per group would give that). Each
// subscription has an HTTP transport of its own, which Crash cuts.
type sqsBackend struct {
	fake *sqsFake
	qURL string

	mu    sync.Mutex
	kills map[*gcpubsub.Subscription]*killTransport
}

func newSQSBackend(ctx context.Context, _ testing.TB) (bustest.Backend, error) {
	fake := newSQSFake()
	b := &sqsBackend{fake: fake, kills: map[*gcpubsub.Subscription]*killTransport{}}
	out, err := b.client(newKillTransport()).CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(bustest.UniqueName("bustest")),
		Attributes: map[string]string{"VisibilityTimeout": "2"},
	})
	if err != nil {
		fake.Close()
		return nil, err
	}
	b.qURL = aws.ToString(out.QueueUrl)
	return b, nil
}

// client returns an SQS client that reaches the fake through tr, with
// dummy credentials.
func (b *sqsBackend) client(tr http.RoundTripper) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(b.fake.srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDBUSTEST", SecretAccessKey: "bustest"}, nil
		}),
		HTTPClient: &http.Client{Transport: tr},
	})
}

func (b *sqsBackend) OpenTopic(ctx context.Context) (*gcpubsub.Topic, error) {
	return awssnssqs.OpenSQSTopic(ctx, b.client(newKillTransport()), b.qURL, nil), nil
}

func (b *sqsBackend) OpenSubscription(ctx context.Context, _ string) (*gcpubsub.Subscription, error) {
	kt := newKillTransport()
	sub := awssnssqs.OpenSubscription(ctx, b.client(kt), b.qURL, &awssnssqs.SubscriptionOptions{
		Raw:      true,
		WaitTime: time.Second, // long polling
	})
	b.mu.Lock()
	b.kills[sub] = kt
	b.mu.Unlock()
	return sub, nil
}

// Crash cuts the subscription's HTTP transport: requests in flight fail
// and no new one is sent, so nothing it holds is deleted; SQS hands those
// messages out again when their visibility timeout ends.
func (b *sqsBackend) Crash(_ context.Context, sub *gcpubsub.Subscription) error {
	b.mu.Lock()
	kt := b.kills[sub]
	b.mu.Unlock()
	if kt == nil {
		return errors.New("sqs backend: Crash of a subscription it did not open")
	}
	kt.kill()
	return nil
}

func (b *sqsBackend) Capabilities() bustest.Capabilities {
	return bustest.Capabilities{
		Nack:        true, // ChangeMessageVisibility (gocloud sets 1 s)
		Durable:     true,
		AckDeadline: sqsVisibility,
		// A standard queue promises no order; one queue, so no FanOut.
	}
}

func (b *sqsBackend) Close() { b.fake.Close() }

// killTransport is an HTTP transport that can be cut: requests in flight
// are canceled and later ones fail.
type killTransport struct {
	base   *http.Transport
	killed atomic.Bool
	ctx    context.Context
	cancel context.CancelFunc
}

var errKilled = errors.New("bustest: the process was killed")

func newKillTransport() *killTransport {
	ctx, cancel := context.WithCancel(context.Background())
	return &killTransport{base: http.DefaultTransport.(*http.Transport).Clone(), ctx: ctx, cancel: cancel}
}

func (k *killTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if k.killed.Load() {
		return nil, errKilled
	}
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(k.ctx, cancel)
	resp, err := k.base.RoundTrip(r.WithContext(ctx))
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, done: func() { stop(); cancel() }}
	return resp, nil
}

func (k *killTransport) kill() {
	k.killed.Store(true)
	k.cancel()
	k.base.CloseIdleConnections()
}

// cancelOnClose releases a request's context once its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	done func()
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.done()
	return err
}
func TestAWSSQS(t *testing.T) { bustest.Run(t, newSQSBackend) }

func BenchmarkAWSSQS(b *testing.B) { bustest.RunBenchmarks(b, newSQSBackend) }
