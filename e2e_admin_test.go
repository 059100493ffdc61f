package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// wsOp is one graphql-transport-ws subscription: its payloads, and a
// channel closed when the server closes the connection.
type wsOp struct {
	next   chan json.RawMessage
	closed chan struct{}
	cancel func()
}

// wsStart opens a websocket with key in connection_init and subscribes.
func wsStart(t *testing.T, base, key, query string, vars map[string]any) *wsOp {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatalf("websocket dial: %v", err)
	}
	if err := wsjson.Write(ctx, c, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + key}}); err != nil {
		t.Fatal(err)
	}
	var ack map[string]any
	if err := wsjson.Read(ctx, c, &ack); err != nil || ack["type"] != "connection_ack" {
		t.Fatalf("connection_init answered %v, %v", ack, err)
	}
	if err := wsjson.Write(ctx, c, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}}); err != nil {
		t.Fatal(err)
	}
	op := &wsOp{next: make(chan json.RawMessage, 1024), closed: make(chan struct{}), cancel: func() { c.Close(websocket.StatusNormalClosure, ""); cancel() }}
	go func() {
		defer close(op.closed)
		for {
			var msg struct {
				Type    string          `json:"type"`
				Payload json.RawMessage `json:"payload"`
			}
			if err := wsjson.Read(ctx, c, &msg); err != nil {
				return
			}
			switch msg.Type {
			case "ping":
				_ = wsjson.Write(ctx, c, map[string]any{"type": "pong"})
			case "next":
				op.next <- msg.Payload
			case "error":
				t.Errorf("subscription error: %s", msg.Payload)
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond) // let the server register it
	return op
}

// take reads n payloads' data.<field> into values of T.
func take[T any](t *testing.T, op *wsOp, field string, n int) []T {
	t.Helper()
	var out []T
	deadline := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case p := <-op.next:
			var m struct {
				Data map[string]json.RawMessage `json:"data"`
			}
			var v T
			if err := json.Unmarshal(p, &m); err != nil || json.Unmarshal(m.Data[field], &v) != nil {
				t.Fatalf("payload %s", p)
			}
			out = append(out, v)
		case <-op.closed:
			t.Fatalf("connection closed after %d of %d payloads", len(out), n)
		case <-deadline:
			t.Fatalf("%d of %d payloads within 10 s", len(out), n)
		}
	}
	return out
}

func adjust(t *testing.T, base, sku, loc string, delta int) {
	t.Helper()
	var out struct {
		AdjustStock struct{ Applied bool } `json:"adjustStock"`
	}
	q := fmt.Sprintf(`mutation{ adjustStock(input:{sku:%q, location:%q, delta:%d, reason:"correction"}){ applied } }`, sku, loc, delta)
	if errs := gql(t, base, testAdminKey, q, nil, &out); len(errs) != 0 || !out.AdjustStock.Applied {
		t.Fatalf("adjustStock %s@%s %+d: %+v applied=%v", sku, loc, delta, errs, out.AdjustStock.Applied)
	}
}

func code(errs []gqlError) string {
	if len(errs) == 0 {
		return ""
	}
	c, _ := errs[0].Extensions["code"].(string)
	return c
}

// TestEveryAdminMutationChecksRole: every mutation of the schema (the
// table must name them all) refuses a storefront key and lets an admin
// key through, and each call is in the audit log with its key.
func TestEveryAdminMutationChecksRole(t *testing.T) {
	base := startGateway(t, "--config", writeConfig(t, t.TempDir(), ""))
	calls := map[string]string{
		"adjustStock":            `mutation{ adjustStock(input:{sku:"R", location:"web", delta:1, reason:"correction"}){ eventId } }`,
		"countStock":             `mutation{ countStock(input:{sku:"R", location:"web", quantity:4}){ eventId } }`,
		"transferStock":          `mutation{ transferStock(input:{sku:"R", from:"web", to:"berlin", quantity:1}){ eventId } }`,
		"map":                    `mutation{ map(connector:"shop", kind:SKU, externalId:"1", internal:"R"){ replayed } }`,
		"replayDeadLetter":       `mutation{ replayDeadLetter(id:"nope"){ id } }`,
		"discardDeadLetter":      `mutation{ discardDeadLetter(id:"nope"){ id } }`,
		"reconcile":              `mutation{ reconcile(connector:"shop"){ read } }`,
		"resumeConnector":        `mutation{ resumeConnector(connector:"shop"){ paused } }`,
		"createApiKey":           `mutation{ createApiKey(name:"k", role:STOREFRONT){ secret } }`,
		"revokeApiKey":           `mutation{ revokeApiKey(id:"key_nope"){ id } }`,
		"createConnector":        `mutation{ createConnector(input:{id:"pos-x", kind:"pos"}){ id } }`,
		"updateConnector":        `mutation{ updateConnector(input:{id:"pos-x", kind:"pos"}){ id } }`,
		"rotateConnectorSecrets": `mutation{ rotateConnectorSecrets(id:"pos-x", secrets:{webhookSecrets:["pos-secret-0123456789"]}){ id } }`,
		"pauseConnector":         `mutation{ pauseConnector(connector:"shop"){ id } }`,
		"deleteConnector":        `mutation{ deleteConnector(id:"pos-x") }`,
		"setChannelRule":         `mutation{ setChannelRule(connector:"shop", rule:{locations:["web"]}){ channel } }`,
	}
	var schema struct {
		Schema struct {
			MutationType struct{ Fields []struct{ Name string } } `json:"mutationType"`
		} `json:"__schema"`
	}
	if errs := gql(t, base, testAdminKey, `{ __schema { mutationType { fields { name } } } }`, nil, &schema); len(errs) != 0 {
		t.Fatal(errs)
	}
	var names []string
	for _, f := range schema.Schema.MutationType.Fields {
		names = append(names, f.Name)
		if _, ok := calls[f.Name]; !ok {
			t.Errorf("mutation %s has no role check in this test: add it", f.Name)
		}
	}
	for name, q := range calls {
		if got := code(gql(t, base, testStoreKey, q, nil, nil)); got != "FORBIDDEN" {
			t.Errorf("storefront %s: code %q, want FORBIDDEN", name, got)
		}
		if got := code(gql(t, base, testAdminKey, q, nil, nil)); got == "FORBIDDEN" || got == "UNAUTHENTICATED" {
			t.Errorf("admin %s: refused with %s", name, got)
		}
	}
	// Each call twice (storefront, admin), every one audited with its key.
	var audit struct {
		AuditLog struct {
			Edges []struct {
				Node struct {
					KeyID, KeyName, Action, Arguments string
					Ok                                bool
				}
			}
		} `json:"auditLog"`
	}
	if errs := gql(t, base, testAdminKey, `{ auditLog(first:100){ edges{ node{ keyId keyName action arguments ok } } } }`, nil, &audit); len(errs) != 0 {
		t.Fatal(errs)
	}
	seen := map[string]int{}
	for _, e := range audit.AuditLog.Edges {
		n := e.Node
		seen[n.Action+"/"+n.KeyName]++
		if n.KeyName == "web" && n.Ok {
			t.Errorf("a refused storefront call is audited as ok: %+v", n)
		}
		if n.KeyID != "config:"+n.KeyName {
			t.Errorf("audit key id %q for key %q", n.KeyID, n.KeyName)
		}
	}
	for _, name := range names {
		if seen[name+"/web"] != 1 || seen[name+"/ops"] != 1 {
			t.Errorf("audit of %s: %d storefront, %d admin entries; want 1 each", name, seen[name+"/web"], seen[name+"/ops"])
		}
	}
}

// TestAPIKeysMadeByAdmins: a key made by mutation works at once, is
// limited to its channels, is listed without its secret, and its
// revocation refuses it and closes its open websocket and SSE stream.
func TestAPIKeysMadeByAdmins(t *testing.T) {
	base := startGateway(t, "--config", writeConfig(t, t.TempDir(), ""))
	type made struct {
		CreateAPIKey struct {
			Secret string
			Key    struct{ ID string }
		} `json:"createApiKey"`
	}
	var limited, open made
	if errs := gql(t, base, testAdminKey, `mutation{ createApiKey(name:"eu-shop", role:STOREFRONT, channels:["shop-eu"]){ secret key{ id } } }`, nil, &limited); len(errs) != 0 {
		t.Fatal(errs)
	}
	if errs := gql(t, base, testAdminKey, `mutation{ createApiKey(name:"tabs", role:STOREFRONT){ secret key{ id } } }`, nil, &open); len(errs) != 0 {
		t.Fatal(errs)
	}
	lk := limited.CreateAPIKey.Secret
	if got := code(gql(t, base, lk, `{ availability(sku:"R", location:"web"){ onHand } }`, nil, nil)); got != "FORBIDDEN" {
		t.Fatalf("channel-limited key read a location: code %q", got)
	}
	if got := code(gql(t, base, lk, `{ channelAvailability(connector:"shop-us", sku:"R"){ quantity } }`, nil, nil)); got != "FORBIDDEN" {
		t.Fatalf("channel-limited key read another channel: code %q", got)
	}
	// Its own channel passes the key check (no dispatcher here: NOT_FOUND).
	if got := code(gql(t, base, lk, `{ channelAvailability(connector:"shop-eu", sku:"R"){ quantity } }`, nil, nil)); got != "NOT_FOUND" {
		t.Fatalf("channel-limited key on its channel: code %q, want NOT_FOUND", got)
	}
	if got := code(gql(t, base, lk, `mutation{ adjustStock(input:{sku:"R", location:"web", delta:1, reason:"x"}){ eventId } }`, nil, nil)); got != "FORBIDDEN" {
		t.Fatalf("storefront key made by mutation adjusted stock: %q", got)
	}

	ok := open.CreateAPIKey.Secret
	ws := wsStart(t, base, ok, subQuery, map[string]any{"skus": []string{"REV"}})
	sse := sseSubscribe(t, base, ok, []string{"REV"})
	adjust(t, base, "REV", "web", 2)
	if got := take[level](t, ws, "availabilityChanged", 1)[0]; got.OnHand != 2 {
		t.Fatalf("websocket got %+v", got)
	}
	await(t, sse, "the SSE change", func(l level) bool { return l.OnHand == 2 })

	var revoked struct {
		RevokeAPIKey struct {
			RevokedAt *time.Time
			RevokedBy string
		} `json:"revokeApiKey"`
	}
	if errs := gql(t, base, testAdminKey, `mutation($id:ID!){ revokeApiKey(id:$id){ revokedAt revokedBy } }`, map[string]any{"id": open.CreateAPIKey.Key.ID}, &revoked); len(errs) != 0 {
		t.Fatal(errs)
	}
	if revoked.RevokeAPIKey.RevokedAt == nil || revoked.RevokeAPIKey.RevokedBy != "config:ops" {
		t.Fatalf("revoke answered %+v", revoked)
	}
	select {
	case <-ws.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the revoked key's websocket is still open")
	}
	deadline := time.After(5 * time.Second)
	for closed := false; !closed; {
		select {
		case _, more := <-sse:
			closed = !more
		case <-deadline:
			t.Fatal("the revoked key's SSE stream is still open")
		}
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(`{"query":"{ stockLevels(sku:\"REV\"){ onHand } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+ok)
	if c, _ := post(t, req); c != http.StatusUnauthorized {
		t.Fatalf("revoked key over HTTP: %d, want 401", c)
	}
	var list struct {
		APIKeys []struct {
			ID, Name  string
			Channels  []string
			RevokedAt *time.Time
		} `json:"apiKeys"`
	}
	raw := map[string]any{}
	if errs := gql(t, base, testAdminKey, `{ apiKeys{ id name channels revokedAt } }`, nil, &raw); len(errs) != 0 {
		t.Fatal(errs)
	}
	b, _ := json.Marshal(raw)
	if strings.Contains(string(b), ok) || strings.Contains(string(b), lk) {
		t.Fatal("apiKeys shows a secret")
	}
	_ = json.Unmarshal(b, &list)
	if len(list.APIKeys) != 2 {
		t.Fatalf("apiKeys = %+v", list.APIKeys)
	}
	for _, k := range list.APIKeys {
		if (k.Name == "tabs") != (k.RevokedAt != nil) {
			t.Errorf("key %s revokedAt %v", k.Name, k.RevokedAt)
		}
		if k.Name == "eu-shop" && !slices.Equal(k.Channels, []string{"shop-eu"}) {
			t.Errorf("eu-shop channels %v", k.Channels)
		}
	}
}

// TestItemsStockAtCountTransfer: items pages by SKU with filters; stockAt
// answers from the ledger as of a time; count and transfer go through
// the event path.
func TestItemsStockAtCountTransfer(t *testing.T) {
	base := startGateway(t, "--config", writeConfig(t, t.TempDir(), ""))
	for i, sku := range []string{"CUP-1", "CUP-2", "CUP-3", "MUG-1", "MUG-2"} {
		adjust(t, base, sku, "web", i+1)
	}
	adjust(t, base, "MUG-2", "berlin", 7)
	before := time.Now()
	time.Sleep(5 * time.Millisecond)
	adjust(t, base, "MUG-2", "berlin", 1)

	type items struct {
		Items struct {
			Edges []struct {
				Cursor string
				Node   struct {
					Sku       string
					Available int64
					Levels    []struct{ Location string }
				}
			}
			PageInfo struct {
				HasNextPage, HasPreviousPage bool
				StartCursor, EndCursor       *string
			}
		}
	}
	var all []string
	var after *string
	for pages := 0; ; pages++ {
		var p items
		if errs := gql(t, base, testStoreKey, `query($a:String){ items(first:2, after:$a){ edges{ cursor node{ sku available levels{ location } } } pageInfo{ hasNextPage hasPreviousPage startCursor endCursor } } }`, map[string]any{"a": after}, &p); len(errs) != 0 {
			t.Fatal(errs)
		}
		// Relay's PageInfo: the page's first cursor, and whether one came before.
		if pi, edges := p.Items.PageInfo, p.Items.Edges; pi.HasPreviousPage != (pages > 0) ||
			len(edges) > 0 && (pi.StartCursor == nil || *pi.StartCursor != edges[0].Cursor) {
			t.Errorf("page %d: pageInfo %+v, edges %+v", pages, pi, edges)
		}
		for _, e := range p.Items.Edges {
			all = append(all, e.Node.Sku)
		}
		if !p.Items.PageInfo.HasNextPage {
			break
		}
		if pages > 5 {
			t.Fatal("items never ends")
		}
		after = p.Items.PageInfo.EndCursor
	}
	if !slices.Equal(all, []string{"CUP-1", "CUP-2", "CUP-3", "MUG-1", "MUG-2"}) {
		t.Fatalf("items pages = %v", all)
	}
	var f items
	if errs := gql(t, base, testStoreKey, `{ items(filter:{skuPrefix:"MUG", location:"berlin"}){ edges{ node{ sku available levels{ location } } } } }`, nil, &f); len(errs) != 0 {
		t.Fatal(errs)
	}
	if len(f.Items.Edges) != 1 || f.Items.Edges[0].Node.Sku != "MUG-2" || f.Items.Edges[0].Node.Available != 8 || len(f.Items.Edges[0].Node.Levels) != 1 {
		t.Fatalf("MUG at berlin = %+v", f.Items.Edges)
	}
	if errs := gql(t, base, testStoreKey, `{ items(filter:{availableAtMost:2}){ edges{ node{ sku available } } } }`, nil, &f); len(errs) != 0 {
		t.Fatal(errs)
	}
	if len(f.Items.Edges) != 2 || f.Items.Edges[0].Node.Sku != "CUP-1" || f.Items.Edges[1].Node.Sku != "CUP-2" {
		t.Fatalf("low stock = %+v", f.Items.Edges)
	}

	var at struct {
		StockAt struct{ OnHand, Seq int64 } `json:"stockAt"`
	}
	if errs := gql(t, base, testStoreKey, `query($t:Time!){ stockAt(sku:"MUG-2", location:"berlin", at:$t){ onHand seq } }`, map[string]any{"t": before.Format(time.RFC3339Nano)}, &at); len(errs) != 0 {
		t.Fatal(errs)
	}
	if at.StockAt.OnHand != 7 || at.StockAt.Seq != 1 {
		t.Fatalf("stockAt before the second adjustment = %+v, want onHand 7 at seq 1", at.StockAt)
	}

	var cnt struct {
		CountStock struct {
			Applied bool
			Level   struct{ OnHand int64 }
		} `json:"countStock"`
	}
	if errs := gql(t, base, testAdminKey, `mutation{ countStock(input:{sku:"CUP-1", location:"web", quantity:40, idempotencyKey:"c1"}){ applied level{ onHand } } }`, nil, &cnt); len(errs) != 0 || !cnt.CountStock.Applied || cnt.CountStock.Level.OnHand != 40 {
		t.Fatalf("countStock = %+v %+v", cnt, errs)
	}
	var tr struct {
		TransferStock struct {
			Applied bool
			Level   struct{ OnHand int64 }
		} `json:"transferStock"`
	}
	if errs := gql(t, base, testAdminKey, `mutation{ transferStock(input:{sku:"CUP-1", from:"web", to:"berlin", quantity:15}){ applied level{ onHand } } }`, nil, &tr); len(errs) != 0 || !tr.TransferStock.Applied || tr.TransferStock.Level.OnHand != 15 {
		t.Fatalf("transferStock = %+v %+v", tr, errs)
	}
	var lv struct{ Availability struct{ OnHand int64 } }
	gql(t, base, testStoreKey, `{ availability(sku:"CUP-1", location:"web"){ onHand } }`, nil, &lv)
	if lv.Availability.OnHand != 25 {
		t.Fatalf("CUP-1 at web after transfer = %d, want 25", lv.Availability.OnHand)
	}
	if got := code(gql(t, base, testAdminKey, `mutation{ transferStock(input:{sku:"CUP-1", from:"web", to:"web", quantity:1}){ applied } }`, nil, nil)); got != "BAD_USER_INPUT" {
		t.Fatalf("transfer to the same location: code %q", got)
	}
}

type resumable struct {
	level
	Cursor string `json:"cursor"`
}

const resumeQuery = `subscription($skus:[String!], $after:String){ availabilityChanged(skus:$skus, after:$after){ sku location onHand committed available seq coalesced cursor } }`

// TestSubscriptionResumesFromCursor: a subscriber that reconnects with the
// cursor of the last change it saw receives exactly the changes it
// missed, in order, then live ones, with no duplicate.
func TestSubscriptionResumesFromCursor(t *testing.T) {
	base := startGateway(t, "--config", writeConfig(t, t.TempDir(), ""))
	vars := map[string]any{"skus": []string{"RES-A", "RES-B"}}
	first := wsStart(t, base, testStoreKey, resumeQuery, vars)
	adjust(t, base, "RES-A", "web", 1)
	got := take[resumable](t, first, "availabilityChanged", 1)
	first.cancel()
	<-first.closed

	// Missed: three on A at web, one on B at berlin, one on a SKU not
	// subscribed.
	adjust(t, base, "RES-A", "web", 2)
	adjust(t, base, "RES-B", "berlin", 5)
	adjust(t, base, "RES-A", "web", 3)
	adjust(t, base, "OTHER", "web", 1)
	adjust(t, base, "RES-A", "web", 4)

	vars["after"] = got[0].Cursor
	second := wsStart(t, base, testStoreKey, resumeQuery, vars)
	missed := take[resumable](t, second, "availabilityChanged", 4)
	var seen []string
	for _, c := range missed {
		seen = append(seen, fmt.Sprintf("%s@%s#%d=%d", c.SKU, c.Location, c.Seq, c.OnHand))
	}
	want := []string{"RES-A@web#2=3", "RES-B@berlin#1=5", "RES-A@web#3=6", "RES-A@web#4=10"}
	if !slices.Equal(seen, want) {
		t.Fatalf("resumed with %v, want %v", seen, want)
	}
	adjust(t, base, "RES-B", "berlin", 1)
	live := take[resumable](t, second, "availabilityChanged", 1)
	if live[0].SKU != "RES-B" || live[0].Seq != 2 || live[0].OnHand != 6 {
		t.Fatalf("live after resume = %+v", live[0])
	}
	select {
	case p := <-second.next:
		t.Fatalf("an extra change (duplicate?): %s", p)
	case <-time.After(300 * time.Millisecond):
	}
	if got := code(gqlSubscribeOnce(t, base, "not-a-cursor")); got != "BAD_USER_INPUT" {
		t.Fatalf("bad cursor: code %q", got)
	}
}

// gqlSubscribeOnce starts an SSE subscription with a bad cursor and
// returns the errors of its first event.
func gqlSubscribeOnce(t *testing.T, base, cursor string) []gqlError {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": resumeQuery, "variables": map[string]any{"after": cursor}})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+testStoreKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
			var r struct{ Errors []gqlError }
			_ = json.Unmarshal([]byte(strings.TrimSpace(line)), &r)
			return r.Errors
		}
	}
	return nil
}

// TestAlertRaisedSubscription: an oversold adjustment reaches an admin
// subscribed to alerts.
func TestAlertRaisedSubscription(t *testing.T) {
	base := startGateway(t, "--config", writeConfig(t, t.TempDir(), ""))
	adjust(t, base, "ALR", "web", 1) // an earlier alert-free change
	op := wsStart(t, base, testAdminKey, `subscription{ alertRaised{ kind sku location } }`, nil)
	adjust(t, base, "ALR", "web", -3)
	a := take[struct{ Kind, Sku, Location string }](t, op, "alertRaised", 1)[0]
	if a.Kind != "oversold" || a.Sku != "ALR" || a.Location != "web" {
		t.Fatalf("alert = %+v", a)
	}
}

// TestDepthLimit: a query nested deeper than the limit is refused before
// it runs.
func TestDepthLimit(t *testing.T) {
	base := startGateway(t, "--config", writeConfig(t, t.TempDir(), ""))
	q := "{ __schema { types { fields { type " + strings.Repeat("{ ofType ", 12) + "{ name }" + strings.Repeat(" }", 12) + " } } } }"
	if got := code(gql(t, base, testAdminKey, q, nil, nil)); got != "BAD_USER_INPUT" {
		t.Fatalf("deep query: code %q, want BAD_USER_INPUT", got)
	}
}
