package main

import (
	"net/http"
	"testing"
	"time"
)

const pipelineQuery = `{ pipeline { lagSeconds waitingSince topic eventId } }`

type pipelineStatus struct {
	Pipeline struct {
		LagSeconds   float64    `json:"lagSeconds"`
		WaitingSince *time.Time `json:"waitingSince"`
		Topic        *string    `json:"topic"`
		EventID      *string    `json:"eventId"`
	} `json:"pipeline"`
}

// TestPipelineQuery: once the ledger has applied a webhook's event and
// the relay has published its change, nothing waits, and the admin query
// pipeline says so; storefront keys may not ask. (What it shows while
// events wait: TestPipelineStatus in graph, TestRunWarnsWhileBehind in
// relay.)
func TestPipelineQuery(t *testing.T) {
	base := startGateway(t, "--config", writeConfig(t, t.TempDir(), ""))
	if code, body := post(t, newOrderWebhook(map[string]int{"SKU-PIPE": 1}).request(t, base)); code != http.StatusOK {
		t.Fatalf("webhook answered %d %s", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st pipelineStatus
		if errs := gql(t, base, testAdminKey, pipelineQuery, nil, &st); len(errs) > 0 {
			t.Fatal(errs)
		}
		if st.Pipeline.Topic == nil && st.Pipeline.LagSeconds == 0 && st.Pipeline.WaitingSince == nil && st.Pipeline.EventID == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still a backlog 10 s after one webhook: %+v", st.Pipeline)
		}
		time.Sleep(20 * time.Millisecond)
	}
	errs := gql(t, base, testStoreKey, pipelineQuery, nil, nil)
	if len(errs) == 0 || errs[0].Extensions["code"] != "FORBIDDEN" {
		t.Fatalf("storefront key asking for pipeline: %v", errs)
	}
}
