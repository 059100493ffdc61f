package amazon_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/amazon"
	"github.com/stockgate/stockgate/pubsub/mempubsub"
)

// An EventBridge API destination delivers an SP-API notification to the
// webhook URL with its connection's API key header.
func Example() {
	c, err := amazon.New(amazon.Config{
		ID:       "amazon-na",
		SellerID: "A1SGNORTHPEAK7",
		SNS:      amazon.SNSConfig{AllowedTopicARNs: []string{"arn:aws:sns:us-east-1:123456789012:sp-api-notifications"}},
		EventBridge: amazon.EventBridgeConfig{
			AuthHeader: "x-api-key",
			Secrets:    []string{"current-key", "previous-key"},
		},
		Locations:       map[string]string{"ATVPDKIKX0DER": "amazon-fba-us"},
		DefaultLocation: "main-wh",
		SKUs:            map[string]string{"NP-SOCK-MOSS-M": "SOCK-TRL-M-MOSS"},
	})
	if err != nil {
		panic(err)
	}
	body := []byte(`{"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","detail-type":"LISTINGS_ITEM_MFN_QUANTITY_CHANGE",` +
		`"source":"aws.partner/sellingpartnerapi.amazon.com/123456789012/amzn1.sellerapps.app.example","account":"123456789012",` +
		`"time":"2026-11-19T09:41:08Z","region":"us-east-1","resources":[],"detail":{"NotificationVersion":"1.0",` +
		`"NotificationType":"LISTINGS_ITEM_MFN_QUANTITY_CHANGE","PayloadVersion":"1.0","EventTime":"2026-11-19T09:41:07.702Z",` +
		`"Payload":{"SellerId":"A1SGNORTHPEAK7","FulfillmentChannelCode":"DEFAULT","Sku":"NP-SOCK-MOSS-M","Quantity":37},` +
		`"NotificationMetadata":{"PublishTime":"2026-11-19T09:41:08.115Z","NotificationId":"e7a9c1e3-5b7d-4f9b-9d3f-5b7d9f1b3d5f"}}}`)
	h := http.Header{}
	h.Set("x-api-key", "previous-key") // still accepted during rotation
	r := &connectors.Request{Header: h, Body: body, ReceivedAt: time.Now()}

	if err := c.Verify(r); err != nil {
		panic(err)
	}
	res, err := c.Normalize(context.Background(), r)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.DedupKey, res.Topic)
	for _, e := range res.Events {
		m := e.Movement
		fmt.Println(e.Type.Short(), m.SKU, m.Location, m.Quantity, m.State, m.OccurredAt.Format(time.RFC3339Nano))
	}
	// Output:
	// amazon:2026-11-19T09:41:08.115000000Z:e7a9c1e3-5b7d-4f9b-9d3f-5b7d9f1b3d5f LISTINGS_ITEM_MFN_QUANTITY_CHANGE
	// stock.counted SOCK-TRL-M-MOSS main-wh 37 available 2026-11-19T09:41:07.702Z
}

// The gateway records whether a listing is buyable from a
// LISTINGS_ITEM_STATUS_CHANGE, which moves no stock.
func ExampleParseListingStatus() {
	body := []byte(`{"NotificationVersion":"1.0","NotificationType":"LISTINGS_ITEM_STATUS_CHANGE","PayloadVersion":"1.0",` +
		`"EventTime":"2026-11-19T10:05:00.000Z","Payload":{"SellerId":"A1SGNORTHPEAK7","MarketplaceId":"ATVPDKIKX0DER",` +
		`"Asin":"B0NPBNERDG","Sku":"BNE-RDG-CHAR","Status":["DISCOVERABLE"]},` +
		`"NotificationMetadata":{"NotificationId":"0a2c4e6a-8c0e-4a2c-8e4a-6c8e0a2c4e6a"}}`)
	s, err := amazon.ParseListingStatus(body)
	if err != nil {
		panic(err)
	}
	fmt.Println(s.SellerSKU, s.MarketplaceID, "buyable:", s.Buyable, "deleted:", s.Deleted)
	// Output:
	// BNE-RDG-CHAR ATVPDKIKX0DER buyable: false deleted: false
}

// An SQSSource receives from Amazon's queue (here an in-memory topic
// standing in for awssqs://…) and acks each message once the handler has
// stored its result.
func ExampleSQSSource() {
	ctx := context.Background()
	c, err := amazon.New(amazon.Config{ID: "amazon-na", DefaultLocation: "main-wh"})
	if err != nil {
		panic(err)
	}
	topic := mempubsub.NewTopic(nil)
	defer topic.Shutdown(ctx)
	sub, err := mempubsub.NewSubscription(topic, nil)
	if err != nil {
		panic(err)
	}
	defer sub.Shutdown(ctx)

	runCtx, stop := context.WithCancel(ctx)
	src, err := amazon.NewSQSSource(sub, c, func(ctx context.Context, res *connectors.Result) error {
		fmt.Println("stored", res.DedupKey, len(res.Events), "event(s)")
		stop() // one message is enough for the example
		return nil
	}, nil)
	if err != nil {
		panic(err)
	}
	err = topic.Send(ctx, &gcpubsub.Message{Body: []byte(`{"NotificationVersion":"1.0","NotificationType":"LISTINGS_ITEM_MFN_QUANTITY_CHANGE",` +
		`"PayloadVersion":"1.0","EventTime":"2026-11-19T09:41:07.702Z","Payload":{"FulfillmentChannelCode":"DEFAULT","Sku":"BNE-RDG-CHAR","Quantity":37},` +
		`"NotificationMetadata":{"PublishTime":"2026-11-19T09:41:08.115Z","NotificationId":"e7a9c1e3-5b7d-4f9b-9d3f-5b7d9f1b3d5f"}}`)})
	if err != nil {
		panic(err)
	}
	if err := src.Run(runCtx); err != nil {
		panic(err)
	}
	// Output:
	// stored amazon:2026-11-19T09:41:08.115000000Z:e7a9c1e3-5b7d-4f9b-9d3f-5b7d9f1b3d5f 1 event(s)
}
