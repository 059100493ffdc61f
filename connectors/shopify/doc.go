// Package shopify is the inbound side of the Shopify connector: it checks
// the signature of a Shopify webhook and turns its body into canonical
// stock events (package event).
//
// Facts about Shopify are cited in comments as "ref §N", meaning the
// section of the project's Shopify reference (shared/reference/shopify.md),
// together with the shopify.dev page or Shopify repository that section
// names.
//
// # Signatures
//
// Verify computes base64(HMAC-SHA256(secret, raw body)) and compares it in
// constant time with X-Shopify-Hmac-Sha256 (or shopify-hmac-sha256 for the
// "events" delivery family), trying each configured secret in turn so that
// a secret can be rotated without dropping deliveries (ref §2.2).
//
// # Mapping
//
// Normalize dispatches on the topic header (ref §3.2). Event ids of order,
// fulfilment and refund events derive from Shopify's business ids, not the
// delivery, so every topic that proves the same fact yields the same event
// id and the ledger applies it once, in whatever order the topics arrive
// (ordering is not guaranteed, ref §2.4, §6 pitfall 4):
//
//	topic                        events                                      event id from
//	orders/create                order.committed per line (reason "sale");   order/<order>/<line>
//	                             cancels as below if cancelled_at is set
//	orders/updated               order.committed per line nothing of which   order/<order>/<line>
//	                             has shipped (fulfillment_status null);
//	                             if cancelled_at is set, also
//	                             order.cancelled per line as below           order/<order>/cancel/<line>
//	orders/cancelled             order.committed as orders/updated, and      order/<order>/<line>
//	                             order.cancelled per line for what is still  order/<order>/cancel/<line>
//	                             committed (quantity − shipped by success
//	                             fulfillments − refunds restocked
//	                             "cancel"), reason = cancel_reason
//	fulfillments/create,         order.fulfilled per line, status            fulfillment/<id>/<line>
//	fulfillments/update          "success" only
//	refunds/create               restock_type return → stock.returned,      refund/<id>/<refund line>
//	                             cancel → order.cancelled,
//	                             no_restock/legacy_restock → nothing
//	inventory_levels/update,     stock.counted, state "available" (an        the delivery
//	inventory_levels/connect     observation the ledger compares, never
//	                             applies); reason "echo_confirmation" when
//	                             it reports what stockgate pushed
//	                             (Config.Echoes), else "channel_report";
//	                             available null → nothing
//	inventory_levels/disconnect  nothing (moves the level's watermark)       —
//	inventory_items/create,      nothing; Learn returns item → SKU           —
//	inventory_items/update
//	inventory_items/delete       nothing; Learn returns the deleted item     —
//	products/create,             nothing; Learn returns variant → item and   —
//	products/update              item → SKU (ref §6 pitfall 10: their
//	                             inventory_quantity is no stock signal)
//	anything else                nothing                                     —
//
// The id is event.DeterministicID(connector id, key, type, SKU, location),
// where key is the last column.
//
// Why orders/updated commits: it may arrive before orders/create (ref §2.4,
// Shopify/shopify-app-js issue #603). It commits only lines of which
// nothing has shipped, so an update to an order shipped before stockgate
// was connected commits nothing; orders/create, which Shopify sends once,
// commits every line. orders/cancelled commits the same way, so that a
// cancel arriving alone (orders/create not yet here, or an order placed
// before stockgate was connected) nets to zero instead of releasing units
// never committed. Order edits that lower a line's quantity are not
// handled: the commit keeps the ordered quantity. A successful fulfilment
// later cancelled is not reversed.
//
// The DedupKey stays per delivery: (shop, topic, X-Shopify-Event-Id),
// with X-Shopify-Triggered-At after the shop so that keys sort by trigger
// time (connectors.DedupTime; a retry carries the same time).
// SourceEventID stays "<delivery event id>/<line id>" (the delivery's
// event id for a level), so the ledger's history names the delivery that
// applied an event. A line that names a location or inventory item the
// configuration does not map, or that has no SKU, becomes a dead letter in
// Result.Unmapped; nothing is dropped silently. Ids beyond 2^53 (ref
// §3.3) are decoded as int64, exactly.
//
// # Mappings
//
// inventory_levels/* bodies name an inventory item, not a SKU (ref §3.2).
// Normalize maps it through Config.Mapper (what Learn learned from
// products/* and inventory_items/*; MemoryMapper is an in-memory one)
// and then the static Config.Items; a learned SKU wins. A variant or item
// with an empty SKU teaches nothing, so a SKU cleared in Shopify stays
// learned until the item is deleted.
//
// # Stale deliveries
//
// Shopify retries with the original payload from trigger time (ref §2.4),
// so an old delivery can arrive after a newer one. Config.Watermarks keeps
// the newest trigger time (X-Shopify-Triggered-At, else the body's
// updated_at) per inventory level for inventory_levels/*, and per order
// for orders/updated and orders/cancelled; a delivery strictly older than
// its key's mark normalizes to no events, Result.Topic ending in
// StaleSuffix and Result.Stale saying why; the ingest answers it 200
// {"status":"stale"} (so Shopify does not retry it) and logs it. The marks
// outlive a connector rebuilt at runtime (WatermarksByConnector), not a
// restart.
// A redelivery of the same event has the same trigger time and is never
// stale. orders/create is never stale: a later snapshot may no longer
// commit lines that shipped since, so its commits must not be dropped.
//
// # Echoes
//
// Stockgate's own writes come back as inventory_levels/update (ref §3.2,
// §6 pitfall 6), and Shopify names no writing app in the body [U]. When
// Config.Echoes reports that stockgate last pushed exactly the reported
// available for the level (and the level is not stamped more than a
// minute before the push), the observation's reason is
// "echo_confirmation": it is still a stock.counted observation, which the
// ledger records and finds matching, never a new change.
//
// # Headers
//
// Every header is read in both families: X-Shopify-* and the lowercase
// shopify-* of the "events" delivery (ref §2.1), matched
// case-insensitively.
//
// # Errors
//
// Verify returns errors wrapping connectors.ErrUnauthorized; Normalize and
// Learn return errors wrapping connectors.ErrMalformed, whose message names the
// header or JSON field at fault. New reports every configuration problem at
// once.
package shopify
