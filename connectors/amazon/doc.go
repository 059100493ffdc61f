// Package amazon is the inbound side of the Amazon Selling Partner API
// (SP-API) connector: it authenticates SP-API notifications and turns them
// into canonical stock events (package event).
//
// Facts about Amazon and AWS are cited in comments as "ref §N", meaning
// the section of the project's Amazon reference
// (shared/reference/amazon.md), together with the Amazon or AWS source
// that section names; other sources are named where they are used.
//
// # Transports
//
// Amazon does not call webhooks: it delivers notifications to an SQS queue
// or an EventBridge partner event source (ref §2.1). They reach stockgate
// three ways:
//
//   - SNS → HTTPS, to the connector's webhook URL (Verify, Normalize): the
//     SNS message signature is verified (see below) and the notification
//     is the SNS Message, itself possibly an EventBridge event.
//   - EventBridge → API destination, to the same URL: authenticated by a
//     configured header and secret (EventBridgeConfig); the notification is
//     the event's detail (ref §2.3). A bare notification with that header,
//     as Amazon's sample forwarder sends it (ref §2.1), is accepted too.
//   - SQS, Amazon's default destination (ref §2.2): SQSSource receives from
//     a gocloud subscription (awssqs://…) and hands each Result to a
//     Handler; the body is the notification, an EventBridge event or an
//     SNS message.
//
// # Signatures
//
// An SNS message verifies when its TopicArn is in SNSConfig.AllowedTopicARNs,
// its SignatureVersion is 1 (SHA1withRSA) or 2 (SHA256withRSA), its
// SigningCertURL is an https .pem URL on an SNS host (sns.<region>.amazonaws.com,
// or SNSConfig.AllowedCertHosts), the certificate there (fetched once and
// cached) is valid at Config.Now, and its RSA signature matches the string
// to sign rebuilt from the type's fixed field list (ref §2.4). A
// SubscriptionConfirmation's SubscribeURL must be on an SNS host too, and
// Normalize visits it only for a message Verify accepted. Certificate
// chains are not verified: the certificate is trusted because it came over
// TLS from an SNS host, as in AWS's own validators.
//
// Header authentication compares the whole header value with every
// secret in constant time, so secrets can be rotated.
//
// # Mapping
//
// Normalize dispatches on the notification type (ref §4):
//
//	ORDER_CHANGE (MFN)                   per order item, by order status:
//	  Pending, Unshipped,                  order.committed (reason "sale")
//	  PendingAvailability
//	  Canceled                             order.committed*, order.cancelled (reason "cancelled")
//	  Shipped, InvoiceUnconfirmed          order.committed*, order.fulfilled (reason "fulfillment")
//	  PartiallyShipped                     per item status: Shipped → committed*, fulfilled;
//	                                       Unshipped → committed
//	  (* with the id of the item's commit: applied once, so a release or
//	  shipment never finds its units uncommitted)
//	  Unfulfillable                        nothing
//	ORDER_CHANGE (AFN)                   nothing: FBA stock is counted by the next type
//	FBA_INVENTORY_AVAILABILITY_CHANGES   one stock.counted per marketplace, state on_hand,
//	                                     quantity Fulfillable, at Locations[MarketplaceId]
//	LISTINGS_ITEM_MFN_QUANTITY_CHANGE    one stock.counted, state available (an observation
//	                                     the ledger compares, never applies), at DefaultLocation
//	LISTINGS_ITEM_STATUS_CHANGE          no stock events; a listing_status alert records it on the channel (ParseListingStatus reads it too)
//	anything else                        no events
//
// Order items are located at Locations[SupplySourceId] when they have a
// supply source, else at DefaultLocation; SellerSKUs are mapped through
// Config.SKUs. An ORDER_CHANGE without items gets them from
// Config.OrderItems (OrdersClient calls the Orders API getOrderItems).
//
// Result.DedupKey is "amazon:<PublishTime>:<NotificationId>", the time of
// NotificationMetadata.PublishTime written by connectors.DedupTime so that
// keys grow in about the order notifications arrive; without a PublishTime
// that parses it is "amazon:<NotificationId>", and without a
// NotificationId "amazon:" + the digest of the notification. Event ids
// never depend on the stamp. Every event's OccurredAt
// is the notification's EventTime, so the ledger orders counts by when
// they happened, never by arrival (ref §3.2). Event ids are deterministic:
// order events derive from the order and item ids, so the notifications of
// successive status changes commit, cancel or fulfil an item once each;
// counts derive from the notification id and the marketplace. A part that
// names a SKU or location the configuration cannot map, or another seller
// than Config.SellerID, becomes a dead letter in Result.Unmapped; nothing
// is dropped silently.
//
// # Errors
//
// Verify returns errors wrapping connectors.ErrUnauthorized. Normalize
// returns errors wrapping connectors.ErrMalformed, naming the field at
// fault; a failure to fetch order items or to confirm an SNS subscription
// is returned unwrapped (the gateway answers 500 and the sender retries).
// New reports every configuration problem at once.
package amazon
