// Package reconcile catches up on what webhooks missed. For each
// connector a Job reads what the marketplace reports now (Shopify
// inventory levels, Square IN_STOCK counts, Amazon FBA inventory
// summaries), compares it with the ledger and records every difference as
// a canonical stock.counted event with reason "reconciliation", handed on
// like a webhook delivery; a Scheduler runs each job every Interval and
// on demand.
//
// A Job is the portable type over a small driver interface, Source: one
// method, Read, that returns Observations. This package has a Source per
// marketplace, each over that marketplace's read client: ShopifySource
// (connectors/shopify/admin), SquareSource (connectors/square/squareapi)
// and AmazonFBASource (connectors/amazon/fbaapi). The drivers classify
// errors and never retry; the Sources pace and retry page by page with a
// Backoff; the Job maps, compares, builds events and submits. Package
// reconciletest has the conformance suite every Source passes and an
// in-memory Source.
//
// # Wiring
//
//	h := ingest.New(st, …)                                   // the webhook handler
//	sq, _ := reconcile.NewSquareSource(squareClient, cfg.Items, cfg.Locations, nil)
//	job, _ := reconcile.NewJob(cfg.ID, sq, st, reconcile.SubmitTo(h, nil), nil)
//	sched, _ := reconcile.NewScheduler([]*reconcile.Job{job, …}, nil)
//	go sched.Run(ctx)                                        // every 15 minutes
//	report, err := sched.RunNow(ctx, cfg.ID)                 // on demand
//
// # What is corrected
//
// On-hand observations (Square, Amazon FBA: the marketplace holds the
// stock) become stock.counted on_hand events when the ledger's OnHand
// differs; the ledger applies them unless a later count was applied since
// (such observations are counted as Stale and not sent). Available
// observations (Shopify, a channel view of stockgate's stock) become
// stock.counted available events when the ledger's Available differs; the
// ledger records them and raises a drift alert, never changing
// quantities. Every event's occurredAt is the source's as-of time.
//
// # Delivery semantics
//
// Corrections go through Submit in Results of at most BatchSize events,
// each with DedupKey "reconcile:<connector>:<hash of its event ids>"; the
// ingest handler stores a Result's events in the outbox atomically, and
// from there they reach the ledger at least once. Event ids are
// deterministic (connector, source row, as-of time, state, SKU, location,
// quantity), so a re-run before the ledger applied a correction submits
// nothing new (ErrDuplicate, counted as Resubmitted) and the ledger applies
// each id once. A run that fails part way keeps what it submitted; the
// next run, from the same since, repeats the rest.
//
// # Errors
//
// Report.Err, also returned by Job.Run and Scheduler.RunNow, wraps the
// first failure once with the connector: the Source's error (a driver's
// *Error, classified by its package's ErrorCode), a ledger read or a
// Submit. Rows a Source cannot map are not errors: they come back as
// Observations with Skip set and are counted in Report.Skipped.
// Scheduler.RunNow fails with ErrUnknownConnector or ErrRunning.
package reconcile
