package memstore

import (
	"context"
	"net/url"

	"github.com/stockgate/stockgate/store"
)

func init() {
	store.Register(Scheme, func(_ context.Context, u *url.URL) (store.Driver, error) { return OpenURL(u) })
}
