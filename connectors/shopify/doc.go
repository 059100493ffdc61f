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
// Normalize dispatches on the topic header (ref §3.2):
//
//	orders/create            one order.committed per line (reason "sale")
//	orders/cancelled         one order.cancelled per line (reason = cancel_reason)
//	fulfillments/create      one order.fulfilled per line, status "success" only
//	refunds/create           restock_type return → stock.returned,
//	                         cancel → order.cancelled, no_restock/legacy_restock → nothing
//	inventory_levels/update  one stock.counted in state "available" (an
//	                         observation the ledger compares, never applies)
//	anything else            no events
//
// Every event id is derived from the connector, the delivery's event id and
// the line, so a redelivered webhook normalizes to the same ids. A line that
// names a location or inventory item the configuration does not map, or
// that has no SKU, becomes a dead letter in Result.Unmapped; nothing is
// dropped silently.
//
// # Errors
//
// Verify returns errors wrapping connectors.ErrUnauthorized; Normalize
// returns errors wrapping connectors.ErrMalformed, whose message names the
// header or JSON field at fault. New reports every configuration problem at
// once.
package shopify
