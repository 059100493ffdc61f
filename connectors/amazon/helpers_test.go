package amazon

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
)

// Test configuration: stockgate's own ids, shaped like Amazon's (ref §4
// fixtures: 14-character seller ids, 3-7-7 order ids, marketplace ids from
// ref §6.3).
const (
	testID         = "amazon-na"
	testSeller     = "A1SGNORTHPEAK7"
	testTopic      = "arn:aws:sns:us-east-1:123456789012:sp-api-notifications"
	testAuthHeader = "x-api-key"
	testAPIKey     = "sg-eb-key-current-6a615540a0a4"
	oldAPIKey      = "sg-eb-key-previous-0d1e2f3a4b5c"
	usMarket       = "ATVPDKIKX0DER"
	mxMarket       = "A1AM78C64UM0Y8"
	renoSupply     = "6c1f0e52-8a7d-4f3b-9e21-0d5b7a3c4e11"
	// ebSource is an SP-API partner event source (ref §2.3:
	// aws.partner/sellingpartnerapi.amazon.com/{AWS Account Id}/{Application Id}).
	ebSource    = "aws.partner/sellingpartnerapi.amazon.com/123456789012/amzn1.sellerapps.app.5e2b7c1d-0f4a-4b8e-9c3d-2a1f0e9d8c7b"
	accessToken = "Atza|IwEBIstockgate-test-token"
)

// testNow is the connector's clock: the ReceivedAt of
// connectortest.Request, inside the test certificate's validity.
var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// signer is an RSA key and a self-signed certificate for it, standing in
// for an SNS signing certificate.
type signer struct {
	key     *rsa.PrivateKey
	certPEM []byte
}

func newSigner(cn string, notBefore, notAfter time.Time) *signer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return &signer{key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// The keys are generated once per test binary.
var (
	goodSigner = sync.OnceValue(func() *signer {
		return newSigner("sns.amazonaws.com", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC))
	})
	expiredSigner = sync.OnceValue(func() *signer {
		return newSigner("sns.amazonaws.com", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	})
	otherSigner = sync.OnceValue(func() *signer {
		return newSigner("impostor", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC))
	})
)

// Certificate paths the fake SNS host serves, named like SNS's own
// (fixtures/amazon/sns_notification.sample.json:
// /SimpleNotificationService-<hash>.pem).
const (
	certPath        = "/SimpleNotificationService-5f0c6f4e3c554d4e9a517b1a9c1f0a11.pem"
	expiredCertPath = "/SimpleNotificationService-expired.pem"
)

// snsFake is an HTTPS server standing in for an SNS endpoint: it serves the
// signing certificates and answers SubscribeURL visits, recording them.
type snsFake struct {
	srv *httptest.Server

	mu        sync.Mutex
	confirms  []url.Values // query of each ConfirmSubscription GET
	certGets  int
	failToken string // a Token whose confirmation answers 500
}

func newSNSFake(t testing.TB) *snsFake {
	t.Helper()
	f := &snsFake{}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	// Clients of a closed test's fake log TLS handshake errors; not news.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *snsFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == certPath:
		f.certGets++
		_, _ = w.Write(goodSigner().certPEM)
	case r.Method == http.MethodGet && r.URL.Path == expiredCertPath:
		f.certGets++
		_, _ = w.Write(expiredSigner().certPEM)
	case r.Method == http.MethodGet && r.URL.Path == "/" && r.URL.Query().Get("Action") == "ConfirmSubscription":
		q := r.URL.Query()
		f.confirms = append(f.confirms, q)
		if q.Get("Token") == f.failToken {
			http.Error(w, "InternalFailure", http.StatusInternalServerError)
			return
		}
		// The SNS query API answers ConfirmSubscription with XML holding
		// the SubscriptionArn (https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html).
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ConfirmSubscriptionResult><SubscriptionArn>%s:sg</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>`, q.Get("TopicArn"))
	default:
		http.NotFound(w, r)
	}
}

func (f *snsFake) host() string { return f.srv.Listener.Addr().String() }

func (f *snsFake) confirmations() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.confirms...)
}

func (f *snsFake) certFetches() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.certGets
}

// testConfig is the configuration most tests use, trusting f as the SNS
// host (nil: the default AWS hosts and client).
func testConfig(f *snsFake) Config {
	var sns SNSConfig
	if f != nil {
		sns.AllowedCertHosts = []string{f.host()}
		sns.HTTPClient = f.srv.Client()
	}
	sns.AllowedTopicARNs = []string{testTopic}
	return Config{
		ID:       testID,
		SellerID: testSeller,
		SNS:      sns,
		EventBridge: EventBridgeConfig{
			AuthHeader: testAuthHeader,
			Secrets:    []string{testAPIKey, oldAPIKey},
		},
		Locations:       map[string]string{usMarket: "amazon-fba-us", renoSupply: "reno-dc"},
		DefaultLocation: "main-wh",
		SKUs:            map[string]string{"NP-SOCK-MOSS-M": "SOCK-TRL-M-MOSS"},
		Now:             func() time.Time { return testNow },
	}
}

// newConnector returns a connector on testConfig(f), changed by each mod.
func newConnector(tb testing.TB, f *snsFake, mods ...func(*Config)) *Connector {
	tb.Helper()
	cfg := testConfig(f)
	for _, m := range mods {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// snsMsg is an SNS HTTP/S message, with the keys in the order SNS sends
// them (fixtures/amazon/sns_*.sample.json).
type snsMsg struct {
	Type             string  `json:"Type"`
	MessageID        string  `json:"MessageId"`
	Token            string  `json:"Token,omitempty"`
	TopicARN         string  `json:"TopicArn"`
	Subject          *string `json:"Subject,omitempty"`
	Message          string  `json:"Message"`
	SubscribeURL     string  `json:"SubscribeURL,omitempty"`
	Timestamp        string  `json:"Timestamp"`
	SignatureVersion string  `json:"SignatureVersion"`
	Signature        string  `json:"Signature"`
	SigningCertURL   string  `json:"SigningCertURL"`
	UnsubscribeURL   string  `json:"UnsubscribeURL,omitempty"`
}

// testStringToSign is the test's own rendering of the SNS string to sign
// (ref §2.4; sns-guide doc_source/SendMessageToHttp.verify.signature.md),
// written apart from the connector's so that a mistake in one shows.
func testStringToSign(m *snsMsg) string {
	var pairs []string
	switch m.Type {
	case SNSNotification:
		pairs = []string{"Message", m.Message, "MessageId", m.MessageID}
		if m.Subject != nil {
			pairs = append(pairs, "Subject", *m.Subject)
		}
		pairs = append(pairs, "Timestamp", m.Timestamp, "TopicArn", m.TopicARN, "Type", m.Type)
	default:
		pairs = []string{"Message", m.Message, "MessageId", m.MessageID, "SubscribeURL", m.SubscribeURL,
			"Timestamp", m.Timestamp, "Token", m.Token, "TopicArn", m.TopicARN, "Type", m.Type}
	}
	var b strings.Builder
	for i := 0; i < len(pairs); i += 2 {
		b.WriteString(pairs[i] + "\n" + pairs[i+1] + "\n")
	}
	return b.String()
}

// sign sets m.Signature, signing with s under m.SignatureVersion (1:
// SHA1withRSA, 2: SHA256withRSA, ref §2.4).
func (m *snsMsg) sign(s *signer) *snsMsg {
	msg := []byte(testStringToSign(m))
	var sig []byte
	var err error
	if m.SignatureVersion == "1" {
		d := sha1.Sum(msg)
		sig, err = rsa.SignPKCS1v15(nil, s.key, crypto.SHA1, d[:])
	} else {
		d := sha256.Sum256(msg)
		sig, err = rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, d[:])
	}
	if err != nil {
		panic(err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	return m
}

// testVerifySNS checks body's signature with the good key, by the test's
// own string to sign. The fuzz test holds Verify to it.
func testVerifySNS(body []byte) bool {
	var m snsMsg
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return false
	}
	msg := []byte(testStringToSign(&m))
	pub := &goodSigner().key.PublicKey
	switch m.SignatureVersion {
	case "1":
		d := sha1.Sum(msg)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA1, d[:], sig) == nil
	case "2":
		d := sha256.Sum256(msg)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig) == nil
	}
	return false
}

func (m *snsMsg) body() []byte {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

// request is the delivery SNS makes of m, with the headers of ref §2.4.
func (m *snsMsg) request() *connectors.Request {
	h := http.Header{}
	h.Set(HeaderSNSMessageType, m.Type)
	h.Set(HeaderSNSMessageID, m.MessageID)
	h.Set(HeaderSNSTopicARN, m.TopicARN)
	if m.Type != SNSSubscriptionConfirmation {
		h.Set("X-Amz-Sns-Subscription-Arn", m.TopicARN+":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55")
	}
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("User-Agent", "Amazon Simple Notification Service Agent")
	r := requestAt(h, m.body())
	return r
}

func requestAt(h http.Header, body []byte) *connectors.Request {
	return &connectors.Request{Header: h, Body: body, URL: "https://gateway.example/webhooks/" + testID, ReceivedAt: testNow}
}

// messageID derives a stable SNS MessageId from seed.
func messageID(seed string) string {
	return event.DeterministicID("sns-test", seed)
}

// snsNotification wraps a notification in an SNS Notification from
// testTopic, certificate on host (a host:port), signed with the good key
// under version.
func snsNotification(host, version string, notification []byte) *snsMsg {
	m := &snsMsg{
		Type:             SNSNotification,
		MessageID:        messageID(string(notification)),
		TopicARN:         testTopic,
		Message:          string(notification),
		Timestamp:        "2026-11-19T08:15:31.500Z",
		SignatureVersion: version,
		SigningCertURL:   "https://" + host + certPath,
		UnsubscribeURL:   "https://" + host + "/?Action=Unsubscribe&SubscriptionArn=" + testTopic + ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
	}
	return m.sign(goodSigner())
}

// snsConfirmation is a SubscriptionConfirmation (or, with typ, an
// UnsubscribeConfirmation) for testTopic with token.
func snsConfirmation(host, typ, token string) *snsMsg {
	m := &snsMsg{
		Type:      typ,
		MessageID: messageID(typ + token),
		Token:     token,
		TopicARN:  testTopic,
		Message: "You have chosen to subscribe to the topic " + testTopic +
			".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL:     "https://" + host + "/?Action=ConfirmSubscription&TopicArn=" + testTopic + "&Token=" + token,
		Timestamp:        "2026-11-19T08:00:00.000Z",
		SignatureVersion: "2",
		SigningCertURL:   "https://" + host + certPath,
	}
	return m.sign(goodSigner())
}

// ebEnvelope wraps a notification in an EventBridge event from the SP-API
// partner source (ref §2.3; event fields from
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html).
func ebEnvelope(notification []byte) []byte {
	var nt struct{ NotificationType string }
	_ = json.Unmarshal(notification, &nt)
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"version":"0","id":%q,"detail-type":%q,"source":%q,"account":"123456789012","time":"2026-11-19T08:15:31Z","region":"us-east-1","resources":[],"detail":`,
		event.DeterministicID("eb-test", string(notification)), nt.NotificationType, ebSource)
	b.Write(notification)
	b.WriteString("}")
	return b.Bytes()
}

// ebRequest is an API destination's delivery of body, authenticated with
// key in the x-api-key header.
func ebRequest(body []byte, key string) *connectors.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("User-Agent", "Amazon/EventBridge/ApiDestinations")
	if key != "" {
		h.Set(testAuthHeader, key)
	}
	return requestAt(h, body)
}

// ordersFake is the Orders API getOrderItems (ordersV0.json @ 037fc474):
// order 114-3941689-8772235 has two pages (testdata/get_order_items_page*.json),
// orders starting with "404-" are unknown, "429-" are throttled, "400-"
// invalid. It checks the LWA token header (ref §6.2).
type ordersFake struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []string
}

func newOrdersFake(t testing.TB) *ordersFake {
	t.Helper()
	page1, page2 := readTestdata(t, "get_order_items_page1.json"), readTestdata(t, "get_order_items_page2.json")
	e400, e429 := readTestdata(t, "get_order_items_400.json"), readTestdata(t, "error_429.json")
	f := &ordersFake{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.URL.RequestURI())
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-amzn-RequestId", "9e4c3b2a-test")
		if r.Header.Get("x-amz-access-token") != accessToken {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied.","details":""}]}`)
			return
		}
		id, ok := strings.CutPrefix(r.URL.Path, "/orders/v0/orders/")
		id, ok2 := strings.CutSuffix(id, "/orderItems")
		if !ok || !ok2 || r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		switch {
		case id == "114-3941689-8772235" && r.URL.Query().Get("NextToken") == "":
			w.Header().Set("x-amzn-RateLimit-Limit", "0.5")
			_, _ = w.Write(page1)
		case id == "114-3941689-8772235" && r.URL.Query().Get("NextToken") == "MRgZW55IGNhcm5hbCBwbGVhc3VyZS4=":
			_, _ = w.Write(page2)
		case strings.HasPrefix(id, "429-"):
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write(e429)
		case strings.HasPrefix(id, "400-"):
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write(e400)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"errors":[{"code":"NotFound","message":"Order not found"}]}`)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *ordersFake) client(tb testing.TB) *OrdersClient {
	tb.Helper()
	c, err := NewOrdersClient(f.srv.URL, func(context.Context) (string, error) { return accessToken, nil },
		&OrdersClientOptions{HTTPClient: f.srv.Client(), UserAgent: "stockgate-test/1.0 (Language=Go)"})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func (f *ordersFake) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// line is the part of a canonical event the tests compare.
type line struct {
	Type          event.Type
	SKU           string
	Location      string
	Quantity      int64
	State         string
	Reason        string
	OrderID       string
	CorrelationID string
	SourceEventID string
	OccurredAt    time.Time
}

func lines(tb testing.TB, evs []*event.Event) []line {
	tb.Helper()
	out := make([]line, 0, len(evs))
	for _, e := range evs {
		m := e.Movement
		if m == nil {
			tb.Fatalf("event %s has no movement", e.ID())
			continue
		}
		if m.Connector != testID && m.Connector != fixtureID {
			tb.Errorf("event %s: connector %q", e.ID(), m.Connector)
		}
		out = append(out, line{e.Type, m.SKU, m.Location, m.Quantity, m.State, m.Reason,
			m.OrderID, m.CorrelationID, m.SourceEventID, m.OccurredAt})
	}
	return out
}

func reasons(res *connectors.Result) []string {
	var out []string
	for _, d := range res.Unmapped {
		out = append(out, d.Reason)
	}
	return out
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// memTransport serves the good certificate for any .pem URL and 200 for
// anything else, in memory: for benchmarks and the fuzzer, which need no
// network.
type memTransport struct{}

func (memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body := "ok"
	if strings.HasSuffix(r.URL.Path, ".pem") {
		body = string(goodSigner().certPEM)
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

// awsHost is an SNS endpoint that matches the default host pattern; only
// memTransport ever "serves" it.
const awsHost = "sns.us-east-1.amazonaws.com"

// memConnector trusts the default AWS hosts through memTransport.
func memConnector(tb testing.TB, mods ...func(*Config)) *Connector {
	tb.Helper()
	cfg := testConfig(nil)
	cfg.SNS.HTTPClient = &http.Client{Transport: memTransport{}}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// fixtureID is the connector id of the shared-fixture walk.
const fixtureID = "amazon-fixtures"
