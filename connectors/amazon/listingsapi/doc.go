// Package listingsapi is the write client of stockgate's Amazon
// connector: it sets a listing's merchant-fulfilled (MFN) quantity with
// the Listings Items API 2021-08-01 operation patchListingsItem, and many
// listings at once with a JSON_LISTINGS_FEED through the Feeds API
// 2021-06-30. Like every driver it sends one request per call,
// classifies failures and never retries or paces; the caller
// (dispatch/amazonwriter) does, with the usage plans in Plans.
// Package listingsfake is the fake API the tests run against.
//
// Facts are cited as "ref §N", the section of the project's Amazon
// reference (shared/reference/amazon.md), and by the models of
// amzn/selling-partner-api-models: models/listings-items-api-model/
// listingsItems_2021-08-01.json ("listings model") and
// models/feeds-api-model/feeds_2021-06-30.json ("feeds model"), and the
// feed document schemas schemas/feeds/listings-feed-schema-v2.json and
// listings-feed-processing-report-schema-v2.json.
//
// # One listing: patchListingsItem
//
// PatchListingsItem sends PATCH /listings/2021-08-01/items/{sellerId}/{sku}
// ?marketplaceIds=… with {"productType", "patches"} (ref §5.1); the SKU is
// path-escaped (dev-docs patchlistingsitem-1). MergeQuantity builds the
// patch stockgate sends: op "merge" on /attributes/fulfillment_availability
// with [{"fulfillment_channel_code": "DEFAULT", "quantity": N}], which
// updates the quantity and keeps lead time and restock date (ref §5.1,
// "Use merge (since 2025-06-16)"). Amazon answers HTTP 200 even when it
// refuses the submission: a status INVALID is returned as an
// InvalidArgument *spapi.Error (with the Submission and its issues), so a
// caller can never mistake it for a write. ACCEPTED is not "applied":
// Amazon validates further and applies within minutes (ref §5.1); the
// LISTINGS_ITEM_MFN_QUANTITY_CHANGE notification confirms it.
//
// # Many listings: JSON_LISTINGS_FEED
//
// The feed lifecycle, one method per step (ref §5.2):
//
//  1. CreateFeedDocument(ContentTypeJSON): POST /feeds/2021-06-30/documents,
//     201 {feedDocumentId, url}; the presigned url expires in 5 minutes.
//  2. UploadFeedDocument: PUT the document to url with the same
//     Content-Type ("application/json", as Amazon's listings sample app
//     sends it; the official value is [U], ref §5.2).
//  3. CreateFeed: POST /feeds/2021-06-30/feeds {feedType:
//     "JSON_LISTINGS_FEED", marketplaceIds: [one], inputFeedDocumentId},
//     202 {feedId}. One marketplace per feed (ref §5.2, models #4726).
//  4. GetFeed until Terminal: processingStatus IN_QUEUE, IN_PROGRESS, then
//     DONE, FATAL or CANCELLED.
//  5. GetFeedDocument(resultFeedDocumentId) and DownloadFeedDocument (which
//     gunzips when compressionAlgorithm is GZIP): the processing report.
//
// ListingsFeed is the document (header sellerId and version "2.0", 1 to
// 25,000 messages with unique messageIds; keep it under 10 MiB, ref §5.2)
// and ProcessingReport the answer, which lists issues per messageId and a
// summary: Results turns it into one MessageResult per message (ERROR
// issues: INVALID; none: ACCEPTED, when the summary accounts for it).
//
// # Rate limits
//
// Plans lists each operation's usage plan (ref §6.1): patchListingsItem 5
// requests/s with a burst of 5, createFeedDocument 0.5/15, createFeed
// 0.0083/15, getFeed 2/15, getFeedDocument 0.0222/10, and at most 5
// JSON_LISTINGS_FEED submissions per 5 minutes per region
// (FeedSubmissions). Every result and every *spapi.Error carries the
// answer's x-amzn-RateLimit-Limit (RateLimit), so the caller's limiter
// follows what Amazon grants.
//
// # Errors
//
// Errors are *spapi.Error (see package spapi for the codes). Besides:
// a patch answered INVALID is InvalidArgument; an upload or download to a
// presigned URL that fails with a 4xx (expired URL, content type that
// does not match) is Aborted, since a new document fixes it, and with a
// 5xx Unavailable; a processing report that is not the documented JSON is
// Unknown.
package listingsapi
