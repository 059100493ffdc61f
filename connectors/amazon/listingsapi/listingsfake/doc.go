// Package listingsfake is an in-process fake of the two SP-API write
// paths stockgate uses to set merchant-fulfilled (MFN) quantities on
// Amazon: the Listings Items API 2021-08-01 operation patchListingsItem
// and the Feeds API 2021-06-30 with JSON_LISTINGS_FEED, for the tests of
// listingsapi and dispatch/amazonwriter and for load runs. A Server is
// an http.Handler for one seller and marketplace: mount it in an
// httptest.Server, or use Client for an in-memory transport that also
// works inside a testing/synctest bubble.
//
// Facts are cited as "ref §N", the section of the project's Amazon
// reference (shared/reference/amazon.md), and by the models of
// amzn/selling-partner-api-models ("listings model":
// models/listings-items-api-model/listingsItems_2021-08-01.json; "feeds
// model": models/feeds-api-model/feeds_2021-06-30.json; the feed schemas
// schemas/feeds/listings-feed-schema-v2.json and
// listings-feed-processing-report-schema-v2.json). Where Amazon documents
// no exact behaviour, the choice the fake made is marked [U]; user
// reports are [S].
//
// # Authentication and common answers
//
// Every SP-API request needs x-amz-access-token = Options.Token (ref
// §6.2), else 403 {"errors":[{"code":"Unauthorized","message":"Access to
// requested resource is denied.","details":"The access token you
// provided is revoked, malformed or invalid."}]} (the models list 403
// for "Access Denied, Unauthorized, Expired Token"; the body as users
// report it [S/U]). A sellerId other than Options.SellerID is the same
// 403 [U]. Unknown paths are 404 and unknown methods 405 [U]. Every
// SP-API answer carries x-amzn-RequestId; x-amzn-RateLimit-Limit (the
// operation's rate, "5.0") is on 20x, 400 and 404 answers only, never
// on 403, 429 or 5xx, as ref §6.1 and the models' headers say ("should
// never be expected in the response to a throttled, unauthorized, or
// unauthenticated request"). Bodies that are not the model's JSON are
// 400 {"errors":[{"code":"InvalidInput","message":"Request has missing
// or invalid parameters and cannot be parsed."}]} (jlevers/selling-
// partner-api #240 [S]); a body sent with another Content-Type than
// application/json is 415 (listed in the models).
//
// # Rate limits
//
// One token bucket per operation, as the usage plans say (ref §6.1;
// golang.org/x/time/rate on Options.Now, full at New): patchListingsItem
// 5/s burst 5 (older pages: 10), createFeedDocument 0.5/s burst 15,
// createFeed 0.0083/s burst 15, getFeed 2/s burst 15, getFeedDocument
// 0.0222/s burst 10, cancelFeed 2/s burst 15; Options.Plans overrides
// them. On top, at most 5 JSON_LISTINGS_FEED submissions in any 5
// minutes (ref §5.2, changelog 2025-05-06; a sliding window, the
// stricter reading [U]; Options.NoFeedWindow turns it off). A request over a limit, or one of the next n
// after Throttle(n), is HTTP 429 with the body users report (ref §6.1,
// shared/fixtures/amazon/error_429_quota_exceeded.sample.json [S]):
// {"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota
// for the requested resource.","details":""}]}, no Retry-After (none is
// documented, ref §6.1) and no x-amzn-RateLimit-Limit. createFeed over
// the JSON_LISTINGS_FEED window is the same 429 (models #4414: createFeed
// "Always Returns QuotaExceeded" [S]). The presigned document URLs
// (S3) have no SP-API limits.
//
// # patchListingsItem
//
// PATCH /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds=…
// (ref §5.1). marketplaceIds must name Options.MarketplaceID, else 400
// InvalidInput [U]. The body {"productType", "patches"} needs a product
// type and at least one patch (listings model); a patch without value
// (other than delete) is 400 InvalidInput "Value is missing for patch at
// index of N." (jlevers #363 [S]). The answer is HTTP 200
// {"sku","status","submissionId","issues"} (ListingsItemSubmissionResponse),
// with status:
//
//   - INVALID, nothing applied (ref §5.1: "HTTP 200 even when status is
//     INVALID"), when: the SKU is not a listing of the seller (unless
//     Options.AcceptUnknownSKUs) — Amazon reportedly accepts offer data
//     for unknown SKUs (models #2797, #4402 [S]); the fake refuses it so
//     that a mapping error is visible, issue code "NOT_FOUND" [U]; the
//     path is not /attributes/fulfillment_availability (the only
//     attribute the fake models; the camel-case path is refused with
//     90000900 "The attributes are invalid.", jlevers #861 [S]); an entry
//     has no fulfillment_channel_code ("The field
//     'fulfillment_channel_code' for the attribute
//     'fulfillment_availability' does not have enough values. The
//     required minimum is '1' value(s).", jlevers #493 [S], code 99022 as
//     in the schema's sample report); a quantity that is not an integer
//     ≥ 0 (90000900 [U]).
//   - VALID with ?mode=VALIDATION_PREVIEW and no issue (nothing applied).
//   - ACCEPTED otherwise, applied at once (Amazon applies within minutes,
//     ref §5.1; the fake does not model the delay).
//
// Semantics on fulfillment_availability, an array of entries selected by
// fulfillment_channel_code: merge updates the fields given in the entry
// of the same channel and keeps the others (lead time, restock date),
// adding the entry if absent (ref §5.1,
// https://developer-docs.amazon.com/sp-api/docs/merge-a-listing);
// replace and add replace the entry of the same channel whole, dropping
// fields not resent (models #4406 [S]) and keeping other channels'
// entries (models #2061 [S]); delete removes the entries of the channels
// given [U].
//
// # JSON_LISTINGS_FEED
//
// The lifecycle of ref §5.2:
//
//   - POST /feeds/2021-06-30/documents {"contentType"} → 201
//     {feedDocumentId, url}; url is a presigned URL on the fake itself
//     (/fake-s3/…) that expires after Options.URLExpiry (5 minutes, feeds
//     model).
//   - PUT url with the same Content-Type → 200. An expired URL is 403
//     AccessDenied "Request has expired" and another Content-Type 403
//     SignatureDoesNotMatch, with S3's XML error body [U: S3's answers,
//     not documented by SP-API; ref §5.2 "mismatch → upload fails"].
//   - POST /feeds/2021-06-30/feeds {feedType, marketplaceIds,
//     inputFeedDocumentId} → 202 {feedId}. The document must exist and be
//     uploaded, else 400 InvalidInput [U]. For JSON_LISTINGS_FEED more
//     than one marketplace is 400 "Too many 'marketplaceIds' values
//     provided. Expected a maximum of 1." (models #4726 [S]); other feed
//     types are accepted and end FATAL, as the removed XML and flat-file
//     feeds do (ref §5.2).
//   - GET /feeds/2021-06-30/feeds/{feedId} → the Feed. Feeds of the seller
//     are processed one at a time, in order ("Product data feeds are
//     processed sequentially", ref §5.2): IN_QUEUE for Options.QueueTime
//     after creation (and until the previous feed is done), then
//     IN_PROGRESS for messages ÷ Options.ProcessRate, then DONE with
//     resultFeedDocumentId. Amazon's times are minutes to hours (ref §7
//     pitfall 1); the defaults (2 s, 1,000 messages/s) are [U] and keep
//     tests short. DELETE cancels a feed that is still IN_QUEUE
//     (CANCELLED), else 400 InvalidInput [U].
//   - GET /feeds/2021-06-30/documents/{id} → {feedDocumentId, url,
//     compressionAlgorithm: "GZIP"} with a fresh presigned URL; the report
//     is gzipped unless Options.PlainReports (feeds model FeedDocument).
//     Only processing reports are served; an upload's id is 404 [U].
//
// Processing applies each message as the same patch would be applied
// (PATCH with patches, or PARTIAL_UPDATE with attributes, which the
// schema calls "equivalent to using PATCH with the replace op"); UPDATE
// and DELETE are not modelled and get an ERROR issue [U]. A message the
// patch rules refuse gets ERROR issues with its messageId and sku; a
// message without productType or patches gets "BAD_REQUEST Invalid
// parameters provided." (models #4554 [S]). The report is
// {header{sellerId, version "2.0", feedId}, issues[], summary{errors,
// warnings, messagesProcessed, messagesAccepted, messagesInvalid}}
// (processing report schema). A document that is not JSON, or whose
// header (sellerId, version "2.0") or messages (1 to 25,000, unique
// messageIds ≥ 1, sku, operationType) break the schema, is not
// processed: the feed ends FATAL with a report holding one issue
// without messageId [U].
//
// # Faults and assertions
//
// SetDown(status, until) answers every request (presigned URLs
// included) with status until the clock passes until, counted in
// Stats.Down; feeds already submitted keep processing (a separate
// system at Amazon [U]). Throttle(n) answers the next n SP-API requests
// 429. Stats counts requests per operation, 429s, feeds and messages;
// Quantity reads a SKU's DEFAULT quantity, Listing its entries, and
// SetQuantity and AddListings seed the catalogue. Feeds lists the feeds.
package listingsfake
