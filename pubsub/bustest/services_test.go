package bustest_test

import (
	"net"
	"os"
	"testing"
	"time"
)

// requireService checks that a pre-started server answers on addr. If it
// does not, the test fails under CI=true (CI must run every backend) and
// is skipped otherwise, with the command that starts the server
// (shared/SERVICES.md).
func requireService(t testing.TB, name, addr, start string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		return
	}
	msg := name + " is not answering on " + addr + ": " + err.Error() + "\nstart it with:\n\t" + start
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
