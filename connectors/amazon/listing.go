package amazon

import (
	"fmt"
	"time"

	"github.com/stockgate/stockgate/connectors"
)

// Listing statuses: "Status ⊆ {BUYABLE, DISCOVERABLE, DELETED}" (ref §4,
// LISTINGS_ITEM_STATUS_CHANGE).
const (
	ListingBuyable      = "BUYABLE"
	ListingDiscoverable = "DISCOVERABLE"
	ListingDeleted      = "DELETED"
)

// ListingStatus is a LISTINGS_ITEM_STATUS_CHANGE notification: whether a
// listing can be bought. It moves no stock, so Normalize produces no events
// for it (only Result.Topic TypeListingStatusChange); the gateway reads it
// with ParseListingStatus and records it on the channel, to stop pushing
// quantities to deleted or unbuyable SKUs (ref §4).
type ListingStatus struct {
	// NotificationID is NotificationMetadata.NotificationId.
	NotificationID string
	// SellerID, MarketplaceID and ASIN are as Amazon sent them.
	SellerID      string
	MarketplaceID string
	ASIN          string
	// SellerSKU is Amazon's Sku, not mapped through Config.SKUs.
	SellerSKU string
	// Statuses are the statuses as sent, in order; unknown ones are kept.
	Statuses []string
	// Buyable, Discoverable and Deleted say which known statuses are set.
	Buyable, Discoverable, Deleted bool
	// EventTime is when the change happened; CreatedDate when the listing
	// was created (zero when absent).
	EventTime   time.Time
	CreatedDate time.Time
}

// ParseListingStatus reads a LISTINGS_ITEM_STATUS_CHANGE from a delivery
// body in any form Normalize accepts (bare, in an EventBridge event, in an
// SNS message). It does not authenticate: pass only a body that Verify
// accepted or that came from the SQS queue. Errors wrap
// connectors.ErrMalformed, also for a notification of another type.
func ParseListingStatus(body []byte) (ListingStatus, error) {
	n := &normalizer{c: &Connector{now: time.Now}, r: &connectors.Request{Body: body}}
	_, w, err := n.unwrap(body)
	if err != nil {
		return ListingStatus{}, err
	}
	if w == nil {
		return ListingStatus{}, n.malformed("an SNS %s, not a notification", n.sns.Type)
	}
	n.typ = w.NotificationType
	if n.typ != TypeListingStatusChange {
		return ListingStatus{}, n.malformed("notification type %q is not %s", n.typ, TypeListingStatusChange)
	}
	return parseListingStatus(n, &w.notification)
}

func parseListingStatus(n *normalizer, nt *notification) (ListingStatus, error) {
	var p listingStatusPayload
	if err := n.decodePayload(nt, &p); err != nil {
		return ListingStatus{}, err
	}
	at, err := n.eventTime(nt)
	if err != nil {
		return ListingStatus{}, err
	}
	ls := ListingStatus{
		NotificationID: nt.NotificationMetadata.NotificationID,
		SellerID:       p.SellerID,
		MarketplaceID:  p.MarketplaceID,
		ASIN:           p.ASIN,
		SellerSKU:      p.SKU,
		Statuses:       p.Status,
		EventTime:      at,
	}
	if p.SKU == "" {
		return ListingStatus{}, n.malformed("field Payload.Sku is missing")
	}
	if p.CreatedDate != "" {
		t, err := time.Parse(time.RFC3339Nano, p.CreatedDate)
		if err != nil {
			return ListingStatus{}, n.malformed("field Payload.CreatedDate: %q is not an RFC 3339 time", p.CreatedDate)
		}
		ls.CreatedDate = t.UTC()
	}
	for _, s := range p.Status {
		switch s {
		case ListingBuyable:
			ls.Buyable = true
		case ListingDiscoverable:
			ls.Discoverable = true
		case ListingDeleted:
			ls.Deleted = true
		}
	}
	return ls, nil
}

// String summarises the status for logs.
func (s ListingStatus) String() string {
	return fmt.Sprintf("%s in %s: %v", s.SellerSKU, s.MarketplaceID, s.Statuses)
}
