package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// cmdFlash runs a flash sale on one SKU.
const cmdFlash = "flash"

// runFlash sends -n orders/create webhooks, each for one unit of the same
// fresh SKU, -concurrency at a time, as fast as they are acknowledged,
// then asks the gateway's availability query until the SKU's committed
// quantity counts every acknowledged one. It reports how fast the sale
// was acknowledged and how long the ledger took to apply all of it: a
// hot key's events are applied one after the other, so this measures
// what the load run over many SKUs does not.
func runFlash(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stockgate-load "+cmdFlash, flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:8080", "gateway base `URL`")
	connector := fs.String("connector", "shop", "Shopify connector `id`")
	location := fs.String("location", "web", "the stockgate `location` the connector's orders land at (its defaultLocation)")
	secret := fs.String("secret", os.Getenv(envSecret), "webhook signing secret of the connector (default $"+envSecret+")")
	key := fs.String("key", os.Getenv(envKey), "GraphQL API `key` that may query availability (default $"+envKey+")")
	shop := fs.String("shop", "example.myshopify.com", "X-Shopify-Shop-Domain of the webhooks")
	n := fs.Int("n", 5000, "how many orders")
	concurrency := fs.Int("concurrency", 64, "most requests in flight")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for the ledger to apply the sale")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: stockgate-load %s [flags]\n\nA flash sale: -n orders of one unit of one fresh SKU, -concurrency at a time,\nthen waits until availability counts them all as committed. Reports the\nacknowledged rate and how long after the first send the ledger had applied\nthe whole sale.\n\nFlags:\n", cmdFlash)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if *secret == "" || *key == "" || *n < 1 || *n > maxSeq || *concurrency < 1 || *timeout <= 0 {
		return fmt.Errorf("%w: -secret and -key are required, -n 1..%d, -concurrency and -timeout positive", errUsage, maxSeq)
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	run := binary.BigEndian.Uint32(b[:])&(1<<30-1) | 1<<29
	sku := fmt.Sprintf("flash-%08x", run)
	hooks := webhooks{secret: *secret, shop: *shop, run: run}
	rp, err := newRawPoster(strings.TrimRight(*base, "/")+"/webhooks/"+url.PathEscape(*connector), *concurrency, 30*time.Second)
	if err != nil {
		return err
	}
	defer rp.close()

	var (
		next, failed atomic.Int64
		acks         samples
		mu           sync.Mutex
		firstErr     string
		wg           sync.WaitGroup
	)
	start := time.Now()
	for range *concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				seq := next.Add(1) - 1
				if seq >= int64(*n) {
					return
				}
				wh, err := hooks.build(seq, sku, time.Now())
				if err != nil {
					failed.Add(1)
					continue
				}
				t := time.Now()
				a, err := rp.post(ctx, wh)
				if err == nil && a.code == http.StatusOK && a.Status == "accepted" {
					acks.add(t.Sub(start), time.Since(t))
					continue
				}
				failed.Add(1)
				mu.Lock()
				if firstErr == "" {
					firstErr = fmt.Sprintf("%d %s %v", a.code, a.Error, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sent := time.Since(start)
	ack := acks.summary()
	want := int64(ack.Count)
	fmt.Fprintf(stdout, "flash sale of %s at %s: %d orders, %d acknowledged in %s (%.0f/s), ack p50 %s p99 %s, %d failed\n",
		sku, *location, *n, want, round(sent), float64(want)/sent.Seconds(), round(ack.P50), round(ack.P99), failed.Load())
	if firstErr != "" {
		fmt.Fprintf(stdout, "  first failure: %s\n", firstErr)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(*timeout)
	var committed int64
	for {
		committed, err = flashCommitted(ctx, client, *base, *key, sku, *location)
		if err != nil {
			return err
		}
		if committed >= want {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("after %s the ledger had applied %d of the %d acknowledged orders", round(time.Since(start)), committed, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	all := time.Since(start)
	fmt.Fprintf(stdout, "  all applied %s after the first send, %s after the last ack (%.0f events/s end to end)\n",
		round(all), round(all-sent), float64(want)/all.Seconds())
	return nil
}

// flashCommitted reads a key's committed quantity through GraphQL.
func flashCommitted(ctx context.Context, client *http.Client, base, key, sku, location string) (int64, error) {
	body, _ := json.Marshal(map[string]any{
		"query":     `query($s:String!,$l:String!){ availability(sku:$s, location:$l){ committed } }`,
		"variables": map[string]string{"s": sku, "l": location},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/graphql", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Availability struct{ Committed int64 } `json:"availability"`
		} `json:"data"`
		Errors []struct{ Message string } `json:"errors"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&r); err != nil {
		return 0, fmt.Errorf("availability query: HTTP %d: %v", resp.StatusCode, err)
	}
	if len(r.Errors) > 0 {
		return 0, fmt.Errorf("availability query: %s", r.Errors[0].Message)
	}
	return r.Data.Availability.Committed, nil
}
