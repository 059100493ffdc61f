package graph

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/stockgate/stockgate/auth"
	"github.com/stockgate/stockgate/graph/model"
)

// Error codes set in extensions.code.
const (
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeNotFound        = "NOT_FOUND"
	CodeInternal        = "INTERNAL"
)

// codedError is an error meant for the caller.
type codedError struct {
	code, msg string
}

func (e *codedError) Error() string { return e.msg }

func badInput(msg string) error { return &codedError{CodeBadUserInput, msg} }

// ErrorPresenter gives every error an extensions.code and hides internal
// details.
func ErrorPresenter(ctx context.Context, err error) *gqlerror.Error {
	var ce *codedError
	if errors.As(err, &ce) {
		ge := graphql.DefaultErrorPresenter(ctx, err)
		ge.Message = ce.msg
		ge.Extensions = map[string]any{"code": ce.code}
		return ge
	}
	var ge *gqlerror.Error
	if errors.As(err, &ge) && ge.Extensions != nil && ge.Extensions["code"] != nil {
		return ge // validation and parse errors from gqlgen keep their codes
	}
	slog.Error("graphql: internal error", "path", graphql.GetPath(ctx), "err", err)
	out := graphql.DefaultErrorPresenter(ctx, errors.New("internal error"))
	out.Extensions = map[string]any{"code": CodeInternal}
	return out
}

// Recover turns a panic into an internal error and a log line.
func Recover(ctx context.Context, p any) error {
	slog.Error("graphql: panic", "path", graphql.GetPath(ctx), "panic", p)
	return errors.New("panic")
}

// HasRole implements the @hasRole directive.
func HasRole(ctx context.Context, _ any, next graphql.Resolver, role model.Role) (any, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, &codedError{CodeUnauthenticated, "an API key is required"}
	}
	want := auth.Storefront
	if role == model.RoleAdmin {
		want = auth.Admin
	}
	if !p.Can(want) {
		return nil, &codedError{CodeForbidden, "this key may not do that (needs the " + string(want) + " role)"}
	}
	return next(ctx)
}

// perLocation refuses a key limited to channels: it may read channel
// quantities only, not stock per location.
func perLocation(ctx context.Context) error {
	if p, _ := auth.FromContext(ctx); p.Limited() {
		return &codedError{CodeForbidden, "this key is limited to channels " + strings.Join(p.Channels, ", ") + ": use channelAvailability"}
	}
	return nil
}

// seeChannel refuses a key limited to other channels.
func seeChannel(ctx context.Context, ch string) error {
	if p, _ := auth.FromContext(ctx); !p.CanSeeChannel(ch) {
		return &codedError{CodeForbidden, "this key may not read channel " + ch}
	}
	return nil
}
