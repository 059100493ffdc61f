package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/stockgate/stockgate/internal/cpuprof"
)

// Environment variables for the secrets, so that they stay out of shell
// history and process listings.
const (
	envSecret = "SHOPIFY_WEBHOOK_SECRET"
	envKey    = "STOCKGATE_API_KEY"
)

// errUsage marks bad flags; main exits 2.
var errUsage = errors.New("usage")

// parse parses a (sub)command's args into fs: flag.ErrHelp for -h, an
// error wrapping errUsage for bad flags.
func parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first interrupt stops the sends and reports; a second one kills.
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "stockgate-load:", err)
		os.Exit(1)
	}
}

// run is the command: it parses args, runs the load and prints the report
// to stdout (progress and usage go to stderr). Interrupting ctx stops the
// sends early; the run still drains and reports.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case cmdKfake:
			return runKfake(ctx, args[1:], stdout, stderr)
		case cmdRabbitDeclare:
			return runRabbitDeclare(ctx, args[1:], stdout, stderr)
		case cmdFakes:
			return runFakes(ctx, args[1:], stdout, stderr)
		case cmdFlash:
			return runFlash(ctx, args[1:], stdout, stderr)
		case cmdFloor:
			return runFloor(ctx, args[1:], stdout, stderr)
		}
	}
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	l, err := newLoad(cfg, stderr)
	if err != nil {
		return err
	}
	if cfg.CPUProfile != "" {
		stop, err := cpuprof.Start(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	rep, runErr := l.run(ctx)
	if rep != nil {
		if err := rep.write(stdout); err != nil {
			return err
		}
		if cfg.JSON {
			if err := json.NewEncoder(stdout).Encode(rep); err != nil {
				return err
			}
		}
	}
	return runErr
}

// parseFlags returns the configuration from args and the environment. It
// prints usage and problems to stderr, and returns flag.ErrHelp for -h and
// an errUsage error for bad flags.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("stockgate-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: stockgate-load [flags]

Sends signed Shopify orders/create webhooks to a running stockgate gateway at
a target rate and reports acknowledged webhooks/s, ack latency and webhook →
GraphQL subscriber latency. See the package doc (go doc ./cmd/stockgate-load).

  SHOPIFY_WEBHOOK_SECRET=... STOCKGATE_API_KEY=... stockgate-load -rate 1000 -duration 10s

Subcommands that prepare a bus for a run (see their -h):

  stockgate-load kfake -port 9092 -topics sg-inbound,sg-availability
  stockgate-load rabbit-declare -exchange sg-availability -queues live-r1,live-r2

Subcommand that serves fake marketplaces to watch availability sync:

  stockgate-load fakes -sku-name demo -skus 100 > /tmp/sync.yaml

Subcommand that runs a flash sale on one SKU and times the ledger:

  stockgate-load flash -n 5000 -concurrency 64

Subcommand that serves the floor under any gateway (net/http and nothing
else), to measure what the load command and net/http cost on the machine:

  stockgate-load floor -addr 127.0.0.1:8080

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "gateway base `URL`; a comma-separated list spreads webhooks round-robin and subscribers over several gateways (replicas)")
	fs.StringVar(&c.Connector, "connector", "shop", "Shopify connector `id`: webhooks go to <url>/webhooks/<id>")
	fs.StringVar(&c.Secret, "secret", "", "webhook signing `secret` of the connector (default $"+envSecret+")")
	fs.StringVar(&c.Shop, "shop", "example.myshopify.com", "X-Shopify-Shop-Domain of the webhooks")
	fs.StringVar(&c.Key, "key", "", "GraphQL API `key` for the subscribers (default $"+envKey+")")
	fs.StringVar(&c.Location, "location", "", "only count changes at this stockgate `location` (the connector's default location); empty: any")
	fs.Float64Var(&c.Rate, "rate", 1000, "target webhooks per second; 0: as fast as -concurrency allows")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "how long to send")
	fs.IntVar(&c.Concurrency, "concurrency", 64, "most requests in flight")
	fs.IntVar(&c.SKUs, "skus", 100, "fresh SKUs per run, load-<runid>-<i>; each has at most one request in flight, so keep ≥ -concurrency")
	fs.IntVar(&c.Subscribers, "subscribers", 1, "websocket subscribers to availabilityChanged; 0: measure acks only")
	fs.DurationVar(&c.Drain, "drain", 5*time.Second, "how long to wait after the last answer for outstanding changes")
	fs.DurationVar(&c.WarmUp, "warmup", 10*time.Second, "how long to wait for the subscriptions to deliver a warm-up change before the run")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.BoolVar(&c.JSON, "json", false, "also print the report as one JSON object")
	fs.StringVar(&c.SKUName, "sku-name", "", "name the SKUs load-`NAME`-<i> instead of a fresh run id (to sync them to the fakes subcommand's marketplaces; use a fresh gateway data dir per run)")
	fs.DurationVar(&c.Interval, "interval", 0, "also summarize the ack latencies per `interval` of send time (e.g. 1s), to tell a warm-up from the steady state; 0: off")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write the command's own CPU profile to `file` (to check that it measures the gateway, not itself)")
	if err := parse(fs, args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stockgate-load: unexpected arguments %q\n", fs.Args())
		return c, fmt.Errorf("%w: unexpected arguments", errUsage)
	}
	if c.Secret == "" {
		c.Secret = os.Getenv(envSecret)
	}
	if c.Key == "" {
		c.Key = os.Getenv(envKey)
	}
	if err := c.validate(); err != nil {
		fmt.Fprintf(stderr, "stockgate-load: bad flags:\n%v\n", err)
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	return c, nil
}
