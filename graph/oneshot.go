package graph

import (
	"context"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// oneShotKey marks the context of a request whose transport answers once.
type oneShotKey struct{}

// oneShot is a transport that answers once (POST; GET refuses all but
// queries itself). Given a subscription, gqlgen's would hold the request
// until the subscription's first event and then answer that alone;
// oneShot marks its requests so that noStreamOverOneShot refuses
// subscriptions there instead.
type oneShot struct{ graphql.Transport }

// Do implements graphql.Transport.
func (t oneShot) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	t.Transport.Do(w, r.WithContext(context.WithValue(r.Context(), oneShotKey{}, true)), exec)
}

// errNeedsStream is the answer to a subscription sent to a one-shot
// transport.
const errNeedsStream = "a subscription needs a stream: a websocket (subprotocol graphql-transport-ws or graphql-ws) " +
	"or SSE (POST with Accept: text/event-stream)"

// noStreamOverOneShot refuses subscriptions on one-shot transports.
type noStreamOverOneShot struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = noStreamOverOneShot{}

// ExtensionName implements graphql.HandlerExtension.
func (noStreamOverOneShot) ExtensionName() string { return "NoStreamOverOneShot" }

// Validate implements graphql.HandlerExtension.
func (noStreamOverOneShot) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation implements graphql.OperationInterceptor.
func (noStreamOverOneShot) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation != nil && oc.Operation.Operation == ast.Subscription && ctx.Value(oneShotKey{}) != nil {
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
			Message:    errNeedsStream,
			Extensions: map[string]any{"code": CodeBadUserInput},
		}}})
	}
	return next(ctx)
}
