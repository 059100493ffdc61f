package amazon

import (
	"context"
	"testing"

	"github.com/stockgate/stockgate/connectors"
)

// BenchmarkVerifyNormalize is the hot path of a delivery to the webhook
// URL: verify, then normalize. The SNS signing certificate is fetched once
// (in memory) and cached, as in production; every iteration still checks
// the RSA signature.
func BenchmarkVerifyNormalize(b *testing.B) {
	c := memConnector(b)
	order := readTestdata(b, "order_change_unshipped.json")
	mfn := readTestdata(b, "listings_item_mfn_quantity_change.json")
	fba := readTestdata(b, "fba_inventory_availability_changes.json")
	run := func(b *testing.B, r *connectors.Request, events, unmapped int) {
		ctx := context.Background()
		if err := c.Verify(r); err != nil { // warm the certificate cache
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(r.Body)))
		for b.Loop() {
			if err := c.Verify(r); err != nil {
				b.Fatal(err)
			}
			res, err := c.Normalize(ctx, r)
			if err != nil || len(res.Events) != events || len(res.Unmapped) != unmapped {
				b.Fatalf("Normalize = %d events, %d unmapped, %v", len(res.Events), len(res.Unmapped), err)
			}
		}
	}
	b.Run("SNSv2/ORDER_CHANGE", func(b *testing.B) { run(b, snsNotification(awsHost, "2", order).request(), 2, 1) })
	b.Run("SNSv1/ORDER_CHANGE", func(b *testing.B) { run(b, snsNotification(awsHost, "1", order).request(), 2, 1) })
	b.Run("SNSv2/FBA_INVENTORY", func(b *testing.B) { run(b, snsNotification(awsHost, "2", fba).request(), 1, 1) })
	b.Run("SNSv2+EventBridge/MFN_QUANTITY", func(b *testing.B) { run(b, snsNotification(awsHost, "2", ebEnvelope(mfn)).request(), 1, 0) })
	b.Run("EventBridge/ORDER_CHANGE", func(b *testing.B) { run(b, ebRequest(ebEnvelope(order), testAPIKey), 2, 1) })
	b.Run("EventBridge/MFN_QUANTITY", func(b *testing.B) { run(b, ebRequest(ebEnvelope(mfn), testAPIKey), 1, 0) })
}

// The parts of the hot path, to see where the time goes.

func BenchmarkVerifySNS(b *testing.B) {
	c := memConnector(b)
	r := snsNotification(awsHost, "2", readTestdata(b, "order_change_unshipped.json")).request()
	if err := c.Verify(r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyHeader(b *testing.B) {
	c := memConnector(b)
	r := ebRequest(ebEnvelope(readTestdata(b, "order_change_unshipped.json")), oldAPIKey)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNormalizeSQS is one SQS message: no verification.
func BenchmarkNormalizeSQS(b *testing.B) {
	c := memConnector(b)
	r := requestAt(nil, readTestdata(b, "order_change_unshipped.json"))
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(r.Body)))
	for b.Loop() {
		res, err := c.normalize(ctx, r, false)
		if err != nil || len(res.Events) != 2 {
			b.Fatal(err)
		}
	}
}
