package amazon

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	json "github.com/goccy/go-json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stockgate/stockgate/connectors"
)

// SNS message types (ref §2.4; sns-guide
// doc_source/sns-message-and-json-formats.md).
const (
	SNSNotification             = "Notification"
	SNSSubscriptionConfirmation = "SubscriptionConfirmation"
	SNSUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

func isSNSType(t string) bool {
	return t == SNSNotification || t == SNSSubscriptionConfirmation || t == SNSUnsubscribeConfirmation
}

// snsEnvelope is an SNS HTTP/S delivery body (ref §2.4;
// fixtures/amazon/sns_*.sample.json). Subject is a pointer: it is signed
// "only if present" (ref §2.4), and present-but-empty differs from absent.
// Values are the unescaped JSON strings, which is what is signed.
type snsEnvelope struct {
	Type             string  `json:"Type"`
	MessageID        string  `json:"MessageId"`
	Token            string  `json:"Token"`
	TopicARN         string  `json:"TopicArn"`
	Subject          *string `json:"Subject"`
	Message          string  `json:"Message"`
	SubscribeURL     string  `json:"SubscribeURL"`
	Timestamp        string  `json:"Timestamp"`
	SignatureVersion string  `json:"SignatureVersion"`
	Signature        string  `json:"Signature"`
	SigningCertURL   string  `json:"SigningCertURL"`
}

// decodeSNS decodes body into env and reports whether it is a JSON object
// whose SNS fields are strings.
func decodeSNS(body []byte, env *snsEnvelope) bool {
	return json.Unmarshal(body, env) == nil
}

// awsSNSHost is the host pattern of AWS's own SNS message validator
// (aws/aws-php-sns-message-validator src/MessageValidator.php
// @ 01f8e3193c27fb5a256fd094e90281a152c87684, $defaultHostPattern), which
// matches sns.<region>.amazonaws.com, GovCloud and sns.cn-north-1.amazonaws.com.cn
// and not other amazonaws.com hosts such as S3 buckets.
var awsSNSHost = regexp.MustCompile(`^sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?$`)

// verifySNS checks an SNS message: allowed topic, signature version, an
// allowed HTTPS certificate URL, and the RSA signature over the string to
// sign (ref §2.4). isSNS is false when the header says SNS but the body is
// not an SNS message.
func (c *Connector) verifySNS(r *connectors.Request, env *snsEnvelope, isSNS bool) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: amazon: SNS: %s", connectors.ErrUnauthorized, fmt.Sprintf(format, args...))
	}
	if !isSNS {
		return fail("body is not an SNS message (JSON with Type Notification, SubscriptionConfirmation or UnsubscribeConfirmation)")
	}
	// SNS sends x-amz-sns-message-type with every HTTP/S delivery (ref §2.4;
	// sns-guide "HTTP/HTTPS headers"); it must agree with the signed Type.
	if h := headerValue(r.Header, HeaderSNSMessageType); h != env.Type {
		if h == "" {
			return fail("missing %s header", HeaderSNSMessageType)
		}
		return fail("%s %q does not match Type %q", HeaderSNSMessageType, h, env.Type)
	}
	if h := headerValue(r.Header, HeaderSNSTopicARN); h != "" && h != env.TopicARN {
		return fail("%s %q does not match TopicArn %q", HeaderSNSTopicARN, h, env.TopicARN)
	}
	if !c.topicAllowed(env.TopicARN) {
		if len(c.topics) == 0 {
			return fail("no SNS.AllowedTopicARNs are configured; TopicArn %q rejected", env.TopicARN)
		}
		return fail("TopicArn %q is not in SNS.AllowedTopicARNs", env.TopicARN)
	}
	var hash crypto.Hash
	switch env.SignatureVersion {
	case "1":
		hash = crypto.SHA1 // SHA1withRSA (ref §2.4)
	case "2":
		hash = crypto.SHA256 // SHA256withRSA (ref §2.4)
	default:
		return fail("SignatureVersion %q is not 1 or 2", env.SignatureVersion)
	}
	// The certificate must come from SNS itself over HTTPS, as a .pem
	// (ref §2.4; MessageValidator.php validateUrl).
	certURL, err := c.snsURL(env.SigningCertURL, "SigningCertURL")
	if err != nil {
		return fail("%v", err)
	}
	if !strings.HasSuffix(certURL.Path, ".pem") {
		return fail("SigningCertURL %q does not name a .pem file", env.SigningCertURL)
	}
	if env.Type != SNSNotification {
		// Visited by Normalize; checked here too so that a message that
		// would make the gateway fetch an arbitrary URL never verifies.
		if _, err := c.snsURL(env.SubscribeURL, "SubscribeURL"); err != nil {
			return fail("%v", err)
		}
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signature)
	if err != nil || len(sig) == 0 {
		return fail("Signature is not base64")
	}
	key, err := c.certs.key(certURL.String(), c.now())
	if err != nil {
		return fail("%v", err)
	}
	msg := stringToSign(env)
	var digest []byte
	if hash == crypto.SHA1 {
		d := sha1.Sum(msg)
		digest = d[:]
	} else {
		d := sha256.Sum256(msg)
		digest = d[:]
	}
	if err := rsa.VerifyPKCS1v15(key, hash, digest, sig); err != nil {
		return fail("signature (version %s) does not verify with the certificate at %s", env.SignatureVersion, env.SigningCertURL)
	}
	return nil
}

// topicAllowed reports whether SNS messages from topic are accepted.
func (c *Connector) topicAllowed(topic string) bool {
	return c.anyTopic || c.topics[topic]
}

// snsURL parses u and checks that it is an HTTPS URL on an allowed host,
// without user info.
func (c *Connector) snsURL(raw, field string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return nil, fmt.Errorf("%s is missing", field)
	case err != nil:
		return nil, fmt.Errorf("%s %q is not a URL", field, raw)
	case u.Scheme != "https":
		return nil, fmt.Errorf("%s %q is not https", field, raw)
	case u.User != nil || u.Host == "":
		return nil, fmt.Errorf("%s %q has no host or has user info", field, raw)
	}
	host := strings.ToLower(u.Host)
	if c.certHosts == nil {
		if !awsSNSHost.MatchString(host) {
			return nil, fmt.Errorf("%s host %q is not an AWS SNS endpoint (sns.<region>.amazonaws.com)", field, u.Host)
		}
	} else if !slices.Contains(c.certHosts, host) {
		return nil, fmt.Errorf("%s host %q is not in SNS.AllowedCertHosts", field, u.Host)
	}
	return u, nil
}

// stringToSign builds the bytes SNS signs: for each field of the type's
// fixed list, in that order, "Name\nValue\n" with the unescaped value
// (ref §2.4; sns-guide doc_source/SendMessageToHttp.verify.signature.md):
//
//	Notification:             Message, MessageId, Subject (if present), Timestamp, TopicArn, Type
//	SubscriptionConfirmation,
//	UnsubscribeConfirmation:  Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type
func stringToSign(env *snsEnvelope) []byte {
	n := 96 + len(env.Message) + len(env.MessageID) + len(env.Timestamp) + len(env.TopicARN) + len(env.Type) +
		len(env.SubscribeURL) + len(env.Token)
	if env.Subject != nil {
		n += len(*env.Subject)
	}
	b := make([]byte, 0, n)
	add := func(k, v string) {
		b = append(b, k...)
		b = append(b, '\n')
		b = append(b, v...)
		b = append(b, '\n')
	}
	add("Message", env.Message)
	add("MessageId", env.MessageID)
	if env.Type == SNSNotification {
		if env.Subject != nil {
			add("Subject", *env.Subject)
		}
		add("Timestamp", env.Timestamp)
	} else {
		add("SubscribeURL", env.SubscribeURL)
		add("Timestamp", env.Timestamp)
		add("Token", env.Token)
	}
	add("TopicArn", env.TopicARN)
	add("Type", env.Type)
	return b
}

// certCache fetches SNS signing certificates and keeps their keys by URL.
// SNS signs with a handful of certificates per region, so the cache is
// small; it is bounded so that messages naming many URLs (on an allowed
// host) cannot grow it without limit.
type certCache struct {
	client *http.Client

	mu      sync.Mutex
	entries map[string]*certEntry
}

type certEntry struct {
	key                 *rsa.PublicKey
	notBefore, notAfter time.Time
}

const (
	maxCachedCerts = 64
	maxCertBytes   = 64 << 10
)

func newCertCache(client *http.Client) *certCache {
	return &certCache{client: client, entries: make(map[string]*certEntry)}
}

// key returns the RSA public key of the certificate at u, fetching and
// caching it on first use, if the certificate is valid at now. Chains are
// not verified: the certificate is trusted because it was fetched over TLS
// from an allowed SNS host, as AWS's own validators do
// (MessageValidator.php fetches and uses the key without a chain check).
func (cc *certCache) key(u string, now time.Time) (*rsa.PublicKey, error) {
	cc.mu.Lock()
	e := cc.entries[u]
	cc.mu.Unlock()
	if e == nil {
		var err error
		if e, err = cc.fetch(u); err != nil {
			return nil, err
		}
		cc.mu.Lock()
		if len(cc.entries) >= maxCachedCerts {
			for k := range cc.entries { // evict one, arbitrarily
				delete(cc.entries, k)
				break
			}
		}
		cc.entries[u] = e
		cc.mu.Unlock()
	}
	if now.Before(e.notBefore) || now.After(e.notAfter) {
		return nil, fmt.Errorf("certificate at %s is valid from %s to %s, not at %s", u,
			e.notBefore.UTC().Format(time.RFC3339), e.notAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return e.key, nil
}

func (cc *certCache) fetch(u string) (*certEntry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), defaultHTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("certificate URL %s: %v", u, err)
	}
	resp, err := cc.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the certificate: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the certificate at %s: HTTP %d", u, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxCertBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the certificate at %s: %v", u, err)
	}
	if len(b) > maxCertBytes {
		return nil, fmt.Errorf("certificate at %s is larger than %d bytes", u, maxCertBytes)
	}
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, fmt.Errorf("no PEM CERTIFICATE at %s", u)
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate at %s: %v", u, err)
		}
		key, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("certificate at %s has a %T key, want RSA", u, cert.PublicKey)
		}
		return &certEntry{key: key, notBefore: cert.NotBefore, notAfter: cert.NotAfter}, nil
	}
}

// confirmSubscription visits a verified SubscriptionConfirmation's
// SubscribeURL, which confirms the subscription (ref §2.4: "subscription
// is inactive until confirmed via SubscribeURL"). Any 2xx is success.
func (c *Connector) confirmSubscription(ctx context.Context, env *snsEnvelope) error {
	u, err := c.snsURL(env.SubscribeURL, "SubscribeURL")
	if err != nil {
		// Verify rejects this; reaching here means Normalize was called on
		// an unverified request.
		return fmt.Errorf("%w: amazon: SNS: %v", connectors.ErrMalformed, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("amazon: SNS: confirming subscription to %s: %w", env.TopicARN, err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("amazon: SNS: confirming subscription to %s: %w", env.TopicARN, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("amazon: SNS: confirming subscription to %s: %w", env.TopicARN, errHTTPStatus(resp.StatusCode))
	}
	return nil
}

type errHTTPStatus int

func (e errHTTPStatus) Error() string { return fmt.Sprintf("HTTP %d", int(e)) }
