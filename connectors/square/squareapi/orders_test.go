package squareapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/square/squareapi"
	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
	"github.com/stockgate/stockgate/errcode"
)

func TestRetrieveOrder(t *testing.T) {
	t.Parallel()
	fake, c := newFake(t, nil)
	created := time.Date(2026, 11, 20, 10, 13, 58, 204e6, time.UTC)
	fake.SetOrder(squarefake.Order{
		ID: "eA3vssLHKJrv9H0IdJCM3gNqfdcZY", LocationID: "FPYCBCHYMXFK1", State: "COMPLETED", Version: 4,
		CreatedAt: created, UpdatedAt: created.Add(time.Second),
		LineItems: []squarefake.LineItem{{UID: "u1", CatalogObjectID: "W62UWFY35CWMYGVWK6TWJDNI", Quantity: "2", Name: "Sock"}},
	})
	o, err := c.RetrieveOrder(context.Background(), "eA3vssLHKJrv9H0IdJCM3gNqfdcZY")
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "eA3vssLHKJrv9H0IdJCM3gNqfdcZY" || o.LocationID != "FPYCBCHYMXFK1" || o.State != "COMPLETED" || o.Version != 4 ||
		!o.CreatedAt.Equal(created) || !o.UpdatedAt.Equal(created.Add(time.Second)) || len(o.LineItems) != 1 ||
		o.LineItems[0] != (squareapi.LineItem{UID: "u1", CatalogObjectID: "W62UWFY35CWMYGVWK6TWJDNI", Quantity: "2", Name: "Sock"}) {
		t.Fatalf("order %+v", o)
	}
	req := fake.Requests()[0]
	if req.Header.Get("Authorization") != "Bearer "+squarefake.DefaultToken || req.Header.Get("Square-Version") != squareapi.DefaultVersion {
		t.Errorf("headers %v", req.Header)
	}

	for _, tc := range []struct {
		name  string
		id    string
		fail  int
		code  errcode.Code
		retry bool
	}{
		{name: "unknown order", id: "nope", code: errcode.NotFound},
		{name: "id with a slash is escaped, not another path", id: "a/b", code: errcode.NotFound},
		{name: "empty id", id: "", code: errcode.InvalidArgument},
		{name: "rate limited", id: "eA3vssLHKJrv9H0IdJCM3gNqfdcZY", fail: http.StatusTooManyRequests, code: errcode.ResourceExhausted, retry: true},
		{name: "unavailable", id: "eA3vssLHKJrv9H0IdJCM3gNqfdcZY", fail: http.StatusServiceUnavailable, code: errcode.Unavailable, retry: true},
	} {
		fake, c := newFake(t, nil)
		fake.SetOrder(squarefake.Order{ID: "eA3vssLHKJrv9H0IdJCM3gNqfdcZY", LocationID: "L"})
		if tc.fail != 0 {
			fake.Fail(1, tc.fail, 2*time.Second)
		}
		_, err := c.RetrieveOrder(context.Background(), tc.id)
		if squareapi.ErrorCode(err) != tc.code || squareapi.IsRetryable(err) != tc.retry {
			t.Errorf("%s: %v: code %v retryable %v, want %v %v", tc.name, err, squareapi.ErrorCode(err), squareapi.IsRetryable(err), tc.code, tc.retry)
		}
		if tc.fail == http.StatusTooManyRequests && squareapi.RetryAfter(err) != 2*time.Second {
			t.Errorf("%s: RetryAfter %v", tc.name, squareapi.RetryAfter(err))
		}
	}
}

func TestRetrieveOrderOddAnswers(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"no order":   `{}`,
		"other id":   `{"order":{"id":"other"}}`,
		"bad time":   `{"order":{"id":"o","updated_at":"yesterday"}}`,
		"not JSON":   `<html>`,
		"errors 200": `{"errors":[{"category":"API_ERROR","code":"INTERNAL_SERVER_ERROR"}]}`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, squareapi.OrdersPath) {
				t.Errorf("%s %s", r.Method, r.URL.Path)
			}
			_, _ = w.Write([]byte(body))
		}))
		c, err := squareapi.New("t", &squareapi.Options{BaseURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.RetrieveOrder(context.Background(), "o")
		want := errcode.Unknown
		if name == "errors 200" {
			want = errcode.Unavailable
		}
		if squareapi.ErrorCode(err) != want {
			t.Errorf("%s: %v, want code %v", name, err, want)
		}
		srv.Close()
	}
}
