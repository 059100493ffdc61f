package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// depthLimit refuses operations that nest selections deeper than max,
// counting through fragments.
type depthLimit int

var (
	_ graphql.HandlerExtension        = depthLimit(0)
	_ graphql.OperationContextMutator = depthLimit(0)
)

// ExtensionName implements graphql.HandlerExtension.
func (depthLimit) ExtensionName() string { return "DepthLimit" }

// Validate implements graphql.HandlerExtension.
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (d depthLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if n := depth(oc.Operation.SelectionSet, oc.Doc.Fragments, 0, int(d)); n > int(d) {
		err := gqlerror.Errorf("operation is nested %d levels deep; the limit is %d", n, int(d))
		err.Extensions = map[string]any{"code": CodeBadUserInput}
		return err
	}
	return nil
}

// depth returns the depth of set below level, stopping once it passes
// limit (so a fragment cycle, refused by validation anyway, ends).
func depth(set ast.SelectionSet, frags ast.FragmentDefinitionList, level, limit int) int {
	if level > limit {
		return level
	}
	deepest := level
	for _, s := range set {
		var n int
		switch s := s.(type) {
		case *ast.Field:
			if len(s.SelectionSet) == 0 {
				n = level + 1
			} else {
				n = depth(s.SelectionSet, frags, level+1, limit)
			}
		case *ast.InlineFragment:
			n = depth(s.SelectionSet, frags, level, limit)
		case *ast.FragmentSpread:
			if f := frags.ForName(s.Name); f != nil {
				n = depth(f.SelectionSet, frags, level, limit)
			}
		}
		deepest = max(deepest, n)
	}
	return deepest
}
