package event

import (
	"net/url"
	"strings"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// The envelope fast paths. Every event stockgate writes has the same
// attributes, in structured mode, with plain values; the SDK reads and
// writes that envelope through json-iterator, reflection and maps, which
// was about a tenth of the gateway's CPU per webhook (the ledger and the
// live hub each parse every event, ingest marshals it). parseEnvelope and
// appendEnvelope handle that one shape by hand and give up on anything
// else, for the SDK's path to decide; FuzzEnvelopeFastPath checks that
// where they succeed they read and write what the SDK does.

// envelopeKeys are the top-level members the fast path reads.
var envelopeKeys = [...]string{
	"specversion", "id", "source", "type", "subject", "datacontenttype",
	"time", "data", "correlationid", "partitionkey",
}

const (
	envSpecVersion = iota
	envID
	envSource
	envType
	envSubject
	envContentType
	envTime
	envData
	envCorrelationID
	envPartitionKey
)

// parseEnvelope is Parse's fast path: it returns the event and true only
// for a structured-mode document with exactly the canonical attributes
// (specversion 1.0, id, source, type of the closed set, optional subject
// and time, datacontenttype application/json, the correlationid and
// partitionkey extensions), every value a plain string, and flat data that
// the type's fast data path accepts. Anything else returns false, and
// Parse takes the SDK's path, which also explains what is wrong.
func parseEnvelope(b []byte) (*Event, bool) {
	s := string(b)
	var (
		raw     [len(envelopeKeys)]string
		present [len(envelopeKeys)]bool
	)
	i := skipWS(s, 0)
	if i >= len(s) || s[i] != '{' {
		return nil, false
	}
	i = skipWS(s, i+1)
	for {
		key, j, ok := scanString(s, i)
		if !ok {
			return nil, false
		}
		f := -1
		for k, name := range envelopeKeys {
			if name == key {
				f = k
				break
			}
		}
		if f < 0 || present[f] {
			return nil, false
		}
		i = skipWS(s, j)
		if i >= len(s) || s[i] != ':' {
			return nil, false
		}
		colon := i + 1
		i = skipWS(s, colon)
		if f == envData {
			end, ok := flatSpan(s, i)
			if !ok {
				return nil, false
			}
			// The SDK keeps the data as it read it: from after the colon,
			// spaces included, to the end of the value.
			raw[f], i = s[colon:end], end
		} else {
			if raw[f], i, ok = scanString(s, i); !ok || !plain(raw[f]) || strings.TrimSpace(raw[f]) != raw[f] || raw[f] == "" {
				return nil, false
			}
		}
		present[f] = true
		i = skipWS(s, i)
		if i >= len(s) {
			return nil, false
		}
		if s[i] == '}' {
			if skipWS(s, i+1) != len(s) {
				return nil, false
			}
			break
		}
		if s[i] != ',' {
			return nil, false
		}
		i = skipWS(s, i+1)
	}
	for _, f := range [...]int{envSpecVersion, envID, envSource, envType, envContentType, envData} {
		if !present[f] {
			return nil, false
		}
	}
	if raw[envSpecVersion] != ce.CloudEventsVersionV1 || raw[envContentType] != ce.ApplicationJSON {
		return nil, false
	}
	t, err := ParseType(raw[envType])
	if err != nil {
		return nil, false
	}
	r := fastFor(t)
	if r == nil {
		return nil, false
	}
	src, err := url.Parse(raw[envSource])
	if err != nil {
		return nil, false
	}
	ct := ce.ApplicationJSON
	ec := &ce.EventContextV1{
		ID:              raw[envID],
		Source:          types.URIRef{URL: *src},
		Type:            raw[envType],
		DataContentType: &ct,
	}
	if present[envSubject] {
		sub := raw[envSubject]
		ec.Subject = &sub
	}
	if present[envTime] {
		at, err := types.ParseTime(raw[envTime])
		if err != nil {
			return nil, false
		}
		ec.Time = &types.Timestamp{Time: at}
	}
	if present[envCorrelationID] || present[envPartitionKey] {
		ec.Extensions = make(map[string]any, 2)
		if present[envCorrelationID] {
			ec.Extensions["correlationid"] = raw[envCorrelationID]
		}
		if present[envPartitionKey] {
			ec.Extensions["partitionkey"] = raw[envPartitionKey]
		}
	}
	data := []byte(raw[envData])
	ev := &Event{Envelope: ce.Event{Context: ec, DataEncoded: data}, Type: t}
	var ok bool
	if t == AvailabilityChanged {
		ev.Availability, ok = r.parseAvailability(data)
	} else {
		ev.Movement, ok = r.parseMovement(t, data)
	}
	return ev, ok
}

// flatSpan returns the index after the flat JSON object that starts at
// s[i]: members whose values are strings without escapes or integers, as
// scanFlat reads them. It returns false for anything else.
func flatSpan(s string, i int) (int, bool) {
	if i >= len(s) || s[i] != '{' {
		return 0, false
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return i + 1, true
	}
	for {
		_, j, ok := scanString(s, i)
		if !ok {
			return 0, false
		}
		i = skipWS(s, j)
		if i >= len(s) || s[i] != ':' {
			return 0, false
		}
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == '"' {
			_, i, ok = scanString(s, i)
		} else {
			_, i, ok = scanInt(s, i)
		}
		if !ok {
			return 0, false
		}
		i = skipWS(s, i)
		if i >= len(s) {
			return 0, false
		}
		switch s[i] {
		case ',':
			i = skipWS(s, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// appendEnvelope is Marshal's fast path: it appends the event as the
// SDK's WriteJson writes it, and returns true, when the envelope has the
// canonical shape with plain values; otherwise it returns false and
// Marshal asks the SDK.
func appendEnvelope(b []byte, env *ce.Event) ([]byte, bool) {
	ec, ok := env.Context.(*ce.EventContextV1)
	if !ok || ec.DataSchema != nil || env.DataBase64 || env.DataEncoded == nil ||
		ec.DataContentType == nil || *ec.DataContentType != ce.ApplicationJSON {
		return b, false
	}
	src := ec.Source.String()
	if !plain(ec.ID, src, ec.Type) {
		return b, false
	}
	var corr, part string
	var hasCorr, hasPart bool
	for k, v := range ec.Extensions {
		s, isStr := v.(string)
		switch {
		case !isStr || !plain(s):
			return b, false
		case k == "correlationid":
			corr, hasCorr = s, true
		case k == "partitionkey":
			part, hasPart = s, true
		default:
			return b, false
		}
	}
	if ec.Subject != nil && !plain(*ec.Subject) {
		return b, false
	}
	b = appendField(b, `{"specversion":`, ce.CloudEventsVersionV1)
	b = appendField(b, `,"id":`, ec.ID)
	b = appendField(b, `,"source":`, src)
	b = appendField(b, `,"type":`, ec.Type)
	if ec.Subject != nil {
		b = appendField(b, `,"subject":`, *ec.Subject)
	}
	b = appendField(b, `,"datacontenttype":`, ce.ApplicationJSON)
	if ec.Time != nil {
		b = append(b, `,"time":"`...)
		b = ec.Time.Time.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	b = append(append(b, `,"data":`...), env.DataEncoded...)
	if hasCorr {
		b = appendField(b, `,"correlationid":`, corr)
	}
	if hasPart {
		b = appendField(b, `,"partitionkey":`, part)
	}
	return append(b, '}'), true
}
