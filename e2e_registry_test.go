package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/seal"
)

const testSealKey = "8f1c2a3b4c5d6e7f80911a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f"

// postTo sends w signed with secret to connector id.
func postTo(t *testing.T, base, id string, w webhook, secret string) (int, http.Header) {
	t.Helper()
	w.secret = secret
	req := w.request(t, base)
	req.URL.Path = "/webhooks/" + id
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header
}

type connectorView struct {
	ID              string
	Source          string
	Paused          bool
	WebhookSecrets  int
	DefaultLocation *string
}

const connectorFields = `{ id source paused webhookSecrets defaultLocation }`

func connectorMutation(t *testing.T, base, q string, vars map[string]any, field string) (connectorView, []gqlError) {
	t.Helper()
	raw := map[string]json.RawMessage{}
	errs := gql(t, base, testAdminKey, q, vars, &raw)
	var v connectorView
	if len(errs) == 0 {
		if err := json.Unmarshal(raw[field], &v); err != nil {
			t.Fatalf("%s: %s", field, raw[field])
		}
	}
	return v, errs
}

// TestConnectorsConfiguredByMutation: an admin creates a connector, its
// webhooks are served at once; secrets are rotated (the previous one kept
// on request), the connector is paused (503, delivered again later) and
// resumed, changed, and deleted; secrets are sealed at rest and appear in
// no answer, audit entry or store file; with sealed secrets stored, the
// gateway refuses to start without the key and serves them again with it.
func TestConnectorsConfiguredByMutation(t *testing.T) {
	t.Setenv(seal.EnvVar, testSealKey)
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "")
	base := startGateway(t, "--config", cfgPath)

	const s1, s2, s3 = "runtime-secret-one-0123456789", "runtime-secret-two-0123456789", "runtime-secret-three-012345678"
	v, errs := connectorMutation(t, base, `mutation($s:[String!]){ createConnector(
		input:{id:"shop2", kind:"shopify", shop:"e2e-test.myshopify.com", defaultLocation:"web", locations:[{external:"655441491", internal:"berlin"}]},
		secrets:{webhookSecrets:$s}) `+connectorFields+` }`, map[string]any{"s": []string{s1}}, "createConnector")
	if len(errs) != 0 || v.Source != "RUNTIME" || v.WebhookSecrets != 1 || v.Paused {
		t.Fatalf("createConnector = %+v, %+v", v, errs)
	}
	if _, errs := connectorMutation(t, base, `mutation{ createConnector(input:{id:"shop2", kind:"shopify", defaultLocation:"web"}, secrets:{webhookSecrets:["x-0123456789abcdef"]}) { id } }`, nil, "createConnector"); code(errs) != "BAD_USER_INPUT" {
		t.Fatalf("second create with the same id: %+v", errs)
	}
	if _, errs := connectorMutation(t, base, `mutation{ createConnector(input:{id:"bad", kind:"shopify", defaultLocation:"nowhere-but-declared?"}) { id } }`, nil, "createConnector"); code(errs) != "BAD_USER_INPUT" {
		t.Fatalf("create without a secret: %+v", errs)
	}

	w := newOrderWebhook(map[string]int{"RT-1": 2})
	if c, _ := postTo(t, base, "shop2", w, s1); c != http.StatusOK {
		t.Fatalf("webhook to the new connector: %d", c)
	}
	if c, _ := postTo(t, base, "shop2", newOrderWebhook(map[string]int{"RT-1": 1}), "wrong-secret-0123456789"); c != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d, want 401", c)
	}
	var lv struct{ Availability struct{ Committed int64 } }
	waitFor(t, "the order committed", func() bool {
		gql(t, base, testStoreKey, `{ availability(sku:"RT-1", location:"web"){ committed } }`, nil, &lv)
		return lv.Availability.Committed == 2
	})

	// Rotate, keeping the previous secret: both sign; then drop it.
	if v, errs = connectorMutation(t, base, `mutation{ rotateConnectorSecrets(id:"shop2", secrets:{webhookSecrets:["`+s2+`"]}, keepPrevious:true) `+connectorFields+` }`, nil, "rotateConnectorSecrets"); len(errs) != 0 || v.WebhookSecrets != 2 {
		t.Fatalf("rotate keeping the previous = %+v %+v", v, errs)
	}
	for _, s := range []string{s1, s2} {
		if c, _ := postTo(t, base, "shop2", newOrderWebhook(map[string]int{"RT-1": 1}), s); c != http.StatusOK {
			t.Fatalf("after rotation with keepPrevious, %s…: %d", s[:18], c)
		}
	}
	if _, errs = connectorMutation(t, base, `mutation{ rotateConnectorSecrets(id:"shop2", secrets:{webhookSecrets:["`+s3+`"]}) `+connectorFields+` }`, nil, "rotateConnectorSecrets"); len(errs) != 0 {
		t.Fatal(errs)
	}
	if c, _ := postTo(t, base, "shop2", newOrderWebhook(map[string]int{"RT-1": 1}), s2); c != http.StatusUnauthorized {
		t.Fatalf("the dropped secret: %d, want 401", c)
	}

	// Pause: 503 with Retry-After, nothing applied; resume: accepted.
	paused := newOrderWebhook(map[string]int{"RT-P": 5})
	if v, errs = connectorMutation(t, base, `mutation{ pauseConnector(connector:"shop2") `+connectorFields+` }`, nil, "pauseConnector"); len(errs) != 0 || !v.Paused {
		t.Fatalf("pause = %+v %+v", v, errs)
	}
	if c, h := postTo(t, base, "shop2", paused, s3); c != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("webhook while paused: %d Retry-After %q", c, h.Get("Retry-After"))
	}
	if v, errs = connectorMutation(t, base, `mutation{ resumeConnector(connector:"shop2") `+connectorFields+` }`, nil, "resumeConnector"); len(errs) != 0 || v.Paused {
		t.Fatalf("resume = %+v %+v", v, errs)
	}
	if c, _ := postTo(t, base, "shop2", paused, s3); c != http.StatusOK {
		t.Fatalf("the paused webhook delivered again: %d", c)
	}

	// Update: orders now land at berlin.
	if v, errs = connectorMutation(t, base, `mutation{ updateConnector(input:{id:"shop2", kind:"shopify", defaultLocation:"berlin"}) `+connectorFields+` }`, nil, "updateConnector"); len(errs) != 0 || v.DefaultLocation == nil || *v.DefaultLocation != "berlin" || v.WebhookSecrets != 1 {
		t.Fatalf("update = %+v %+v", v, errs)
	}
	if c, _ := postTo(t, base, "shop2", newOrderWebhook(map[string]int{"RT-B": 3}), s3); c != http.StatusOK {
		t.Fatalf("webhook after update: %d", c)
	}
	waitFor(t, "the order at berlin", func() bool {
		gql(t, base, testStoreKey, `{ availability(sku:"RT-B", location:"berlin"){ committed } }`, nil, &lv)
		return lv.Availability.Committed == 3
	})
	// The file's connector can be paused but not changed.
	if _, errs = connectorMutation(t, base, `mutation{ updateConnector(input:{id:"shop", kind:"shopify"}) { id } }`, nil, "updateConnector"); code(errs) != "BAD_USER_INPUT" {
		t.Fatalf("update of the file's connector: %+v", errs)
	}
	if v, errs = connectorMutation(t, base, `mutation{ pauseConnector(connector:"shop") `+connectorFields+` }`, nil, "pauseConnector"); len(errs) != 0 || v.Source != "FILE" || !v.Paused {
		t.Fatalf("pause of the file's connector = %+v %+v", v, errs)
	}
	if c, _ := postTo(t, base, testConnector, newOrderWebhook(map[string]int{"F": 1}), testSecret); c != http.StatusServiceUnavailable {
		t.Fatalf("paused file connector: %d", c)
	}
	if _, errs = connectorMutation(t, base, `mutation{ resumeConnector(connector:"shop") { id } }`, nil, "resumeConnector"); len(errs) != 0 {
		t.Fatal(errs)
	}

	// No secret in any answer or audit entry.
	raw := map[string]any{}
	gql(t, base, testAdminKey, `{ connectorConfigs{ id kind source webhookSecrets apiTokenSet secretsRotatedAt } auditLog(first:100){ edges{ node{ action arguments } } } }`, nil, &raw)
	all, _ := json.Marshal(raw)
	for _, s := range []string{s1, s2, s3} {
		if strings.Contains(string(all), s) {
			t.Fatalf("a secret appears in an answer: %s", all)
		}
	}
	if !strings.Contains(string(all), "[redacted]") || !strings.Contains(string(all), "rotateConnectorSecrets") {
		t.Fatalf("audit log lacks the redacted secret calls: %s", all)
	}

	// Restart without the key: refused. With it: served.
	stopGateway(t, base)
	db, err := os.ReadFile(filepath.Join(dir, "data", "stockgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(db), s3) {
		t.Fatal("the store file holds a secret in clear")
	}
	os.Unsetenv(seal.EnvVar)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = run(ctx, []string{"--config", cfgPath}, io.Discard, func(string) { t.Error("the gateway started without the secret key") })
	if err == nil || !strings.Contains(err.Error(), seal.EnvVar) {
		t.Fatalf("start without the key: %v, want an error naming %s", err, seal.EnvVar)
	}
	t.Setenv(seal.EnvVar, testSealKey)
	base = startGateway(t, "--config", cfgPath)
	if c, _ := postTo(t, base, "shop2", newOrderWebhook(map[string]int{"RT-1": 1}), s3); c != http.StatusOK {
		t.Fatalf("after restart: %d", c)
	}
	if ok, errs := deleteConnector(t, base, "shop2"); !ok || len(errs) != 0 {
		t.Fatal(errs)
	}
	if c, _ := postTo(t, base, "shop2", newOrderWebhook(map[string]int{"RT-1": 1}), s3); c != http.StatusNotFound {
		t.Fatalf("after delete: %d, want 404", c)
	}
}

func deleteConnector(t *testing.T, base, id string) (bool, []gqlError) {
	var out struct{ DeleteConnector bool }
	errs := gql(t, base, testAdminKey, `mutation($id:ID!){ deleteConnector(id:$id) }`, map[string]any{"id": id}, &out)
	return out.DeleteConnector, errs
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
