package amazon

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"sync"
	"testing"
	"time"
)

// sqsFake is a loopback Amazon SQS speaking the AWS JSON 1.0 protocol that
// aws-sdk-go-v2's SQS client uses: a POST to / with
// X-Amz-Target: AmazonSQS.<Operation> and a JSON body, answered with
// Content-Type application/x-amz-json-1.0 (errors: HTTP 400 with
// {"__type": "com.amazonaws.sqs#<Code>", "message"}). No emulator works
// here, and this is what does: shared/reference/infrastructure.md §11
// ("SDK v2 with config.WithBaseEndpoint against a small project-owned JSON
// 1.0 SQS fake ... SendMessageBatch, ReceiveMessage, DeleteMessageBatch,
// ChangeMessageVisibilityBatch"; "The SDK checks MD5OfMessageBody (and
// MD5OfBody), so a fake must return the real MD5 hex of the body").
//
// It keeps standard-queue semantics that the source relies on
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html):
// a received message is invisible for the visibility timeout (the
// request's, else 30 s), each receive issues a new receipt handle, a
// message is gone only when deleted, and a visibility change to 0 or 1 s
// makes it come back.
type sqsFake struct {
	srv *httptest.Server

	mu     sync.Mutex
	queues map[string][]*fakeSQSMessage // by queue name (the URL's last segment)
	seq    int
	calls  map[string]int // by operation
}

type fakeSQSMessage struct {
	id, body, receipt string
	attrs             map[string]any
	invisibleUntil    time.Time
	receives          int
	sent              time.Time
}

const sqsDefaultVisibility = 30 * time.Second

func newSQSFake(t testing.TB, queues ...string) *sqsFake {
	t.Helper()
	f := &sqsFake{queues: map[string][]*fakeSQSMessage{}, calls: map[string]int{}}
	for _, q := range queues {
		f.queues[q] = nil
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

type sqsError struct{ code, msg string }

func (f *sqsFake) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := map[string]string{
		"AmazonSQS.SendMessageBatch":             "SendMessageBatch",
		"AmazonSQS.ReceiveMessage":               "ReceiveMessage",
		"AmazonSQS.DeleteMessageBatch":           "DeleteMessageBatch",
		"AmazonSQS.ChangeMessageVisibilityBatch": "ChangeMessageVisibilityBatch",
	}[target]
	var req struct {
		QueueURL            string `json:"QueueUrl"`
		MaxNumberOfMessages int
		VisibilityTimeout   *int
		Entries             []struct {
			ID                string `json:"Id"`
			MessageBody       string
			MessageAttributes map[string]any
			ReceiptHandle     string
			VisibilityTimeout int
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	fail := func(e sqsError) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + e.code, "message": e.msg})
	}
	if !ok || r.Method != http.MethodPost {
		fail(sqsError{"UnsupportedOperation", "the fake does not serve " + target})
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(sqsError{"InvalidParameterValue", err.Error()})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	name := path.Base(req.QueueURL)
	q, ok := f.queues[name]
	if !ok {
		fail(sqsError{"QueueDoesNotExist", "The specified queue does not exist."})
		return
	}
	now := time.Now()
	var out any
	switch op {
	case "SendMessageBatch":
		ok := []map[string]string{}
		for _, e := range req.Entries {
			f.seq++
			m := &fakeSQSMessage{id: fmt.Sprintf("00000000-0000-4000-8000-%012d", f.seq), body: e.MessageBody, attrs: e.MessageAttributes, sent: now}
			q = append(q, m)
			ok = append(ok, map[string]string{"Id": e.ID, "MessageId": m.id, "MD5OfMessageBody": md5Hex(m.body)})
		}
		f.queues[name] = q
		out = map[string]any{"Successful": ok, "Failed": []any{}}
	case "ReceiveMessage":
		vis := sqsDefaultVisibility
		if req.VisibilityTimeout != nil {
			vis = time.Duration(*req.VisibilityTimeout) * time.Second
		}
		n := min(max(req.MaxNumberOfMessages, 1), 10)
		msgs := []map[string]any{}
		for _, m := range q {
			if len(msgs) == n {
				break
			}
			if now.Before(m.invisibleUntil) {
				continue
			}
			f.seq++
			m.receives++
			m.receipt = fmt.Sprintf("rh-%s-%d", m.id, f.seq)
			m.invisibleUntil = now.Add(vis)
			msg := map[string]any{
				"MessageId": m.id, "ReceiptHandle": m.receipt, "MD5OfBody": md5Hex(m.body), "Body": m.body,
				"Attributes": map[string]string{
					"ApproximateReceiveCount": strconv.Itoa(m.receives),
					"SentTimestamp":           strconv.FormatInt(m.sent.UnixMilli(), 10),
				},
			}
			if len(m.attrs) > 0 {
				msg["MessageAttributes"] = m.attrs
			}
			msgs = append(msgs, msg)
		}
		out = map[string]any{"Messages": msgs}
	case "DeleteMessageBatch", "ChangeMessageVisibilityBatch":
		ok, failed := []map[string]any{}, []map[string]any{}
		for _, e := range req.Entries {
			i := f.byReceipt(q, e.ReceiptHandle)
			if i < 0 {
				failed = append(failed, map[string]any{"Id": e.ID, "Code": "ReceiptHandleIsInvalid", "SenderFault": true,
					"Message": "The input receipt handle is invalid."})
				continue
			}
			if op == "DeleteMessageBatch" {
				q = append(q[:i], q[i+1:]...)
			} else {
				q[i].invisibleUntil = now.Add(time.Duration(e.VisibilityTimeout) * time.Second)
			}
			ok = append(ok, map[string]any{"Id": e.ID})
		}
		f.queues[name] = q
		out = map[string]any{"Successful": ok, "Failed": failed}
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *sqsFake) byReceipt(q []*fakeSQSMessage, receipt string) int {
	for i, m := range q {
		if m.receipt == receipt && receipt != "" {
			return i
		}
	}
	return -1
}

// stats returns the queue's length and the calls made of op.
func (f *sqsFake) stats(queue, op string) (queued, calls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queues[queue]), f.calls[op]
}
