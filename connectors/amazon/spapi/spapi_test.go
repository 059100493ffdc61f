package spapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/spapi"
	"github.com/stockgate/stockgate/errcode"
)

func token(context.Context) (string, error) { return "Atza|t", nil }

func TestNewReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := spapi.New("ftp://x/y?z", nil, &spapi.Options{UserAgent: strings.Repeat("a", 501)})
	if spapi.ErrorCode(err) != errcode.InvalidArgument {
		t.Fatalf("%v", err)
	}
	for _, want := range []string{"baseURL", "token", "UserAgent"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %s", err, want)
		}
	}
	if _, err := spapi.New("https://sellingpartnerapi-eu.amazon.com", token, nil); err != nil {
		t.Error(err)
	}
}

// TestDo: what Do sends, and how it classifies each kind of answer.
func TestDo(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		want    int // Request.Status
		code    errcode.Code
		limit   float64
		retry   time.Duration
		apiCode string
	}{
		{name: "ok", status: 200, header: map[string]string{"x-amzn-RateLimit-Limit": "5.0"}, body: `{"v":1}`, code: errcode.OK, limit: 5},
		{name: "201 wanted", status: 201, body: `{"v":1}`, want: 201, code: errcode.OK},
		{name: "200 where 201 is documented", status: 200, body: `{"v":1}`, want: 201, code: errcode.Unknown},
		{name: "errors in a 200", status: 200, body: `{"errors":[{"code":"QuotaExceeded","message":"m"}]}`, code: errcode.ResourceExhausted, apiCode: "QuotaExceeded"},
		{name: "not JSON", status: 200, body: `<html>`, code: errcode.Unknown},
		{name: "400", status: 400, header: map[string]string{"x-amzn-RateLimit-Limit": "0.0222"}, body: `{"errors":[{"code":"InvalidInput","message":"m"}]}`, code: errcode.InvalidArgument, limit: 0.0222, apiCode: "InvalidInput"},
		{name: "401", status: 401, body: `{"errors":[{"code":"Unauthorized","message":"m"}]}`, code: errcode.Unauthenticated, apiCode: "Unauthorized"},
		{name: "403 html", status: 403, body: `<html>denied</html>`, code: errcode.Unauthenticated},
		{name: "404", status: 404, body: `{"errors":[{"code":"NotFound","message":"m"}]}`, code: errcode.NotFound},
		{name: "429 with Retry-After", status: 429, header: map[string]string{"Retry-After": "2"}, body: `{"errors":[{"code":"QuotaExceeded","message":"m","details":""}]}`, code: errcode.ResourceExhausted, retry: 2 * time.Second, apiCode: "QuotaExceeded"},
		{name: "503", status: 503, body: ``, code: errcode.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got *http.Request
			var gotBody string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Clone(context.Background())
				b, _ := io.ReadAll(r.Body)
				gotBody = string(b)
				w.Header().Set("x-amzn-RequestId", "req-1")
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := spapi.New(srv.URL, token, &spapi.Options{Now: func() time.Time { return now }, UserAgent: "test/1.0"})
			if err != nil {
				t.Fatal(err)
			}
			var out struct{ V int }
			m, err := c.Do(context.Background(), spapi.Request{Op: "op", Method: http.MethodPost, Path: "/p/a%2Fb",
				Query: map[string][]string{"q": {"1"}}, Body: map[string]int{"x": 1}, Status: tc.want}, &out)
			if spapi.ErrorCode(err) != tc.code || m.RateLimit != tc.limit || m.RequestID != "req-1" || m.Status != tc.status {
				t.Fatalf("meta %+v, err %v; want %v, limit %v", m, err, tc.code, tc.limit)
			}
			if got.Header.Get("x-amz-access-token") != "Atza|t" || got.Header.Get("x-amz-date") != "20261120T100000Z" ||
				got.Header.Get("User-Agent") != "test/1.0" || got.Header.Get("Content-Type") != "application/json" ||
				got.URL.EscapedPath() != "/p/a%2Fb" || got.URL.RawQuery != "q=1" || gotBody != `{"x":1}` {
				t.Errorf("request %s %s %v body %s", got.Method, got.URL, got.Header, gotBody)
			}
			if err == nil {
				if out.V != 1 {
					t.Errorf("decoded %+v", out)
				}
				return
			}
			var e *spapi.Error
			if !errors.As(err, &e) || e.Op != "op" || e.RateLimit != tc.limit || e.RetryAfter != tc.retry || e.RequestID != "req-1" {
				t.Errorf("error %+v", e)
			}
			if tc.apiCode != "" && (len(e.Errors) == 0 || e.Errors[0].Code != tc.apiCode) {
				t.Errorf("errors %+v, want %s", e.Errors, tc.apiCode)
			}
			if spapi.RetryAfter(err) != tc.retry || spapi.RateLimit(err) != tc.limit {
				t.Errorf("RetryAfter %v, RateLimit %v", spapi.RetryAfter(err), spapi.RateLimit(err))
			}
		})
	}
}

func TestTokenAndTransportFailures(t *testing.T) {
	t.Parallel()
	c, _ := spapi.New("http://127.0.0.1:1", func(context.Context) (string, error) { return "", errors.New("LWA said no") }, nil)
	_, err := c.Do(context.Background(), spapi.Request{Op: "op", Method: http.MethodGet, Path: "/"}, nil)
	if spapi.ErrorCode(err) != errcode.Unauthenticated {
		t.Errorf("token failure: %v", err)
	}
	c, _ = spapi.New("http://127.0.0.1:1", token, nil)
	_, err = c.Do(context.Background(), spapi.Request{Op: "op", Method: http.MethodGet, Path: "/"}, nil)
	if spapi.ErrorCode(err) != errcode.Unavailable || !spapi.IsRetryable(err) {
		t.Errorf("refused connection: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Do(ctx, spapi.Request{Op: "op", Method: http.MethodGet, Path: "/"}, nil)
	if spapi.ErrorCode(err) != errcode.Canceled {
		t.Errorf("canceled: %v", err)
	}
}

func TestParseRateLimit(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]float64{"5.0": 5, "0.0083": 0.0083, " 2 ": 2, "": 0, "NaN": 0, "-1": 0, "Inf": 0, "x": 0} {
		h := http.Header{}
		h.Set("x-amzn-RateLimit-Limit", v)
		if got := spapi.ParseRateLimit(h); got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
}
