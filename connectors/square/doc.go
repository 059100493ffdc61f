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
//	                          observation the ledger never applies;
//	                          the count stockgate last wrote (Config.Echoes):
//	                          state available, reason echo_confirmation
//	  SOLD, WASTE, NONE,      nothing: those units are not on hand, and the
//	  IN_TRANSIT,             move that put them there also changed the
//	  RETURNED_BY_CUSTOMER,   IN_STOCK count, which arrives as its own count
//	  … (every other known
//	  InventoryState)
//	  unknown state           dead letter
//	order.created,            webhook state DRAFT: nothing, not fetched.
//	order.updated             Config.Orders nil: dead letter "order <id>: line
//	                          items not in the webhook; fetch from the Orders
//	                          API". Otherwise the order is fetched (GET
//	                          /v2/orders/{order_id}) and its current state
//	                          mapped, per line (SKU via Items, location via
//	                          Locations, order id in orderId):
//	  OPEN                    order.committed (reason "order_open")
//	  COMPLETED               order.committed, then order.cancelled (reason
//	                          "order_completed"): the reservation is
//	                          released; never order.fulfilled, because the
//	                          IN_STOCK count carries the sale (ref §3)
//	  CANCELED                order.committed, then order.cancelled (reason
//	                          "order_canceled")
//	  DRAFT                   nothing
//	  unknown state           dead letter
//	  line not in Items, no   dead letter per line
//	  catalog_object_id, a
//	  fraction or 0, an
//	  unmapped location
//	  fetch: 404 (NotFound)   dead letter
//	  fetch: any other error  Normalize returns it (not ErrMalformed): the
//	                          ingest answers 500 and Square redelivers
//	catalog.version.updated   nothing; Result.Ignored tells the operator
//	                          how new variations get their SKU
//	anything else             nothing (webhooks.test_notification, …)
//
// An IN_STOCK count is Square's absolute, sellable quantity of one item
// variation at one location (ref §3, §4.4). It is applied as on hand:
// Square has no separate committed quantity in IN_STOCK, and a POS sale
// moves units from IN_STOCK to SOLD at once. The ledger orders counts by
// their time and records one older than the last applied as stale, which
// covers late offline sales and retried deliveries (ref §2.4, §6 pitfall 6).
//
// # Echoes
//
// Counts also report changes made through the API, including stockgate's
// own writes (an echo, ref §3), and Square does not mark the writer [U].
// dispatch/squarewriter records every count it wrote in Config.Echoes
// (MemoryEchoes). An IN_STOCK count equal to the quantity last written for
// its (catalog object, location), calculated no more than a minute before
// the write, follows the reference's rule (ref §3 "compare the reported
// IN_STOCK quantity with the last value stockgate wrote … and suppress
// matches"): it becomes a stock.counted in state available with reason
// echo_confirmation, which the ledger records as a confirmation and never
// applies, raising no drift. Applied as on hand it would replace the
// mapped location's stock with the channel quantity stockgate computed
// from it. Any other count, a POS sale after the write say, is applied as
// before. As with Shopify's and Amazon's Echoes, a real count that happens
// to equal the value written is taken for the echo.
//
// Square quantities are decimal strings ("10", "2.50000"; ref §3): they are
// parsed exactly. A whole value in any notation is accepted; a fraction (an
// item sold by weight) or a negative IN_STOCK count cannot be an on-hand
// count of units and becomes a dead letter naming the value.
//
// The order webhooks carry an order id, location, state and version but no
// line items (ref §3; spec OrderCreated and OrderUpdated), and
// order.updated fires many times per order (ref §2.4 "Noise"). With
// Config.Orders set, the order is fetched and its current state, not the
// webhook's, is mapped, so a late or out-of-order webhook sees the newest
// version (ref §3 "apply only newer version").
//
// The rule for states follows from ref §3: inventory.count.updated "is
// triggered by POS sales, Orders API order completion, …", so when an
// order completes Square itself moves its units out of IN_STOCK and
// reports the new count, which this package applies as on hand. Emitting
// order.fulfilled as well would deduct the sale twice. An OPEN order has
// not yet changed IN_STOCK, so its lines are reserved (committed); when it
// completes or is cancelled the reservation is released with
// order.cancelled, and on hand is left to the count. The events of a line
// have ids from business keys only: "order/<order id>/<line uid>/commit"
// and ".../release" as SourceEventID, hashed with the connector, type,
// SKU and location. A finished order emits the commit again before the
// release: if the OPEN state was seen, the ledger drops the commit as a
// duplicate id; if not (a POS sale is usually created COMPLETED), the
// commit and release cancel out. Either way committed returns to where it
// was and every order.updated of a state normalizes to the same ids.
// Limits of a stateless mapping: a line whose quantity changes while the
// order is OPEN keeps its first commit and is released at its final
// quantity, and a line removed from an OPEN order keeps its reservation;
// committed then stays off by those units (Square exposes no per-line
// history that would let a stateless mapping pair them).
//
// Every count's event id is derived from the connector, the delivery's
// event_id and the count's index, so a redelivered webhook normalizes to the same
// ids. A count that names a location or catalog object the configuration
// does not map becomes a dead letter in Result.Unmapped; nothing is dropped
// silently. Result.DedupKey is "square:<merchant_id>:<created_at>:<event_id>",
// Square's documented duplicate key (ref §2.4) after the event's
// created_at (connectors.DedupTime; left out when the body has none), so
// that keys sort by when Square made the event.
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
// subscription that gets no 2xx for three weeks is disabled (ref §2.4).
// A failure to fetch an order other than NotFound is returned wrapped but
// not as ErrMalformed, so the delivery fails and Square retries it. New
// reports every configuration problem at once.
package square
