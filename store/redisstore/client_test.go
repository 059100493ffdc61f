package redisstore

import (
	"net/url"
	"testing"
)

// TestClientOptions: what the store connects with, and its prefix, for
// parts of the gateway that share its Redis.
func TestClientOptions(t *testing.T) {
	t.Setenv(PasswordEnv, "from-env")
	for _, tc := range []struct {
		url, addr, prefix string
		db                int
	}{
		{url: "redis://127.0.0.1:6379/3", addr: "127.0.0.1:6379", db: 3, prefix: DefaultPrefix},
		{url: "rediss://h:6380/0?prefix=" + url.QueryEscape("{eu}:"), addr: "h:6380", prefix: "{eu}:"},
	} {
		u, _ := url.Parse(tc.url)
		ro, prefix, err := ClientOptions(u)
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if ro.Addr != tc.addr || ro.DB != tc.db || ro.Password != "from-env" || ro.MaxRetries != -1 || prefix != tc.prefix {
			t.Errorf("%s: addr %q db %d password %q retries %d prefix %q", tc.url, ro.Addr, ro.DB, ro.Password, ro.MaxRetries, prefix)
		}
	}
	u, _ := url.Parse("redis://h?nope=1")
	if _, _, err := ClientOptions(u); err == nil {
		t.Error("an unknown parameter was accepted")
	}
}
