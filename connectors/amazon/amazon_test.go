package amazon

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/connectortest"
)

func TestNewValidatesEveryField(t *testing.T) {
	t.Parallel()
	_, err := New(Config{
		SellerID: "A1 B2",
		SNS: SNSConfig{
			AllowedTopicARNs: []string{"my-topic", "arn:aws:sns:us-east-1:1:t", ""},
			AllowedCertHosts: []string{"https://sns.us-east-1.amazonaws.com", ""},
		},
		EventBridge:     EventBridgeConfig{AuthHeader: "x api key", Secrets: []string{"ok", ""}},
		Locations:       map[string]string{"": "x", usMarket: ""},
		DefaultLocation: strings.Repeat("l", 129),
		SKUs:            map[string]string{"A": strings.Repeat("s", 256)},
	})
	if err == nil {
		t.Fatal("New accepted a bad config")
	}
	for _, want := range []string{
		"Config.ID: required",
		"Config.SellerID:",
		`Config.SNS.AllowedTopicARNs[0]: "my-topic" is not a topic ARN`,
		`Config.SNS.AllowedTopicARNs[2]`,
		`Config.SNS.AllowedCertHosts[0]: "https://sns.us-east-1.amazonaws.com" is not a host`,
		`Config.SNS.AllowedCertHosts[1]`,
		`Config.EventBridge.AuthHeader: "x api key" is not an HTTP header name`,
		"Config.EventBridge.Secrets[1]: empty",
		`Config.Locations[""]: empty key`,
		`Config.Locations["ATVPDKIKX0DER"]: empty value`,
		"Config.DefaultLocation: longer than 128 bytes",
		`Config.SKUs["A"]: value longer than 255 bytes`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not report %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "AllowedTopicARNs[1]") {
		t.Errorf("a valid ARN was reported:\n%v", err)
	}
}

func TestNewMinimalConfig(t *testing.T) {
	t.Parallel()
	c, err := New(Config{ID: "amz"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != "amz" || c.Kind() != connectors.Amazon {
		t.Errorf("ID, Kind = %q, %q", c.ID(), c.Kind())
	}
	// With neither SNS topics nor secrets configured, nothing verifies.
	f := newSNSFake(t)
	body := readTestdata(t, "listings_item_mfn_quantity_change.json")
	if err := c.Verify(snsNotification(f.host(), "2", body).request()); !errors.Is(err, connectors.ErrUnauthorized) {
		t.Errorf("SNS with no allowed topics: %v", err)
	}
	if err := c.Verify(ebRequest(ebEnvelope(body), "anything")); !errors.Is(err, connectors.ErrUnauthorized) || !strings.Contains(err.Error(), "no EventBridge.Secrets") {
		t.Errorf("header auth with no secrets: %v", err)
	}
}

// TestEventBridge covers what the conformance suite cannot for
// header-authenticated deliveries (see TestConformance): acceptance with
// each secret, rejection, duplicates, and the same events as over SNS.
func TestEventBridge(t *testing.T) {
	t.Parallel()
	f := newSNSFake(t)
	orders := newOrdersFake(t)
	c := newConnector(t, f, func(c *Config) { c.OrderItems = orders.client(t) })
	ctx := context.Background()
	for _, nc := range notificationCases() {
		t.Run(nc.file, func(t *testing.T) {
			t.Parallel()
			notification := readTestdata(t, nc.file)
			for _, r := range []*connectors.Request{
				ebRequest(ebEnvelope(notification), testAPIKey),
				ebRequest(ebEnvelope(notification), oldAPIKey), // rotation
				ebRequest(notification, testAPIKey),            // a bare notification (Amazon's sample forwarder)
			} {
				if err := c.Verify(r); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				a, err := c.Normalize(ctx, connectortest.Clone(r))
				if err != nil {
					t.Fatalf("Normalize: %v", err)
				}
				connectortest.Check(t, nc.file, a, nc.want, nc.unmapped)
				b, err := c.Normalize(ctx, connectortest.Clone(r))
				if err != nil {
					t.Fatal(err)
				}
				if a.DedupKey == "" || a.DedupKey != b.DedupKey || len(a.Events) != len(b.Events) {
					t.Fatalf("redelivery: %q vs %q", a.DedupKey, b.DedupKey)
				}
				for i := range a.Events {
					if a.Events[i].ID() != b.Events[i].ID() {
						t.Errorf("event %d id differs on redelivery", i)
					}
				}
				// The same notification over SNS gives the same result.
				s, err := c.Normalize(ctx, snsNotification(f.host(), "2", notification).request())
				if err != nil {
					t.Fatal(err)
				}
				if s.DedupKey != a.DedupKey || len(s.Events) != len(a.Events) {
					t.Errorf("over SNS: %q, %d events; over EventBridge: %q, %d", s.DedupKey, len(s.Events), a.DedupKey, len(a.Events))
				}
				for i := range s.Events {
					if s.Events[i].ID() != a.Events[i].ID() {
						t.Errorf("event %d id differs between SNS and EventBridge", i)
					}
				}
			}
		})
	}
}

func TestVerifyHeader(t *testing.T) {
	t.Parallel()
	f := newSNSFake(t)
	body := ebEnvelope(readTestdata(t, "listings_item_mfn_quantity_change.json"))
	tests := []struct {
		name   string
		header http.Header
		config func(*Config)
		ok     bool
		errHas string
	}{
		{name: "current secret", header: http.Header{"X-Api-Key": {testAPIKey}}, ok: true},
		{name: "previous secret", header: http.Header{"X-Api-Key": {oldAPIKey}}, ok: true},
		{name: "raw lower-case key", header: http.Header{"x-api-key": {testAPIKey}}, ok: true},
		{name: "wrong secret", header: http.Header{"X-Api-Key": {"sg-eb-key-guess"}}, errHas: "matches none of 2 secrets"},
		{name: "secret as a prefix", header: http.Header{"X-Api-Key": {testAPIKey + "x"}}, errHas: "matches none"},
		{name: "rotated out", header: http.Header{"X-Api-Key": {oldAPIKey}}, errHas: "matches none",
			config: func(c *Config) { c.EventBridge.Secrets = []string{testAPIKey} }},
		{name: "missing header", header: http.Header{"Authorization": {testAPIKey}}, errHas: "missing X-Api-Key"},
		{name: "Authorization: Bearer", header: http.Header{"Authorization": {"Bearer " + testAPIKey}}, ok: true,
			config: func(c *Config) { c.EventBridge.AuthHeader = "" }},
		{name: "Authorization: bare secret", header: http.Header{"Authorization": {testAPIKey}}, ok: true,
			config: func(c *Config) { c.EventBridge.AuthHeader = "" }},
		{name: "Authorization: Basic (BASIC connection)", header: http.Header{"Authorization": {"Basic c2c6cGFzcw=="}}, ok: true,
			config: func(c *Config) {
				c.EventBridge.AuthHeader, c.EventBridge.Secrets = "Authorization", []string{"Basic c2c6cGFzcw=="}
			}},
		{name: "Bearer only for Authorization", header: http.Header{"X-Api-Key": {"Bearer " + testAPIKey}}, errHas: "matches none"},
		// An SNS raw delivery carries no signature (ref §2.4): header auth.
		{name: "SNS raw delivery", header: http.Header{"X-Amz-Sns-Rawdelivery": {"true"}, "X-Amz-Sns-Message-Type": {"Notification"}, "X-Api-Key": {testAPIKey}}, ok: true},
		// An SNS header without raw delivery demands an SNS signature.
		{name: "SNS header, not SNS body", header: http.Header{"X-Amz-Sns-Message-Type": {"Notification"}, "X-Api-Key": {testAPIKey}}, errHas: "not an SNS message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mods []func(*Config)
			if tt.config != nil {
				mods = append(mods, tt.config)
			}
			c := newConnector(t, f, mods...)
			err := c.Verify(requestAt(tt.header, body))
			switch {
			case tt.ok && err != nil:
				t.Fatalf("Verify: %v", err)
			case !tt.ok && !errors.Is(err, connectors.ErrUnauthorized):
				t.Fatalf("Verify = %v, want ErrUnauthorized", err)
			case !tt.ok && !strings.Contains(err.Error(), tt.errHas):
				t.Fatalf("Verify = %v, want it to mention %q", err, tt.errHas)
			}
		})
	}
	// An SNS-shaped body is judged by its SNS signature, never by the
	// header: a valid API key does not make a forged SNS message pass.
	c := newConnector(t, f)
	m := snsNotification(f.host(), "2", readTestdata(t, "listings_item_mfn_quantity_change.json"))
	m.sign(otherSigner())
	r := ebRequest(m.body(), testAPIKey)
	if err := c.Verify(r); !errors.Is(err, connectors.ErrUnauthorized) {
		t.Errorf("forged SNS body with the API key: %v", err)
	}
}
