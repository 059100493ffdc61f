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
