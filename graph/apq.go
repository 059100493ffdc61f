package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// persistedQueries is gqlgen's automatic persisted queries (the protocol
// of Apollo's PersistedQueryLink) with a code on every error it returns.
// gqlgen gives PersistedQueryNotFound its PERSISTED_QUERY_NOT_FOUND code,
// but its other errors (extension data it cannot read, a version other
// than 1, a hash that does not match the query sent) carry none, and
// ErrorPresenter would answer a client's mistake as "internal error" and
// log it as one: they get BAD_USER_INPUT, their messages unchanged.
type persistedQueries struct {
	extension.AutomaticPersistedQuery
}

var _ graphql.OperationParameterMutator = persistedQueries{}

// MutateOperationParameters implements graphql.OperationParameterMutator.
func (p persistedQueries) MutateOperationParameters(ctx context.Context, raw *graphql.RawParams) *gqlerror.Error {
	err := p.AutomaticPersistedQuery.MutateOperationParameters(ctx, raw)
	if err != nil && err.Extensions["code"] == nil {
		if err.Extensions == nil {
			err.Extensions = map[string]any{}
		}
		err.Extensions["code"] = CodeBadUserInput
	}
	return err
}
