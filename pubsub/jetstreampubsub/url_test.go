package jetstreampubsub

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/pubsub"
)

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestParseTopicURL(t *testing.T) {
	t.Parallel()
	o := &URLOpener{TopicOptions: TopicOptions{PublishTimeout: time.Second}}
	for _, tc := range []struct {
		url, subject, stream, msgIDKey string
	}{
		{"jetstream://inv.stock", "inv.stock", "", ""},
		{"jetstream://inv.stock/", "inv.stock", "", ""},
		{"jetstream://inv.stock?create_stream=INVENTORY", "inv.stock", "INVENTORY", ""},
		{"jetstream://inv.stock?msg_id_key=event-id&create_stream=INV", "inv.stock", "INV", "event-id"},
	} {
		subject, stream, opts, err := o.parseTopicURL(mustParse(t, tc.url))
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if subject != tc.subject || stream != tc.stream || opts.MsgIDKey != tc.msgIDKey || opts.PublishTimeout != time.Second {
			t.Errorf("%s: got subject %q stream %q options %+v", tc.url, subject, stream, opts)
		}
	}
}

func TestParseTopicURLErrors(t *testing.T) {
	t.Parallel()
	o := new(URLOpener)
	for _, tc := range []struct {
		url  string
		want []string // every one must be in the error
	}{
		{"jetstream://", []string{"missing subject"}},
		{"jetstream://inv.stock/more", []string{`unexpected path "/more"`}},
		{"jetstream:inv.stock", []string{"opaque URL"}},
		{"jetstream://user:secret@inv.stock", []string{"credentials in the URL"}},
		{"jetstream://inv.*", []string{"wildcards"}},
		{"jetstream://inv..stock", []string{"empty token"}},
		{"jetstream://inv.stock?natsv2", []string{"unknown query parameter(s) natsv2"}},
		{"jetstream://inv.stock?create_stream=a.b", []string{"invalid stream name"}},
		{"jetstream://inv.stock?create_stream=A&create_stream=B", []string{"create_stream given 2 times"}},
		{"jetstream://inv.stock?msg_id_key=", []string{"empty msg_id_key"}},
		// Every problem at once.
		{"jetstream://inv.*?create_stream=a.b&ack_wait=1s&queue=q", []string{"wildcards", "invalid stream name", "ack_wait, queue"}},
	} {
		_, _, _, err := o.parseTopicURL(mustParse(t, tc.url))
		if err == nil {
			t.Errorf("%s: no error", tc.url)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tc.url, err, w)
			}
		}
	}
}

func TestParseSubscriptionURL(t *testing.T) {
	t.Parallel()
	o := &URLOpener{SubscriptionOptions: SubscriptionOptions{AckWait: time.Minute, MaxWait: time.Second}}
	stream, durable, opts, err := o.parseSubscriptionURL(mustParse(t,
		"jetstream://INVENTORY/ledger?filter_subject=inv.*&ack_wait=2s&max_deliver=10"))
	if err != nil {
		t.Fatal(err)
	}
	want := SubscriptionOptions{FilterSubject: "inv.*", AckWait: 2 * time.Second, MaxDeliver: 10, MaxWait: time.Second}
	if stream != "INVENTORY" || durable != "ledger" || opts != want {
		t.Errorf("got %q %q %+v, want INVENTORY ledger %+v", stream, durable, opts, want)
	}

	_, _, opts, err = o.parseSubscriptionURL(mustParse(t,
		"jetstream://AVAILABILITY/live-r1?deliver=new&inactive_threshold=1h"))
	if err != nil || !opts.DeliverNew || opts.InactiveThreshold != time.Hour {
		t.Errorf("deliver=new&inactive_threshold=1h: got %+v, %v", opts, err)
	}
	_, _, opts, err = (&URLOpener{SubscriptionOptions: SubscriptionOptions{DeliverNew: true}}).parseSubscriptionURL(mustParse(t,
		"jetstream://AVAILABILITY/live-r1?deliver=all"))
	if err != nil || opts.DeliverNew {
		t.Errorf("deliver=all over an opener with DeliverNew: got %+v, %v", opts, err)
	}

	// Without parameters, the opener's options stand.
	_, _, opts, err = o.parseSubscriptionURL(mustParse(t, "jetstream://INVENTORY/ledger"))
	if err != nil || opts != o.SubscriptionOptions {
		t.Errorf("got %+v, %v; want the opener's %+v", opts, err, o.SubscriptionOptions)
	}
}

func TestParseSubscriptionURLErrors(t *testing.T) {
	t.Parallel()
	o := new(URLOpener)
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{"jetstream://INVENTORY", []string{"want jetstream://STREAM/DURABLE"}},
		{"jetstream://INVENTORY/", []string{"want jetstream://STREAM/DURABLE"}},
		{"jetstream:///ledger", []string{"want jetstream://STREAM/DURABLE"}},
		{"jetstream://INVENTORY/a/b", []string{"want jetstream://STREAM/DURABLE"}},
		{"jetstream:INVENTORY", []string{"opaque URL"}},
		{"jetstream://u:p@INVENTORY/ledger", []string{"credentials in the URL"}},
		{"jetstream://INV.ENTORY/ledger", []string{"invalid stream name"}},
		{"jetstream://INVENTORY/led*ger", []string{"invalid consumer name"}},
		{"jetstream://INVENTORY/ledger?ack_wait=soon", []string{"invalid ack_wait"}},
		{"jetstream://INVENTORY/ledger?ack_wait=0s", []string{"must be greater than zero"}},
		{"jetstream://INVENTORY/ledger?ack_wait=-1s", []string{"must be greater than zero"}},
		{"jetstream://INVENTORY/ledger?max_deliver=0", []string{"invalid max_deliver"}},
		{"jetstream://INVENTORY/ledger?deliver=last", []string{`invalid deliver "last"`}},
		{"jetstream://INVENTORY/ledger?inactive_threshold=0s", []string{"must be greater than zero"}},
		{"jetstream://INVENTORY/ledger?max_deliver=many", []string{"invalid max_deliver"}},
		{"jetstream://INVENTORY/ledger?filter_subject=inv.>.x", []string{"must be the last token"}},
		{"jetstream://INVENTORY/ledger?filter_subject=", []string{"invalid subject"}},
		{"jetstream://INVENTORY/ledger?durable=x", []string{"unknown query parameter(s) durable"}},
		{"jetstream://INVENTORY/ledger?ackdeadline=2s", []string{"unknown query parameter(s) ackdeadline"}},
		// Every problem at once.
		{"jetstream://INVENTORY/led.ger?ack_wait=x&max_deliver=-2&create_stream=S", []string{
			"invalid consumer name", "invalid ack_wait", "invalid max_deliver", "unknown query parameter(s) create_stream"}},
	} {
		_, _, _, err := o.parseSubscriptionURL(mustParse(t, tc.url))
		if err == nil {
			t.Errorf("%s: no error", tc.url)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tc.url, err, w)
			}
		}
	}
}

func TestEnvOptions(t *testing.T) {
	t.Parallel()
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	servers, opts, err := envOptions(env())
	if err != nil || servers != DefaultServerURL || len(opts) != 2 {
		t.Errorf("empty environment: %q, %d options, %v", servers, len(opts), err)
	}
	servers, opts, err = envOptions(env(envServerURL, "nats://a:4222,nats://b:4222", envUser, "u", envPassword, "p"))
	if err != nil || servers != "nats://a:4222,nats://b:4222" || len(opts) != 3 {
		t.Errorf("servers and user: %q, %d options, %v", servers, len(opts), err)
	}
	for name, getenv := range map[string]func(string) string{
		"user without password": env(envUser, "u"),
		"password without user": env(envPassword, "p"),
		"two kinds":             env(envToken, "t", envCreds, "/run/secrets/nats.creds"),
	} {
		if _, _, err := envOptions(getenv); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// URLOpener against a real server: create_stream creates the stream once,
// accepts a stream that captures the subject and refuses one that does not;
// the subscription URL's settings reach the consumer.
func TestURLOpener(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, js := connect(t, url)
		o := &URLOpener{JetStream: js}
		stream, name := uniqueName(), uniqueName()
		t.Cleanup(func() { deleteStream(t, js, stream) })

		topicURL := "jetstream://sgtest." + name + "?create_stream=" + stream + "&msg_id_key=event-id"
		for range 2 { // the second open finds the stream
			topic, err := o.OpenTopicURL(ctx, mustParse(t, topicURL))
			if err != nil {
				t.Fatal(err)
			}
			send(t, topic, "hello", map[string]string{"event-id": "e1"})
			shutdown(t, topic)
		}
		s, err := js.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		if info := s.CachedInfo(); info.State.Msgs != 1 || info.Config.Storage != jetstream.FileStorage {
			t.Errorf("stream: %d messages (want 1: the same event-id twice), storage %v", info.State.Msgs, info.Config.Storage)
		}

		// A stream that captures the subject with a wildcard is fine; one
		// that does not is refused and left alone.
		if _, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{"sgtest." + name + ".*", "sgtest." + name}}); err != nil {
			t.Fatal(err)
		}
		topic, err := o.OpenTopicURL(ctx, mustParse(t, "jetstream://sgtest."+name+".eu?create_stream="+stream))
		if err != nil {
			t.Errorf("wildcard capture: %v", err)
		} else {
			shutdown(t, topic)
		}
		_, err = o.OpenTopicURL(ctx, mustParse(t, "jetstream://sgtest."+uniqueName()+"?create_stream="+stream))
		if !errors.Is(err, ErrSubjectNotCaptured) {
			t.Errorf("open with a stream not capturing the subject: %v, want ErrSubjectNotCaptured", err)
		}

		sub, err := o.OpenSubscriptionURL(ctx, mustParse(t,
			"jetstream://"+stream+"/ledger?filter_subject=sgtest."+name+"&ack_wait=7s&max_deliver=3"))
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, sub)
		m := receive(t, sub, 10*time.Second)
		m.Ack()
		var cons jetstream.Consumer
		if !sub.As(&cons) {
			t.Fatal("Subscription.As(*jetstream.Consumer) failed after Receive")
		}
		cfg := cons.CachedInfo().Config
		if cfg.Durable != "ledger" || cfg.FilterSubject != "sgtest."+name || cfg.AckWait != 7*time.Second ||
			cfg.MaxDeliver != 3 || cfg.AckPolicy != jetstream.AckExplicitPolicy ||
			cfg.DeliverPolicy != jetstream.DeliverAllPolicy || cfg.InactiveThreshold != 0 {
			t.Errorf("consumer config %+v", cfg)
		}

		// deliver=new: a new durable skips what the stream already holds
		// (the "hello" above) and gets what is sent after it exists;
		// inactive_threshold reaches the server.
		live, err := o.OpenSubscriptionURL(ctx, mustParse(t,
			"jetstream://"+stream+"/live-r1?filter_subject=sgtest."+name+"&deliver=new&inactive_threshold=1h"))
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, live)
		expectNothing(t, live, time.Second) // creates the consumer
		if !live.As(&cons) {
			t.Fatal("the first Receive did not create the consumer")
		}
		topic, err = o.OpenTopicURL(ctx, mustParse(t, "jetstream://sgtest."+name))
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, topic)
		send(t, topic, "after", nil)
		if m := receive(t, live, 10*time.Second); string(m.Body) != "after" {
			t.Errorf("deliver=new: first message %q, want the one sent after the durable was made", m.Body)
		} else {
			m.Ack()
		}
		if cfg := cons.CachedInfo().Config; cfg.DeliverPolicy != jetstream.DeliverNewPolicy || cfg.InactiveThreshold != time.Hour {
			t.Errorf("deliver=new&inactive_threshold=1h: consumer config %+v", cfg)
		}
	})
}

// Through stockgate's pubsub package, which falls through to gocloud's
// DefaultURLMux, with the server from NATS_SERVER_URL. The default opener
// connects once per process; the test makes it forget its connection.
func TestDefaultURLMux(t *testing.T) {
	url := embeddedURL(t)
	t.Setenv(envServerURL, url)
	t.Cleanup(func() {
		defaultOpener.mu.Lock()
		defer defaultOpener.mu.Unlock()
		if o := defaultOpener.opener; o != nil {
			o.JetStream.Conn().Close()
			defaultOpener.opener = nil
		}
	})
	_, js := connect(t, url)
	stream, name := uniqueName(), uniqueName()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	if !pubsub.Durable("jetstream://INVENTORY/ledger") {
		t.Error(`pubsub.Durable("jetstream://...") = false`)
	}
	topic, err := pubsub.OpenTopic(ctx, "jetstream://sgtest."+name+"?create_stream="+stream)
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, topic)
	sub, err := pubsub.OpenSubscription(ctx, "jetstream://"+stream+"/ledger?ack_wait=5s")
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, sub)
	send(t, topic, "via the mux", nil)
	m := receive(t, sub, 10*time.Second)
	m.Ack()
	if string(m.Body) != "via the mux" {
		t.Errorf("received %q", m.Body)
	}
	if _, err := js.Stream(ctx, stream); err != nil {
		t.Errorf("stream %s: %v", stream, err)
	}
	// The scheme is registered on gocloud's mux, not under "nats".
	if !gcpubsub.DefaultURLMux().ValidTopicScheme(Scheme) || !gcpubsub.DefaultURLMux().ValidSubscriptionScheme(Scheme) {
		t.Error("jetstream is not registered on gocloud's DefaultURLMux")
	}
}
