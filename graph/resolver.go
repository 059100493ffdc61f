// Package graph is stockgate's GraphQL API: the gqlgen schema
// (schema.graphqls), its generated executor, and resolvers that translate
// each request into a store read, an admin command or a live subscription,
// and nothing more.
//
// # Errors
//
// Every error leaves through ErrorPresenter with extensions.code set:
// UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT, NOT_FOUND or INTERNAL (a
// panic becomes INTERNAL with a log line; internal details never reach the
// caller).
package graph

import (
	"time"

	"github.com/stockgate/stockgate/admin"
	"github.com/stockgate/stockgate/auth"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/live"
	"github.com/stockgate/stockgate/mapping"
	"github.com/stockgate/stockgate/reconcile"
	"github.com/stockgate/stockgate/registry"
	"github.com/stockgate/stockgate/store"
)

// Resolver is the root resolver; its fields are the gateway's services.
type Resolver struct {
	Store *store.Store
	Hub   *live.Hub
	Admin *admin.Service
	// Mapping adds mappings and replays dead letters.
	Mapping *mapping.Service
	// Reconciler runs reconciliation jobs; nil when no connector has one.
	Reconciler *reconcile.Scheduler
	// Dispatcher pushes availability to channels; nil when none syncs.
	Dispatcher *dispatch.Dispatcher
	// Registry holds the connectors; admin mutations change them.
	Registry *registry.Registry
	// Keys are the API keys; admin mutations make and revoke them.
	Keys *auth.Keys
	// CatalogSKUs are the SKUs the configuration declares, sorted; items
	// lists them with those the ledger has.
	CatalogSKUs []string
	// Watch paces the subscriptions that follow state kept elsewhere
	// (alerts in the store, connector status); zero means 1s.
	Watch time.Duration
}
