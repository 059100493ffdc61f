package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// The graphql-transport-ws protocol
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md).
const (
	wsSubprotocol = "graphql-transport-ws"

	msgConnectionInit = "connection_init"
	msgConnectionAck  = "connection_ack"
	// msgConnectionError is not in graphql-transport-ws; gqlgen sends it
	// (from the legacy protocol) when connection_init is refused.
	msgConnectionError = "connection_error"
	msgPing            = "ping"
	msgPong            = "pong"
	msgSubscribe       = "subscribe"
	msgNext            = "next"
	msgError           = "error"
	msgComplete        = "complete"
)

// maxSKUsPerSubscription is the gateway's cap on the skus of one
// availabilityChanged subscription; a subscriber with more SKUs subscribes
// several times on its connection (ids "1", "2", …).
const maxSKUsPerSubscription = 1000

const availabilitySubscription = `subscription($skus: [String!], $location: String) {
  availabilityChanged(skus: $skus, location: $location) {
    sku location onHand committed available seq causeEventId recordedAt
  }
}`

// handshakeTimeout bounds the websocket upgrade and connection_ack.
const handshakeTimeout = 10 * time.Second

// wsMessage is one graphql-transport-ws message.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// change is an availabilityChanged payload, the fields the loader asks
// for.
type change struct {
	SKU          string    `json:"sku"`
	Location     string    `json:"location"`
	OnHand       int64     `json:"onHand"`
	Committed    int64     `json:"committed"`
	Available    int64     `json:"available"`
	Seq          int64     `json:"seq"`
	CauseEventID string    `json:"causeEventId"`
	RecordedAt   time.Time `json:"recordedAt"`
}

// subscriber is one websocket subscribed to availabilityChanged.
type subscriber struct {
	conn    *websocket.Conn
	closing atomic.Bool
	ids     []string // the subscriptions' ids
}

// dialSubscriber opens a websocket to the GraphQL endpoint at wsURL,
// authenticates with key and subscribes to the changes of skus (at
// location, when not empty).
func dialSubscriber(ctx context.Context, client *http.Client, wsURL, key string, skus []string, location string) (*subscriber, error) {
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	opts := &websocket.DialOptions{HTTPClient: client, Subprotocols: []string{wsSubprotocol}}
	if key != "" {
		opts.HTTPHeader = http.Header{"Authorization": {"Bearer " + key}}
	}
	conn, resp, err := websocket.Dial(ctx, wsURL, opts)
	if err != nil {
		if resp == nil {
			return nil, fmt.Errorf("%w at %s: %v", errUnreachable, wsURL, err)
		}
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			hint = " (check -key / STOCKGATE_API_KEY)"
		}
		return nil, fmt.Errorf("websocket upgrade to %s refused: %s%s", wsURL, resp.Status, hint)
	}
	if p := conn.Subprotocol(); p != wsSubprotocol {
		conn.Close(websocket.StatusProtocolError, "subprotocol not negotiated")
		return nil, fmt.Errorf("websocket %s: server chose subprotocol %q, want %q", wsURL, p, wsSubprotocol)
	}
	conn.SetReadLimit(1 << 20)
	s := &subscriber{conn: conn}
	if err := s.handshake(ctx, key, skus, location); err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("websocket %s: %w", wsURL, err)
	}
	return s, nil
}

// handshake sends connection_init, waits for connection_ack and
// subscribes.
func (s *subscriber) handshake(ctx context.Context, key string, skus []string, location string) error {
	init := map[string]string{}
	if key != "" {
		init["Authorization"] = "Bearer " + key
	}
	if err := s.write(ctx, msgConnectionInit, "", init); err != nil {
		return err
	}
	for {
		var m wsMessage
		if err := wsjson.Read(ctx, s.conn, &m); err != nil {
			return closeError("waiting for connection_ack", err)
		}
		switch m.Type {
		case msgConnectionAck:
			for chunk := range slices.Chunk(skus, maxSKUsPerSubscription) {
				vars := map[string]any{"skus": chunk}
				if location != "" {
					vars["location"] = location
				}
				id := strconv.Itoa(len(s.ids) + 1)
				s.ids = append(s.ids, id)
				if err := s.write(ctx, msgSubscribe, id, map[string]any{
					"query": availabilitySubscription, "variables": vars,
				}); err != nil {
					return err
				}
			}
			return nil
		case msgPing:
			if err := s.write(ctx, msgPong, "", nil); err != nil {
				return err
			}
		case msgConnectionError: // gqlgen's answer to a refused connection_init
			return fmt.Errorf("the gateway refused the connection: %s (check -key / STOCKGATE_API_KEY)", m.Payload)
		default:
			return fmt.Errorf("waiting for connection_ack, got %q: %s", m.Type, m.Payload)
		}
	}
}

// run reads until ctx is done or the subscription ends, calling onChange
// with every change and the time it was read. It answers pings. It returns
// nil when ctx is done or close was called.
func (s *subscriber) run(ctx context.Context, onChange func(change, time.Time)) error {
	for {
		var m wsMessage
		err := wsjson.Read(ctx, s.conn, &m)
		at := time.Now()
		if err != nil {
			if ctx.Err() != nil || s.closing.Load() {
				return nil
			}
			return closeError("reading", err)
		}
		switch m.Type {
		case msgNext:
			var p struct {
				Data struct {
					AvailabilityChanged *change `json:"availabilityChanged"`
				} `json:"data"`
				Errors []struct {
					Message string `json:"message"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(m.Payload, &p); err != nil {
				return fmt.Errorf("bad next payload: %v", err)
			}
			if len(p.Errors) > 0 {
				return fmt.Errorf("subscription error: %s", p.Errors[0].Message)
			}
			if c := p.Data.AvailabilityChanged; c != nil {
				onChange(*c, at)
			}
		case msgPing:
			if err := s.write(ctx, msgPong, "", nil); err != nil && ctx.Err() == nil {
				return err
			}
		case msgPong:
		case msgError:
			return fmt.Errorf("subscription error: %s", m.Payload)
		case msgComplete:
			if s.closing.Load() { // the gateway's answer to ours
				return nil
			}
			return errors.New("the gateway completed the subscription")
		default:
			return fmt.Errorf("unexpected message %q", m.Type)
		}
	}
}

// close ends the subscription and closes the connection; run returns.
func (s *subscriber) close() {
	s.closing.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, id := range s.ids {
		_ = s.write(ctx, msgComplete, id, nil)
	}
	_ = s.conn.Close(websocket.StatusNormalClosure, "load run done")
}

func (s *subscriber) write(ctx context.Context, typ, id string, payload any) error {
	m := wsMessage{ID: id, Type: typ}
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return err
		}
		m.Payload = b
	}
	return wsjson.Write(ctx, s.conn, m)
}

// closeError explains a read error, naming the close status and reason
// when the server closed the connection (graphql-transport-ws closes with
// 4403 Forbidden on a bad key).
func closeError(doing string, err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		msg := fmt.Sprintf("%s: the gateway closed the websocket: %d %s", doing, int(ce.Code), strings.TrimSpace(ce.Reason))
		if ce.Code == 4403 || ce.Code == 4401 {
			msg += " (check -key / STOCKGATE_API_KEY)"
		}
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %w", doing, err)
}
