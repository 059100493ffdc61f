package jetstreampubsub

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gocloud.dev/pubsub"
)

// Scheme is the URL scheme this package registers on gocloud's
// pubsub.DefaultURLMux.
const Scheme = "jetstream"

// DefaultServerURL is the server the default URL opener connects to when
// NATS_SERVER_URL is not set.
const DefaultServerURL = "nats://127.0.0.1:4222"

// Environment variables the default URL opener reads, once it is first used.
const (
	envServerURL = "NATS_SERVER_URL" // comma-separated server URLs
	envCreds     = "NATS_CREDS"      // path to a .creds file (JWT and NKey seed)
	envUser      = "NATS_USER"       // with NATS_PASSWORD
	envPassword  = "NATS_PASSWORD"
	envToken     = "NATS_TOKEN"
)

// defaultOpener serves Scheme on gocloud's DefaultURLMux.
var defaultOpener = new(defaultDialer)

func init() {
	pubsub.DefaultURLMux().RegisterTopic(Scheme, defaultOpener)
	pubsub.DefaultURLMux().RegisterSubscription(Scheme, defaultOpener)
}

// defaultDialer is the URL opener registered for Scheme. It connects on
// first use, from the environment; a failed connect is tried again on the
// next open.
type defaultDialer struct {
	mu     sync.Mutex
	opener *URLOpener
}

func (d *defaultDialer) get() (*URLOpener, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.opener != nil {
		return d.opener, nil
	}
	servers, opts, err := envOptions(os.Getenv)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(servers, opts...)
	if err != nil {
		return nil, fmt.Errorf("jetstreampubsub: connect to %s (from %s): %w", servers, envServerURL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstreampubsub: %w", err)
	}
	d.opener = &URLOpener{JetStream: js}
	return d.opener, nil
}

func (d *defaultDialer) OpenTopicURL(ctx context.Context, u *url.URL) (*pubsub.Topic, error) {
	o, err := d.get()
	if err != nil {
		return nil, fmt.Errorf("jetstreampubsub: open topic %s: %w", u.Redacted(), err)
	}
	return o.OpenTopicURL(ctx, u)
}

func (d *defaultDialer) OpenSubscriptionURL(ctx context.Context, u *url.URL) (*pubsub.Subscription, error) {
	o, err := d.get()
	if err != nil {
		return nil, fmt.Errorf("jetstreampubsub: open subscription %s: %w", u.Redacted(), err)
	}
	return o.OpenSubscriptionURL(ctx, u)
}

// envOptions returns the servers and connect options the environment
// (read through getenv) asks for. At most one kind of credentials may be set.
func envOptions(getenv func(string) string) (string, []nats.Option, error) {
	servers := getenv(envServerURL)
	if servers == "" {
		servers = DefaultServerURL
	}
	opts := []nats.Option{
		nats.Name("stockgate jetstreampubsub"),
		nats.MaxReconnects(-1), // a durable bus outlives server restarts
	}
	var kinds []string
	if creds := getenv(envCreds); creds != "" {
		kinds = append(kinds, envCreds)
		opts = append(opts, nats.UserCredentials(creds))
	}
	if user, pass := getenv(envUser), getenv(envPassword); user != "" || pass != "" {
		if user == "" || pass == "" {
			return "", nil, fmt.Errorf("jetstreampubsub: set both %s and %s, or neither", envUser, envPassword)
		}
		kinds = append(kinds, envUser)
		opts = append(opts, nats.UserInfo(user, pass))
	}
	if token := getenv(envToken); token != "" {
		kinds = append(kinds, envToken)
		opts = append(opts, nats.Token(token))
	}
	if len(kinds) > 1 {
		return "", nil, fmt.Errorf("jetstreampubsub: more than one kind of credentials in the environment: %s", strings.Join(kinds, ", "))
	}
	return servers, opts, nil
}

// URLOpener opens jetstream:// URLs (see the package doc for the forms) on
// one JetStream context.
//
// Set the fields before the first open: they are read without locking.
type URLOpener struct {
	// JetStream is the context topics and subscriptions use. Required.
	JetStream jetstream.JetStream

	// TopicOptions apply to every topic opened; msg_id_key overrides
	// MsgIDKey.
	TopicOptions TopicOptions

	// SubscriptionOptions apply to every subscription opened; the URL's
	// filter_subject, ack_wait, max_deliver, deliver and
	// inactive_threshold override FilterSubject, AckWait, MaxDeliver,
	// DeliverNew and InactiveThreshold.
	SubscriptionOptions SubscriptionOptions
}

// OpenTopicURL opens the topic at u. With create_stream, it first ensures
// the stream exists and captures the subject, using ctx.
func (o *URLOpener) OpenTopicURL(ctx context.Context, u *url.URL) (*pubsub.Topic, error) {
	subject, stream, opts, err := o.parseTopicURL(u)
	if err != nil {
		return nil, fmt.Errorf("jetstreampubsub: open topic %s: %w", u.Redacted(), err)
	}
	if stream != "" && o.JetStream != nil {
		if err := EnsureStream(ctx, o.JetStream, stream, subject); err != nil {
			return nil, fmt.Errorf("jetstreampubsub: open topic %s: %w", u.Redacted(), err)
		}
	}
	return OpenTopic(o.JetStream, subject, &opts)
}

// OpenSubscriptionURL opens the subscription at u. It does not touch the
// server: the consumer is created or updated on the first Receive.
func (o *URLOpener) OpenSubscriptionURL(_ context.Context, u *url.URL) (*pubsub.Subscription, error) {
	stream, durable, opts, err := o.parseSubscriptionURL(u)
	if err != nil {
		return nil, fmt.Errorf("jetstreampubsub: open subscription %s: %w", u.Redacted(), err)
	}
	return OpenSubscription(o.JetStream, stream, durable, &opts)
}

// parseTopicURL returns the subject, the create_stream name (or "") and the
// options of a topic URL, or every problem with it.
func (o *URLOpener) parseTopicURL(u *url.URL) (subject, stream string, opts TopicOptions, err error) {
	opts = o.TopicOptions
	var errs []error
	subject, err = hostOnly(u, "jetstream://SUBJECT")
	if err == nil {
		err = checkSubject(subject, false)
	}
	errs = append(errs, err)
	q := u.Query()
	if v, ok, err := take(q, "create_stream"); ok {
		stream = v
		if err == nil {
			err = checkName("stream", v)
		}
		errs = append(errs, err)
	}
	if v, ok, err := take(q, "msg_id_key"); ok {
		if err == nil && v == "" {
			err = errors.New("empty msg_id_key")
		}
		opts.MsgIDKey = v
		errs = append(errs, err)
	}
	errs = append(errs, unknownParams(q))
	return subject, stream, opts, errors.Join(errs...)
}

// parseSubscriptionURL returns the stream, durable and options of a
// subscription URL, or every problem with it.
func (o *URLOpener) parseSubscriptionURL(u *url.URL) (stream, durable string, opts SubscriptionOptions, err error) {
	opts = o.SubscriptionOptions
	var errs []error
	const want = "jetstream://STREAM/DURABLE"
	switch {
	case u.Opaque != "":
		errs = append(errs, fmt.Errorf("opaque URL: want %s", want))
	case u.User != nil:
		errs = append(errs, errors.New("credentials in the URL: set them in the environment"))
	default:
		stream = u.Host
		durable = strings.TrimPrefix(u.Path, "/")
		if stream == "" || durable == "" || strings.Contains(durable, "/") {
			errs = append(errs, fmt.Errorf("want %s", want))
		} else {
			errs = append(errs, checkName("stream", stream), checkName("consumer", durable))
		}
	}
	q := u.Query()
	if v, ok, err := take(q, "filter_subject"); ok {
		if err == nil {
			err = checkSubject(v, true)
		}
		opts.FilterSubject = v
		errs = append(errs, err)
	}
	if v, ok, err := take(q, "ack_wait"); ok {
		if err == nil {
			opts.AckWait, err = positiveDuration("ack_wait", v)
		}
		errs = append(errs, err)
	}
	if v, ok, err := take(q, "deliver"); ok {
		if err == nil {
			switch v {
			case "all":
				opts.DeliverNew = false
			case "new":
				opts.DeliverNew = true
			default:
				err = fmt.Errorf("invalid deliver %q: want all or new", v)
			}
		}
		errs = append(errs, err)
	}
	if v, ok, err := take(q, "inactive_threshold"); ok {
		if err == nil {
			opts.InactiveThreshold, err = positiveDuration("inactive_threshold", v)
		}
		errs = append(errs, err)
	}
	if v, ok, err := take(q, "max_deliver"); ok {
		if err == nil {
			opts.MaxDeliver, err = strconv.Atoi(v)
			if err != nil || opts.MaxDeliver <= 0 {
				err = fmt.Errorf("invalid max_deliver %q: want a positive integer", v)
			}
		}
		errs = append(errs, err)
	}
	errs = append(errs, unknownParams(q))
	return stream, durable, opts, errors.Join(errs...)
}

// hostOnly returns u's host, the only part of a topic URL besides the query.
func hostOnly(u *url.URL, want string) (string, error) {
	switch {
	case u.Opaque != "":
		return "", fmt.Errorf("opaque URL: want %s", want)
	case u.User != nil:
		return "", errors.New("credentials in the URL: set them in the environment")
	case u.Host == "":
		return "", fmt.Errorf("missing subject: want %s", want)
	case u.Path != "" && u.Path != "/":
		return "", fmt.Errorf("unexpected path %q: want %s", u.Path, want)
	}
	return u.Host, nil
}

// take removes parameter name from q and returns its value; a parameter
// given more than once is an error.
func take(q url.Values, name string) (string, bool, error) {
	vs, ok := q[name]
	if !ok {
		return "", false, nil
	}
	delete(q, name)
	if len(vs) != 1 {
		return "", true, fmt.Errorf("%s given %d times", name, len(vs))
	}
	return vs[0], true, nil
}

func positiveDuration(name, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("invalid %s: %w", name, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("invalid %s %q: must be greater than zero", name, v)
	}
	return d, nil
}

func unknownParams(q url.Values) error {
	if len(q) == 0 {
		return nil
	}
	return fmt.Errorf("unknown query parameter(s) %s", strings.Join(slices.Sorted(maps.Keys(q)), ", "))
}

// EnsureStream makes sure stream exists and captures subject: it creates
// the stream (file storage, the server's default limits) with subject if
// there is none of that name. An existing stream is never changed: if it
// does not capture subject, EnsureStream returns an error wrapping
// ErrSubjectNotCaptured.
//
// A server that answers the create with "error creating store for stream"
// (err_code 10049: its file store could not be set up, the cause only in
// the server's log) is asked again up to createAttempts times in all:
// nats-server 2.9 gives that answer now and then under load, and while
// JetStream is still starting.
func EnsureStream(ctx context.Context, js jetstream.JetStream, stream, subject string) error {
	if err := checkName("stream", stream); err != nil {
		return err
	}
	if err := checkSubject(subject, false); err != nil {
		return err
	}
	s, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = createStream(ctx, js, stream, subject)
	}
	if err != nil {
		return fmt.Errorf("ensure stream %q: %w", stream, err)
	}
	subjects := s.CachedInfo().Config.Subjects
	for _, p := range subjects {
		if subjectCovers(p, subject) {
			return nil
		}
	}
	return fmt.Errorf("%w: stream %q has subjects %q, none of which captures %q",
		ErrSubjectNotCaptured, stream, subjects, subject)
}

// createStream creates stream capturing subject, asking again while the
// server answers that it failed to set up the stream's store.
func createStream(ctx context.Context, js jetstream.JetStream, stream, subject string) (jetstream.Stream, error) {
	var failed error // the server's last refusal, asked again after
	for attempt := 1; ; attempt++ {
		s, err := js.CreateStream(ctx, jetstream.StreamConfig{
			Name:     stream,
			Subjects: []string{subject},
			Storage:  jetstream.FileStorage,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // created meanwhile
			return js.Stream(ctx, stream)
		}
		if err != nil && failed != nil && ctx.Err() != nil {
			// Cancelled while asking again: say why it was asking.
			return nil, fmt.Errorf("%w (after %w)", ctx.Err(), failed)
		}
		if !storeFailed(err) || attempt == createAttempts {
			return s, err
		}
		failed = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (after %w)", ctx.Err(), err)
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

// createAttempts bounds how many times EnsureStream asks for a stream
// whose store the server failed to set up.
const createAttempts = 5

// storeFailed reports whether err is the server's answer to a stream
// create whose file store it could not set up: err_code 10049, which
// nats-server 2.9 sends as "error creating store for stream"
// (server/jetstream_api.go, errStreamStoreFailed).
func storeFailed(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == 10049
}
