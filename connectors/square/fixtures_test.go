package square

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stockgate/stockgate/event"
)

// fixtureDir holds the shared Square fixtures: the spec's example events
// and API exchanges and the node-sdk signature vectors (ref §2.3, §3, §4;
// sources in sources.json). The repo is /work/main and the fixtures sit
// beside it in shared/, so from this package they are three levels up.
// They are not copied into the repo.
const fixtureDir = "../../../shared/fixtures/square"

const fixtureID = "square-fixtures"

// fixtureCase is what one fixture file normalizes to.
type fixtureCase struct {
	// outbound: the file is an Inventory API request, not a webhook body;
	// it is only checked to be JSON.
	outbound bool
	// extract, when set, builds the webhook body from the file (the API
	// responses hold InventoryCounts, the same object
	// inventory.count.updated carries, ref §3, §4).
	extract  func(t *testing.T, raw []byte) []byte
	want     []line
	unmapped []string
}

// countsEnvelope wraps the counts of an API response in an
// inventory.count.updated envelope (ref §2.4 "Envelope").
func countsEnvelope(t *testing.T, raw []byte) []byte {
	t.Helper()
	var x struct {
		Counts json.RawMessage `json:"counts"`
	}
	if err := json.Unmarshal(raw, &x); err != nil || len(x.Counts) == 0 {
		t.Fatalf("no counts: %v", err)
	}
	return []byte(`{"merchant_id":"FIXTURE","type":"inventory.count.updated","event_id":"fixture-response",` +
		`"created_at":"2016-11-16T22:28:02Z","data":{"type":"inventory_counts","id":"x","object":{"inventory_counts":` +
		string(x.Counts) + `}}}`)
}

func fixtureCases() map[string]fixtureCase {
	counted := func(sku, loc string, q int64, item, locID, src, calculated string) line {
		return line{event.StockCounted, sku, loc, q, event.StateOnHand, reasonInventoryCount,
			"square:inventory_count:" + item + "@" + locID, src, at(calculated)}
	}
	const order = "eA3vssLHKJrv9H0IdJCM3gNqfdcZY"
	return map[string]fixtureCase{
		"inventory_count_updated_event.json": {want: []line{
			counted("FX-FGQ5", "fx-store", 10, "FGQ5JJWT2PYTHF35CKZ2DSKP", "YYQR03DGCTXA4",
				"df5f3813-a913-45a1-94e9-fdc3f7d5e3b6/0", "2019-10-29T18:38:45.10296Z"),
		}},
		"order_created_event.json": {unmapped: []string{
			"order " + order + ": line items not in the webhook; fetch from the Orders API (state OPEN, version 1, location FPYCBCHYMXFK1)",
		}},
		"order_updated_event.json": {unmapped: []string{
			"order " + order + ": line items not in the webhook; fetch from the Orders API (state OPEN, version 2, location FPYCBCHYMXFK1)",
		}},
		"catalog_version_updated_event.json": {},
		"batch_change_inventory_response.json": {extract: countsEnvelope, want: []line{
			counted("FX-W62U", "fx-c6w5", 53, "W62UWFY35CWMYGVWK6TWJDNI", "C6W5YS5QM06F5",
				"fixture-response/0", "2016-11-16T22:28:01.223Z"),
		}},
		// Location 59TNP9SA8VGDA is deliberately not configured.
		"batch_retrieve_inventory_counts_response.json": {extract: countsEnvelope, unmapped: []string{
			"count 0 (ITEM_VARIATION W62UWFY35CWMYGVWK6TWJDNI at location 59TNP9SA8VGDA): Square location 59TNP9SA8VGDA is not in Locations",
		}},
		"batch_change_inventory_request.json":          {outbound: true},
		"batch_retrieve_inventory_counts_request.json": {outbound: true},
	}
}

// TestSharedFixtures signs, verifies and normalizes every webhook in the
// shared fixture folder and runs the published signature vectors. A new
// fixture without an expectation fails the test.
func TestSharedFixtures(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(fixtureDir)
	if os.IsNotExist(err) {
		t.Skipf("shared fixtures not present at %s", fixtureDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	cases := fixtureCases()
	c := newConnector(t, func(c *Config) {
		c.ID = fixtureID
		c.Locations = map[string]string{"YYQR03DGCTXA4": "fx-store", "C6W5YS5QM06F5": "fx-c6w5"}
		c.Items = map[string]string{"FGQ5JJWT2PYTHF35CKZ2DSKP": "FX-FGQ5", "W62UWFY35CWMYGVWK6TWJDNI": "FX-W62U"}
	})
	seen := 0
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || filepath.Ext(name) != ".json" {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			t.Fatal(err)
		}
		switch name {
		case "sources.json":
			continue
		case "webhook_signature_test_vectors.json":
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				checkVectorFile(t, raw)
			})
			continue
		}
		tc, ok := cases[name]
		if !ok {
			t.Errorf("fixture %s has no expectation in fixtureCases", name)
			continue
		}
		seen++
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if tc.outbound {
				if !json.Valid(raw) {
					t.Fatal("not JSON")
				}
				return
			}
			body := raw
			if tc.extract != nil {
				body = tc.extract(t, raw)
			}
			r := newRequest(body)
			if err := c.Verify(r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			res := normalize(t, c, r)
			if got := lines(t, res.Events); !reflect.DeepEqual(got, nonNil(tc.want)) {
				t.Errorf("events:\n got %+v\nwant %+v", got, tc.want)
			}
			var reasons []string
			for _, d := range res.Unmapped {
				reasons = append(reasons, d.Reason)
			}
			if !reflect.DeepEqual(reasons, tc.unmapped) {
				t.Errorf("unmapped:\n got %q\nwant %q", reasons, tc.unmapped)
			}
		})
	}
	if seen != len(cases) {
		t.Errorf("ran %d of %d expected fixtures; some are missing from %s", seen, len(cases), fixtureDir)
	}
}

// checkVectorFile runs every vector of webhook_signature_test_vectors.json
// and the negative cases it lists from the same node-sdk test (ref §2.3).
func checkVectorFile(t *testing.T, raw []byte) {
	t.Helper()
	var f struct {
		Negative []string `json:"negative_cases_from_same_test"`
		Vectors  []struct {
			Name            string `json:"name"`
			SignatureKey    string `json:"signature_key"`
			NotificationURL string `json:"notification_url"`
			Body            string `json:"body"`
			Expected        string `json:"expected_signature"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			checkVector(t, vector{v.SignatureKey, v.NotificationURL, v.Body, v.Expected})
		})
	}
	// The negative cases are prose; each names the value the test below
	// changes, so the two cannot drift apart.
	joined := strings.Join(f.Negative, "\n")
	for _, want := range []string{negURL, negKey, negHeader, negCreatedAt, "pretty-printed"} {
		if !strings.Contains(joined, want) {
			t.Errorf("negative cases no longer mention %q:\n%s", want, joined)
		}
	}
	v1 := f.Vectors[0]
	checkNegatives(t, vector{v1.SignatureKey, v1.NotificationURL, v1.Body, v1.Expected})
}

// prettyPrinted indents body, as a re-serialising framework would.
func prettyPrinted(t *testing.T, body string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(body), "", "  "); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
