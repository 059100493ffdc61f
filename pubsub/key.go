package pubsub

import (
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/IBM/sarama"
)

// OrderingKey returns a Message.BeforeSend hook that makes key the
// message's ordering or partition key on the buses that have one, so that
// a subscriber sees the messages of one key in the order they were sent:
//
//   - Kafka (gocloud.dev/pubsub/kafkapubsub): the record key, so sarama's
//     default hash partitioner keeps a key on one partition, which one
//     group member reads in order. A key the topic's key_name already set
//     from metadata is left alone. No key_name is needed in the URL.
//   - Google Pub/Sub (gocloud.dev/pubsub/gcppubsub, the v1 driver): the
//     PubsubMessage's OrderingKey. Pub/Sub honours it only on a
//     subscription created with message ordering enabled.
//
// On every other bus the hook does nothing: NATS JetStream keeps one
// subject's messages in publish order on its own, a RabbitMQ queue is FIFO
// to one consumer, and SQS standard queues and mem:// order nothing by key.
// An empty key sets nothing. The sender must still send a key's messages
// one after the other (each Send returning before the next starts), as the
// relay does; messages sent concurrently have no order to keep.
func OrderingKey(key string) func(asFunc func(any) bool) error {
	return func(asFunc func(any) bool) error {
		if key == "" {
			return nil
		}
		var km *sarama.ProducerMessage
		if asFunc(&km) {
			if km.Key == nil {
				km.Key = sarama.StringEncoder(key)
			}
			return nil
		}
		var pm *pubsubpb.PubsubMessage
		if asFunc(&pm) {
			pm.OrderingKey = key
		}
		return nil
	}
}
