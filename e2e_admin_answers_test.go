package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestAdminCommandsSayWhatHappened: a stock command that cannot do
// anything is refused up front with a reason (a zero adjustment, a SKU or
// location the catalog does not declare) and leaves nothing behind; one
// that the ledger records without applying says so (a count older than
// the last one is stale), rather than only "applied".
func TestAdminCommandsSayWhatHappened(t *testing.T) {
	base := startGateway(t, "--config", writeConfig(t, t.TempDir(), `locations: [{id: web}, {id: berlin}]
skus: [{sku: CAT-1}]
`))
	for _, tc := range []struct{ mutation, says string }{
		{`mutation{ adjustStock(input:{sku:"CAT-1", location:"web", delta:0, reason:"correction"}){ applied } }`, "delta must not be 0"},
		{`mutation{ adjustStock(input:{sku:"NOPE", location:"web", delta:1, reason:"correction"}){ applied } }`, `unknown sku "NOPE"`},
		{`mutation{ countStock(input:{sku:"CAT-1", location:"mars", quantity:3}){ applied } }`, `unknown location "mars"`},
		{`mutation{ transferStock(input:{sku:"CAT-1", from:"web", to:"mars", quantity:1}){ applied } }`, `unknown location "mars"`},
		{`mutation{ countStock(input:{sku:"CAT-1", location:"web", quantity:3, countedAt:"2030-01-01T00:00:00Z"}){ applied } }`, "more than 5m0s in the future"},
	} {
		errs := gql(t, base, testAdminKey, tc.mutation, nil, nil)
		if code(errs) != "BAD_USER_INPUT" || !strings.Contains(errs[0].Message, tc.says) {
			t.Errorf("%s: %+v, want BAD_USER_INPUT saying %q", tc.mutation, errs, tc.says)
		}
	}
	if dls := deadLetterCount(t, base); dls != 0 {
		t.Errorf("%d dead letters after refused commands, want 0", dls)
	}

	type counted struct {
		CountStock struct {
			Applied       bool
			Outcome, Note *string
			Level         struct{ OnHand int64 }
		} `json:"countStock"`
	}
	now := time.Now().UTC()
	var fresh, stale counted
	if errs := gql(t, base, testAdminKey, `mutation($at:Time){ countStock(input:{sku:"CAT-1", location:"web", quantity:40, countedAt:$at, idempotencyKey:"n1"}){ applied outcome note level{ onHand } } }`,
		map[string]any{"at": now.Format(time.RFC3339Nano)}, &fresh); len(errs) != 0 {
		t.Fatal(errs)
	}
	if c := fresh.CountStock; !c.Applied || c.Outcome == nil || *c.Outcome != "applied" || c.Note != nil || c.Level.OnHand != 40 {
		t.Fatalf("a fresh count answered %+v", c)
	}
	if errs := gql(t, base, testAdminKey, `mutation($at:Time){ countStock(input:{sku:"CAT-1", location:"web", quantity:7, countedAt:$at, idempotencyKey:"n2"}){ applied outcome note level{ onHand } } }`,
		map[string]any{"at": now.Add(-time.Hour).Format(time.RFC3339Nano)}, &stale); len(errs) != 0 {
		t.Fatal(errs)
	}
	if c := stale.CountStock; !c.Applied || c.Outcome == nil || *c.Outcome != "stale" || c.Note == nil || !strings.Contains(*c.Note, "older than the last count") || c.Level.OnHand != 40 {
		t.Fatalf("a count an hour older answered %+v", c)
	}
}

func deadLetterCount(t *testing.T, base string) int {
	t.Helper()
	var dl struct{ DeadLetters []struct{ ID string } }
	if errs := gql(t, base, testAdminKey, `{ deadLetters(first: 100){ id } }`, nil, &dl); len(errs) != 0 {
		t.Fatal(errs)
	}
	return len(dl.DeadLetters)
}

// TestListsRefuseAnUnknownAfter: an after naming no item of the list is
// the client's mistake (BAD_USER_INPUT), not the server's.
func TestListsRefuseAnUnknownAfter(t *testing.T) {
	base := startGateway(t, "--config", writeConfig(t, t.TempDir(), ""))
	for _, q := range []string{
		`{ deadLetters(first: 2, after: "bogus"){ id } }`,
		`{ alerts(after: "junk"){ id } }`,
	} {
		errs := gql(t, base, testAdminKey, q, nil, nil)
		if len(errs) != 1 || errs[0].Extensions["code"] != "BAD_USER_INPUT" || !strings.Contains(errs[0].Message, "after") {
			t.Errorf("%s: %+v; want one BAD_USER_INPUT about after", q, errs)
		}
	}
}

// TestOneLogFormat: with --log-json, what logs through the default logger
// (gqlgen's error presenter, package log) is JSON too.
func TestOneLogFormat(t *testing.T) {
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	startGateway(t, "--config", writeConfig(t, t.TempDir(), ""), "--log-json")
	if _, ok := slog.Default().Handler().(*slog.JSONHandler); !ok {
		t.Fatalf("default handler after start with --log-json is %T, want *slog.JSONHandler", slog.Default().Handler())
	}
}

// TestSubscriptionNeedsAStream: a subscription sent as a plain POST is
// refused at once with where to send it, instead of holding the request
// until the first change; GET refuses it too.
func TestSubscriptionNeedsAStream(t *testing.T) {
	base := startGateway(t, "--config", writeConfig(t, t.TempDir(), ""))
	const sub = `subscription{ availabilityChanged(skus:["SUB-1"]){ sku } }`
	done := make(chan []gqlError, 1)
	go func() { done <- gql(t, base, testStoreKey, sub, nil, nil) }()
	select {
	case errs := <-done:
		if len(errs) != 1 || !strings.Contains(errs[0].Message, "needs a stream") || errs[0].Extensions["code"] != "BAD_USER_INPUT" {
			t.Errorf("POST of a subscription: %+v", errs)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("POST of a subscription still waiting after 5 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/graphql?query="+url.QueryEscape(sub), nil)
	req.Header.Set("Authorization", "Bearer "+testStoreKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET of a subscription: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK || !strings.Contains(string(b), "only allow query operations") {
		t.Errorf("GET of a subscription answered %d %s; want gqlgen's refusal", resp.StatusCode, b)
	}
}

// TestIdempotencyKeyReusedForAnotherRequest: a retry with the same key
// and arguments answers the first call's outcome; the same key with other
// arguments is refused, since answering the first outcome would let the
// caller believe the second request happened.
func TestIdempotencyKeyReusedForAnotherRequest(t *testing.T) {
	base := startGateway(t, "--config", writeConfig(t, t.TempDir(), ""))
	adjust := func(delta int) []gqlError {
		return gql(t, base, testAdminKey, `mutation($d:Int!){ adjustStock(input:{sku:"IDEM-1", location:"web", delta:$d, reason:"correction", idempotencyKey:"idem-1"}){ applied } }`,
			map[string]any{"d": delta}, nil)
	}
	for i := range 2 {
		if errs := adjust(2); len(errs) > 0 {
			t.Fatalf("call %d with the same arguments: %+v", i+1, errs)
		}
	}
	errs := adjust(3)
	if len(errs) != 1 || errs[0].Extensions["code"] != "BAD_USER_INPUT" || !strings.Contains(errs[0].Message, "other arguments") {
		t.Fatalf("the key reused with delta 3: %+v; want BAD_USER_INPUT", errs)
	}
	// A command refused as invalid leaves its key free for the corrected one.
	transfer := func(to string) []gqlError {
		return gql(t, base, testAdminKey, `mutation($to:String!){ transferStock(input:{sku:"IDEM-1", from:"web", to:$to, quantity:1, idempotencyKey:"idem-t"}){ applied } }`,
			map[string]any{"to": to}, nil)
	}
	if errs := transfer("web"); len(errs) != 1 || errs[0].Extensions["code"] != "BAD_USER_INPUT" {
		t.Fatalf("a transfer to where it is from: %+v; want BAD_USER_INPUT", errs)
	}
	if errs := transfer("berlin"); len(errs) != 0 {
		t.Fatalf("the corrected transfer with the same key: %+v", errs)
	}
	var q struct {
		Availability level `json:"availability"`
	}
	gql(t, base, testStoreKey, `{ availability(sku:"IDEM-1", location:"web"){ onHand } }`, nil, &q)
	if q.Availability.OnHand != 1 {
		t.Errorf("on hand %d, want 1 (one adjustment of 2, one unit moved to berlin)", q.Availability.OnHand)
	}
}
