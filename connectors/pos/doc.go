// Package pos is the inbound side of stockgate's own POS webhook: a
// signed JSON format that any in-store system (a till, a scanner app, a
// back-office tool) can send to report what happened to stock in a store.
// Square has its own connector (package square); this one is for
// everything else.
//
// The format is stockgate's, not a vendor's, so the facts below are this
// package's contract. The signature scheme is Stripe's
// (https://docs.stripe.com/webhooks#verify-manually); README.md in this
// folder has a curl and openssl recipe.
//
// # Sending movements (for POS integrators)
//
// POST a batch to the connector's webhook URL, /webhooks/{connectorID}:
//
//	POST /webhooks/pos-stores HTTP/1.1
//	Content-Type: application/json
//	Stockgate-Signature: t=1795168800,v1=<64 hex digits, see Signing below>
//
//	{"idempotencyKey": "berlin-3-000123",
//	 "store": "berlin", "register": "3", "sentAt": "2026-11-20T10:00:00Z",
//	 "movements": [
//	   {"type": "sale",       "sku": "SHIRT-M", "quantity": 1,  "at": "2026-11-20T09:59:58Z", "ref": "receipt-981"},
//	   {"type": "return",     "sku": "MUG",     "quantity": 1,  "at": "2026-11-20T09:58:10Z", "ref": "receipt-977"},
//	   {"type": "receipt",    "sku": "MUG",     "quantity": 24, "ref": "delivery-5512"},
//	   {"type": "count",      "sku": "SHIRT-L", "quantity": 7},
//	   {"type": "adjustment", "sku": "MUG",     "quantity": -2, "reason": "damage"}]}
//
// The batch's fields, all JSON strings but movements:
//
//	idempotencyKey  required; 1–128 printable ASCII characters, no spaces.
//	                Unique per batch across every store and register that
//	                sends to this connector (put the store and register
//	                in it, as above). A batch resent with the same key is
//	                answered 200 {"status":"duplicate"} and applied once,
//	                so resend freely after a timeout or a 5xx; never reuse
//	                a key for a different batch.
//	store           required; the store's id in the POS, 1–64 bytes. The
//	                connector's Stores setting maps it to a stockgate
//	                location; without that setting it is the location id.
//	register        optional; the till or device, up to 32 bytes.
//	sentAt          required; RFC 3339 time with an offset, when the batch
//	                was sent. The time of a movement without "at".
//	movements       required; an array of at most 1,000 movements, applied
//	                in order. An empty array is accepted and changes nothing.
//
// Each movement's fields:
//
//	type      required; one of sale, return, receipt, count, adjustment.
//	sku       required; 1–255 bytes, the SKU as stockgate knows it.
//	quantity  required; a JSON integer (no quotes, no fraction), in units:
//	            sale, return, receipt  1 to 1,000,000,000
//	            count                  0 to 1,000,000,000 (what is on the shelf)
//	            adjustment             −1,000,000,000 to 1,000,000,000, not 0
//	at        optional; RFC 3339 time the movement happened; default sentAt.
//	ref       optional; up to 128 bytes: receipt, delivery note or count
//	          sheet number. It becomes the event's orderId.
//	reason    optional for return, receipt and count (defaults: "return",
//	          "receipt", "count"); required for an adjustment ("damage",
//	          "theft", "correction", …); on a sale only "sale" is allowed.
//
// Unknown fields are rejected, so a misspelt field fails loudly. A batch is
// checked whole first: if any field is wrong, nothing is applied and the
// answer is 400 with the reason, naming the movement by its index
// ("movements[3].type: unknown type …"). Fix the batch and resend it under
// the same key.
//
// Signing: pick the current Unix time in seconds, t. Compute
// HMAC-SHA256 with the shared secret as key over the bytes of t in
// decimal, a full stop, and the body exactly as sent. Send
//
//	Stockgate-Signature: t=<t>,v1=<the MAC in lowercase hex>
//
// The gateway accepts the request when some v1= matches under one of the
// connector's secrets and t is within 5 minutes (Tolerance) of when the
// request arrives, either way: keep the clock synchronised (NTP), and sign
// again when resending later. During a secret rotation a sender may add a
// v1= per secret: "t=…,v1=<under new>,v1=<under old>". Sign returns the
// header value.
//
// Answers (package ingest): 200 {"status":"accepted","events":n} once the
// events are durable; 200 {"status":"duplicate"} for a key seen before;
// 400 for a malformed batch (do not resend unchanged); 401 for a missing,
// wrong or expired signature; 413 for a body over the gateway's limit
// (1 MiB by default); 503 to retry later.
//
// # Mapping
//
//	sale        stock.adjusted, quantity −n, reason "sale"
//	return      stock.returned, quantity n (back on the shelf)
//	receipt     stock.received, quantity n
//	count       stock.counted, state on_hand, quantity n
//	adjustment  stock.adjusted, quantity as sent (signed), reason as sent
//
// A sale is an adjustment, not an order.fulfilled: an in-store sale leaves
// the shelf at once, with no reservation before it, and order.fulfilled
// lowers committed as well as on hand, which would release units that other
// orders reserved. The reason "sale" tells sales apart from other
// adjustments. A return puts the units back on hand; a POS that takes back
// damaged goods sends a return and an adjustment. A count sets on hand as
// of its time; the ledger ignores a count older than the last one applied.
//
// Every event's SourceEventID is "<idempotencyKey>/<index>", and its id is
// derived from it, so a redelivered batch normalizes to the same ids. Its
// CorrelationID is "pos:<store>:<register>:<idempotencyKey>", tying the
// batch's events together and naming the till. Result.DedupKey is
// "pos:<connector id>:<idempotencyKey>". A batch from a store that the
// Stores setting does not map becomes one dead letter holding the whole
// batch; nothing is dropped silently.
//
// # Errors
//
// Verify returns errors wrapping connectors.ErrUnauthorized: no header, a
// header that is not "t=…,v1=…", no matching v1=, or a timestamp outside
// the tolerance. Normalize returns errors wrapping connectors.ErrMalformed,
// whose message names the field at fault (and the movement's index); see
// the format above. New reports every configuration problem at once.
package pos
