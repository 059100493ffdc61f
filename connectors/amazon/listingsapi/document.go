package listingsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Limits of a JSON_LISTINGS_FEED (ref §5.2).
const (
	// MaxFeedMessages is the most messages one feed may hold (schema
	// messages maxItems; 25,000 since 2025-05-06).
	MaxFeedMessages = 25_000
	// MaxFeedBytes is the document size to stay under (feeds best
	// practices: "keep files < 10 MiB").
	MaxFeedBytes = 10 << 20
	// FeedVersion is the only header version of the v2 schema.
	FeedVersion = "2.0"
)

// Message operation types (listings-feed-schema-v2 operationType).
const (
	OperationUpdate        = "UPDATE"
	OperationPartialUpdate = "PARTIAL_UPDATE"
	OperationPatch         = "PATCH"
	OperationDelete        = "DELETE"
)

// ListingsFeed is a JSON_LISTINGS_FEED document (listings-feed-schema-v2;
// ref §5.2).
type ListingsFeed struct {
	Header   FeedHeader `json:"header"`
	Messages []Message  `json:"messages"`
}

// FeedHeader is the document's header; SellerID and Version are
// required.
type FeedHeader struct {
	SellerID    string `json:"sellerId"`
	Version     string `json:"version"`
	IssueLocale string `json:"issueLocale,omitempty"`
}

// Message is one listing submission of a feed.
type Message struct {
	// MessageID is unique in the feed, 1 to 2,147,483,647; the report's
	// issues refer to it.
	MessageID     int              `json:"messageId"`
	SKU           string           `json:"sku"`
	OperationType string           `json:"operationType"`
	ProductType   string           `json:"productType,omitempty"`
	Patches       []PatchOperation `json:"patches,omitempty"`
	Attributes    map[string]any   `json:"attributes,omitempty"`
}

// QuantityMessage is the stock-only message stockgate sends: PATCH with a
// merge of one channel's quantity (ref §5.2, the schema's message 5).
func QuantityMessage(id int, sku, productType, channelCode string, qty int64) Message {
	return Message{MessageID: id, SKU: sku, OperationType: OperationPatch, ProductType: productType,
		Patches: []PatchOperation{MergeQuantity(channelCode, qty)}}
}

// Validate checks what the schema requires of a feed stockgate builds:
// sellerId, version 2.0, 1 to MaxFeedMessages messages, each with a
// unique messageId in range, a SKU and an operation type, and a product
// type and patches for PATCH. It reports every problem at once.
func (f *ListingsFeed) Validate() error {
	var errs []error
	if f.Header.SellerID == "" {
		errs = append(errs, errors.New("header.sellerId: required"))
	}
	if f.Header.Version != FeedVersion {
		errs = append(errs, fmt.Errorf("header.version: %q, want %q", f.Header.Version, FeedVersion))
	}
	if n := len(f.Messages); n < 1 || n > MaxFeedMessages {
		errs = append(errs, fmt.Errorf("messages: %d, want 1 to %d", n, MaxFeedMessages))
	}
	seen := make(map[int]bool, len(f.Messages))
	for i, m := range f.Messages {
		switch {
		case m.MessageID < 1 || m.MessageID > math.MaxInt32:
			errs = append(errs, fmt.Errorf("messages[%d].messageId: %d out of 1..%d", i, m.MessageID, math.MaxInt32))
		case seen[m.MessageID]:
			errs = append(errs, fmt.Errorf("messages[%d].messageId: %d used twice", i, m.MessageID))
		}
		seen[m.MessageID] = true
		if m.SKU == "" {
			errs = append(errs, fmt.Errorf("messages[%d].sku: required", i))
		}
		switch m.OperationType {
		case OperationPatch:
			if m.ProductType == "" || len(m.Patches) == 0 {
				errs = append(errs, fmt.Errorf("messages[%d]: PATCH needs productType and patches", i))
			}
		case OperationUpdate, OperationPartialUpdate, OperationDelete:
		default:
			errs = append(errs, fmt.Errorf("messages[%d].operationType: %q", i, m.OperationType))
		}
	}
	return errors.Join(errs...)
}

// ProcessingReport is a JSON_LISTINGS_FEED processing report
// (listings-feed-processing-report-schema-v2: header, issues and summary
// required; items only with header.report.includedData, which stockgate
// does not ask for).
type ProcessingReport struct {
	Header  ReportHeader  `json:"header"`
	Issues  []ReportIssue `json:"issues"`
	Summary ReportSummary `json:"summary"`
}

// ReportHeader identifies the feed.
type ReportHeader struct {
	SellerID string `json:"sellerId"`
	Version  string `json:"version"`
	FeedID   string `json:"feedId"`
}

// ReportIssue is one issue; MessageID is 0 for an issue of the whole feed
// ("Not provided if the error is not related to a message (e.g. feed
// formatting issue)", schema).
type ReportIssue struct {
	MessageID     int    `json:"messageId,omitempty"`
	SKU           string `json:"sku,omitempty"`
	Code          string `json:"code,omitempty"`
	Severity      string `json:"severity"`
	Message       string `json:"message"`
	AttributeName string `json:"attributeName,omitempty"`
}

// ReportSummary counts the messages (schema summary: all five required).
type ReportSummary struct {
	Errors            int `json:"errors"`
	Warnings          int `json:"warnings"`
	MessagesProcessed int `json:"messagesProcessed"`
	MessagesAccepted  int `json:"messagesAccepted"`
	MessagesInvalid   int `json:"messagesInvalid"`
}

// ParseProcessingReport decodes a processing report and checks that it
// has the required parts.
func ParseProcessingReport(b []byte) (ProcessingReport, error) {
	var raw struct {
		Header  *ReportHeader  `json:"header"`
		Issues  []ReportIssue  `json:"issues"`
		Summary *ReportSummary `json:"summary"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return ProcessingReport{}, fmt.Errorf("processing report: %w", err)
	}
	if raw.Header == nil || raw.Summary == nil {
		return ProcessingReport{}, errors.New("processing report: header and summary are required")
	}
	return ProcessingReport{Header: *raw.Header, Issues: raw.Issues, Summary: *raw.Summary}, nil
}

// Result of one message, as Results reads it.
const (
	// ResultAccepted: no ERROR issue; "the associated updates are being
	// applied" (schema messagesAccepted).
	ResultAccepted = "ACCEPTED"
	// ResultInvalid: at least one ERROR issue; "the associated updates
	// will not be applied" (schema messagesInvalid).
	ResultInvalid = "INVALID"
	// ResultUnknown: the report does not account for the message (an
	// issue of the whole feed, or a summary that does not add up).
	ResultUnknown = "UNKNOWN"
)

// MessageResult is what the report says about one message.
type MessageResult struct {
	MessageID int
	// Result is ResultAccepted, ResultInvalid or ResultUnknown.
	Result string
	// Issues are the message's issues, warnings included.
	Issues []ReportIssue
}

// Results reads the report's verdict on each of the feed's messageIDs.
// The report lists issues only, so a message without an ERROR issue is
// taken as accepted when the report accounts for it: no ERROR issue of
// the whole feed, and as many issue-free messages as
// summary.messagesAccepted. Otherwise those messages are ResultUnknown
// (never assumed written). Issues naming a messageId outside messageIDs
// are ignored.
func (r ProcessingReport) Results(messageIDs []int) []MessageResult {
	byID := make(map[int]*MessageResult, len(messageIDs))
	out := make([]MessageResult, len(messageIDs))
	for i, id := range messageIDs {
		out[i] = MessageResult{MessageID: id, Result: ResultAccepted}
		byID[id] = &out[i]
	}
	feedError := false
	for _, is := range r.Issues {
		if is.MessageID == 0 {
			feedError = feedError || is.Severity == SeverityError
			continue
		}
		m := byID[is.MessageID]
		if m == nil {
			continue
		}
		m.Issues = append(m.Issues, is)
		if is.Severity == SeverityError {
			m.Result = ResultInvalid
		}
	}
	accepted := 0
	for _, m := range out {
		if m.Result == ResultAccepted {
			accepted++
		}
	}
	if feedError || accepted != r.Summary.MessagesAccepted {
		for i := range out {
			if out[i].Result == ResultAccepted {
				out[i].Result = ResultUnknown
			}
		}
	}
	return out
}

// DescribeReportIssues joins issues as "SEVERITY code: message; …".
func DescribeReportIssues(issues []ReportIssue) string {
	if len(issues) == 0 {
		return "no issues given"
	}
	var b []byte
	for i, is := range issues {
		if i > 0 {
			b = append(b, "; "...)
		}
		b = append(b, is.Severity...)
		if is.Code != "" {
			b = append(b, ' ')
			b = append(b, is.Code...)
		}
		b = append(b, ": "...)
		b = append(b, is.Message...)
		if is.AttributeName != "" {
			b = append(b, " ["...)
			b = append(b, is.AttributeName...)
			b = append(b, ']')
		}
	}
	return string(b)
}
