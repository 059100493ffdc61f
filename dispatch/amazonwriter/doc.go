// Package amazonwriter is the dispatch.Writer of an Amazon seller in one
// marketplace: it writes channel quantities as the merchant-fulfilled
// (MFN) quantity of each listing, through the SP-API client
// connectors/amazon/listingsapi. Like every driver it classifies failures
// and never retries or counts them; the Dispatcher does.
//
// Facts are cited as "ref §N", the section of the project's Amazon
// reference (shared/reference/amazon.md).
//
// # Writes
//
// A batch of at most FeedThreshold updates (250 by default) goes as one
// patchListingsItem per SKU: op merge on /attributes/fulfillment_availability
// with [{fulfillment_channel_code: "DEFAULT", quantity}] (ref §5.1),
// which leaves lead time and restock date alone. HTTP 200 with status
// INVALID, or a 400, is the update's InvalidArgument (dead-lettered);
// ACCEPTED is OK (Amazon applies it within minutes; its
// LISTINGS_ITEM_MFN_QUANTITY_CHANGE confirms it).
//
// A larger batch (a backlog: a flash sale, the reconcile at start) goes
// as one JSON_LISTINGS_FEED of up to MaxBatch messages (10,000 by
// default; Amazon takes 25,000 and 10 MiB, ref §5.2), each a PATCH with
// the same merge: createFeedDocument, upload, createFeed, then getFeed
// every PollInterval until DONE, FATAL or CANCELLED, then the processing
// report (getFeedDocument, download, gunzip), of which every message's
// result is read: ERROR issues make its update InvalidArgument, a
// message the report does not account for (a FATAL feed, a summary that
// does not add up) Unknown, and the others OK. When a feed cannot be sent
// yet (its budget, the window of 5 feeds per 5 minutes), the batch goes
// as patches instead, FeedThreshold at a time.
//
// # Order, and waiting for feeds
//
// A SKU is in at most one write in flight: while a feed that carries it
// is pending, its updates wait for the feed, however long Amazon takes
// (minutes, sometimes hours, ref §7 pitfall 1), and are then reported
// from the report, or sent again when the ledger moved meanwhile. So a
// SKU's writes are applied in ledger order, as the Dispatcher promises;
// the price is that a change of a SKU in a pending feed waits for it.
// Other SKUs do not: each Write first writes the SKUs no feed carries,
// then waits at most FeedWait (5s) for the feeds of its batch, polling
// every PollInterval (15s), and returns the updates still pending as
// Aborted, which the Dispatcher hands back at once. So a pending feed
// delays a change of another SKU by at most FeedWait, never holds a
// Write past the Dispatcher's WriteTimeout, and is polled no more often
// than PollInterval.
// A feed unfinished after FeedTimeout (2h) is given up: cancelled if it
// is still IN_QUEUE, its updates Unavailable and sent again, as patches
// for another FeedTimeout (a new feed would queue behind the stuck one). What is pending lives in memory: after a
// restart the Dispatcher's reconcile writes every SKU again, and a feed
// of the previous process that Amazon applies after a newer patch may
// leave an older quantity until the next reconcile (Amazon processes a
// seller's feeds in order, so a newer feed is never overtaken).
//
// # Rate limits
//
// The Dispatcher's budget of the account is the patchListingsItem bucket
// (ref §6.1: 5 requests/s, burst 5), in calls: InitialBudget is that plan,
// each patch reserves 1 through the Pacer, and each answer's
// x-amzn-RateLimit-Limit becomes the limit (a 429 empties the bucket).
// Accounts of one seller (one per marketplace) share that bucket at
// Amazon, so they must share one Limiter. Cost(n) is n for a batch that
// goes as patches and 0 for one above FeedThreshold: a feed takes nothing
// from that bucket. The Feeds API operations have their own plans
// (createFeedDocument 0.5/s burst 15, createFeed 0.0083/s burst 15,
// getFeed and cancelFeed 2/s burst 15, getFeedDocument 0.0222/s burst
// 10) and the
// window of 5 JSON_LISTINGS_FEED per 5 minutes: a FeedBudget holds one
// bucket per operation (golang.org/x/time/rate through ratelimit.Local)
// and the window, shared by the Writers of one seller. A feed is started
// only when its budget can send it at once; each call then takes from
// its bucket, waiting on the Writer's clock within the Write's time; a
// poll or a report read that would have to wait longer is moved to the
// next Write.
//
// # Errors
//
// ErrorCode passes the client's errcode.Code through (see package spapi:
// 429 ResourceExhausted, 401/403 Unauthenticated, 5xx and timeouts
// Unavailable, 400 InvalidArgument). A call that fails as a whole before
// anything of the batch was settled fails the Write (the Dispatcher backs
// off, counts it against the breaker, or pauses the account); after
// something was settled, the updates not sent are Aborted and the next
// Write meets the failure first. A presigned upload that fails (expired
// URL) is Aborted. RetryAfter is Amazon's Retry-After if it ever sends
// one, else after a throttled patch the time the bucket needs for one
// call.
//
// # Echoes
//
// Every quantity written is recorded with Options.Echoes
// (amazon.MemoryEchoes): a patch when Amazon accepted it, a feed's
// messages when the feed was submitted (the MFN quantity notification
// may arrive before the report is read; a refused message changes
// nothing, so no notification is mistaken for it). Echoes are keyed by
// SellerSKU, as the notification names the listing.
package amazonwriter
