package pos

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
)

func TestNewValidatesEveryField(t *testing.T) {
	t.Parallel()
	_, err := New(Config{
		Secrets:   []string{"ok", ""},
		Tolerance: -time.Second,
		Stores:    map[string]string{"": "x", "berlin": "", "b\nx": "y", strings.Repeat("s", 65): "z", "rome": strings.Repeat("l", 129)},
	})
	if err == nil {
		t.Fatal("New accepted a bad config")
	}
	for _, want := range []string{
		"pos: Config.ID: required",
		"Config.Secrets[1]: empty",
		"Config.Tolerance: -1s is negative",
		`Config.Stores[""]: key is empty`,
		`Config.Stores["berlin"]: value is empty`,
		`Config.Stores["b\nx"]: key contains control characters`,
		`key is longer than 64 bytes`,
		`Config.Stores["rome"]: value is longer than 128 bytes`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not report %q:\n%v", want, err)
		}
	}
	if _, err := New(Config{ID: "x"}); err == nil || !strings.Contains(err.Error(), "Config.Secrets: at least one") {
		t.Errorf("New without secrets: %v", err)
	}
	if _, err := New(Config{ID: strings.Repeat("x", 129), Secrets: []string{"s"}}); err == nil || !strings.Contains(err.Error(), "Config.ID: longer") {
		t.Errorf("New with a long ID: %v", err)
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	c, err := New(Config{ID: "p1", Secrets: []string{"s"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != "p1" || c.Kind() != connectors.POS || c.tolerance != DefaultTolerance || c.now == nil {
		t.Errorf("ID, Kind, tolerance = %q, %q, %v", c.ID(), c.Kind(), c.tolerance)
	}
}

// TestSign checks Sign against the string-to-sign computed independently:
// hex HMAC-SHA256(secret, "<unix seconds>." + body).
func TestSign(t *testing.T) {
	t.Parallel()
	body := []byte(`{"idempotencyKey":"k"}` + "\n")
	ts := time.Date(2026, 11, 20, 11, 0, 0, 999_000_000, time.FixedZone("CET", 3600)) // sub-second part dropped
	m := hmac.New(sha256.New, []byte("s3cret"))
	m.Write([]byte("1795168800." + string(body)))
	want := "t=1795168800,v1=" + hex.EncodeToString(m.Sum(nil))
	if got := Sign("s3cret", ts, body); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	body := readTestdata(t, "mixed_batch.json")
	sig := func(secret string, at time.Time) string { return Sign(secret, at, body) }
	v1 := func(secret string, at time.Time) string {
		_, v, _ := strings.Cut(sig(secret, at), ",")
		return v
	}
	ts := "t=" + strconv.FormatInt(testSigned.Unix(), 10)
	tests := []struct {
		name   string
		header string // the Stockgate-Signature value; "-" for none
		edit   func(r *connectors.Request)
		config func(*Config)
		ok     bool
		errHas string
	}{
		{name: "current secret", header: sig(testSecret, testSigned), ok: true},
		{name: "previous secret (rotation)", header: sig(oldSecret, testSigned), ok: true},
		{name: "one v1 per secret, unknown one first", header: ts + "," + v1("new-unknown", testSigned) + "," + v1(oldSecret, testSigned), ok: true},
		{name: "spaces and an unknown scheme", header: ts + ", v0=abc , " + v1(testSecret, testSigned), ok: true},
		{name: "v1 before t", header: v1(testSecret, testSigned) + "," + ts, ok: true},
		{name: "uppercase hex", header: "v1=" + strings.ToUpper(v1(testSecret, testSigned)[3:]) + "," + ts, ok: true},
		{name: "lowercase header key", ok: true, edit: func(r *connectors.Request) {
			r.Header = http.Header{"stockgate-signature": {sig(testSecret, testSigned)}}
		}},
		{name: "just within tolerance, past", header: sig(testSecret, testReceived.Add(-5*time.Minute)), ok: true},
		{name: "just within tolerance, future", header: sig(testSecret, testReceived.Add(5*time.Minute)), ok: true},
		{name: "outside tolerance, past (a replay)", header: sig(testSecret, testReceived.Add(-5*time.Minute-time.Second)), errHas: "more than the tolerance 5m0s"},
		{name: "outside tolerance, future", header: sig(testSecret, testReceived.Add(5*time.Minute+time.Second)), errHas: "-5m1s from the time received"},
		{name: "a wider tolerance", header: sig(testSecret, testReceived.Add(-time.Hour)), ok: true,
			config: func(c *Config) { c.Tolerance = 2 * time.Hour }},
		{name: "no ReceivedAt: Config.Now", header: sig(testSecret, testReceived.Add(time.Minute)), ok: true,
			edit: func(r *connectors.Request) { r.ReceivedAt = time.Time{} }},
		{name: "no ReceivedAt, stale against Config.Now", header: sig(testSecret, testReceived.Add(-5*time.Minute)), errHas: "tolerance",
			edit: func(r *connectors.Request) { r.ReceivedAt = time.Time{} }},
		{name: "far-future timestamp", header: "t=999999999999," + v1(testSecret, testSigned), errHas: "does not match"},
		{name: "far-future timestamp, correctly signed", errHas: "tolerance", edit: func(r *connectors.Request) {
			m := hmac.New(sha256.New, []byte(testSecret))
			m.Write(append([]byte("999999999999."), body...))
			r.Header.Set(HeaderSignature, "t=999999999999,v1="+hex.EncodeToString(m.Sum(nil)))
		}},
		{name: "timestamp not the signed one", header: "t=" + strconv.FormatInt(testSigned.Unix()+1, 10) + "," + v1(testSecret, testSigned), errHas: "does not match"},
		{name: "unknown secret", header: sig("someone-else", testSigned), errHas: "does not match"},
		{name: "rotated out", header: sig(oldSecret, testSigned), errHas: "does not match",
			config: func(c *Config) { c.Secrets = []string{testSecret} }},
		{name: "body changed", header: sig(testSecret, testSigned), errHas: "does not match",
			edit: func(r *connectors.Request) { r.Body = append(append([]byte(nil), body...), ' ') }},
		{name: "missing header", header: "-", errHas: "missing Stockgate-Signature"},
		{name: "no t", header: v1(testSecret, testSigned), errHas: "no t="},
		{name: "no v1", header: ts, errHas: "no v1="},
		{name: "two t", header: ts + "," + ts + "," + v1(testSecret, testSigned), errHas: "more than one t="},
		{name: "t with a leading zero", header: "t=0" + ts[2:] + "," + v1(testSecret, testSigned), errHas: "is not a Unix time"},
		{name: "t with a sign", header: "t=+" + ts[2:] + "," + v1(testSecret, testSigned), errHas: "is not a Unix time"},
		{name: "t in milliseconds", header: "t=" + strconv.FormatInt(testSigned.UnixMilli(), 10) + "," + v1(testSecret, testSigned), errHas: "is not a Unix time in seconds"},
		{name: "t not a number", header: "t=now," + v1(testSecret, testSigned), errHas: "is not a Unix time"},
		{name: "t zero", header: "t=0," + v1(testSecret, testSigned), errHas: "is not a Unix time"},
		{name: "element without =", header: ts + ",v1", errHas: "is not key=value"},
		{name: "v1 base64 instead of hex", header: ts + ",v1=" + strings.Repeat("A", 43) + "=", errHas: "44 characters, want 64"},
		{name: "v1 not hex", header: ts + ",v1=" + strings.Repeat("g", 64), errHas: "not hex"},
		{name: "header too long", header: ts + strings.Repeat(","+v1(testSecret, testSigned), 20), errHas: "more than 1024"},
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
			switch tt.header {
			case "":
			case "-":
				r.Header.Del(HeaderSignature)
			default:
				r.Header.Set(HeaderSignature, tt.header)
			}
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
