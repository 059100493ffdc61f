package redisstore

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	type want struct {
		addr     string
		db       int
		password string
		tls      bool
		retries  int
		pool     int
		prefix   string
		grace    time.Duration
	}
	for _, tc := range []struct {
		url, env string
		want     want
	}{
		{url: "redis://127.0.0.1:6379/0", want: want{addr: "127.0.0.1:6379", retries: -1}},
		{url: "redis://localhost", want: want{addr: "localhost:6379", retries: -1}},
		{
			url:  "redis://10.0.0.1:6380/2?prefix=" + url.QueryEscape("app:{sg}:") + "&dedup_grace=10m&pool_size=5&max_retries=2",
			want: want{addr: "10.0.0.1:6380", db: 2, retries: 2, pool: 5, prefix: "app:{sg}:", grace: 10 * time.Minute},
		},
		{url: "redis://h?dedup_grace=-1s", want: want{addr: "h:6379", retries: -1, grace: -time.Second}},
		{url: "rediss://cache.example.com:6380", want: want{addr: "cache.example.com:6380", tls: true, retries: -1}},
		{url: "redis://h", env: "from-env", want: want{addr: "h:6379", password: "from-env", retries: -1}},
		{url: "redis://:from-url@h", env: "from-env", want: want{addr: "h:6379", password: "from-url", retries: -1}},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		ro, opts, err := parseURL(u, tc.env)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		got := want{addr: ro.Addr, db: ro.DB, password: ro.Password, tls: ro.TLSConfig != nil,
			retries: ro.MaxRetries, pool: ro.PoolSize, prefix: opts.Prefix, grace: opts.DedupGrace}
		if got != tc.want {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tc.url, got, tc.want)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  string
		want []string // in the error, all of them
	}{
		{"redis://h?prefx=a&bogus=1&prefix=ok:", []string{`unknown query parameter "bogus"`, `unknown query parameter "prefx"`}},
		{"redis://h?prefix=a&prefix=b", []string{`query parameter "prefix" given 2 times`}},
		{"redis://h?prefix=", []string{`query parameter "prefix" is empty`}},
		{"redis://h?dedup_grace=soon&pool_size=x", []string{`"dedup_grace": want a duration`, "pool_size"}},
		{"redis://h/x", []string{"invalid database number"}},
		{"http://h", []string{`scheme must be "redis" or "rediss"`}},
		{"redis://:s3cret@h?bogus=1", []string{"redis://:xxxxx@h?bogus=1", `unknown query parameter "bogus"`}},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = parseURL(u, "")
		if err == nil {
			t.Errorf("%s: no error", tc.url)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.url, err, w)
			}
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error shows the password: %v", tc.url, err)
		}
	}
}
