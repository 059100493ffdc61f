package squarefake_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
)

func TestOrders(t *testing.T) {
	t.Parallel()
	fake := squarefake.New(nil)
	fake.SetOrder(squarefake.Order{ID: "O1", LocationID: "L", LineItems: []squarefake.LineItem{{UID: "u", CatalogObjectID: "A", Quantity: "1"}}})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name, path, method string
		header             map[string]string
		status             int
		code               string
	}{
		{name: "ok", path: "O1", method: http.MethodGet, status: 200},
		{name: "unknown", path: "O2", method: http.MethodGet, status: 404, code: "NOT_FOUND"},
		{name: "POST", path: "O1", method: http.MethodPost, status: 405, code: "METHOD_NOT_ALLOWED"},
		{name: "no token", path: "O1", method: http.MethodGet, header: map[string]string{"Authorization": ""}, status: 401, code: "UNAUTHORIZED"},
		{name: "no id", path: "", method: http.MethodGet, status: 404, code: "NOT_FOUND"},
	} {
		status, _, a := post(t, srv.URL+squarefake.OrdersPath+tc.path, tc.method, "", tc.header)
		if status != tc.status || (tc.code != "" && (len(a.Errors) != 1 || a.Errors[0].Code != tc.code)) {
			t.Errorf("%s: status %d %+v, want %d %s", tc.name, status, a, tc.status, tc.code)
		}
	}
	fake.Fail(1, http.StatusTooManyRequests, 0)
	if status, _, a := post(t, srv.URL+squarefake.OrdersPath+"O1", http.MethodGet, "", nil); status != 429 || a.Errors[0].Code != "RATE_LIMITED" {
		t.Errorf("injected 429: %d %+v", status, a)
	}
	fake.DeleteOrder("O1")
	if status, _, _ := post(t, srv.URL+squarefake.OrdersPath+"O1", http.MethodGet, "", nil); status != 404 {
		t.Errorf("deleted order: %d", status)
	}
	if s := fake.Stats(); s.Orders != 1 {
		t.Errorf("stats %+v", s)
	}
}
