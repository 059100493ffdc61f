package amazon

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
)

func TestVerifySNS(t *testing.T) {
	t.Parallel()
	f := newSNSFake(t)
	body := readTestdata(t, "listings_item_mfn_quantity_change.json")
	subject := "SP-API notification"
	tests := []struct {
		name string
		// msg changes a valid, signed v2 Notification; resign re-signs it
		// with the good key afterwards (a change the attacker could sign).
		msg    func(m *snsMsg)
		resign bool
		header func(h http.Header)
		config func(*Config)
		ok     bool
		errHas string
	}{
		{name: "signature version 2", ok: true},
		{name: "signature version 1", ok: true, resign: true, msg: func(m *snsMsg) { m.SignatureVersion = "1" }},
		{name: "with Subject", ok: true, resign: true, msg: func(m *snsMsg) { m.Subject = &subject }},
		{name: "with empty Subject", ok: true, resign: true, msg: func(m *snsMsg) { m.Subject = new(string) }},
		{name: "topic allowed by AnyTopic", ok: true, resign: true, config: func(c *Config) { c.SNS.AllowedTopicARNs = []string{AnyTopic} },
			msg: func(m *snsMsg) { m.TopicARN = "arn:aws:sns:eu-west-1:999999999999:other" }},
		{name: "header names in lower case", ok: true, header: func(h http.Header) {
			for k, v := range h {
				delete(h, k)
				h[strings.ToLower(k)] = v
			}
		}},

		{name: "cert URL is http", resign: true, errHas: "is not https",
			msg: func(m *snsMsg) { m.SigningCertURL = strings.Replace(m.SigningCertURL, "https://", "http://", 1) }},
		{name: "cert URL on a host not allowed", resign: true, errHas: "not in SNS.AllowedCertHosts",
			msg: func(m *snsMsg) { m.SigningCertURL = "https://evil.example" + certPath }},
		{name: "cert URL with user info", resign: true, errHas: "user info",
			msg: func(m *snsMsg) { m.SigningCertURL = "https://a@" + f.host() + certPath }},
		{name: "cert URL not a .pem", resign: true, errHas: "does not name a .pem",
			msg: func(m *snsMsg) { m.SigningCertURL = "https://" + f.host() + "/cert" }},
		{name: "cert URL missing", resign: true, errHas: "SigningCertURL is missing", msg: func(m *snsMsg) { m.SigningCertURL = "" }},
		{name: "cert not found", resign: true, errHas: "HTTP 404",
			msg: func(m *snsMsg) { m.SigningCertURL = "https://" + f.host() + "/SimpleNotificationService-gone.pem" }},
		{name: "expired cert", errHas: "is valid from 2024-01-01T00:00:00Z to 2025-01-01T00:00:00Z", msg: func(m *snsMsg) {
			m.SigningCertURL = "https://" + f.host() + expiredCertPath
			m.sign(expiredSigner())
		}},
		{name: "cert not yet valid by the clock", errHas: "is valid from 2026-01-01",
			config: func(c *Config) { c.Now = func() time.Time { return time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC) } }},
		{name: "wrong signature (another key)", errHas: "does not verify", msg: func(m *snsMsg) { m.sign(otherSigner()) }},
		{name: "tampered Message", errHas: "does not verify",
			msg: func(m *snsMsg) { m.Message = strings.Replace(m.Message, `"Quantity": 37`, `"Quantity": 9999`, 1) }},
		{name: "tampered Timestamp", errHas: "does not verify", msg: func(m *snsMsg) { m.Timestamp = "2026-11-19T08:15:31.501Z" }},
		{name: "Subject added", errHas: "does not verify", msg: func(m *snsMsg) { m.Subject = &subject }},
		{name: "signed as version 1, sent as 2", errHas: "does not verify", msg: func(m *snsMsg) {
			m.SignatureVersion = "1"
			m.sign(goodSigner())
			m.SignatureVersion = "2"
		}},
		{name: "signature version 3", resign: true, errHas: `SignatureVersion "3"`, msg: func(m *snsMsg) { m.SignatureVersion = "3" }},
		{name: "signature not base64", errHas: "not base64", msg: func(m *snsMsg) { m.Signature = "!!" + m.Signature[2:] }},
		{name: "signature empty", errHas: "not base64", msg: func(m *snsMsg) { m.Signature = "" }},
		{name: "topic not allowed", resign: true, errHas: "not in SNS.AllowedTopicARNs",
			msg: func(m *snsMsg) { m.TopicARN = "arn:aws:sns:us-east-1:999999999999:attacker" }},
		{name: "no topics configured", errHas: "no SNS.AllowedTopicARNs", config: func(c *Config) { c.SNS.AllowedTopicARNs = nil }},
		{name: "missing message type header", errHas: "missing X-Amz-Sns-Message-Type",
			header: func(h http.Header) { h.Del(HeaderSNSMessageType) }},
		{name: "message type header disagrees", errHas: "does not match Type",
			header: func(h http.Header) { h.Set(HeaderSNSMessageType, SNSSubscriptionConfirmation) }},
		{name: "topic header disagrees", errHas: "does not match TopicArn",
			header: func(h http.Header) { h.Set(HeaderSNSTopicARN, "arn:aws:sns:us-east-1:123456789012:other") }},
		{name: "Type not an SNS type, SNS header present", resign: true, errHas: "not an SNS message",
			msg: func(m *snsMsg) { m.Type = "Notice" }, header: func(h http.Header) { h.Set(HeaderSNSMessageType, "Notice") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mods []func(*Config)
			if tt.config != nil {
				mods = append(mods, tt.config)
			}
			c := newConnector(t, f, mods...)
			m := snsNotification(f.host(), "2", body)
			if tt.msg != nil {
				tt.msg(m)
			}
			if tt.resign {
				m.sign(goodSigner())
			}
			r := m.request()
			if tt.header != nil {
				tt.header(r.Header)
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

// TestVerifySNSDefaultHosts checks the default certificate host pattern
// (aws-php-sns-message-validator's) without the network: memTransport
// would serve any URL, so only the host check can refuse.
func TestVerifySNSDefaultHosts(t *testing.T) {
	t.Parallel()
	c := memConnector(t)
	body := readTestdata(t, "listings_item_mfn_quantity_change.json")
	for host, ok := range map[string]bool{
		"sns.us-east-1.amazonaws.com":              true,
		"sns.us-gov-west-1.amazonaws.com":          true,
		"sns.cn-north-1.amazonaws.com.cn":          true,
		"SNS.EU-WEST-1.AMAZONAWS.COM":              true,
		"sns.us-east-1.amazonaws.com:443":          false, // a port is not part of an SNS endpoint
		"sns.us-east-1.amazonaws.com.evil.example": false,
		"evil-sns.us-east-1.amazonaws.com":         false,
		"s3.amazonaws.com":                         false, // S3 buckets live under amazonaws.com too
		"sns.a.amazonaws.com":                      false, // region shorter than 3
		"mybucket.s3.amazonaws.com":                false,
	} {
		m := snsNotification(awsHost, "2", body)
		m.SigningCertURL = "https://" + host + certPath
		m.sign(goodSigner())
		err := c.Verify(m.request())
		if ok != (err == nil) {
			t.Errorf("cert host %s: Verify = %v, want ok=%v", host, err, ok)
		}
	}
}

func TestCertificateCached(t *testing.T) {
	t.Parallel()
	f := newSNSFake(t)
	c := newConnector(t, f)
	body := readTestdata(t, "listings_item_mfn_quantity_change.json")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := snsNotification(f.host(), []string{"1", "2"}[i%2], body)
			if err := c.Verify(m.request()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// Concurrent first uses may each fetch; after that, none.
	before := f.certFetches()
	for range 5 {
		if err := c.Verify(snsNotification(f.host(), "2", body).request()); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.certFetches(); got != before || got == 0 || got > 20 {
		t.Errorf("certificate fetched %d times, then %d; want it cached", before, got)
	}
}

func TestSubscriptionConfirmation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const token = "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92"

	t.Run("verified is confirmed", func(t *testing.T) {
		t.Parallel()
		f := newSNSFake(t)
		c := newConnector(t, f)
		r := snsConfirmation(f.host(), SNSSubscriptionConfirmation, token).request()
		if err := c.Verify(r); err != nil {
			t.Fatal(err)
		}
		res, err := c.Normalize(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if res.Topic != TopicSubscriptionConfirmation || len(res.Events) != 0 || len(res.Unmapped) != 0 || !strings.HasPrefix(res.DedupKey, "amazon:sns:") {
			t.Errorf("result %+v", res)
		}
		got := f.confirmations()
		if len(got) != 1 || got[0].Get("Token") != token || got[0].Get("TopicArn") != testTopic {
			t.Errorf("confirmations %v, want one with the token", got)
		}
	})
	// A gateway calls Normalize only after Verify succeeds; these never
	// get that far, and nothing is fetched from SubscribeURL.
	for name, edit := range map[string]func(m *snsMsg){
		"bad signature":     func(m *snsMsg) { m.sign(otherSigner()) },
		"tampered token":    func(m *snsMsg) { m.Token += "00" },
		"tampered URL":      func(m *snsMsg) { m.SubscribeURL += "&x=1" },
		"topic not allowed": func(m *snsMsg) { m.TopicARN = "arn:aws:sns:us-east-1:999999999999:attacker"; m.sign(goodSigner()) },
		"SubscribeURL elsewhere": func(m *snsMsg) {
			m.SubscribeURL = "https://attacker.example/?Action=ConfirmSubscription&Token=" + token
			m.sign(goodSigner())
		},
		"SubscribeURL http": func(m *snsMsg) {
			m.SubscribeURL = strings.Replace(m.SubscribeURL, "https:", "http:", 1)
			m.sign(goodSigner())
		},
	} {
		t.Run("rejected: "+name, func(t *testing.T) {
			t.Parallel()
			f := newSNSFake(t)
			c := newConnector(t, f)
			m := snsConfirmation(f.host(), SNSSubscriptionConfirmation, token)
			edit(m)
			if err := c.Verify(m.request()); !errors.Is(err, connectors.ErrUnauthorized) {
				t.Fatalf("Verify = %v, want ErrUnauthorized", err)
			}
			if got := f.confirmations(); len(got) != 0 {
				t.Errorf("SubscribeURL was visited %d times", len(got))
			}
		})
	}
	t.Run("confirmation failure is reported", func(t *testing.T) {
		t.Parallel()
		f := newSNSFake(t)
		f.failToken = "deadbeef"
		c := newConnector(t, f)
		r := snsConfirmation(f.host(), SNSSubscriptionConfirmation, "deadbeef").request()
		if err := c.Verify(r); err != nil {
			t.Fatal(err)
		}
		_, err := c.Normalize(ctx, r)
		if err == nil || errors.Is(err, connectors.ErrMalformed) || !strings.Contains(err.Error(), "HTTP 500") {
			t.Fatalf("Normalize = %v, want a non-malformed error naming HTTP 500 (so SNS retries)", err)
		}
	})
	t.Run("unsubscribe is not acted on", func(t *testing.T) {
		t.Parallel()
		f := newSNSFake(t)
		c := newConnector(t, f)
		r := snsConfirmation(f.host(), SNSUnsubscribeConfirmation, token).request()
		if err := c.Verify(r); err != nil {
			t.Fatal(err)
		}
		res, err := c.Normalize(ctx, r)
		if err != nil || res.Topic != TopicUnsubscribeConfirmation || len(res.Events) != 0 {
			t.Fatalf("Normalize = %+v, %v", res, err)
		}
		if got := f.confirmations(); len(got) != 0 {
			t.Errorf("SubscribeURL was visited %d times", len(got))
		}
	})
	t.Run("from a queue it is a dead letter, not confirmed", func(t *testing.T) {
		t.Parallel()
		f := newSNSFake(t)
		c := newConnector(t, f)
		r := snsConfirmation(f.host(), SNSSubscriptionConfirmation, token).request()
		res, err := c.normalize(ctx, r, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Unmapped) != 1 || !strings.Contains(res.Unmapped[0].Reason, "arrived unverified") {
			t.Errorf("dead letters %+v", res.Unmapped)
		}
		if got := f.confirmations(); len(got) != 0 {
			t.Errorf("SubscribeURL was visited %d times", len(got))
		}
	})
}

func TestStringToSign(t *testing.T) {
	t.Parallel()
	subject := "s"
	for _, m := range []*snsMsg{
		{Type: SNSNotification, MessageID: "id", Message: "m\nwith \"quotes\"", Timestamp: "ts", TopicARN: "arn", Token: "ignored", SubscribeURL: "ignored"},
		{Type: SNSNotification, MessageID: "id", Message: "m", Timestamp: "ts", TopicARN: "arn", Subject: &subject},
		{Type: SNSSubscriptionConfirmation, MessageID: "id", Message: "m", Timestamp: "ts", TopicARN: "arn", Token: "tok", SubscribeURL: "u"},
		{Type: SNSUnsubscribeConfirmation, MessageID: "id", Message: "m", Timestamp: "ts", TopicARN: "arn", Token: "tok", SubscribeURL: "u", Subject: &subject},
	} {
		env := &snsEnvelope{Type: m.Type, MessageID: m.MessageID, Token: m.Token, TopicARN: m.TopicARN, Subject: m.Subject,
			Message: m.Message, SubscribeURL: m.SubscribeURL, Timestamp: m.Timestamp}
		if got, want := string(stringToSign(env)), testStringToSign(m); got != want {
			t.Errorf("%s:\n got %q\nwant %q", m.Type, got, want)
		}
	}
	// The documented example for a Notification, field by field (ref §2.4).
	want := "Message\nHello world!\nMessageId\n22b80b92\nSubject\nMy First Message\nTimestamp\n2012-05-02T00:54:06.655Z\nTopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n"
	s := "My First Message"
	env := &snsEnvelope{Type: "Notification", MessageID: "22b80b92", Subject: &s, Message: "Hello world!",
		Timestamp: "2012-05-02T00:54:06.655Z", TopicARN: "arn:aws:sns:us-west-2:123456789012:MyTopic"}
	if got := string(stringToSign(env)); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// A SubscriptionConfirmation that reached Normalize without its SNS
// signature checked (a raw-delivery request with the header secret) is not
// confirmed unless its topic is allowed.
func TestSubscriptionConfirmationTopicRechecked(t *testing.T) {
	t.Parallel()
	f := newSNSFake(t)
	c := newConnector(t, f)
	m := snsConfirmation(f.host(), SNSSubscriptionConfirmation, "tok")
	m.TopicARN = "arn:aws:sns:us-east-1:999999999999:attacker"
	r := ebRequest(m.body(), testAPIKey)
	r.Header.Set(HeaderSNSRawDelivery, "true")
	if err := c.Verify(r); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Normalize(context.Background(), r); !errors.Is(err, connectors.ErrMalformed) {
		t.Errorf("Normalize = %v, want ErrMalformed", err)
	}
	if got := f.confirmations(); len(got) != 0 {
		t.Errorf("SubscribeURL was visited %d times", len(got))
	}
}
