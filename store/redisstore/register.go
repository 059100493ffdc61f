package redisstore

import (
	"github.com/stockgate/stockgate/store"
)

func init() {
	store.Register(Scheme, OpenURL)
	store.Register(SchemeTLS, OpenURL)
}
