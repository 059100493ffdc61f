package store

// Bus metadata keys set on relayed outbox messages.
const (
	// MetaOutboxSeq carries a message's outbox sequence number. A consumer
	// of a retained topic deletes that outbox message once the event's
	// effect is durable; until then the relay may send it again.
	MetaOutboxSeq = "stockgate-outbox-seq"
	// MetaKey carries the message's ordering key (the SKU); buses that
	// partition or order by key are configured to use it.
	MetaKey = "sku"
)
