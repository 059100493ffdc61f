package bustest_test

import (
	"testing"

	"github.com/stockgate/stockgate/internal/testsvc"
)

// requireService checks that a pre-started server answers on addr. If it
// does not, the test fails under CI=true (CI must run every backend) and
// is skipped otherwise, with the command that starts the server
// (shared/SERVICES.md).
func requireService(t testing.TB, name, addr, start string) {
	t.Helper()
	testsvc.Dial(t, name, addr, start)
}
