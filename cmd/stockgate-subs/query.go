package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// availabilityQuery is the storefront's stock read.
const availabilityQuery = `query Availability($sku: String!, $location: String!) { availability(sku: $sku, location: $location) { sku location committed available seq } }`

// errNotPersisted is the gateway's answer to a hash it does not know.
var errNotPersisted = errors.New("PERSISTED_QUERY_NOT_FOUND")

// querier sends availability queries the way Apollo clients do with
// automatic persisted queries: a GET carrying only the query's SHA-256
// (Apollo Client's PersistedQueryLink with useGETForHashedQueries, Apollo
// Kotlin's default httpMethodForHashedQueries = GET;
// https://www.apollographql.com/docs/react/api/link/persisted-queries),
// and, when the server answers PERSISTED_QUERY_NOT_FOUND, the full query
// with its hash as a POST (Apollo Kotlin's httpMethodForDocumentQueries
// default), which registers it, then the GET again. It is safe for
// concurrent use.
type querier struct {
	client   *http.Client
	endpoint string // <url>/graphql
	auth     string // "Bearer <key>"
	location string
	ext      string // the extensions parameter, JSON

	registered atomic.Int64 // POSTs that registered the query
}

func newQuerier(client *http.Client, baseURL, key, location string) *querier {
	sum := sha256.Sum256([]byte(availabilityQuery))
	return &querier{
		client: client, endpoint: baseURL + "/graphql", auth: "Bearer " + key, location: location,
		ext: `{"persistedQuery":{"version":1,"sha256Hash":"` + hex.EncodeToString(sum[:]) + `"}}`,
	}
}

// url returns the hashed GET for sku; build them once, up front.
func (q *querier) url(sku string) string {
	v := url.Values{}
	v.Set("operationName", "Availability")
	v.Set("variables", string(mustJSON(map[string]string{"sku": sku, "location": q.location})))
	v.Set("extensions", q.ext)
	return q.endpoint + "?" + v.Encode()
}

// get reads sku with the hashed GET at u (from url), registering the
// query first when the gateway does not know it. buf is reused for the
// answer.
func (q *querier) get(ctx context.Context, u, sku string, buf *bytes.Buffer) (change, error) {
	c, err := q.do(ctx, http.MethodGet, u, nil, buf)
	if !errors.Is(err, errNotPersisted) {
		return c, err
	}
	if err := q.register(ctx, sku, buf); err != nil {
		return change{}, err
	}
	return q.do(ctx, http.MethodGet, u, nil, buf)
}

// register sends the full query with its hash as a POST.
func (q *querier) register(ctx context.Context, sku string, buf *bytes.Buffer) error {
	body := mustJSON(map[string]any{
		"operationName": "Availability",
		"query":         availabilityQuery,
		"variables":     map[string]string{"sku": sku, "location": q.location},
		"extensions":    json.RawMessage(q.ext),
	})
	if _, err := q.do(ctx, http.MethodPost, q.endpoint, body, buf); err != nil {
		return fmt.Errorf("registering the persisted query: %w", err)
	}
	q.registered.Add(1)
	return nil
}

// do sends one request and reads the availability from the answer.
func (q *querier) do(ctx context.Context, method, u string, body []byte, buf *bytes.Buffer) (change, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return change{}, err
	}
	req.Header.Set("Authorization", q.auth)
	req.Header.Set("Accept", "application/graphql-response+json, application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := q.client.Do(req)
	if err != nil {
		return change{}, err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, 1<<20)); err != nil {
		return change{}, err
	}
	b := buf.Bytes()
	var c change
	if resp.StatusCode == http.StatusOK && findObject(b, "availability", &c) == nil {
		return c, nil
	}
	c, errs, ok, err := decodeResult(b, "availability")
	switch {
	case err != nil:
		return change{}, fmt.Errorf("%s %s: %d %s", method, q.endpoint, resp.StatusCode, bytes.TrimSpace(b))
	case len(errs) > 0 && errs[0].Extensions.Code == "PERSISTED_QUERY_NOT_FOUND":
		return change{}, errNotPersisted
	case len(errs) > 0:
		return change{}, fmt.Errorf("%s %s: %d: %s", method, q.endpoint, resp.StatusCode, firstError(errs))
	case !ok || resp.StatusCode != http.StatusOK:
		return change{}, fmt.Errorf("%s %s: %d %s", method, q.endpoint, resp.StatusCode, bytes.TrimSpace(b))
	}
	return c, nil
}

// newHTTPClient returns a client that keeps an idle connection for each
// request that can be in flight and ignores proxy settings: the run
// measures the gateway, not a proxy. Requests carry their own timeouts.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns + 16,
		MaxIdleConnsPerHost: conns + 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}
