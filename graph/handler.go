package graph

import (
	"context"
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/stockgate/stockgate/auth"
	"github.com/stockgate/stockgate/graph/model"
)

// HandlerOptions configure NewHandler. A nil *HandlerOptions means the
// defaults.
type HandlerOptions struct {
	// Keys authenticate websocket connections that carry their key in
	// connection_init; nil accepts none that way.
	Keys *auth.Keys
	// ComplexityLimit caps query complexity (each field 1, a paged field's
	// selection once per item of the page: pageComplexity); zero means
	// 10,000.
	ComplexityLimit int
	// Introspection enables schema introspection.
	Introspection bool
	// AllowedOrigins are browser origins (host patterns) allowed to open
	// websockets; empty means same-origin and non-browser clients.
	AllowedOrigins []string
	// KeepAlive is the websocket keep-alive ping interval; zero means 10 s.
	KeepAlive time.Duration
	// MaxDepth caps how deeply a query nests selections; zero means 15.
	MaxDepth int
	// Audit, when set, records every mutation call in the audit log.
	Audit *Auditor
}

// NewHandler returns the GraphQL endpoint: POST, GET, websocket (both the
// graphql-transport-ws and the legacy graphql-ws subprotocols) and SSE.
// Put auth.Keys.Middleware in front of it.
func NewHandler(r *Resolver, opts *HandlerOptions) http.Handler {
	var o HandlerOptions
	if opts != nil {
		o = *opts
	}
	if o.ComplexityLimit == 0 {
		o.ComplexityLimit = 10000
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = 10 * time.Second
	}
	if o.MaxDepth == 0 {
		o.MaxDepth = 15
	}
	cfg := Config{Resolvers: r, Directives: DirectiveRoot{HasRole: HasRole}}
	pageComplexity(&cfg.Complexity)
	srv := handler.New(NewExecutableSchema(cfg))
	// graphql-transport-ws: the lean transport of livews.go; gqlgen's
	// transport.Websocket below keeps serving the legacy graphql-ws.
	srv.AddTransport(newLiveWS(r, o))
	srv.AddTransport(transport.Websocket{
		KeepAlivePingInterval: o.KeepAlive,
		InitFunc:              wsInit(o.Keys),
		CloseFunc:             wsClose,
		Implementation: transport.CoderWebsocketImplementation{
			AcceptOptions: websocket.AcceptOptions{OriginPatterns: o.AllowedOrigins},
		},
	})
	srv.AddTransport(transport.SSE{}) // before POST: SSE claims POST with Accept: text/event-stream
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{}) // answers queries only
	srv.AddTransport(oneShot{transport.POST{}})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(persistedQueries{extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)}})
	srv.Use(noStreamOverOneShot{})
	srv.Use(extension.FixedComplexityLimit(o.ComplexityLimit))
	srv.Use(depthLimit(o.MaxDepth))
	if o.Audit != nil {
		srv.Use(*o.Audit)
	}
	if o.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.SetErrorPresenter(ErrorPresenter)
	srv.SetRecoverFunc(Recover)
	return srv
}

// wsInit authenticates a websocket from its connection_init payload when
// the upgrade request carried no Authorization header. Its connection_ack
// carries no payload: echoing connection_init's would send the key back.
func wsInit(keys *auth.Keys) transport.WebsocketInitFunc {
	return func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		if _, ok := auth.FromContext(ctx); ok {
			return ctx, nil, nil
		}
		pr, err := initPrincipal(ctx, keys, p)
		if err != nil {
			// 4403 Forbidden, as graphql-transport-ws asks: with a 1000 close,
			// graphql-ws clients reconnect in a tight loop.
			return transport.WithWebsocketCloseCode(ctx, 4403), nil, err
		}
		// A revocation of the key closes the connection; wsClose stops
		// watching when it closes otherwise.
		ctx, stop := keys.Watch(auth.WithPrincipal(ctx, pr), pr.ID)
		return context.WithValue(ctx, stopWatchKey{}, stop), nil, nil
	}
}

// initPrincipal finds the caller whose key a connection_init payload
// carries (Authorization, as a header would, or apiKey).
func initPrincipal(ctx context.Context, keys *auth.Keys, p transport.InitPayload) (auth.Principal, error) {
	tok := ""
	for _, k := range []string{"Authorization", "authorization"} {
		if v := p.GetString(k); v != "" {
			tok = auth.Token(v)
			if tok == "" {
				tok = v
			}
			break
		}
	}
	if tok == "" {
		tok = p.GetString("apiKey")
	}
	pr, ok := keys.LookupContext(ctx, tok)
	if !ok {
		return auth.Principal{}, errors.New("unauthenticated: connection_init needs a valid Authorization key")
	}
	return pr, nil
}

type stopWatchKey struct{}

// wsClose stops watching the key of a connection authenticated in
// connection_init.
func wsClose(ctx context.Context, _ int) {
	if stop, ok := ctx.Value(stopWatchKey{}).(func()); ok {
		stop()
	}
}

var _ graphql.HandlerExtension = extension.Introspection{}

// pageComplexity makes every paged field cost its selection once per item
// it may return (first, or the field's default page size), so that the
// complexity limit bounds how many items one request may read: without it
// a page of 500 costs what a page of 1 does, and aliases multiply it.
func pageComplexity(c *ComplexityRoot) {
	q := &c.Query
	q.History = func(child int, _, _ string, first *int64, _ *string) int { return paged(child, first, 50) }
	q.Alerts = func(child int, first *int64, _ *string) int { return paged(child, first, 50) }
	q.DeadLetters = func(child int, first *int64, _ *string) int { return paged(child, first, 50) }
	q.AuditLog = func(child int, first *int64, _ *string) int { return paged(child, first, 50) }
	q.Items = func(child int, first *int64, _ *string, _ *model.ItemFilter) int { return paged(child, first, 50) }
	q.PendingMappings = func(child int, _ *string, first *int64) int { return paged(child, first, 100) }
}

// paged is the complexity of a page of first items (def when first is
// nil) whose selection costs child: 1 + child × items, at least one item
// counted, and never more than math.MaxInt32 (a first beyond a field's
// maximum is refused when the field resolves).
func paged(child int, first *int64, def int64) int {
	n := def
	if first != nil {
		n = *first
	}
	n = min(max(n, 1), math.MaxInt32)
	return int(min(1+int64(child)*n, math.MaxInt32))
}
