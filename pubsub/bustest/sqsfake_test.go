package bustest_test

// sqsFake is a FAKE Amazon SQS endpoint on loopback, written for these
// tests because no SQS emulator runs on the project's machines
// (shared/reference/infrastructure.md §11: goaws speaks only the XML query
// protocol, which SDK v2 no longer uses; LocalStack and ElasticMQ need
// Docker or Java downloads). It speaks the AWS JSON 1.0 protocol that
// aws-sdk-go-v2's SQS client uses — POST /, X-Amz-Target:
// AmazonSQS.<Operation>, Content-Type application/x-amz-json-1.0 — for the
// operations gocloud's awssnssqs driver calls, plus CreateQueue and
// DeleteQueue for the harness, with the behaviour the SQS API reference
// documents:
//
//   - SendMessageBatch: 1–10 entries with distinct ids; the request fails
//     with EmptyBatchRequest, TooManyEntriesInBatchRequest,
//     BatchEntryIdsNotDistinct, InvalidBatchEntryId or BatchRequestTooLong
//     (over 256 KiB); an entry whose body has characters SQS does not allow
//     fails alone with InvalidMessageContents. Each result carries the MD5
//     of the body and of the message attributes, computed as SQS does; the
//     SDK checks the body's.
//   - ReceiveMessage: 1–10 messages (MaxNumberOfMessages), each hidden for
//     the request's VisibilityTimeout or else the queue's; a new receipt
//     handle per receive; ApproximateReceiveCount and the other system
//     attributes, message attributes filtered by MessageAttributeNames;
//     long polling up to WaitTimeSeconds (0–20). A standard queue: no order
//     is promised (this fake hands out the oldest visible messages first).
//   - DeleteMessageBatch: deleting with the latest receipt handle deletes
//     the message; with an earlier one of the same message the request
//     succeeds and the message stays (as the DeleteMessage reference says);
//     an unknown handle fails the entry with ReceiptHandleIsInvalid.
//   - ChangeMessageVisibilityBatch: restarts the message's visibility
//     timeout from now (0 makes it visible at once); an unknown handle fails
//     the entry with ReceiptHandleIsInvalid, a message that is not in flight
//     (or an earlier receive's handle) with MessageNotInflight.
//
// Errors are HTTP 400 with a JSON body whose __type names the error shape
// (com.amazonaws.sqs#QueueDoesNotExist) and the x-amzn-query-error header
// SQS sends for query-compatible codes. There are no FIFO queues, dead
// letter queues, delays, permissions or quotas.

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

const (
	sqsAccount      = "000000000000"
	sqsMaxBatch     = 10
	sqsMaxBatchSize = 256 * 1024
	sqsMaxWait      = 20 // seconds
	sqsMaxVisSecs   = 43200
)

type sqsFake struct {
	srv *httptest.Server

	mu     sync.Mutex
	queues map[string]*sqsQueue
	wake   chan struct{} // closed and replaced whenever a message may have become visible
}

type sqsQueue struct {
	visibility time.Duration
	msgs       []*sqsMessage // not deleted, in send order
	byReceipt  map[string]*sqsMessage
}

type sqsMessage struct {
	id, body          string
	md5Body, md5Attrs string
	attrs             map[string]sqsAttr
	sent              time.Time
	firstReceive      time.Time
	receives          int
	visibleAt         time.Time
	receipt           string // the latest receive's handle
	deleted           bool
}

type sqsAttr struct {
	DataType    string  `json:"DataType"`
	StringValue *string `json:"StringValue,omitempty"`
	BinaryValue []byte  `json:"BinaryValue,omitempty"`
}

// sqsError is an error answer; entry errors go into a batch's Failed list.
type sqsError struct {
	status    int
	code      string // the __type shape name
	queryCode string // x-amzn-query-error code, if it differs
	msg       string
}

func (e *sqsError) Error() string { return e.code + ": " + e.msg }

func errInvalidParam(format string, args ...any) *sqsError {
	return &sqsError{http.StatusBadRequest, "InvalidParameterValue", "", fmt.Sprintf(format, args...)}
}

func newSQSFake() *sqsFake {
	f := &sqsFake{queues: map[string]*sqsQueue{}, wake: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

func (f *sqsFake) Close() { f.srv.Close() }

func (f *sqsFake) serve(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if r.Method != http.MethodPost || !ok || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.0") {
		writeSQSError(w, &sqsError{http.StatusBadRequest, "InvalidAction", "", "not an AWS JSON 1.0 SQS request"})
		return
	}
	var (
		out any
		err *sqsError
	)
	dec := json.NewDecoder(r.Body)
	switch op {
	case "CreateQueue":
		var in struct {
			QueueName  string
			Attributes map[string]string
		}
		if err = decode(dec, &in); err == nil {
			out, err = f.createQueue(in.QueueName, in.Attributes)
		}
	case "DeleteQueue":
		var in struct{ QueueUrl string }
		if err = decode(dec, &in); err == nil {
			out, err = f.deleteQueue(in.QueueUrl)
		}
	case "SendMessageBatch":
		var in sendBatchInput
		if err = decode(dec, &in); err == nil {
			out, err = f.sendBatch(in)
		}
	case "ReceiveMessage":
		var in receiveInput
		if err = decode(dec, &in); err == nil {
			out, err = f.receive(r.Context(), in)
		}
	case "DeleteMessageBatch":
		var in handleBatchInput
		if err = decode(dec, &in); err == nil {
			out, err = f.deleteBatch(in)
		}
	case "ChangeMessageVisibilityBatch":
		var in handleBatchInput
		if err = decode(dec, &in); err == nil {
			out, err = f.changeVisibilityBatch(in)
		}
	default:
		err = &sqsError{http.StatusBadRequest, "InvalidAction", "", "the fake does not implement " + op}
	}
	if err != nil {
		writeSQSError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

func decode(dec *json.Decoder, v any) *sqsError {
	if err := dec.Decode(v); err != nil {
		return &sqsError{http.StatusBadRequest, "SerializationException", "", err.Error()}
	}
	return nil
}

func writeSQSError(w http.ResponseWriter, e *sqsError) {
	qc := e.queryCode
	if qc == "" {
		qc = e.code
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-query-error", qc+";Sender")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + e.code, "message": e.msg})
}

var sqsQueueName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

func (f *sqsFake) createQueue(name string, attrs map[string]string) (any, *sqsError) {
	if !sqsQueueName.MatchString(name) {
		return nil, errInvalidParam("invalid queue name %q", name)
	}
	vis := 30 * time.Second
	for k, v := range attrs {
		switch k {
		case "VisibilityTimeout":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > sqsMaxVisSecs {
				return nil, &sqsError{http.StatusBadRequest, "InvalidAttributeValue", "", "VisibilityTimeout " + v}
			}
			vis = time.Duration(n) * time.Second
		default:
			return nil, &sqsError{http.StatusBadRequest, "InvalidAttributeName", "", "the fake does not implement attribute " + k}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if q, ok := f.queues[name]; ok {
		if q.visibility != vis {
			return nil, &sqsError{http.StatusBadRequest, "QueueNameExists", "QueueAlreadyExists", name + " exists with other attributes"}
		}
	} else {
		f.queues[name] = &sqsQueue{visibility: vis, byReceipt: map[string]*sqsMessage{}}
	}
	return map[string]string{"QueueUrl": f.srv.URL + "/" + sqsAccount + "/" + name}, nil
}

func (f *sqsFake) deleteQueue(qURL string) (any, *sqsError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, err := f.queueName(qURL)
	if err != nil {
		return nil, err
	}
	delete(f.queues, name)
	return struct{}{}, nil
}

// queueName returns the name of an existing queue from its URL. f.mu is
// held.
func (f *sqsFake) queueName(qURL string) (string, *sqsError) {
	u, perr := url.Parse(qURL)
	name := ""
	if perr == nil {
		name = u.Path[strings.LastIndexByte(u.Path, '/')+1:]
	}
	if _, ok := f.queues[name]; !ok {
		return "", &sqsError{http.StatusBadRequest, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist."}
	}
	return name, nil
}

func (f *sqsFake) queue(qURL string) (*sqsQueue, *sqsError) {
	name, err := f.queueName(qURL)
	if err != nil {
		return nil, err
	}
	return f.queues[name], nil
}

// wakeLocked wakes long polls. f.mu is held.
func (f *sqsFake) wakeLocked() {
	close(f.wake)
	f.wake = make(chan struct{})
}

type batchResult struct {
	Successful []map[string]string `json:"Successful"`
	Failed     []batchFailure      `json:"Failed"`
}

type batchFailure struct {
	Id          string `json:"Id"`
	SenderFault bool   `json:"SenderFault"`
	Code        string `json:"Code"`
	Message     string `json:"Message"`
}

var sqsEntryID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// checkBatchIDs applies the rules every batch request shares.
func checkBatchIDs(ids []string) *sqsError {
	switch {
	case len(ids) == 0:
		return &sqsError{http.StatusBadRequest, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one entry in the request."}
	case len(ids) > sqsMaxBatch:
		return &sqsError{http.StatusBadRequest, "TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", fmt.Sprintf("Maximum number of entries per request are %d. You have sent %d.", sqsMaxBatch, len(ids))}
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !sqsEntryID.MatchString(id) {
			return &sqsError{http.StatusBadRequest, "InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", "invalid batch entry id " + strconv.Quote(id)}
		}
		if seen[id] {
			return &sqsError{http.StatusBadRequest, "BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id " + id + " repeated."}
		}
		seen[id] = true
	}
	return nil
}

type sendBatchInput struct {
	QueueUrl string
	Entries  []struct {
		Id                string
		MessageBody       string
		MessageAttributes map[string]sqsAttr
	}
}

func (f *sqsFake) sendBatch(in sendBatchInput) (any, *sqsError) {
	ids := make([]string, len(in.Entries))
	size := 0
	for i, e := range in.Entries {
		ids[i] = e.Id
		size += len(e.MessageBody)
		for k, a := range e.MessageAttributes {
			size += len(k) + len(a.DataType) + len(a.BinaryValue)
			if a.StringValue != nil {
				size += len(*a.StringValue)
			}
		}
	}
	if err := checkBatchIDs(ids); err != nil {
		return nil, err
	}
	if size > sqsMaxBatchSize {
		return nil, &sqsError{http.StatusBadRequest, "BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", fmt.Sprintf("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", sqsMaxBatchSize, size)}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	res := batchResult{Successful: []map[string]string{}, Failed: []batchFailure{}}
	now := time.Now()
	for _, e := range in.Entries {
		if msg := invalidBody(e.MessageBody); msg != "" {
			res.Failed = append(res.Failed, batchFailure{e.Id, true, "InvalidMessageContents", msg})
			continue
		}
		if msg := invalidAttrs(e.MessageAttributes); msg != "" {
			res.Failed = append(res.Failed, batchFailure{e.Id, true, "InvalidParameterValue", msg})
			continue
		}
		m := &sqsMessage{
			id: newUUID(), body: e.MessageBody, attrs: e.MessageAttributes,
			md5Body: md5Hex([]byte(e.MessageBody)), md5Attrs: md5OfAttributes(e.MessageAttributes),
			sent: now, visibleAt: now,
		}
		q.msgs = append(q.msgs, m)
		ok := map[string]string{"Id": e.Id, "MessageId": m.id, "MD5OfMessageBody": m.md5Body}
		if m.md5Attrs != "" {
			ok["MD5OfMessageAttributes"] = m.md5Attrs
		}
		res.Successful = append(res.Successful, ok)
	}
	f.wakeLocked()
	return res, nil
}

// invalidBody says why SQS would refuse a body: it allows #x9, #xA, #xD,
// #x20–#xD7FF, #xE000–#xFFFD and #x10000–#x10FFFF, and at least one
// character.
func invalidBody(s string) string {
	if s == "" {
		return "The message body must be at least one character."
	}
	if !utf8.ValidString(s) {
		return "Invalid binary character in the message body."
	}
	for _, r := range s {
		if !(r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000) {
			return fmt.Sprintf("Invalid binary character '#x%X' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", r)
		}
	}
	return ""
}

var sqsAttrName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)

// invalidAttrs says why SQS would refuse message attributes: at most 10;
// names of letters, digits, '_', '-' and '.', not starting or ending with
// '.', without "..", not starting with "AWS." or "Amazon."; a String,
// Number or Binary type (with an optional ".label") and a value of it.
func invalidAttrs(attrs map[string]sqsAttr) string {
	if len(attrs) > 10 {
		return fmt.Sprintf("Number of message attributes [%d] exceeds the allowed maximum [10].", len(attrs))
	}
	for k, a := range attrs {
		lower := strings.ToLower(k)
		if !sqsAttrName.MatchString(k) || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") || strings.Contains(k, "..") ||
			strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") {
			return "Message (user) attribute name " + strconv.Quote(k) + " is invalid."
		}
		base, _, _ := strings.Cut(a.DataType, ".")
		switch base {
		case "String", "Number":
			if a.StringValue == nil {
				return "Message (user) attribute '" + k + "' must contain a non-empty value of type '" + base + "'."
			}
		case "Binary":
			if a.BinaryValue == nil {
				return "Message (user) attribute '" + k + "' must contain a non-empty value of type 'Binary'."
			}
		default:
			return "The type of message (user) attribute '" + k + "' is invalid."
		}
	}
	return ""
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// md5OfAttributes is SQS's MD5OfMessageAttributes: for each attribute in
// name order, the name, the data type and the value, each as a 4-byte
// big-endian length and the bytes, with a transport byte (1 string, 2
// binary) before the value. "" without attributes.
func md5OfAttributes(attrs map[string]sqsAttr) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	var b []byte
	field := func(v []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	for _, k := range names {
		a := attrs[k]
		field([]byte(k))
		field([]byte(a.DataType))
		if a.StringValue != nil {
			b = append(b, 1)
			field([]byte(*a.StringValue))
		} else {
			b = append(b, 2)
			field(a.BinaryValue)
		}
	}
	return md5Hex(b)
}

type receiveInput struct {
	QueueUrl                    string
	MaxNumberOfMessages         *int
	VisibilityTimeout           *int
	WaitTimeSeconds             *int
	AttributeNames              []string
	MessageSystemAttributeNames []string
	MessageAttributeNames       []string
}

type receivedMessage struct {
	MessageId              string             `json:"MessageId"`
	ReceiptHandle          string             `json:"ReceiptHandle"`
	MD5OfBody              string             `json:"MD5OfBody"`
	Body                   string             `json:"Body"`
	Attributes             map[string]string  `json:"Attributes,omitempty"`
	MessageAttributes      map[string]sqsAttr `json:"MessageAttributes,omitempty"`
	MD5OfMessageAttributes string             `json:"MD5OfMessageAttributes,omitempty"`
}

func (f *sqsFake) receive(ctx context.Context, in receiveInput) (any, *sqsError) {
	max := 1
	if in.MaxNumberOfMessages != nil {
		max = *in.MaxNumberOfMessages
	}
	if max < 1 || max > sqsMaxBatch {
		return nil, errInvalidParam("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", max)
	}
	wait := 0
	if in.WaitTimeSeconds != nil {
		wait = *in.WaitTimeSeconds
	}
	if wait < 0 || wait > sqsMaxWait {
		return nil, errInvalidParam("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", wait)
	}
	if in.VisibilityTimeout != nil && (*in.VisibilityTimeout < 0 || *in.VisibilityTimeout > sqsMaxVisSecs) {
		return nil, errInvalidParam("Value %d for parameter VisibilityTimeout is invalid.", *in.VisibilityTimeout)
	}
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	for {
		f.mu.Lock()
		q, err := f.queue(in.QueueUrl)
		if err != nil {
			f.mu.Unlock()
			return nil, err
		}
		now := time.Now()
		ms := f.takeLocked(q, in, max, now)
		wake := f.wake
		f.mu.Unlock()
		if len(ms) > 0 || !now.Before(deadline) {
			return map[string][]receivedMessage{"Messages": ms}, nil
		}
		// Long poll: wait for a send or a visibility change, and look
		// again now and then for messages whose timeout ran out.
		t := time.NewTimer(min(time.Until(deadline), 100*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, &sqsError{499, "RequestCanceled", "", ctx.Err().Error()}
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// takeLocked receives up to max visible messages of q. f.mu is held.
func (f *sqsFake) takeLocked(q *sqsQueue, in receiveInput, max int, now time.Time) []receivedMessage {
	vis := q.visibility
	if in.VisibilityTimeout != nil {
		vis = time.Duration(*in.VisibilityTimeout) * time.Second
	}
	sysAttrs := slicesContainAny(append(in.AttributeNames, in.MessageSystemAttributeNames...), "All")
	var ms []receivedMessage
	for _, m := range q.msgs {
		if len(ms) == max {
			break
		}
		if m.visibleAt.After(now) {
			continue
		}
		m.receives++
		if m.firstReceive.IsZero() {
			m.firstReceive = now
		}
		m.visibleAt = now.Add(vis)
		m.receipt = newReceipt(m.id)
		q.byReceipt[m.receipt] = m
		rm := receivedMessage{MessageId: m.id, ReceiptHandle: m.receipt, MD5OfBody: m.md5Body, Body: m.body}
		if sysAttrs {
			rm.Attributes = map[string]string{
				"SenderId":                         "AIDABUSTEST",
				"SentTimestamp":                    strconv.FormatInt(m.sent.UnixMilli(), 10),
				"ApproximateReceiveCount":          strconv.Itoa(m.receives),
				"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.firstReceive.UnixMilli(), 10),
			}
		}
		if attrs := selectAttrs(m.attrs, in.MessageAttributeNames); len(attrs) > 0 {
			rm.MessageAttributes = attrs
			rm.MD5OfMessageAttributes = md5OfAttributes(attrs)
		}
		ms = append(ms, rm)
	}
	return ms
}

func slicesContainAny(names []string, want string) bool {
	for _, n := range names {
		if n == want {
			return true
		}
	}
	return false
}

// selectAttrs returns the attributes names asks for: "All" or ".*" for
// all of them, "prefix.*" for those with a prefix, or exact names.
func selectAttrs(attrs map[string]sqsAttr, names []string) map[string]sqsAttr {
	out := map[string]sqsAttr{}
	for k, a := range attrs {
		for _, n := range names {
			if n == "All" || n == ".*" || n == k || (strings.HasSuffix(n, ".*") && strings.HasPrefix(k, strings.TrimSuffix(n, "*"))) {
				out[k] = a
				break
			}
		}
	}
	return out
}

type handleBatchInput struct {
	QueueUrl string
	Entries  []struct {
		Id                string
		ReceiptHandle     string
		VisibilityTimeout *int
	}
}

func (f *sqsFake) deleteBatch(in handleBatchInput) (any, *sqsError) {
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	if err := checkBatchIDs(ids); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	res := batchResult{Successful: []map[string]string{}, Failed: []batchFailure{}}
	for _, e := range in.Entries {
		m, ok := q.byReceipt[e.ReceiptHandle]
		if !ok {
			res.Failed = append(res.Failed, batchFailure{e.Id, true, "ReceiptHandleIsInvalid", "The input receipt handle \"" + e.ReceiptHandle + "\" is not a valid receipt handle."})
			continue
		}
		// A deleted message's handles stay valid; an earlier receive's
		// handle succeeds without deleting.
		if !m.deleted && m.receipt == e.ReceiptHandle {
			m.deleted = true
			q.msgs = removeMessage(q.msgs, m)
		}
		res.Successful = append(res.Successful, map[string]string{"Id": e.Id})
	}
	return res, nil
}

func removeMessage(ms []*sqsMessage, m *sqsMessage) []*sqsMessage {
	for i, x := range ms {
		if x == m {
			return append(ms[:i], ms[i+1:]...)
		}
	}
	return ms
}

func (f *sqsFake) changeVisibilityBatch(in handleBatchInput) (any, *sqsError) {
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	if err := checkBatchIDs(ids); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	res := batchResult{Successful: []map[string]string{}, Failed: []batchFailure{}}
	now := time.Now()
	for _, e := range in.Entries {
		m, ok := q.byReceipt[e.ReceiptHandle]
		switch {
		case !ok || m.deleted:
			res.Failed = append(res.Failed, batchFailure{e.Id, true, "ReceiptHandleIsInvalid", "The input receipt handle is invalid."})
		case e.VisibilityTimeout == nil || *e.VisibilityTimeout < 0 || *e.VisibilityTimeout > sqsMaxVisSecs:
			res.Failed = append(res.Failed, batchFailure{e.Id, true, "InvalidParameterValue", "VisibilityTimeout must be between 0 and 43200."})
		case m.receipt != e.ReceiptHandle || !m.visibleAt.After(now):
			res.Failed = append(res.Failed, batchFailure{e.Id, true, "MessageNotInflight", "The message referred to isn't in flight."})
		default:
			m.visibleAt = now.Add(time.Duration(*e.VisibilityTimeout) * time.Second)
			res.Successful = append(res.Successful, map[string]string{"Id": e.Id})
		}
	}
	f.wakeLocked()
	return res, nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func newReceipt(id string) string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "/" + id
}
