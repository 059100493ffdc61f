// Command stockgate is the inventory sync gateway: marketplace webhooks
// in, canonical events on the bus, an event-sourced stock ledger, and
// availability out over GraphQL.
//
// This file is the composition root: it opens every resource in order,
// starts the loops, and on SIGINT or SIGTERM closes them in reverse. It
// holds no logic of its own.
//
//	go run .                              # embedded defaults, no services
//	go run . --config stockgate.yaml      # see examples/stockgate.yaml
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/redis/go-redis/v9"
	gcpubsub "gocloud.dev/pubsub"
	_ "gocloud.dev/pubsub/gcppubsub"    // gcppubsub:// bus (Google Pub/Sub)
	_ "gocloud.dev/pubsub/kafkapubsub"  // kafka:// bus
	_ "gocloud.dev/pubsub/rabbitpubsub" // rabbit:// bus

	"github.com/stockgate/stockgate/admin"
	"github.com/stockgate/stockgate/auth"
	"github.com/stockgate/stockgate/config"
	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/amazon"
	"github.com/stockgate/stockgate/connectors/amazon/fbaapi"
	"github.com/stockgate/stockgate/connectors/amazon/listingsapi"
	"github.com/stockgate/stockgate/connectors/pos"
	"github.com/stockgate/stockgate/connectors/shopify"
	shopifyadmin "github.com/stockgate/stockgate/connectors/shopify/admin"
	"github.com/stockgate/stockgate/connectors/square"
	"github.com/stockgate/stockgate/connectors/square/squareapi"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/amazonwriter"
	"github.com/stockgate/stockgate/dispatch/redisbreaker"
	"github.com/stockgate/stockgate/dispatch/redislease"
	"github.com/stockgate/stockgate/dispatch/shopifywriter"
	"github.com/stockgate/stockgate/dispatch/squarewriter"
	"github.com/stockgate/stockgate/graph"
	"github.com/stockgate/stockgate/ingest"
	"github.com/stockgate/stockgate/ledger"
	"github.com/stockgate/stockgate/live"
	"github.com/stockgate/stockgate/mapping"
	"github.com/stockgate/stockgate/priority"
	"github.com/stockgate/stockgate/pubsub"
	_ "github.com/stockgate/stockgate/pubsub/jetstreampubsub" // jetstream:// bus (at least once)
	"github.com/stockgate/stockgate/ratelimit"
	"github.com/stockgate/stockgate/ratelimit/redislimit"
	"github.com/stockgate/stockgate/reconcile"
	"github.com/stockgate/stockgate/registry"
	"github.com/stockgate/stockgate/relay"
	"github.com/stockgate/stockgate/seal"
	"github.com/stockgate/stockgate/store"
	_ "github.com/stockgate/stockgate/store/boltstore" // bolt:// store
	_ "github.com/stockgate/stockgate/store/memstore"  // mem:// store
	"github.com/stockgate/stockgate/store/redisstore"  // redis:// and rediss:// store
)

func main() {
	// The gateway allocates a lot of short-lived garbage per webhook; trading
	// memory for CPU cuts its CPU per webhook by about a fifth (BENCHMARKS.md).
	// GOGC set in the environment wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "stockgate:", err)
		os.Exit(1)
	}
}

// run starts the gateway and blocks until ctx is done. ready, when set,
// receives the listen address once the gateway serves.
func run(ctx context.Context, args []string, stdout io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("stockgate", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var (
		cfgPath = fs.String("config", "", "YAML configuration file (see examples/stockgate.yaml)")
		addr    = fs.String("addr", "", "listen address (default 127.0.0.1:8080, or the config's addr)")
		dataDir = fs.String("data-dir", "", "data directory (default ./stockgate-data, or the config's dataDir)")
		logJSON = fs.Bool("log-json", false, "log JSON lines instead of text")
		debug   = fs.String("debug-addr", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060); off when empty")
		replica = fs.String("replica", "", "this replica's name, put in place of {replica} in bus URLs (default $STOCKGATE_REPLICA, or the config's replica)")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := &config.Config{}
	if *cfgPath != "" {
		c, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		cfg = c
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	if v := os.Getenv("STOCKGATE_REPLICA"); v != "" {
		cfg.Replica = v
	}
	if *replica != "" {
		cfg.Replica = *replica
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	var lh slog.Handler = slog.NewTextHandler(os.Stderr, nil)
	if *logJSON {
		lh = slog.NewJSONHandler(os.Stderr, nil)
	}
	log := slog.New(lh)
	// What logs through the default logger (gqlgen's error presenter,
	// package log) goes through the same handler: one format per run.
	slog.SetDefault(log)

	// Keys.
	keys := auth.NewKeys()
	for _, k := range cfg.Keys {
		role, err := auth.ParseRole(k.Role)
		if err != nil {
			return err
		}
		if err := keys.Add(k.Value, auth.Principal{Name: k.Name, Role: role, Channels: k.Channels}); err != nil {
			return err
		}
	}
	var bootstrapKey string
	if keys.Len() == 0 {
		key, created, err := auth.Bootstrap(cfg.DataDir)
		if err != nil {
			return err
		}
		if err := keys.Add(key, auth.Principal{Name: "bootstrap-admin", Role: auth.Admin}); err != nil {
			return err
		}
		if created {
			bootstrapKey = key
		}
	}

	// Store, then bus.
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	keys.SetStore(st) // keys made by admin mutations
	bus, err := pubsub.OpenBus(ctx, &pubsub.BusOptions{
		InboundTopicURL:             cfg.Bus.Inbound,
		InboundSubscriptionURL:      cfg.Bus.InboundSubscription,
		AvailabilityTopicURL:        cfg.Bus.Availability,
		AvailabilitySubscriptionURL: cfg.Bus.AvailabilitySubscription,
		Replica:                     cfg.Replica,
	})
	if err != nil {
		return err
	}
	defer bus.Shutdown(context.WithoutCancel(ctx))
	inSub, err := bus.SubscribeInbound(ctx)
	if err != nil {
		return err
	}
	avSub, err := bus.SubscribeAvailability(ctx)
	if err != nil {
		return err
	}

	// Services. On mem:// the relay keeps the inbound backlog in the store
	// beyond a window, which this process's ledger refills (Consumed).
	relayWindow := 0
	if !bus.InboundDurable() {
		relayWindow = cmp.Or(cfg.Bus.MemoryWindow, relay.DefaultWindow)
	}
	rel := relay.New(st, map[string]*gcpubsub.Topic{
		ledger.TopicInbound:      bus.Inbound(),
		ledger.TopicAvailability: bus.Availability(),
	}, &relay.Options{Retain: []string{ledger.TopicInbound}, Window: relayWindow, Logger: log})
	// The ledger queues each change for the accounts it moves (the
	// dispatcher's routes), in the commit; route is set once the
	// dispatcher exists, before the ledger runs.
	var route func(sku, location string) []string
	catalog := cfg.Catalog() // the ledger dead-letters, admin commands refuse, what it does not know
	led := ledger.New(st, &ledger.Options{Catalog: catalog, Committed: rel.Notify, Logger: log,
		CacheProjections: st.Exclusive(),
		Route: func(sku, location string) []string {
			if route == nil {
				return nil
			}
			return route(sku, location)
		}})
	hub := live.NewHub()
	// The ledger yields the CPU to the webhook endpoint while its answers
	// are slow (ledger.pace).
	var (
		pacer    *priority.Pacer
		answered func(time.Duration)
		pace     func(context.Context)
	)
	if cfg.Ledger.Pace != config.PaceOff {
		pacer = priority.New(nil)
		answered, pace = pacer.Observe, pacer.Wait
	}
	ing := ingest.New(st, &ingest.Options{
		MaxBodyBytes: cfg.Webhooks.MaxBodyBytes, DedupTTL: cfg.Webhooks.DedupTTL,
		Accepted: rel.Notify, Answered: answered, Logger: log,
	})
	// Connectors, built with the mappings stored at runtime. What the
	// dispatcher writes to Shopify is recorded in echoes, so that Shopify's
	// webhook reporting it back reads as a confirmation.
	// Square's echoes are kept in the store: one applied as a count would
	// change stock (square.SharedEchoes); the others are observations.
	echoes := echoSet{shopify: &shopify.MemoryEchoes{}, square: square.NewSharedEchoes(st, log), amazon: &amazon.MemoryEchoes{}}
	learners := map[string]*mapping.ShopifyLearner{}
	var marks shopify.WatermarksByConnector // a rebuilt connector keeps its stale marks
	maps := mapping.New(st, ing, cfg.Connectors, func(c config.Connector) (connectors.Inbound, error) {
		return openConnector(c, echoes, learners[c.ID], marks.For(c.ID))
	}, catalog, nil)
	for _, c := range cfg.Connectors {
		if c.Kind == string(connectors.Shopify) {
			learners[c.ID] = maps.ShopifyLearner(c.ID, log)
		}
	}
	if err := maps.Open(ctx); err != nil {
		return err
	}
	var sqsSources []*amazon.SQSSource
	for _, c := range cfg.Connectors {
		in, _ := ing.Connector(c.ID)
		if az, ok := in.(*amazon.Connector); ok && c.Amazon.SQS != "" {
			src, err := amazon.OpenSQSSource(ctx, c.Amazon.SQS, az, func(ctx context.Context, res *connectors.Result) error {
				_, err := ing.Accept(ctx, res, time.Now())
				return err
			}, nil)
			if err != nil {
				return err
			}
			sqsSources = append(sqsSources, src)
		}
	}
	disp, closeDisp, err := dispatcher(cfg, st, echoes, log)
	if err != nil {
		return err
	}
	defer closeDisp()
	// Reconciliation reads spend the same shop budget as the writes.
	recon, err := reconcileJobs(cfg, st, ing, disp, log)
	if err != nil {
		return err
	}
	var rules registry.Rules // channel rules set at runtime go to the dispatcher
	if disp != nil {
		rules = disp
		route = disp.Route
	}
	// Connectors made at runtime, secrets sealed with STOCKGATE_SECRET_KEY.
	var sealKey *seal.Key
	if v := os.Getenv(seal.EnvVar); v != "" {
		if sealKey, err = seal.ParseKey(v); err != nil {
			return err
		}
	}
	reg, err := registry.New(registry.Options{
		Store: st, Config: cfg, Key: sealKey, Target: maps, Rules: rules, Logger: log,
		Build: func(c config.Connector) error { _, err := openConnector(c, echoes, nil, nil); return err },
	})
	if err != nil {
		return err
	}
	if err := reg.Load(ctx); err != nil {
		return err // sealed secrets and no key: refuse to start
	}
	adm := admin.New(st, &admin.Options{Submitted: rel.Notify, DedupTTL: cfg.Webhooks.DedupTTL, Catalog: catalog})
	gql := graph.NewHandler(&graph.Resolver{
		Store: st, Hub: hub, Admin: adm, Mapping: maps, Reconciler: recon, Dispatcher: disp,
		Keys: keys, CatalogSKUs: cfg.SKUList(), Registry: reg,
	}, &graph.HandlerOptions{
		Keys: keys, ComplexityLimit: cfg.GraphQL.ComplexityLimit, Audit: &graph.Auditor{Store: st, Log: log},
		Introspection: *cfg.GraphQL.Introspection, AllowedOrigins: cfg.GraphQL.AllowedOrigins,
	})

	// Loops: relay, ledger consumer, live fan-out.
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	var loops, ledgerLoop sync.WaitGroup
	failed := make(chan error, 8)
	startIn := func(ctx context.Context, wg *sync.WaitGroup, name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				failed <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	start := func(name string, f func(context.Context) error) { startIn(loopCtx, &loops, name, f) }
	// The ledger stops first at shutdown, so that the relay's last pass
	// publishes the changes of the events it was applying.
	ledgerCtx, stopLedger := context.WithCancel(loopCtx)
	defer stopLedger()
	start("relay", rel.Run)
	startIn(ledgerCtx, &ledgerLoop, "ledger", func(ctx context.Context) error {
		return led.Run(ctx, inSub, &ledger.RunOptions{Consumed: rel.Consumed, Workers: cfg.Ledger.Workers, Pace: pace})
	})
	if pacer != nil {
		start("pacer", func(ctx context.Context) error { pacer.Run(ctx); return nil })
	}
	start("live", func(ctx context.Context) error { return hub.Run(ctx, avSub) })
	start("keys", func(ctx context.Context) error { return keys.Run(ctx, 2*time.Second) })
	start("registry", func(ctx context.Context) error { return reg.Run(ctx, 2*time.Second) })
	for _, src := range sqsSources {
		start("amazon sqs", src.Run)
	}
	if recon != nil {
		start("reconcile", recon.Run)
	}
	if disp != nil {
		dsub := hub.Subscribe(live.Filter{})
		start("dispatch", func(ctx context.Context) error { return disp.Run(ctx, dispatch.LiveSource(dsub)) })
	}

	// HTTP.
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/{connectorID}", ing)
	mux.Handle("/graphql", keys.Middleware(gql))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(pctx); err != nil {
			http.Error(w, "store: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	if *cfg.GraphQL.Introspection {
		mux.Handle("GET /{$}", playground.Handler("stockgate", "/graphql"))
	}
	if *debug != "" {
		dl, err := net.Listen("tcp", *debug)
		if err != nil {
			return err
		}
		dsrv := &http.Server{Handler: debugMux(), ReadHeaderTimeout: 10 * time.Second}
		go dsrv.Serve(dl)
		defer dsrv.Close()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	connCtx, closeConns := context.WithCancel(context.WithoutCancel(ctx))
	defer closeConns()
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return connCtx },
	}
	// net/http does not wait for hijacked (websocket) connections: cancel
	// their context so their loops end.
	srv.RegisterOnShutdown(closeConns)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "stockgate listening on %s\n", base)
	fmt.Fprintf(stdout, "  GraphQL:   %s/graphql  (GraphiQL at %s/)\n", base, base)
	for _, c := range cfg.Connectors {
		fmt.Fprintf(stdout, "  webhook:   %s/webhooks/%s  (%s)\n", base, c.ID, c.Kind)
	}
	if len(cfg.Connectors) == 0 {
		fmt.Fprintf(stdout, "  webhooks:  %s/webhooks/{connector}  (none configured yet: --config, see examples/stockgate.yaml, or the createConnector mutation)\n", base)
	}
	fmt.Fprintf(stdout, "  store:     %s\n", redact(cfg.Store))
	if bootstrapKey != "" {
		fmt.Fprintf(stdout, "  admin key: %s  (created now and kept in %s; shown once)\n", bootstrapKey, cfg.DataDir+"/"+auth.BootstrapFile)
	} else if len(cfg.Keys) == 0 {
		fmt.Fprintf(stdout, "  admin key: in %s\n", cfg.DataDir+"/"+auth.BootstrapFile)
	}
	log.Info("stockgate started", "addr", ln.Addr().String(), "connectors", len(cfg.Connectors))
	if ready != nil {
		ready(ln.Addr().String())
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-failed:
	case runErr = <-served:
	}

	// Shutdown, in order: stop HTTP and close websockets, let the ledger
	// apply the events it has received, flush the outbox to the topics,
	// drain the subscriptions, close the store (deferred above, after the
	// bus).
	log.Info("stockgate shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	hub.Close()
	for _, src := range sqsSources {
		if err := src.Shutdown(sctx); err != nil {
			log.Warn("amazon sqs shutdown", "err", err)
		}
	}
	stopLedger()
	ledgerLoop.Wait()
	log.Info("ledger stopped; flushing the outbox to the bus")
	_ = rel.Pass(sctx)
	stopLoops()
	loops.Wait()
	log.Info("loops stopped; closing the subscriptions and the store")
	if err := inSub.Shutdown(sctx); err != nil {
		log.Warn("inbound subscription shutdown", "err", err)
	}
	if err := avSub.Shutdown(sctx); err != nil {
		log.Warn("availability subscription shutdown", "err", err)
	}
	if errors.Is(runErr, http.ErrServerClosed) {
		runErr = nil
	}
	return runErr
}

// openConnector builds the inbound side of a configured connector.
func openConnector(c config.Connector, echoes echoSet, learner shopify.Learner, marks shopify.Watermarks) (connectors.Inbound, error) {
	kind, err := connectors.ParseKind(c.Kind)
	if err != nil {
		return nil, err
	}
	switch kind {
	case connectors.Shopify:
		return shopify.New(shopify.Config{
			ID: c.ID, Secrets: c.SecretValues, Shop: c.Shop,
			Locations: c.Locations, DefaultLocation: c.DefaultLocation, Items: c.Items,
			Mapper: learner, // learns SKUs from inventory_items/* and products/*, stored
			Echoes: echoes.shopify, Watermarks: marks,
		})
	case connectors.Square:
		sc := square.Config{
			ID: c.ID, SignatureKeys: c.SecretValues, NotificationURL: c.NotificationURL,
			Locations: c.Locations, Items: c.Items, Echoes: echoes.square,
		}
		if c.API.TokenValue != "" {
			// Order webhooks carry no lines: fetch the order. Square wants a
			// 2xx within 10 s, so the fetch gets 5.
			cl, err := squareapi.New(c.API.TokenValue, &squareapi.Options{BaseURL: c.API.BaseURL, HTTPClient: &http.Client{Timeout: 5 * time.Second}})
			if err != nil {
				return nil, err
			}
			sc.Orders = cl
		}
		return square.New(sc)
	case connectors.Amazon:
		ac := amazon.Config{
			ID: c.ID, SellerID: c.Amazon.SellerID,
			SNS:         amazon.SNSConfig{AllowedTopicARNs: c.Amazon.SNSTopics, AllowedCertHosts: c.Amazon.SNSCertHosts},
			EventBridge: amazon.EventBridgeConfig{AuthHeader: c.Amazon.AuthHeader, Secrets: c.SecretValues},
			Locations:   c.Locations, DefaultLocation: c.DefaultLocation, SKUs: c.Items,
			Echoes: echoes.amazon,
		}
		if token := c.API.TokenValue; token != "" {
			// ORDER_CHANGE without items: fetch them (getOrderItems).
			oc, err := amazon.NewOrdersClient(c.API.BaseURL, func(context.Context) (string, error) { return token, nil }, nil)
			if err != nil {
				return nil, err
			}
			ac.OrderItems = oc
		}
		return amazon.New(ac)
	case connectors.POS:
		return pos.New(pos.Config{ID: c.ID, Secrets: c.SecretValues, Tolerance: c.Tolerance, Stores: c.Stores})
	}
	return nil, fmt.Errorf("connector %q: kind %s is not supported yet", c.ID, kind)
}

// reconcileJobs builds a reconciliation job for every connector whose API
// token is configured, and their scheduler (nil when there are none).
func reconcileJobs(cfg *config.Config, st *store.Store, ing *ingest.Handler, disp *dispatch.Dispatcher, log *slog.Logger) (*reconcile.Scheduler, error) {
	var jobs []*reconcile.Job
	submit := reconcile.SubmitTo(ing, nil)
	every := time.Duration(0)
	for _, c := range cfg.Connectors {
		if c.API.TokenValue == "" {
			continue
		}
		// The location a sync section writes shows stockgate's own
		// pushes: reconciliation leaves it to the dispatcher.
		locations := c.ReconciledLocations()
		if len(locations) == 0 && len(c.Locations) > 0 {
			log.Info("reconciliation: nothing to read back, every mapped location is the one the connector's sync writes", "connector", c.ID)
			continue
		}
		var src reconcile.Source
		var err error
		switch connectors.Kind(c.Kind) {
		case connectors.Shopify:
			var ac *shopifyadmin.Client
			if ac, err = shopifyadmin.New(shopifyadmin.Options{Shop: c.API.BaseURL, Token: c.API.TokenValue}); err == nil {
				var opts reconcile.ShopifyOptions
				if disp != nil {
					opts.Limiter, _ = disp.Limiter(c.ID) // the shop's budget, when it syncs
				}
				src, err = reconcile.NewShopifySource(ac, c.Items, locations, &opts)
			}
		case connectors.Square:
			var sc *squareapi.Client
			if sc, err = squareapi.New(c.API.TokenValue, &squareapi.Options{BaseURL: c.API.BaseURL}); err == nil {
				src, err = reconcile.NewSquareSource(sc, c.Items, locations, nil)
			}
		case connectors.Amazon:
			if len(c.Locations) == 0 {
				continue // no FBA marketplace mapped: nothing of Amazon's to read back
			}
			token := c.API.TokenValue
			var fc *fbaapi.Client
			if fc, err = fbaapi.New(c.API.BaseURL, func(context.Context) (string, error) { return token, nil }, nil); err == nil {
				src, err = reconcile.NewAmazonFBASource(fc, c.Locations, &reconcile.AmazonFBAOptions{SKUs: c.Items})
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("connector %q: reconciliation: %w", c.ID, err)
		}
		job, err := reconcile.NewJob(c.ID, src, st, submit, nil)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, job)
		if c.API.Reconcile != 0 && (every == 0 || c.API.Reconcile < every) {
			every = c.API.Reconcile
		}
	}
	if len(jobs) == 0 {
		return nil, nil
	}
	return reconcile.NewScheduler(jobs, &reconcile.SchedulerOptions{Interval: every, Logger: log})
}

// dispatcher builds the outbound dispatcher over every connector with a
// sync section (nil when there is none), and what closes its resources.
// With a Redis store, replicas share each account's lease, breaker and
// rate budget through the store's Redis, under the store's key prefix;
// otherwise they are in this process.
func dispatcher(cfg *config.Config, st *store.Store, echoes echoSet, log *slog.Logger) (*dispatch.Dispatcher, func(), error) {
	nothing := func() {}
	var accounts []dispatch.Account
	var budgets []string                           // the rate budget each account spends: its shop's or seller's
	feeds := map[string]*amazonwriter.FeedBudget{} // per seller
	for _, c := range cfg.Connectors {
		if c.Sync == nil {
			continue
		}
		w, budget, err := writer(c, echoes, feeds)
		if err != nil {
			return nil, nothing, fmt.Errorf("connector %q: %w", c.ID, err)
		}
		accounts = append(accounts, dispatch.Account{Writer: w, Rule: c.Sync.Rule})
		budgets = append(budgets, budget)
	}
	// Accounts of one shop or seller share one budget.
	local := map[string]ratelimit.Limiter{}
	for i, b := range budgets {
		ib, ok := accounts[i].Writer.(dispatch.InitialBudgeter)
		if !ok {
			continue
		}
		if local[b] == nil {
			l, err := ratelimit.NewLocal(ib.InitialBudget())
			if err != nil {
				return nil, nothing, err
			}
			local[b] = l
		}
		accounts[i].Limiter = local[b]
	}
	if len(accounts) == 0 {
		return nil, nothing, nil
	}
	opts := &dispatch.Options{
		Window: cfg.Dispatch.Window, MaxDelay: cfg.Dispatch.MaxDelay,
		ReconcileInterval: cfg.Dispatch.ReconcileInterval, Logger: log,
	}
	closeAll := nothing
	if u, err := url.Parse(cfg.Store); err == nil && (u.Scheme == redisstore.Scheme || u.Scheme == redisstore.SchemeTLS) {
		ro, prefix, err := redisstore.ClientOptions(u)
		if err != nil {
			return nil, nothing, err
		}
		rc := redis.NewClient(ro)
		closeAll = func() { _ = rc.Close() }
		if opts.Leases, err = redislease.New(rc, &redislease.Options{Prefix: prefix + "dispatch:lease:"}); err == nil {
			opts.BreakerStore, err = redisbreaker.New(rc, &redisbreaker.Options{Prefix: prefix + "dispatch:breaker:"})
		}
		for i := range accounts {
			ib, ok := accounts[i].Writer.(dispatch.InitialBudgeter)
			if err != nil || !ok {
				continue
			}
			// One budget per shop, whichever replica or account spends it.
			limit, burst := ib.InitialBudget()
			accounts[i].Limiter, err = redislimit.New(rc, budgets[i], limit, burst, &redislimit.Options{Prefix: prefix + "ratelimit:"})
		}
		if err != nil {
			closeAll()
			return nil, nothing, err
		}
	}
	d, err := dispatch.New(st, accounts, opts)
	if err != nil {
		closeAll()
		return nil, nothing, err
	}
	return d, closeAll, nil
}

// echoSet remembers what the dispatcher wrote to each marketplace, so
// that its webhook reporting the same value back is a confirmation.
type echoSet struct {
	shopify *shopify.MemoryEchoes
	square  *square.SharedEchoes
	amazon  *amazon.MemoryEchoes
}

// writer builds the write side of a connector with a sync section, and
// names the rate budget it spends.
func writer(c config.Connector, echoes echoSet, feeds map[string]*amazonwriter.FeedBudget) (dispatch.Writer, string, error) {
	switch c.Kind {
	case string(connectors.Shopify):
		cl, err := shopifyadmin.New(shopifyadmin.Options{Shop: c.API.BaseURL, Token: c.API.TokenValue, APIVersion: c.Sync.APIVersion})
		if err != nil {
			return nil, "", err
		}
		items := make(map[int64]string, len(c.Items))
		for k, sku := range c.Items {
			id, err := strconv.ParseInt(k, 10, 64)
			if err != nil {
				return nil, "", fmt.Errorf("item %q: %w", k, err)
			}
			items[id] = sku
		}
		w, err := shopifywriter.New(shopifywriter.Options{Account: c.ID, Client: cl, LocationID: c.Sync.LocationID, Items: items, Echoes: echoes.shopify})
		return w, "shopify:" + c.API.BaseURL, err
	case string(connectors.Square):
		cl, err := squareapi.New(c.API.TokenValue, &squareapi.Options{BaseURL: c.API.BaseURL})
		if err != nil {
			return nil, "", err
		}
		w, err := squarewriter.New(squarewriter.Options{Account: c.ID, Client: cl, LocationID: c.Sync.Location, Items: invert(c.Items), Echoes: echoes.square})
		return w, "square:" + c.ID, err
	case string(connectors.Amazon):
		token := c.API.TokenValue
		cl, err := listingsapi.New(c.API.BaseURL, func(context.Context) (string, error) { return token, nil }, nil)
		if err != nil {
			return nil, "", err
		}
		seller := c.Amazon.SellerID
		if feeds[seller] == nil {
			feeds[seller] = amazonwriter.NewFeedBudget()
		}
		w, err := amazonwriter.New(amazonwriter.Options{
			Account: c.ID, Client: cl, SellerID: seller, MarketplaceID: c.Sync.MarketplaceID,
			ProductType: c.Sync.ProductType, Items: invert(c.Items), Echoes: echoes.amazon, FeedBudget: feeds[seller],
		})
		return w, "amazon:" + seller, err
	}
	return nil, "", fmt.Errorf("no write side for kind %q", c.Kind)
}

// invert turns a connector's marketplace id → SKU map into SKU → id.
func invert(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for ext, sku := range m {
		out[sku] = ext
	}
	return out
}

// debugMux serves the profiler.
func debugMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return m
}

func redact(u string) string {
	if pu, err := url.Parse(u); err == nil {
		return pu.Redacted()
	}
	return "(unparsable URL)"
}
