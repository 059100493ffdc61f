package listingsapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/spapi"
	"github.com/stockgate/stockgate/errcode"
)

// Paths and values of the Feeds API 2021-06-30 (feeds model; ref §5.2).
const (
	FeedsPath     = "/feeds/2021-06-30/feeds"
	DocumentsPath = "/feeds/2021-06-30/documents"
	// FeedTypeJSONListings is the one listings feed type left since the
	// XML and flat-file feeds were removed on 2025-07-31 (ref §5.2).
	FeedTypeJSONListings = "JSON_LISTINGS_FEED"
	// ContentTypeJSON is the content type of a JSON_LISTINGS_FEED
	// document, as Amazon's listings sample app sends it (ref §5.2 [U]).
	ContentTypeJSON = "application/json"
	// CompressionGZIP is the one compressionAlgorithm (feeds model
	// FeedDocument).
	CompressionGZIP = "GZIP"
)

// Processing statuses (feeds model Feed.processingStatus).
const (
	// StatusInQueue: "not yet started processing. It may be waiting for
	// another IN_PROGRESS feed." Only such a feed can be cancelled.
	StatusInQueue = "IN_QUEUE"
	// StatusInProgress: "being processed".
	StatusInProgress = "IN_PROGRESS"
	// StatusDone: "completed processing. Examine the contents of the
	// result document to determine if there were any errors".
	StatusDone = "DONE"
	// StatusFatal: "aborted due to a fatal error. Some, none, or all of
	// the operations within the feed may have completed successfully."
	StatusFatal = "FATAL"
	// StatusCancelled: "cancelled before it started processing".
	StatusCancelled = "CANCELLED"
)

// maxDocument bounds a downloaded document (after decompression).
const maxDocument = 256 << 20

// FeedDocument is a feed document: where to upload a feed, or where to
// download a processing report (feeds model CreateFeedDocumentResponse,
// FeedDocument). URL is presigned and expires after 5 minutes.
type FeedDocument struct {
	ID                   string `json:"feedDocumentId"`
	URL                  string `json:"url"`
	CompressionAlgorithm string `json:"compressionAlgorithm,omitempty"`
	// RateLimit is the answer's x-amzn-RateLimit-Limit; 0 when absent.
	RateLimit float64 `json:"-"`
}

// CreateFeedDocument creates a document for a feed of contentType and
// returns where to upload it: POST /feeds/2021-06-30/documents, 201.
func (c *Client) CreateFeedDocument(ctx context.Context, contentType string) (FeedDocument, error) {
	if contentType == "" {
		return FeedDocument{}, &spapi.Error{Op: string(OpCreateFeedDocument), Code: errcode.InvalidArgument, Err: errors.New("contentType: required")}
	}
	var d FeedDocument
	m, err := c.api.Do(ctx, spapi.Request{Op: string(OpCreateFeedDocument), Method: http.MethodPost, Path: DocumentsPath,
		Status: http.StatusCreated, Body: map[string]string{"contentType": contentType}}, &d)
	d.RateLimit = m.RateLimit
	if err == nil && (d.ID == "" || d.URL == "") {
		err = &spapi.Error{Op: string(OpCreateFeedDocument), Code: errcode.Unknown, HTTPStatus: m.Status, RequestID: m.RequestID,
			RateLimit: m.RateLimit, Err: errors.New("the answer has no feedDocumentId or url")}
	}
	return d, err
}

// UploadFeedDocument PUTs body to the document's presigned URL with
// contentType, which must be the one given to CreateFeedDocument (ref
// §5.2: a mismatch makes the upload fail). The URL is not an SP-API
// endpoint: no access token is sent.
func (c *Client) UploadFeedDocument(ctx context.Context, d FeedDocument, contentType string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, d.URL, bytes.NewReader(body))
	if err != nil {
		return &spapi.Error{Op: "uploadFeedDocument", Code: errcode.InvalidArgument, Err: err}
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := c.api.HTTPClient().Do(req)
	if err != nil {
		return spapi.TransportError(ctx, "uploadFeedDocument", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return presignedError("uploadFeedDocument", resp.StatusCode, raw)
	}
	return nil
}

// presignedError classifies a failed call to a presigned URL: a 4xx
// (expired, or a signature that does not match the content type) is
// fixed by a new document, so Aborted; a 5xx is Unavailable.
func presignedError(op string, status int, raw []byte) error {
	code := errcode.Aborted
	if status >= 500 || status == http.StatusRequestTimeout {
		code = errcode.Unavailable
	}
	return &spapi.Error{Op: op, Code: code, HTTPStatus: status, Err: fmt.Errorf("%s: %.200s", http.StatusText(status), bytes.TrimSpace(raw))}
}

// CreateFeedRequest is one createFeed call (feeds model
// CreateFeedSpecification).
type CreateFeedRequest struct {
	// FeedType such as FeedTypeJSONListings. Required.
	FeedType string `json:"feedType"`
	// MarketplaceIDs: exactly one for JSON_LISTINGS_FEED (ref §5.2).
	MarketplaceIDs []string `json:"marketplaceIds"`
	// InputFeedDocumentID is the uploaded document. Required.
	InputFeedDocumentID string `json:"inputFeedDocumentId"`
}

// CreatedFeed is the answer of createFeed.
type CreatedFeed struct {
	FeedID string `json:"feedId"`
	// RateLimit is the answer's x-amzn-RateLimit-Limit; 0 when absent.
	RateLimit float64 `json:"-"`
}

// CreateFeed submits an uploaded document: POST /feeds/2021-06-30/feeds,
// 202 {feedId}.
func (c *Client) CreateFeed(ctx context.Context, req CreateFeedRequest) (CreatedFeed, error) {
	const op = string(OpCreateFeed)
	var problems []error
	if req.FeedType == "" {
		problems = append(problems, errors.New("FeedType: required"))
	}
	if n := len(req.MarketplaceIDs); n == 0 || n > 25 || (req.FeedType == FeedTypeJSONListings && n != 1) {
		problems = append(problems, fmt.Errorf("MarketplaceIDs: %d given; want 1 to 25, exactly 1 for %s (ref §5.2)", n, FeedTypeJSONListings))
	}
	if req.InputFeedDocumentID == "" {
		problems = append(problems, errors.New("InputFeedDocumentID: required"))
	}
	if len(problems) > 0 {
		return CreatedFeed{}, &spapi.Error{Op: op, Code: errcode.InvalidArgument, Err: errors.Join(problems...)}
	}
	var f CreatedFeed
	m, err := c.api.Do(ctx, spapi.Request{Op: op, Method: http.MethodPost, Path: FeedsPath, Status: http.StatusAccepted, Body: req}, &f)
	f.RateLimit = m.RateLimit
	if err == nil && f.FeedID == "" {
		err = &spapi.Error{Op: op, Code: errcode.Unknown, HTTPStatus: m.Status, RequestID: m.RequestID, RateLimit: m.RateLimit,
			Err: errors.New("the answer has no feedId")}
	}
	return f, err
}

// Feed is a feed's state (feeds model Feed).
type Feed struct {
	FeedID               string     `json:"feedId"`
	FeedType             string     `json:"feedType"`
	MarketplaceIDs       []string   `json:"marketplaceIds,omitempty"`
	CreatedTime          time.Time  `json:"createdTime"`
	ProcessingStatus     string     `json:"processingStatus"`
	ProcessingStartTime  *time.Time `json:"processingStartTime,omitempty"`
	ProcessingEndTime    *time.Time `json:"processingEndTime,omitempty"`
	ResultFeedDocumentID string     `json:"resultFeedDocumentId,omitempty"`
	// RateLimit is the answer's x-amzn-RateLimit-Limit; 0 when absent.
	RateLimit float64 `json:"-"`
}

// Terminal reports whether the feed is done processing: DONE, FATAL or
// CANCELLED.
func (f Feed) Terminal() bool { return Terminal(f.ProcessingStatus) }

// Terminal reports whether a processing status is final.
func Terminal(status string) bool {
	return status == StatusDone || status == StatusFatal || status == StatusCancelled
}

// GetFeed reads a feed's state: GET /feeds/2021-06-30/feeds/{feedId}.
func (c *Client) GetFeed(ctx context.Context, feedID string) (Feed, error) {
	const op = string(OpGetFeed)
	if feedID == "" {
		return Feed{}, &spapi.Error{Op: op, Code: errcode.InvalidArgument, Err: errors.New("feedID: required")}
	}
	var f Feed
	m, err := c.api.Do(ctx, spapi.Request{Op: op, Method: http.MethodGet, Path: FeedsPath + "/" + url.PathEscape(feedID), Status: http.StatusOK}, &f)
	f.RateLimit = m.RateLimit
	if err == nil {
		switch f.ProcessingStatus {
		case StatusInQueue, StatusInProgress, StatusDone, StatusFatal, StatusCancelled:
		default:
			err = &spapi.Error{Op: op, Code: errcode.Unknown, HTTPStatus: m.Status, RequestID: m.RequestID, RateLimit: m.RateLimit,
				Err: fmt.Errorf("unknown processingStatus %q", f.ProcessingStatus)}
		}
	}
	return f, err
}

// CancelFeed cancels a feed that is still IN_QUEUE: DELETE
// /feeds/2021-06-30/feeds/{feedId}, 200.
func (c *Client) CancelFeed(ctx context.Context, feedID string) error {
	const op = string(OpCancelFeed)
	if feedID == "" {
		return &spapi.Error{Op: op, Code: errcode.InvalidArgument, Err: errors.New("feedID: required")}
	}
	_, err := c.api.Do(ctx, spapi.Request{Op: op, Method: http.MethodDelete, Path: FeedsPath + "/" + url.PathEscape(feedID), Status: http.StatusOK}, nil)
	return err
}

// GetFeedDocument returns where to download a document, such as a feed's
// ResultFeedDocumentID: GET /feeds/2021-06-30/documents/{feedDocumentId}.
func (c *Client) GetFeedDocument(ctx context.Context, documentID string) (FeedDocument, error) {
	const op = string(OpGetFeedDocument)
	if documentID == "" {
		return FeedDocument{}, &spapi.Error{Op: op, Code: errcode.InvalidArgument, Err: errors.New("documentID: required")}
	}
	var d FeedDocument
	m, err := c.api.Do(ctx, spapi.Request{Op: op, Method: http.MethodGet, Path: DocumentsPath + "/" + url.PathEscape(documentID), Status: http.StatusOK}, &d)
	d.RateLimit = m.RateLimit
	if err == nil && d.URL == "" {
		err = &spapi.Error{Op: op, Code: errcode.Unknown, HTTPStatus: m.Status, RequestID: m.RequestID, RateLimit: m.RateLimit,
			Err: errors.New("the answer has no url")}
	}
	return d, err
}

// DownloadFeedDocument GETs a document from its presigned URL and
// gunzips it when its CompressionAlgorithm is GZIP (feeds model
// FeedDocument: "you must decompress the feed when you download").
func (c *Client) DownloadFeedDocument(ctx context.Context, d FeedDocument) ([]byte, error) {
	const op = "downloadFeedDocument"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.URL, nil)
	if err != nil {
		return nil, &spapi.Error{Op: op, Code: errcode.InvalidArgument, Err: err}
	}
	resp, err := c.api.HTTPClient().Do(req)
	if err != nil {
		return nil, spapi.TransportError(ctx, op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, presignedError(op, resp.StatusCode, raw)
	}
	var r io.Reader = resp.Body
	switch d.CompressionAlgorithm {
	case "":
	case CompressionGZIP:
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, &spapi.Error{Op: op, Code: errcode.Unknown, HTTPStatus: resp.StatusCode, Err: fmt.Errorf("gunzip: %w", err)}
		}
		defer zr.Close()
		r = zr
	default:
		return nil, &spapi.Error{Op: op, Code: errcode.Unknown, Err: fmt.Errorf("unknown compressionAlgorithm %q", d.CompressionAlgorithm)}
	}
	b, err := io.ReadAll(io.LimitReader(r, maxDocument+1))
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, spapi.TransportError(ctx, op, err)
	case err != nil:
		return nil, &spapi.Error{Op: op, Code: errcode.Unavailable, HTTPStatus: resp.StatusCode, Err: fmt.Errorf("reading the document: %w", err)}
	case len(b) > maxDocument:
		return nil, &spapi.Error{Op: op, Code: errcode.Unknown, HTTPStatus: resp.StatusCode, Err: fmt.Errorf("document larger than %d bytes", maxDocument)}
	}
	return b, nil
}
