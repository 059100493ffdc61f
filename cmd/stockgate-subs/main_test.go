package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	t.Setenv(envSecret, "env-secret")
	t.Setenv(envKey, "env-key")

	var stderr bytes.Buffer
	c, err := parseFlags(nil, &stderr)
	if err != nil {
		t.Fatalf("defaults: %v\n%s", err, stderr.String())
	}
	// The scenario is the default.
	if c.Subscribers != 10_000 || c.PerSub != 10 || c.SKUs != 10_000 || c.Rate != 2000 || c.Secret != "env-secret" || c.Key != "env-key" ||
		c.URL != "http://127.0.0.1:8090" || c.Location != "web" || c.Duration != 10*time.Second {
		t.Errorf("defaults = %+v", c)
	}
	c, err = parseFlags([]string{"-url", "http://h:1/", "-secret", "s", "-key", "k", "-qps", "-skus", "50", "-qps-seed", "50"}, &stderr)
	if err != nil || c.URL != "http://h:1" || c.Secret != "s" || c.Key != "k" || !c.QPS {
		t.Errorf("flags = %+v, %v", c, err)
	}

	stderr.Reset()
	if _, err := parseFlags([]string{"-h"}, &stderr); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-subscribers") {
		t.Errorf("-h: %v, usage %q", err, stderr.String())
	}

	// Every problem at once, each naming its flag.
	t.Setenv(envSecret, "")
	t.Setenv(envKey, "")
	stderr.Reset()
	_, err = parseFlags([]string{"-url", "ftp://x", "-subscribers", "0", "-per-sub", "20", "-skus", "10", "-rate", "0", "-cpuprofile", "p.out", "-dial-rate", "-1"}, &stderr)
	if !errors.Is(err, errUsage) {
		t.Fatalf("bad flags: err = %v", err)
	}
	for _, f := range []string{"-url", "-secret", "-key", "-subscribers", "-per-sub", "-rate", "-cpuprofile", "-dial-rate"} {
		if !strings.Contains(stderr.String(), f+":") {
			t.Errorf("problems do not name %s:\n%s", f, stderr.String())
		}
	}
	if _, err := parseFlags([]string{"-secret", "s", "-key", "k", "extra"}, &stderr); !errors.Is(err, errUsage) {
		t.Errorf("extra argument: %v", err)
	}
}
