package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Environment variables for the secrets, so that they stay out of shell
// history and process listings; examples/subs.yaml reads the same ones.
const (
	envSecret = "SHOPIFY_WEBHOOK_SECRET"
	envKey    = "STOCKGATE_STOREFRONT_KEY"
)

// errUsage marks bad flags; main exits 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "stockgate-subs:", err)
		os.Exit(1)
	}
}

// run is the command: it parses args, runs the measurement and prints the
// report to stdout; progress and usage go to stderr. Cancelling ctx stops
// the traffic early; the run still drains, checks and reports.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if cfg.QPS {
		rep, err := runQPS(ctx, cfg, stderr)
		if rep != nil {
			rep.write(stdout)
		}
		return err
	}
	rep, err := runSubs(ctx, cfg, stderr)
	if rep != nil {
		rep.write(stdout)
	}
	return err
}

// config is a run's settings, from the flags; see parseFlags for each.
type config struct {
	URL       string
	Connector string
	Secret    string
	Shop      string
	Key       string
	Location  string

	Subscribers     int
	PerSub          int
	SKUs            int
	DialRate        float64
	DialConcurrency int
	Settle          time.Duration
	WarmUp          time.Duration

	Rate        float64
	Duration    time.Duration
	Concurrency int
	Drain       time.Duration
	Timeout     time.Duration
	Cursor      bool
	Seed        uint64

	PID         int
	Debug       string
	CPUProfile  string
	HeapProfile string
	OwnProfile  string

	QPS     bool
	QPSSeed int
}

// parseFlags returns the configuration from args and the environment. It
// prints usage and problems to stderr and returns flag.ErrHelp for -h, an
// errUsage error for bad flags.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("stockgate-subs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: stockgate-subs [flags]

Measures a running stockgate gateway's GraphQL subscriptions at scale
(deliveries/s, webhook → subscriber latency, memory per idle subscriber,
last values checked against the ledger) or, with -qps, its persisted
availability queries per second. See go doc ./cmd/stockgate-subs.

  SHOPIFY_WEBHOOK_SECRET=... STOCKGATE_STOREFRONT_KEY=... stockgate-subs -pid PID -debug http://127.0.0.1:6061
  SHOPIFY_WEBHOOK_SECRET=... STOCKGATE_STOREFRONT_KEY=... stockgate-subs -qps -pid PID

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8090", "gateway base `URL` (examples/subs.yaml listens on 8090)")
	fs.StringVar(&c.Connector, "connector", "shop", "Shopify connector `id`: webhooks go to <url>/webhooks/<id>")
	fs.StringVar(&c.Secret, "secret", "", "the connector's webhook signing `secret` (default $"+envSecret+")")
	fs.StringVar(&c.Shop, "shop", "example.myshopify.com", "X-Shopify-Shop-Domain of the webhooks")
	fs.StringVar(&c.Key, "key", "", "GraphQL API `key`, storefront or admin (default $"+envKey+")")
	fs.StringVar(&c.Location, "location", "web", "the connector's default `location`: what subscribers watch and queries read")

	fs.IntVar(&c.Subscribers, "subscribers", 10_000, "websocket subscribers")
	fs.IntVar(&c.PerSub, "per-sub", 10, "distinct SKUs each subscriber watches")
	fs.IntVar(&c.SKUs, "skus", 10_000, "fresh SKUs in the run, subs-<run>-<i>")
	fs.Float64Var(&c.DialRate, "dial-rate", 1000, "most websocket connections opened per second")
	fs.IntVar(&c.DialConcurrency, "dial-concurrency", 16, "most websocket handshakes at once")
	fs.DurationVar(&c.Settle, "settle", 3*time.Second, "quiet time after the last subscriber connected, before the idle memory is read")
	fs.DurationVar(&c.WarmUp, "warmup", 30*time.Second, "how long to wait for every subscriber to see the warm-up change")

	fs.Float64Var(&c.Rate, "rate", 2000, "webhooks (changes) per second")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "how long to send webhooks (-qps: to query)")
	fs.IntVar(&c.Concurrency, "concurrency", 64, "most webhooks (-qps: queries) in flight")
	fs.DurationVar(&c.Drain, "drain", 10*time.Second, "how long to wait after the last webhook for subscribers to catch up")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.BoolVar(&c.Cursor, "cursor", true, "subscribers ask for each change's resume cursor, as resumable storefronts do")
	fs.Uint64Var(&c.Seed, "seed", 0, "random seed for the SKU choices; 0: a random one")

	fs.IntVar(&c.PID, "pid", 0, "the gateway's process `id`, to read its RSS, CPU time and open-file limit from /proc; 0: not read")
	fs.StringVar(&c.Debug, "debug", "", "the gateway's --debug-addr as a `URL` (http://127.0.0.1:6061), to read its heap and goroutines; empty: not read")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the gateway during the traffic to this `file` (needs -debug)")
	fs.StringVar(&c.OwnProfile, "ownprofile", "", "write a CPU profile of this command, from the traffic to the end of the run, to this `file`")
	fs.StringVar(&c.HeapProfile, "heapprofile", "", "write a heap profile of the gateway with every subscriber idle to this `file` (needs -debug)")

	fs.BoolVar(&c.QPS, "qps", false, "measure persisted availability queries per second instead of subscriptions")
	fs.IntVar(&c.QPSSeed, "qps-seed", 1000, "-qps: SKUs given one webhook first, so that queries read real ledger rows; queries pick among them")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stockgate-subs: unexpected arguments %q\n", fs.Args())
		return c, fmt.Errorf("%w: unexpected arguments", errUsage)
	}
	if c.Secret == "" {
		c.Secret = os.Getenv(envSecret)
	}
	if c.Key == "" {
		c.Key = os.Getenv(envKey)
	}
	c.URL = strings.TrimRight(c.URL, "/")
	c.Debug = strings.TrimRight(c.Debug, "/")
	if err := c.validate(); err != nil {
		fmt.Fprintf(stderr, "stockgate-subs: bad flags:\n%v\n", err)
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	return c, nil
}

// validate reports every problem at once, each naming its flag.
func (c *config) validate() error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("-%s: %s", flag, fmt.Sprintf(format, args...)))
	}
	httpURL := func(flag, s string) {
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(flag, "%q is not an http(s) URL such as http://127.0.0.1:8090", s)
		}
	}
	httpURL("url", c.URL)
	if c.Debug != "" {
		httpURL("debug", c.Debug)
	}
	if c.CPUProfile != "" && c.Debug == "" {
		bad("cpuprofile", "needs -debug, the gateway's --debug-addr")
	}
	if c.HeapProfile != "" && c.Debug == "" {
		bad("heapprofile", "needs -debug, the gateway's --debug-addr")
	}
	if c.Connector == "" {
		bad("connector", "required")
	}
	if c.Secret == "" {
		bad("secret", "required (or set %s)", envSecret)
	}
	if c.Key == "" {
		bad("key", "required (or set %s)", envKey)
	}
	if c.Location == "" {
		bad("location", "required: the connector's default location")
	}
	if c.SKUs < 1 {
		bad("skus", "must be at least 1")
	}
	if c.Rate <= 0 {
		bad("rate", "must be positive")
	}
	if c.Duration <= 0 {
		bad("duration", "must be positive")
	}
	if c.Concurrency < 1 {
		bad("concurrency", "must be at least 1")
	}
	if c.Timeout <= 0 {
		bad("timeout", "must be positive")
	}
	if c.PID < 0 {
		bad("pid", "must not be negative")
	}
	if c.QPS {
		if c.QPSSeed < 0 || c.QPSSeed > c.SKUs {
			bad("qps-seed", "must be between 0 and -skus (%d)", c.SKUs)
		}
		return errors.Join(errs...)
	}
	if c.Subscribers < 1 {
		bad("subscribers", "must be at least 1")
	}
	if c.PerSub < 1 || c.PerSub > c.SKUs {
		bad("per-sub", "must be between 1 and -skus (%d)", c.SKUs)
	}
	if c.PerSub >= maxSubscriptionSKUs {
		bad("per-sub", "the gateway allows at most %d SKUs per subscription, one of them the warm-up SKU", maxSubscriptionSKUs)
	}
	if c.DialRate <= 0 {
		bad("dial-rate", "must be positive")
	}
	if c.DialConcurrency < 1 {
		bad("dial-concurrency", "must be at least 1")
	}
	if c.Settle < 0 {
		bad("settle", "must not be negative")
	}
	if c.WarmUp <= 0 {
		bad("warmup", "must be positive")
	}
	if c.Drain < 0 {
		bad("drain", "must not be negative")
	}
	return errors.Join(errs...)
}

// maxSubscriptionSKUs is the gateway's limit on skus: per subscription
// (graph.subscriptionResolver.AvailabilityChanged).
const maxSubscriptionSKUs = 1000
