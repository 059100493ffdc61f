package amazon

import "encoding/json"

// Notification types that the connector reads (ref §4). Any other type
// normalizes to no events.
const (
	TypeOrderChange              = "ORDER_CHANGE"
	TypeFBAInventoryAvailability = "FBA_INVENTORY_AVAILABILITY_CHANGES"
	TypeMFNQuantityChange        = "LISTINGS_ITEM_MFN_QUANTITY_CHANGE"
	TypeListingStatusChange      = "LISTINGS_ITEM_STATUS_CHANGE"
)

// Topics of SNS control messages, in Result.Topic.
const (
	TopicSubscriptionConfirmation = SNSSubscriptionConfirmation
	TopicUnsubscribeConfirmation  = SNSUnsubscribeConfirmation
)

// notification is the SP-API notification envelope (ref §3.1; docs-repo
// notifications guide @ 97de7c3f, "Notification structure"). Some types use
// PascalCase keys and others camelCase (ref §3.1: FEED_PROCESSING_FINISHED,
// REPORT_PROCESSING_FINISHED, ITEM_INVENTORY_EVENT_CHANGE);
// encoding/json matches keys case-insensitively, so one struct reads both.
type notification struct {
	NotificationVersion  string          `json:"NotificationVersion"`
	NotificationType     string          `json:"NotificationType"`
	PayloadVersion       string          `json:"PayloadVersion"`
	EventTime            string          `json:"EventTime"`
	Payload              json.RawMessage `json:"Payload"`
	NotificationMetadata struct {
		ApplicationID  string `json:"ApplicationId"`
		SubscriptionID string `json:"SubscriptionId"`
		PublishTime    string `json:"PublishTime"`
		NotificationID string `json:"NotificationId"`
	} `json:"NotificationMetadata"`
}

// orderChangePayload is the Payload of ORDER_CHANGE (ref §4; models
// schemas/notifications/OrderChangeNotification.json, fixture
// ORDER_CHANGE.sample.json). The item fields are those ref §4 lists.
type orderChangePayload struct {
	OrderChangeNotification *struct {
		NotificationLevel  string `json:"NotificationLevel"`
		SellerID           string `json:"SellerId"`
		AmazonOrderID      string `json:"AmazonOrderId"`
		OrderChangeType    string `json:"OrderChangeType"`
		OrderChangeTrigger struct {
			TimeOfOrderChange string `json:"TimeOfOrderChange"`
			ChangeReason      string `json:"ChangeReason"`
		} `json:"OrderChangeTrigger"`
		Summary *struct {
			MarketplaceID   string            `json:"MarketplaceId"`
			OrderStatus     string            `json:"OrderStatus"`
			FulfillmentType string            `json:"FulfillmentType"`
			OrderItems      []orderChangeItem `json:"OrderItems"`
		} `json:"Summary"`
	} `json:"OrderChangeNotification"`
}

// orderChangeItem is a Summary.OrderItems[] entry. The schema requires
// OrderItemId, SellerSKU, SupplySourceId (nullable) and Quantity; status
// enum {Unshipped, Shipped} (ref §4, ORDER_CHANGE schema facts).
type orderChangeItem struct {
	OrderItemID            string  `json:"OrderItemId"`
	SellerSKU              string  `json:"SellerSKU"`
	SupplySourceID         *string `json:"SupplySourceId"`
	Quantity               int64   `json:"Quantity"`
	QuantityShipped        int64   `json:"QuantityShipped"`
	OrderItemStatus        string  `json:"OrderItemStatus"`
	IsBuyerRequestedCancel bool    `json:"IsBuyerRequestedCancel"`
}

// Order statuses (ref §4: Summary.OrderStatus enum; the meanings are the
// Orders API's, models models/orders-api-model/ordersV0.json
// @ 037fc474ca991f0b1375502bd0d82bb33a98fddd, OrderStatuses parameter).
const (
	statusPendingAvailability = "PendingAvailability" // pre-order placed, not yet payable
	statusPending             = "Pending"             // placed, payment not authorized
	statusUnshipped           = "Unshipped"           // payable, nothing shipped
	statusPartiallyShipped    = "PartiallyShipped"    // some items shipped
	statusShipped             = "Shipped"             // all items shipped
	statusInvoiceUnconfirmed  = "InvoiceUnconfirmed"  // all shipped, invoice not confirmed
	statusCanceled            = "Canceled"
	statusUnfulfillable       = "Unfulfillable" // Multi-Channel Fulfillment only
)

// Fulfillment types (ref §4: Summary.FulfillmentType ∈ {AFN, MFN}).
const (
	fulfillmentAFN = "AFN" // Fulfilled by Amazon from FBA stock
	fulfillmentMFN = "MFN" // merchant fulfilled
)

// fbaInventoryPayload is the Payload of FBA_INVENTORY_AVAILABILITY_CHANGES,
// whose fields sit directly in Payload (ref §3.1, §4; models
// FBAInventoryAvailabilityChangeNotification.json). Fulfillable is a
// pointer: the schema requires it, and 0 differs from absent.
type fbaInventoryPayload struct {
	SellerID                          string `json:"SellerId"`
	FNSKU                             string `json:"FNSKU"`
	ASIN                              string `json:"ASIN"`
	SKU                               string `json:"SKU"`
	FulfillmentInventoryByMarketplace []struct {
		MarketplaceID        string `json:"MarketplaceId"`
		FulfillmentInventory *struct {
			Fulfillable *int64 `json:"Fulfillable"`
		} `json:"FulfillmentInventory"`
	} `json:"FulfillmentInventoryByMarketplace"`
}

// mfnQuantityPayload is the Payload of LISTINGS_ITEM_MFN_QUANTITY_CHANGE
// (ref §4: Payload.{SellerId, Sku, FulfillmentChannelCode, Quantity}; no
// MarketplaceId).
type mfnQuantityPayload struct {
	SellerID               string `json:"SellerId"`
	FulfillmentChannelCode string `json:"FulfillmentChannelCode"`
	SKU                    string `json:"Sku"`
	Quantity               *int64 `json:"Quantity"`
}

// channelDefault is the merchant-fulfilled fulfillment channel code (ref
// §5.1: "fulfillment_channel_code DEFAULT = MFN/seller-fulfilled").
const channelDefault = "DEFAULT"

// listingStatusPayload is the Payload of LISTINGS_ITEM_STATUS_CHANGE
// (ref §4: Payload.{Sku, MarketplaceId, Asin, Status[], CreatedDate}).
type listingStatusPayload struct {
	SellerID      string   `json:"SellerId"`
	MarketplaceID string   `json:"MarketplaceId"`
	ASIN          string   `json:"Asin"`
	SKU           string   `json:"Sku"`
	CreatedDate   string   `json:"CreatedDate"`
	Status        []string `json:"Status"`
}

// eventBridgeEnvelope is the part of an EventBridge event the connector
// reads (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html:
// version, id, detail-type, source, account, time, region, resources,
// detail). For SP-API the detail is the notification and detail-type its
// type (ref §2.3).
type eventBridgeEnvelope struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Detail     json.RawMessage `json:"detail"`
}

// spapiSourcePrefix starts the source of SP-API partner events:
// aws.partner/sellingpartnerapi.amazon.com/{AWS Account Id}/{Application Id}
// (ref §2.3).
const spapiSourcePrefix = "aws.partner/sellingpartnerapi.amazon.com/"
