package listingsapi

import "time"

// Operation names an SP-API operation the package calls.
type Operation string

// The operations, by their operationId in the models.
const (
	OpPatchListingsItem  Operation = "patchListingsItem"
	OpCreateFeedDocument Operation = "createFeedDocument"
	OpCreateFeed         Operation = "createFeed"
	OpGetFeed            Operation = "getFeed"
	OpGetFeedDocument    Operation = "getFeedDocument"
	OpCancelFeed         Operation = "cancelFeed"
)

// Plan is a usage plan: a token bucket refilled at Rate requests per
// second up to Burst requests, per selling partner and application (ref
// §6.1).
type Plan struct {
	Rate  float64
	Burst int
}

// Plans are the documented usage plans (ref §6.1 table: listings model
// and dev-docs listings-items-api-rate-limits; feeds model and dev-docs
// feeds-api-rate-limits). patchListingsItem's burst is 5 on the current
// page and 10 on older ones; 5 is the safe reading. createFeedDocument is
// 0.5/15 in the reference's model commit (34dc93fe, 2026-08); an older
// model file said 0.0083/15, the same as createFeed, so a caller paced
// on createFeed is safe under either.
var Plans = map[Operation]Plan{
	OpPatchListingsItem:  {Rate: 5, Burst: 5},
	OpCreateFeedDocument: {Rate: 0.5, Burst: 15},
	OpCreateFeed:         {Rate: 0.0083, Burst: 15},
	OpGetFeed:            {Rate: 2, Burst: 15},
	OpGetFeedDocument:    {Rate: 0.0222, Burst: 10},
	OpCancelFeed:         {Rate: 2, Burst: 15},
}

// FeedSubmissions is the JSON_LISTINGS_FEED quota on top of createFeed's
// plan: at most Count submissions in any Per, per region, since
// 2025-05-06 (ref §6.1, §5.2; https://developer-docs.amazon.com/sp-api/changelog/update-feed-size-and-rate-limit-changes-for-the-json_listings_feed).
// Whether Amazon counts it as a sliding window or a bucket is not
// documented [U]; a sliding window is the stricter reading.
var FeedSubmissions = struct {
	Count int
	Per   time.Duration
}{Count: 5, Per: 5 * time.Minute}
