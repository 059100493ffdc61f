package pubsub_test

import (
	"testing"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/IBM/sarama"

	"github.com/stockgate/stockgate/pubsub"
)

// asFor returns the asFunc a driver passes to BeforeSend for its message
// type, as kafkapubsub and gcppubsub do: it fills a pointer of that type.
func asFor[T any](msg *T) func(any) bool {
	return func(i any) bool {
		if p, ok := i.(**T); ok {
			*p = msg
			return true
		}
		return false
	}
}

func TestOrderingKey(t *testing.T) {
	t.Parallel()
	t.Run("kafka", func(t *testing.T) {
		t.Parallel()
		km := &sarama.ProducerMessage{}
		if err := pubsub.OrderingKey("SKU-1")(asFor(km)); err != nil {
			t.Fatal(err)
		}
		if k, _ := km.Key.Encode(); string(k) != "SKU-1" {
			t.Fatalf("record key = %q, want SKU-1", k)
		}
		// A key the topic's key_name set stays.
		km = &sarama.ProducerMessage{Key: sarama.StringEncoder("from-key_name")}
		if err := pubsub.OrderingKey("SKU-1")(asFor(km)); err != nil {
			t.Fatal(err)
		}
		if k, _ := km.Key.Encode(); string(k) != "from-key_name" {
			t.Fatalf("record key = %q, want the one key_name set", k)
		}
	})
	t.Run("gcppubsub", func(t *testing.T) {
		t.Parallel()
		pm := &pubsubpb.PubsubMessage{}
		if err := pubsub.OrderingKey("SKU-2")(asFor(pm)); err != nil {
			t.Fatal(err)
		}
		if pm.OrderingKey != "SKU-2" {
			t.Fatalf("OrderingKey = %q, want SKU-2", pm.OrderingKey)
		}
	})
	t.Run("other buses and empty keys", func(t *testing.T) {
		t.Parallel()
		type otherMsg struct{ Key string }
		om := &otherMsg{}
		if err := pubsub.OrderingKey("SKU-3")(asFor(om)); err != nil {
			t.Fatal(err)
		}
		km := &sarama.ProducerMessage{}
		if err := pubsub.OrderingKey("")(asFor(km)); err != nil || km.Key != nil {
			t.Fatalf("empty key: record key %v, err %v; want none", km.Key, err)
		}
	})
}
