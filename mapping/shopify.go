package mapping

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/stockgate/stockgate/connectors/shopify"
	"github.com/stockgate/stockgate/store"
)

// ShopifyLearner keeps what a Shopify connector learns from its
// inventory_items/* and products/* topics: in memory for the connector's
// lookups, and as stored SKU mappings so that it survives a restart (the
// connector is rebuilt with them). Each newly learned SKU also replays the
// connector's pending dead letters, so an inventory level that arrived
// before its item's SKU applies once the SKU is known.
type ShopifyLearner struct {
	shopify.MemoryMapper
	svc       *Service
	connector string
	log       *slog.Logger
}

// ShopifyLearner returns the learner of a Shopify connector.
func (s *Service) ShopifyLearner(connector string, log *slog.Logger) *ShopifyLearner {
	if log == nil {
		log = slog.Default()
	}
	return &ShopifyLearner{svc: s, connector: connector, log: log}
}

var _ shopify.Learner = (*ShopifyLearner)(nil)

// Apply learns m in memory and stores every new or changed item → SKU pair.
func (l *ShopifyLearner) Apply(m shopify.Mappings) {
	var changed []store.Mapping
	for _, p := range m.Items {
		if sku, ok := l.MemoryMapper.SKU(p.ItemID); ok && sku == p.SKU {
			continue
		}
		changed = append(changed, store.Mapping{Connector: l.connector, Kind: store.MapSKU,
			External: strconv.FormatInt(p.ItemID, 10), Internal: p.SKU, UpdatedAt: l.svc.now().UTC()})
	}
	l.MemoryMapper.Apply(m)
	if len(changed) == 0 {
		return
	}
	// Stored and replayed off the webhook's path: the delivery is answered
	// as soon as its own events are durable.
	go func() {
		ctx := context.Background()
		for _, sm := range changed {
			if err := l.svc.st.PutMapping(ctx, sm); err != nil {
				l.log.Warn("storing a learned Shopify mapping", "connector", l.connector, "item", sm.External, "err", err)
				return
			}
		}
		if o, err := l.svc.ReplayPending(ctx, l.connector); err != nil {
			l.log.Warn("replaying after a learned Shopify mapping", "connector", l.connector, "err", err)
		} else if o.Replayed > 0 {
			l.log.Info("learned Shopify mappings applied pending deliveries", "connector", l.connector, "replayed", o.Replayed)
		}
	}()
}
