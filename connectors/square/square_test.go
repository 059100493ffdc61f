package square

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stockgate/stockgate/connectors"
)

func TestNewValidatesEveryField(t *testing.T) {
	t.Parallel()
	_, err := New(Config{
		SignatureKeys:   []string{"ok", ""},
		NotificationURL: "stockgate.example.com/webhooks/sq",
		Locations:       map[string]string{"": "x", "L 1": "y", "L2": ""},
		Items:           map[string]string{"V1": strings.Repeat("s", 256), "V\t2": "SKU"},
	})
	if err == nil {
		t.Fatal("New accepted a bad config")
	}
	for _, want := range []string{
		"square: Config.ID: required",
		"Config.SignatureKeys[1]: empty",
		`Config.NotificationURL: "stockgate.example.com/webhooks/sq" is not an absolute http(s) URL`,
		`Config.Locations[""]: key is not a Square id`,
		`Config.Locations["L 1"]: key is not a Square id`,
		`Config.Locations["L2"]: empty value`,
		`Config.Items["V1"]: value longer than 255 bytes`,
		`Config.Items["V\t2"]: key is not a Square id`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not report %q:\n%v", want, err)
		}
	}
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{ID: "x"}, "Config.SignatureKeys: at least one"},
		{Config{ID: strings.Repeat("x", 129), SignatureKeys: []string{"k"}}, "Config.ID: longer than 128 bytes"},
		{Config{ID: "x", SignatureKeys: []string{"k"}, NotificationURL: testURL + " "}, "leading or trailing space"},
		{Config{ID: "x", SignatureKeys: []string{"k"}, NotificationURL: "ftp://h/x"}, "not an absolute http(s) URL"},
		{Config{ID: "x", SignatureKeys: []string{"k"}, NotificationURL: "https://h/%zz"}, "Config.NotificationURL:"},
	} {
		if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func TestNewMinimalConfig(t *testing.T) {
	t.Parallel()
	c, err := New(Config{ID: "sq1", SignatureKeys: []string{"k"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != "sq1" || c.Kind() != connectors.Square {
		t.Errorf("ID, Kind = %q, %q", c.ID(), c.Kind())
	}
}

// vector is a published signature vector (ref §2.3).
type vector struct{ key, url, body, sig string }

// The vectors of ref §2.3, published in node-sdk
// test/utilities/webhooksHelper.test.ts; also in the shared fixture
// webhook_signature_test_vectors.json, which TestSharedFixtures runs.
var publishedVectors = []vector{
	{
		"Ibxx_5AKakO-3qeNVR61Dw", "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9",
		`{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}`,
		"GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=",
	},
	{"signature-key", "https://webhook.site/webhooks", `{"data":{"type":"webhooks","id":"fake_id"}}`, "W3FlCNk5IA3ZQ2LHTWoajvzfaDu/OwY2tNHIHC3IUOA="},
	// '<' and '>' are signed as raw bytes, not HTML-escaped (ref §2.3).
	{"signature-key", "https://webhook.site/webhooks", `{"data":{"type":"webhooks","id":">id<"}}`, "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U="},
}

// The must-reject changes against vector 1 (ref §2.3).
const (
	negURL       = "https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9" // one character dropped
	negKey       = "MCmhFRxGX82xMwg5FsaoQA"
	negHeader    = "1z2n3DEJJiUPKcPzQo1ftvbxGdw="
	negCreatedAt = "2022-06-13T20:30:59.037339943Z"
)

func TestVerifyPublishedVectors(t *testing.T) {
	t.Parallel()
	for _, v := range publishedVectors {
		checkVector(t, v)
	}
	checkNegatives(t, publishedVectors[0])
}

// checkVector checks Sign against a published vector, and that Verify
// accepts it both with the URL configured and taken from the request.
func checkVector(t *testing.T, v vector) {
	t.Helper()
	if got := Sign(v.key, v.url, []byte(v.body)); got != v.sig {
		t.Errorf("Sign(%q, %q, body) = %q, want %q", v.key, v.url, got, v.sig)
	}
	for _, c := range vectorConnectors(t, v.key, v.url) {
		if err := c.Verify(vectorRequest(v.url, []byte(v.body), v.sig)); err != nil {
			t.Errorf("published vector %s rejected: %v", v.sig, err)
		}
	}
}

// checkNegatives checks that every must-reject change against v fails.
func checkNegatives(t *testing.T, v vector) {
	t.Helper()
	if !strings.Contains(v.body, "2022-07-13T20:30:59.037339943Z") {
		t.Fatalf("vector body changed: %s", v.body)
	}
	cases := []struct {
		name      string
		key, url  string
		body, sig string
	}{
		{name: "URL with a character dropped", key: v.key, url: negURL, body: v.body, sig: v.sig},
		{name: "other signature key", key: negKey, url: v.url, body: v.body, sig: v.sig},
		{name: "other signature header", key: v.key, url: v.url, body: v.body, sig: negHeader},
		{name: "created_at changed", key: v.key, url: v.url, body: strings.Replace(v.body, "2022-07-13", "2022-06-13", 1), sig: v.sig},
		{name: "pretty-printed body", key: v.key, url: v.url, body: string(prettyPrinted(t, v.body)), sig: v.sig},
	}
	for _, tc := range cases {
		for _, c := range vectorConnectors(t, tc.key, tc.url) {
			if err := c.Verify(vectorRequest(tc.url, []byte(tc.body), tc.sig)); !errors.Is(err, connectors.ErrUnauthorized) {
				t.Errorf("%s: Verify = %v, want ErrUnauthorized", tc.name, err)
			}
		}
	}
}

// vectorConnectors returns a connector with the URL configured and one
// that takes it from the request.
func vectorConnectors(t *testing.T, key, url string) []*Connector {
	t.Helper()
	a, err := New(Config{ID: "vector", SignatureKeys: []string{key}, NotificationURL: url})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{ID: "vector", SignatureKeys: []string{key}})
	if err != nil {
		t.Fatal(err)
	}
	return []*Connector{a, b}
}

func vectorRequest(url string, body []byte, sig string) *connectors.Request {
	// Square sends lowercase names (ref §2.1); set as a hand-built map
	// would, without canonicalisation.
	return &connectors.Request{Header: http.Header{"x-square-hmacsha256-signature": {sig}}, Body: body, URL: url}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	body := readTestdata(t, "inventory_count_updated_sale.json")
	tests := []struct {
		name   string
		edit   func(r *connectors.Request)
		config func(*Config)
		ok     bool
		errHas string
	}{
		{name: "current key over the configured URL", ok: true},
		{name: "previous key (rotation)", ok: true, edit: func(r *connectors.Request) {
			r.Header.Set(HeaderSignature, Sign(oldKey, testURL, body))
		}},
		{name: "lowercase header key", ok: true, edit: func(r *connectors.Request) {
			r.Header = http.Header{"x-square-hmacsha256-signature": {Sign(testKey, testURL, body)}}
		}},
		{name: "request URL when none is configured", ok: true, config: func(c *Config) { c.NotificationURL = "" },
			edit: func(r *connectors.Request) { r.URL = testURL }},
		{name: "configured URL wins over the request URL", errHas: "configured notification URL", edit: func(r *connectors.Request) {
			r.URL = "https://attacker.example/x"
			r.Header.Set(HeaderSignature, Sign(testKey, r.URL, body))
		}},
		{name: "http instead of https", errHas: "does not match", edit: func(r *connectors.Request) {
			r.Header.Set(HeaderSignature, Sign(testKey, strings.Replace(testURL, "https", "http", 1), body))
		}},
		{name: "trailing slash", errHas: "does not match", edit: func(r *connectors.Request) {
			r.Header.Set(HeaderSignature, Sign(testKey, testURL+"/", body))
		}},
		{name: "body alone, without the URL", errHas: "does not match", edit: func(r *connectors.Request) {
			r.Header.Set(HeaderSignature, Sign(testKey, "", body))
		}},
		{name: "no URL at all", errHas: "no notification URL", config: func(c *Config) { c.NotificationURL = "" },
			edit: func(r *connectors.Request) { r.URL = "" }},
		{name: "unknown key", errHas: "does not match", edit: func(r *connectors.Request) {
			r.Header.Set(HeaderSignature, Sign("someone-else", testURL, body))
		}},
		{name: "rotated out", errHas: "does not match", config: func(c *Config) { c.SignatureKeys = []string{testKey} },
			edit: func(r *connectors.Request) { r.Header.Set(HeaderSignature, Sign(oldKey, testURL, body)) }},
		{name: "missing header", errHas: "missing X-Square-Hmacsha256-Signature", edit: func(r *connectors.Request) {
			r.Header.Del(HeaderSignature)
		}},
		{name: "legacy SHA-1 header alone", errHas: "missing X-Square-Hmacsha256-Signature", edit: func(r *connectors.Request) {
			r.Header.Del(HeaderSignature)
			r.Header.Set(HeaderLegacySignature, sha1MAC(testKey, testURL, body))
		}},
		{name: "legacy SHA-1 value in the SHA-256 header", errHas: "28 characters", edit: func(r *connectors.Request) {
			r.Header.Set(HeaderSignature, sha1MAC(testKey, testURL, body))
		}},
		{name: "not base64", errHas: "not standard base64", edit: func(r *connectors.Request) {
			r.Header.Set(HeaderSignature, strings.Repeat("*", 43)+"=")
		}},
		{name: "url-safe alphabet", errHas: "not standard base64", edit: func(r *connectors.Request) {
			r.Header.Set(HeaderSignature, strings.Repeat("_", 43)+"=")
		}},
		{name: "body changed", errHas: "does not match", edit: func(r *connectors.Request) { r.Body = append([]byte(" "), body...) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mods []func(*Config)
			if tt.config != nil {
				mods = append(mods, tt.config)
			}
			c := newConnector(t, mods...)
			r := newRequest(body)
			if tt.edit != nil {
				tt.edit(r)
			}
			err := c.Verify(r)
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
}

// TestVerifyErrorHidesURL: a URL may carry a token, so errors (which are
// logged) do not quote it.
func TestVerifyErrorHidesURL(t *testing.T) {
	t.Parallel()
	secretURL := "https://stockgate.example.com/webhooks/sq?token=hunter2"
	c := newConnector(t, func(c *Config) { c.NotificationURL = secretURL })
	err := c.Verify(newRequest([]byte(`{}`)))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Verify = %v", err)
	}
}

// sha1MAC is the legacy x-square-signature form (ref §2.1).
func sha1MAC(key, url string, body []byte) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(url))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
