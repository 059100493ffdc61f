package shopify

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stockgate/stockgate/connectors"
)

func TestNewValidatesEveryField(t *testing.T) {
	t.Parallel()
	_, err := New(Config{
		Secrets:   []string{"ok", ""},
		Shop:      "https://northpeak.myshopify.com",
		Locations: map[string]string{"abc": "x", "-4": "y", "12": "", "+7": "z"},
		Items:     map[string]string{"1.5": "SKU", "99": strings.Repeat("s", 256)},
	})
	if err == nil {
		t.Fatal("New accepted a bad config")
	}
	for _, want := range []string{
		"Config.ID: required",
		"Config.Secrets[1]: empty",
		"Config.Shop:",
		`Config.Locations["abc"]: key is not a Shopify id`,
		`Config.Locations["-4"]: key is not a Shopify id`,
		`Config.Locations["+7"]: key is not a Shopify id`,
		`Config.Locations["12"]: empty value`,
		`Config.Items["1.5"]: key is not a Shopify id`,
		`Config.Items["99"]: value longer than 255 bytes`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not report %q:\n%v", want, err)
		}
	}
	if _, err := New(Config{ID: "x"}); err == nil || !strings.Contains(err.Error(), "Config.Secrets: at least one") {
		t.Errorf("New without secrets: %v", err)
	}
}

func TestNewMinimalConfig(t *testing.T) {
	t.Parallel()
	c, err := New(Config{ID: "s1", Secrets: []string{"k"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != "s1" || c.Kind() != connectors.Shopify {
		t.Errorf("ID, Kind = %q, %q", c.ID(), c.Kind())
	}
}

// The published vector (ref §2.3; shopify-app-js
// packages/apps/shopify-api/lib/webhooks/__tests__/validate.test.ts with
// apiSecretKey "test_secret_key" from lib/__tests__/test-config.ts) and the
// reference's computed negative cases.
const (
	vectorSecret = "test_secret_key"
	vectorBody   = `{"foo": "bar"}`
	vectorHMAC   = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="
	vectorHex    = "076ded5cdebcd60674a8858d46b82dcc113d5d20e8e72694bbac1f9a1bb76bb8"
	// Re-serialised without the space: must not verify (ref §2.3).
	vectorReserialised = `{"foo":"bar"}`
)

func TestVerifyPublishedVector(t *testing.T) {
	t.Parallel()
	if got := hexMAC(vectorSecret, []byte(vectorBody)); got != vectorHex {
		t.Errorf("hex form = %s, want %s (ref §2.3)", got, vectorHex)
	}
	checkVector(t, vectorSecret, []byte(vectorBody), vectorHMAC, []byte(vectorReserialised))
}

// checkVector checks Sign and Verify against a published vector, and that
// the hex form of the MAC and the re-serialised body are rejected.
func checkVector(t *testing.T, secret string, body []byte, want string, reserialised []byte) {
	t.Helper()
	if got := Sign(secret, body); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
	c, err := New(Config{ID: "vector", Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	req := func(body []byte, sig string) *connectors.Request {
		h := http.Header{}
		h.Set(HeaderHMAC, sig)
		h.Set(HeaderTopic, "products/create")
		h.Set(HeaderShopDomain, "shop1.myshopify.io")
		h.Set(HeaderWebhookID, "123456789")
		h.Set(HeaderAPIVersion, "2023-01")
		return &connectors.Request{Header: h, Body: body}
	}
	if err := c.Verify(req(body, want)); err != nil {
		t.Errorf("published vector rejected: %v", err)
	}
	if err := c.Verify(req(body, hexMAC(secret, body))); !errors.Is(err, connectors.ErrUnauthorized) {
		t.Errorf("hex MAC: err = %v, want ErrUnauthorized", err)
	}
	if err := c.Verify(req(reserialised, want)); !errors.Is(err, connectors.ErrUnauthorized) {
		t.Errorf("re-serialised body %s: err = %v, want ErrUnauthorized", reserialised, err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	body := readTestdata(t, "orders_create.json")
	good := Sign(testSecret, body)
	tests := []struct {
		name string
		// edit changes a valid request
		edit   func(h http.Header) http.Header
		body   []byte
		config func(*Config)
		ok     bool
		errHas string
	}{
		{name: "current secret", ok: true},
		{name: "previous secret (rotation)", ok: true, edit: func(h http.Header) http.Header {
			h.Set(HeaderHMAC, Sign(oldSecret, body))
			return h
		}},
		{name: "events family, canonical keys", ok: true, edit: func(h http.Header) http.Header {
			return http.Header{
				http.CanonicalHeaderKey(EventsHeaderHMAC):       {good},
				http.CanonicalHeaderKey(EventsHeaderShopDomain): {testShop},
			}
		}},
		{name: "events family, raw lowercase keys", ok: true, edit: func(h http.Header) http.Header {
			return http.Header{EventsHeaderHMAC: {good}, EventsHeaderShopDomain: {testShop}}
		}},
		{name: "raw lowercase X- keys", ok: true, edit: func(h http.Header) http.Header {
			return http.Header{strings.ToLower(HeaderHMAC): {good}, strings.ToLower(HeaderShopDomain): {testShop}}
		}},
		{name: "shop domain in other case", ok: true, edit: func(h http.Header) http.Header {
			h.Set(HeaderShopDomain, strings.ToUpper(testShop))
			return h
		}},
		{name: "any shop when Shop unset", ok: true, config: func(c *Config) { c.Shop = "" },
			edit: func(h http.Header) http.Header {
				h.Set(HeaderShopDomain, "other.myshopify.com")
				return h
			}},
		{name: "unknown secret", errHas: "does not match", edit: func(h http.Header) http.Header {
			h.Set(HeaderHMAC, Sign("someone-else", body))
			return h
		}},
		{name: "rotated out", errHas: "does not match", config: func(c *Config) { c.Secrets = []string{testSecret} },
			edit: func(h http.Header) http.Header {
				h.Set(HeaderHMAC, Sign(oldSecret, body))
				return h
			}},
		{name: "missing header", errHas: "missing X-Shopify-Hmac-Sha256", edit: func(h http.Header) http.Header {
			h.Del(HeaderHMAC)
			return h
		}},
		{name: "hex form", errHas: "64 characters", edit: func(h http.Header) http.Header {
			h.Set(HeaderHMAC, hexMAC(testSecret, body))
			return h
		}},
		{name: "not base64", errHas: "not standard base64", edit: func(h http.Header) http.Header {
			h.Set(HeaderHMAC, strings.Repeat("*", 43)+"=")
			return h
		}},
		{name: "url-safe alphabet", errHas: "not standard base64", edit: func(h http.Header) http.Header {
			h.Set(HeaderHMAC, strings.Repeat("-", 43)+"=")
			return h
		}},
		{name: "body changed", errHas: "does not match", body: append([]byte(" "), body...)},
		{name: "wrong shop", errHas: "X-Shopify-Shop-Domain", edit: func(h http.Header) http.Header {
			h.Set(HeaderShopDomain, "evil.myshopify.com")
			return h
		}},
		{name: "missing shop", errHas: "X-Shopify-Shop-Domain", edit: func(h http.Header) http.Header {
			h.Del(HeaderShopDomain)
			return h
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mods []func(*Config)
			if tt.config != nil {
				mods = append(mods, tt.config)
			}
			c := newConnector(t, mods...)
			r := newRequest(TopicOrdersCreate, body)
			if tt.edit != nil {
				r.Header = tt.edit(r.Header)
			}
			if tt.body != nil {
				r.Body = tt.body
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

func hexMAC(secret string, body []byte) string {
	mac, err := base64.StdEncoding.DecodeString(Sign(secret, body))
	if err != nil {
		panic(err)
	}
	return hex.EncodeToString(mac)
}
