// Package square is the inbound side of the Square (in-store POS)
// connector: it checks the signature of a Square webhook and turns its body
// into canonical stock events (package event).
//
// Facts about Square are cited in comments as "ref §N", meaning the section
// of the project's Square reference (shared/reference/square.md), together
// with the developer.squareup.com page or Square repository that section
// names.
//
// # Signatures
//
// Verify computes base64(HMAC-SHA256(signature key, notification URL + raw
// body)) and compares it in constant time with x-square-hmacsha256-signature,
// trying each configured key in turn, so that a key can be rotated and
// several subscriptions can share one URL (ref §2.2). The URL is
// Config.NotificationURL, which must be byte-identical to the URL registered
// on the subscription; set it whenever a proxy or CDN stands in front of the
// gateway (ref §6 pitfall 1). Only when it is empty is the URL the request
// arrived at used. The legacy x-square-signature (HMAC-SHA1, ref §2.1) is
// ignored: Square sends it alongside the SHA-256 header, which is required.
//
// # Mapping
//
// Normalize dispatches on the envelope's type (ref §3):
//
//	inventory.count.updated   per entry of data.object.inventory_counts:
//	  state IN_STOCK          stock.counted, state on_hand, quantity = the
//	                          count, at calculated_at (reason "inventory_count");
//	                          is_estimated: state available instead, an
//	                          observation the ledger never applies
//	  SOLD, WASTE, NONE,      nothing: those units are not on hand, and the
//	  IN_TRANSIT,             move that put them there also changed the
//	  RETURNED_BY_CUSTOMER,   IN_STOCK count, which arrives as its own count
//	  … (every other known
//	  InventoryState)
//	  unknown state           dead letter
//	order.created,            dead letter "order <id>: line items not in the
//	order.updated             webhook; fetch from the Orders API"; DRAFT
//	                          orders nothing
//	catalog.version.updated   nothing; Result.Topic tells the operator to
//	                          refresh Items
//	anything else             nothing (webhooks.test_notification, …)
//
// An IN_STOCK count is Square's absolute, sellable quantity of one item
// variation at one location (ref §3, §4.4). It is applied as on hand:
// Square has no separate committed quantity in IN_STOCK, and a POS sale
// moves units from IN_STOCK to SOLD at once. The ledger orders counts by
// their time and records one older than the last applied as stale, which
// covers late offline sales and retried deliveries (ref §2.4, §6 pitfall 6).
//
// Counts also report changes made through the API, including stockgate's
// own writes (an echo, ref §3), and Square does not mark the writer. This
// package has no outbound side yet, so there are no echoes to filter; the
// writer that pushes stock to Square must record what it wrote so that its
// echo is recognised (the reference's rule: compare the reported IN_STOCK
// quantity with the value last written, ref §3), as the Shopify connector
// does with its Echoes.
//
// Square quantities are decimal strings ("10", "2.50000"; ref §3): they are
// parsed exactly. A whole value in any notation is accepted; a fraction (an
// item sold by weight) or a negative IN_STOCK count cannot be an on-hand
// count of units and becomes a dead letter naming the value.
//
// The order webhooks carry an order id, location, state and version but no
// line items (ref §3; spec OrderCreated and OrderUpdated), and
// order.updated fires many times per order (ref §2.4 "Noise"). No SKU or
// quantity can come from them, so each becomes a dead letter that names the
// order, its state and version, for a fetcher to resolve through the Orders
// API. Whoever resolves them should know that a completed in-store sale
// already changed the IN_STOCK count (inventory.count.updated is triggered
// by POS sales and order completion, ref §3): fulfilling its lines again
// would count the sale twice. Only open orders, whose units are not yet
// sold, add information (a commitment).
//
// Every event id is derived from the connector, the delivery's event_id
// and the count's index, so a redelivered webhook normalizes to the same
// ids. A count that names a location or catalog object the configuration
// does not map becomes a dead letter in Result.Unmapped; nothing is dropped
// silently. Result.DedupKey is "square:<merchant_id>:<event_id>", Square's
// documented duplicate key (ref §2.4).
//
// # Errors
//
// Verify returns errors wrapping connectors.ErrUnauthorized. Normalize
// returns errors wrapping connectors.ErrMalformed, whose message names the
// JSON field at fault, for a body that is not a Square event: not JSON, no
// type, event_id or merchant_id, a count without its ids, state or
// quantity, a quantity that is not a decimal string, a time that is not
// RFC 3339. A well-formed event that stockgate cannot apply is a dead
// letter instead, never a 400: Square would retry it for a day, and a
// subscription that gets no 2xx for three weeks is disabled (ref §2.4). New
// reports every configuration problem at once.
package square
