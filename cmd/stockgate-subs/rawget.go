package main

import (
	"bytes"
	"fmt"
	"net/http"
)

// rawGet returns the bytes of a GET of target (a path with its query) on
// host, with the header lines hdr ("Name: value\r\n" each).
func rawGet(host, target, hdr string) []byte {
	return []byte("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + hdr + "\r\n")
}

// availabilityAnswer reads the availability from a GraphQL answer to a
// query of sku, as querier.do does: a fast parse of the usual answer,
// encoding/json for anything else, errNotPersisted for
// PERSISTED_QUERY_NOT_FOUND, and an error for an answer about another SKU.
func availabilityAnswer(code int, b []byte, sku string) (change, error) {
	var c change
	if code != http.StatusOK || findObject(b, "availability", &c) != nil {
		var errs []gqlError
		var ok bool
		var err error
		c, errs, ok, err = decodeResult(b, "availability")
		switch {
		case err != nil:
			return change{}, fmt.Errorf("GET /graphql: %d %s", code, bytes.TrimSpace(b))
		case len(errs) > 0 && errs[0].Extensions.Code == "PERSISTED_QUERY_NOT_FOUND":
			return change{}, errNotPersisted
		case len(errs) > 0:
			return change{}, fmt.Errorf("GET /graphql: %d: %s", code, firstError(errs))
		case !ok || code != http.StatusOK:
			return change{}, fmt.Errorf("GET /graphql: %d %s", code, bytes.TrimSpace(b))
		}
	}
	if string(c.SKU) != sku {
		return change{}, fmt.Errorf("asked for %s, got %q", sku, c.SKU)
	}
	return c, nil
}
