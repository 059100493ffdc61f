package testsvc

import (
	"context"
	"testing"
)

// TestRedis checks that the client it returns talks to the machine's
// Redis (the test is skipped, or fails under CI, when Redis is not there).
func TestRedis(t *testing.T) {
	c := Redis(t, nil)
	ctx := context.Background()
	key := "stockgate:test:testsvc:" + t.Name()
	if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	defer c.Del(ctx, key)
	if v, err := c.Get(ctx, key).Result(); err != nil || v != "v" {
		t.Errorf("GET %s = %q, %v; want \"v\"", key, v, err)
	}
}

// TestMissingSkipsOutsideCI checks that a missing service skips a test
// when CI is not set (under CI=true it fails it, which a test cannot show
// without failing).
func TestMissingSkipsOutsideCI(t *testing.T) {
	t.Setenv("CI", "")
	var skipped bool
	t.Run("nothing listens", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Dial(t, "a service", "127.0.0.1:1", "start-it")
		t.Error("Dial returned for an address nothing listens on")
	})
	if !skipped {
		t.Error("the test was not skipped")
	}
}
