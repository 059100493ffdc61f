package redisstore

import (
	"net/url"
	"os"

	"github.com/redis/go-redis/v9"
)

// ClientOptions returns what OpenURL connects with for a "redis://" or
// "rediss://" URL: go-redis's client options (with the password from
// REDIS_PASSWORD when the URL has none, and no command retries unless the
// URL sets max_retries) and the store's key prefix (DefaultPrefix when
// the URL sets none). Parts of a gateway that share the store's Redis,
// such as the dispatcher's leases and shared rate limits, open their own
// client with these options and keep their keys under the prefix.
func ClientOptions(u *url.URL) (*redis.Options, string, error) {
	ro, opts, err := parseURL(u, os.Getenv(PasswordEnv))
	if err != nil {
		return nil, "", err
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return ro, prefix, nil
}
