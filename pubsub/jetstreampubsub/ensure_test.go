package jetstreampubsub

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream API answers as nats-server 2.9.10 sends them: "stream not
// found" to STREAM.INFO (server/errors.json, JSStreamNotFoundErr), and
// "error creating store for stream" to a STREAM.CREATE whose file store
// failed (server/jetstream_api.go, jsStreamCreateRequest: the cause goes to
// the server's log, the client gets errStreamStoreFailed under
// JSStreamCreateErrF's code). Shapes from server/jetstream_api.go's
// JSApiStreamInfoResponse and JSApiStreamCreateResponse.
const (
	answerNotFound    = `{"type":"io.nats.jetstream.api.v1.stream_info_response","error":{"code":404,"err_code":10059,"description":"stream not found"}}`
	answerStoreFailed = `{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":500,"err_code":10049,"description":"error creating store for stream"}}`
	answerBadConfig   = `{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":500,"err_code":10052,"description":"stream configuration for replicas is invalid"}}`
)

// fakeStreamAPI starts a NATS server without JetStream and answers its
// stream API itself: every STREAM.INFO with "not found", the first fails
// STREAM.CREATE requests with refusal, later ones with the stream created
// as asked. It returns a JetStream client of that server and the count of
// create requests.
func fakeStreamAPI(t *testing.T, fails int32, refusal string) (jetstream.JetStream, *atomic.Int32) {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("embedded nats-server did not start")
	}
	t.Cleanup(s.Shutdown)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if _, err := nc.Subscribe("$JS.API.STREAM.INFO.*", func(m *nats.Msg) {
		_ = m.Respond([]byte(answerNotFound))
	}); err != nil {
		t.Fatal(err)
	}
	var creates atomic.Int32
	if _, err := nc.Subscribe("$JS.API.STREAM.CREATE.*", func(m *nats.Msg) {
		if creates.Add(1) <= fails {
			_ = m.Respond([]byte(refusal))
			return
		}
		var cfg jetstream.StreamConfig
		if err := json.Unmarshal(m.Data, &cfg); err != nil {
			t.Errorf("create request: %v", err)
		}
		b, _ := json.Marshal(map[string]any{
			"type":    "io.nats.jetstream.api.v1.stream_create_response",
			"config":  cfg,
			"created": time.Now().UTC(),
			"state":   map[string]any{},
		})
		_ = m.Respond(b)
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js, &creates
}

func TestEnsureStreamAsksAgainWhenTheStoreFailed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range []struct {
		name        string
		fails       int32
		refusal     string
		wantCode    jetstream.ErrorCode // 0: success
		wantCreates int32
	}{
		{"two store failures, then created", 2, answerStoreFailed, 0, 3},
		{"the store fails every time", 100, answerStoreFailed, 10049, createAttempts},
		{"another refusal is not asked again", 100, answerBadConfig, 10052, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			js, creates := fakeStreamAPI(t, c.fails, c.refusal)
			err := EnsureStream(ctx, js, "INVENTORY", "inv.stock")
			var apiErr *jetstream.APIError
			switch {
			case c.wantCode == 0 && err != nil:
				t.Errorf("EnsureStream: %v", err)
			case c.wantCode != 0 && (!errors.As(err, &apiErr) || apiErr.ErrorCode != c.wantCode):
				t.Errorf("EnsureStream = %v, want the server's err_code %d", err, c.wantCode)
			}
			if n := creates.Load(); n != c.wantCreates {
				t.Errorf("%d create requests, want %d", n, c.wantCreates)
			}
		})
	}
}

func TestEnsureStreamStopsAskingWhenCancelled(t *testing.T) {
	js, creates := fakeStreamAPI(t, 100, answerStoreFailed)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// The second request is sent only after the first was refused:
		// cancelling from then on, during a request or the wait before
		// the next, must report the refusal with the cancellation.
		for creates.Load() < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	err := EnsureStream(ctx, js, "INVENTORY", "inv.stock")
	if !errors.Is(err, context.Canceled) || !storeFailed(err) {
		t.Errorf("EnsureStream = %v, want the cancellation and the store failure", err)
	}
	if n := creates.Load(); n >= createAttempts {
		t.Errorf("%d create requests after the context was cancelled", n)
	}
}
