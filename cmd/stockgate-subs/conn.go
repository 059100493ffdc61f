package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// The graphql-transport-ws protocol
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md).
const (
	subprotocol = "graphql-transport-ws"
	subID       = "s"
)

// subscriptionQuery is what a storefront tab asks for; with cursor, it
// also asks for the resume cursor of each change.
func subscriptionQuery(cursor bool) string {
	fields := "sku location committed available seq coalesced recordedAt"
	if cursor {
		fields += " cursor"
	}
	return "subscription Watch($skus: [String!], $location: String) { availabilityChanged(skus: $skus, location: $location) { " + fields + " } }"
}

// envelope is a graphql-transport-ws message.
type envelope struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// subscriber is one websocket subscribed to availabilityChanged for a few
// SKUs. Its reader goroutine owns the counters and samples until done is
// closed; the last values are atomics, read by the drain loop meanwhile.
type subscriber struct {
	conn    *websocket.Conn
	skus    []int32 // tracker indices watched
	warmSKU []byte

	committed, available, seq []atomic.Int64 // last values, per watched SKU
	warm                      atomic.Int64   // the warm-up SKU's highest committed seen
	delivered                 atomic.Int64
	closing                   atomic.Bool

	// Owned by the reader until done is closed.
	lat, ledgerLat []time.Duration
	secs           []int32 // secs[i]: the second of the run lat[i]'s webhook was sent in
	counts         counts
	lastAt         time.Time
	err            error
	done           chan struct{}
}

// counts are a subscriber's delivery counts, summed in the report.
type counts struct {
	Flagged    int64 // deliveries the gateway marked coalesced
	Skipped    int64 // committed values never delivered (coalesced away)
	Repeats    int64 // a value at or below one already delivered
	Unexpected int64 // a SKU not asked for, or more commits than sends
	Unmatched  int64 // a SKU with a webhook that got no answer
}

func (c *counts) add(o counts) {
	c.Flagged += o.Flagged
	c.Skipped += o.Skipped
	c.Repeats += o.Repeats
	c.Unexpected += o.Unexpected
	c.Unmatched += o.Unmatched
}

func newSubscriber(skus []int32, warmSKU []byte) *subscriber {
	return &subscriber{
		skus: skus, warmSKU: warmSKU,
		committed: make([]atomic.Int64, len(skus)),
		available: make([]atomic.Int64, len(skus)),
		seq:       make([]atomic.Int64, len(skus)),
		done:      make(chan struct{}),
	}
}

// dial opens the websocket, authenticates in connection_init, as browsers
// must, waits for connection_ack and sends subscribe. The caller starts
// read once it returns nil.
func (s *subscriber) dial(ctx context.Context, client *http.Client, wsURL, key string, subscribe []byte) error {
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: client, Subprotocols: []string{subprotocol}})
	if err != nil {
		return err
	}
	init, _ := json.Marshal(envelope{Type: "connection_init", Payload: mustJSON(map[string]string{"Authorization": "Bearer " + key})})
	if err := conn.Write(ctx, websocket.MessageText, init); err != nil {
		conn.CloseNow()
		return err
	}
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			conn.CloseNow()
			return closeReason("waiting for connection_ack", err)
		}
		var m envelope
		if err := json.Unmarshal(b, &m); err != nil {
			conn.CloseNow()
			return fmt.Errorf("waiting for connection_ack: %v", err)
		}
		switch m.Type {
		case "connection_ack":
			if err := conn.Write(ctx, websocket.MessageText, subscribe); err != nil {
				conn.CloseNow()
				return err
			}
			s.conn = conn // only now: a subscriber with a conn has a reader
			return nil
		case "ping":
			if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"pong"}`)); err != nil {
				conn.CloseNow()
				return err
			}
		default: // gqlgen answers a refused connection_init with connection_error
			conn.CloseNow()
			return fmt.Errorf("the gateway refused the connection: %s %s (check -key / $%s)", m.Type, m.Payload, envKey)
		}
	}
}

// subscribeMessage is the subscribe message for skus at location.
func subscribeMessage(query string, skus []string, location string) []byte {
	b, _ := json.Marshal(envelope{ID: subID, Type: "subscribe", Payload: mustJSON(map[string]any{
		"operationName": "Watch",
		"query":         query,
		"variables":     map[string]any{"skus": skus, "location": location},
	})})
	return b
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// read reads until the connection ends, handing each change to r.observe.
// It closes done when it returns, with err set unless close was called.
func (s *subscriber) read(r *subsRun) {
	defer close(s.done)
	var buf bytes.Buffer
	buf.Grow(1024)
	for {
		// A context with no Done channel: no timer per read; close ends it.
		_, rd, err := s.conn.Reader(context.Background())
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(rd)
		}
		at := time.Now()
		if err != nil {
			if !s.closing.Load() {
				s.err = closeReason("reading", err)
			}
			return
		}
		msg := buf.Bytes()
		var c change
		if findObject(msg, "availabilityChanged", &c) == nil {
			r.observe(s, &c, at)
			continue
		}
		if err := s.slowPath(r, msg, at); err != nil {
			if !s.closing.Load() {
				s.err = err
			}
			s.conn.CloseNow()
			return
		}
	}
}

// slowPath handles a message the fast parser did not: pings, the end of
// the subscription, errors, and changes with unusual strings.
func (s *subscriber) slowPath(r *subsRun, msg []byte, at time.Time) error {
	var m envelope
	if err := json.Unmarshal(msg, &m); err != nil {
		return fmt.Errorf("bad message %q: %v", msg, err)
	}
	switch m.Type {
	case "next":
		c, errs, ok, err := decodeResult(m.Payload, "availabilityChanged")
		switch {
		case err != nil:
			return fmt.Errorf("bad next payload %s: %v", m.Payload, err)
		case len(errs) > 0:
			return fmt.Errorf("subscription error: %s", firstError(errs))
		case ok:
			r.observe(s, &c, at)
		}
		return nil
	case "ping":
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return s.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"pong"}`))
	case "pong":
		return nil
	case "error":
		return fmt.Errorf("subscription error: %s", m.Payload)
	case "complete":
		return errors.New("the gateway completed the subscription")
	}
	return fmt.Errorf("unexpected message %q", m.Type)
}

// position returns where SKU i is in s.skus, or -1.
func (s *subscriber) position(i int) int {
	for p, x := range s.skus {
		if int(x) == i {
			return p
		}
	}
	return -1
}

// close completes the subscription and closes the websocket; the reader
// returns. It may be called more than once.
func (s *subscriber) close() {
	if s.closing.Swap(true) {
		return
	}
	if s.conn == nil { // never connected: no reader
		close(s.done)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.conn.Write(ctx, websocket.MessageText, []byte(`{"id":"`+subID+`","type":"complete"}`))
	_ = s.conn.Close(websocket.StatusNormalClosure, "run done")
}

// closeReason explains a websocket error, naming the close status when
// the gateway closed the connection (4403 for a refused key).
func closeReason(doing string, err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		msg := fmt.Sprintf("%s: the gateway closed the websocket: %d %s", doing, int(ce.Code), strings.TrimSpace(ce.Reason))
		if ce.Code == 4403 || ce.Code == 4401 {
			msg += " (check -key / $" + envKey + ")"
		}
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %w", doing, err)
}
