package graph

import (
	"strings"
	"testing"
)

// TestRedactedJSON: every field whose name speaks of a secret is
// redacted, at any depth; the rest is kept.
func TestRedactedJSON(t *testing.T) {
	type input struct {
		Name    string            `json:"name"`
		Secrets map[string]string `json:"secrets"`
		Token   string            `json:"accessToken"`
		Nested  []map[string]any  `json:"nested"`
	}
	got := redactedJSON(map[string]any{
		"id": "shop-eu",
		"input": input{Name: "eu", Secrets: map[string]string{"webhook": "shpss_1"}, Token: "shpat_2",
			Nested: []map[string]any{{"password": "p4ss", "keep": "yes"}}},
		"idempotencyKey": "k1",
	})
	for _, secret := range []string{"shpss_1", "shpat_2", "p4ss"} {
		if strings.Contains(got, secret) {
			t.Errorf("%s leaked: %s", secret, got)
		}
	}
	for _, kept := range []string{`"id":"shop-eu"`, `"name":"eu"`, `"keep":"yes"`, `"idempotencyKey":"k1"`} {
		if !strings.Contains(got, kept) {
			t.Errorf("%s missing: %s", kept, got)
		}
	}
}
