package spapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/ratelimit"
)

// Header names (ref §6.1, §6.2).
const (
	HeaderAccessToken = "x-amz-access-token"
	HeaderDate        = "x-amz-date"
	HeaderRateLimit   = "x-amzn-RateLimit-Limit"
	HeaderRequestID   = "x-amzn-RequestId"
)

// MaxUserAgent is the longest User-Agent SP-API accepts (ref §6.2).
const MaxUserAgent = 500

// maxResponse bounds an answer read into memory.
const maxResponse = 32 << 20

// TokenFunc returns an LWA access token for the next request; it should
// cache it (a token lives one hour, ref §6.2).
type TokenFunc func(ctx context.Context) (string, error)

// Options configure a Client; nil means the defaults.
type Options struct {
	// HTTPClient sends the requests. Zero: a client with a 30s timeout.
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent, at most MaxUserAgent characters.
	// Zero: "stockgate (Language=Go)".
	UserAgent string
	// Now stamps x-amz-date and turns a Retry-After date into a duration.
	// Zero: time.Now.
	Now func() time.Time
}

// Client sends SP-API requests to one regional endpoint. It is safe for
// concurrent use.
type Client struct {
	base      string
	token     TokenFunc
	http      *http.Client
	userAgent string
	now       func() time.Time
}

// New returns a client of the endpoint baseURL, such as
// "https://sellingpartnerapi-na.amazon.com" (ref §6.3): scheme and host
// only. It reports every problem at once, as an InvalidArgument *Error.
func New(baseURL string, token TokenFunc, opts *Options) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	var problems []error
	u, err := url.Parse(baseURL)
	switch {
	case err != nil:
		problems = append(problems, fmt.Errorf("baseURL: %v", err))
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "":
		problems = append(problems, fmt.Errorf("baseURL: %q: want scheme://host[:port] with no path, query or credentials", u.Redacted()))
	}
	if token == nil {
		problems = append(problems, errors.New("token: nil func"))
	}
	if len(o.UserAgent) > MaxUserAgent {
		problems = append(problems, fmt.Errorf("Options.UserAgent: longer than %d characters (ref §6.2)", MaxUserAgent))
	}
	if len(problems) > 0 {
		return nil, &Error{Code: errcode.InvalidArgument, Err: fmt.Errorf("spapi.New: %w", errors.Join(problems...))}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.UserAgent == "" {
		o.UserAgent = "stockgate (Language=Go)"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Client{base: u.Scheme + "://" + u.Host, token: token, http: o.HTTPClient, userAgent: o.UserAgent, now: o.Now}, nil
}

// HTTPClient is the client's *http.Client, for calls that are not SP-API
// requests (presigned document URLs).
func (c *Client) HTTPClient() *http.Client { return c.http }

// Now is the client's clock.
func (c *Client) Now() time.Time { return c.now() }

// Request is one SP-API call.
type Request struct {
	// Op names the operation in errors ("patchListingsItem").
	Op string
	// Method is the HTTP method.
	Method string
	// Path is the escaped path, such as
	// "/listings/2021-08-01/items/A1/SKU%2F1".
	Path string
	// Query is the query string; nil for none.
	Query url.Values
	// Body is sent as JSON when not nil.
	Body any
	// Status is the success status (200, 201, 202). Zero: any 2xx.
	Status int
}

// Meta is what every answer says besides its body.
type Meta struct {
	// Status is the HTTP status.
	Status int
	// RequestID is x-amzn-RequestId.
	RequestID string
	// RateLimit is x-amzn-RateLimit-Limit in requests per second; 0 when
	// absent.
	RateLimit float64
}

// Do sends r and decodes a successful answer's JSON into out (unless out
// is nil). It returns the answer's Meta also on failure when there was an
// answer.
func (c *Client) Do(ctx context.Context, r Request, out any) (Meta, error) {
	var body io.Reader
	if r.Body != nil {
		b, err := json.Marshal(r.Body)
		if err != nil {
			return Meta{}, &Error{Op: r.Op, Code: errcode.InvalidArgument, Err: fmt.Errorf("encoding the body: %w", err)}
		}
		body = bytes.NewReader(b)
	}
	tok, err := c.token(ctx)
	if err != nil {
		if code := ErrorCode(err); code != errcode.Unknown {
			return Meta{}, err
		}
		e := TransportError(ctx, r.Op, fmt.Errorf("access token: %w", err))
		if e.Code == errcode.Unavailable {
			e.Code = errcode.Unauthenticated
		}
		return Meta{}, e
	}
	target := c.base + r.Path
	if len(r.Query) > 0 {
		target += "?" + r.Query.Encode()
	}
	hreq, err := http.NewRequestWithContext(ctx, r.Method, target, body)
	if err != nil {
		return Meta{}, &Error{Op: r.Op, Code: errcode.InvalidArgument, Err: err}
	}
	hreq.Header.Set(HeaderAccessToken, tok)
	hreq.Header.Set(HeaderDate, c.now().UTC().Format("20060102T150405Z"))
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	hr, err := c.http.Do(hreq)
	if err != nil {
		return Meta{}, TransportError(ctx, r.Op, err)
	}
	defer hr.Body.Close()
	m := Meta{Status: hr.StatusCode, RequestID: hr.Header.Get(HeaderRequestID), RateLimit: ParseRateLimit(hr.Header)}
	raw, err := io.ReadAll(io.LimitReader(hr.Body, maxResponse))
	if err != nil {
		e := TransportError(ctx, r.Op, fmt.Errorf("reading the answer: %w", err))
		e.HTTPStatus, e.RequestID, e.RateLimit = m.Status, m.RequestID, m.RateLimit
		return m, e
	}
	var env struct {
		Errors []APIError `json:"errors"`
	}
	envErr := json.Unmarshal(raw, &env)
	fail := func(code errcode.Code, err error) (Meta, error) {
		e := &Error{Op: r.Op, Code: code, HTTPStatus: m.Status, RequestID: m.RequestID, RateLimit: m.RateLimit, Err: err}
		if envErr == nil {
			e.Errors = env.Errors
		}
		if d, ok := ratelimit.ParseRetryAfter(hr.Header.Get("Retry-After"), c.now()); ok {
			e.RetryAfter = d
		}
		return m, e
	}
	if hr.StatusCode < 200 || hr.StatusCode > 299 || (r.Status != 0 && hr.StatusCode != r.Status) {
		code := errcode.FromHTTPStatus(hr.StatusCode)
		if code == errcode.OK {
			code = errcode.Unknown // a 2xx other than the documented one
		}
		if envErr == nil && len(env.Errors) > 0 {
			return fail(code, errors.New(Describe(env.Errors)))
		}
		return fail(code, fmt.Errorf("%s: %.200s", http.StatusText(hr.StatusCode), bytes.TrimSpace(raw)))
	}
	if envErr == nil && len(env.Errors) > 0 {
		return fail(CodeOf(env.Errors[0].Code), errors.New(Describe(env.Errors)))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fail(errcode.Unknown, fmt.Errorf("decoding the answer: %w", err))
		}
	}
	return m, nil
}

// ParseRateLimit reads x-amzn-RateLimit-Limit ("5.0") from h: requests
// per second, 0 when absent or malformed.
func ParseRateLimit(h http.Header) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(h.Get(HeaderRateLimit)), 64)
	if err != nil || v <= 0 || v != v || v > 1e9 {
		return 0
	}
	return v
}
