package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stockgate/stockgate/store"
)

// testRecords: put replaces, create refuses to, kinds are apart (one a
// prefix of another), listing is by id with pagination, delete removes.
func testRecords(t *testing.T, e *env) {
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	rec := func(kind, id, data string) store.Record {
		return store.Record{Kind: kind, ID: id, Data: []byte(data), UpdatedAt: at}
	}
	for i := range 7 {
		if err := e.d.PutRecord(e.ctx, rec("apikey", fmt.Sprintf("k%02d", 6-i), fmt.Sprintf(`{"n":%d}`, i)), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.d.PutRecord(e.ctx, rec("apikeys", "k00", `{"other":true}`), true); err != nil {
		t.Fatal(err)
	}
	if err := e.d.PutRecord(e.ctx, rec("apikey", "k03", `{"replaced":true}`), false); err != nil {
		t.Fatal(err)
	}
	if err := e.d.PutRecord(e.ctx, rec("apikey", "k03", `{"again":true}`), true); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("create over an existing record: %v, want ErrDuplicate", err)
	}
	got, err := e.d.GetRecord(e.ctx, "apikey", "k03")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "record", got, rec("apikey", "k03", `{"replaced":true}`))
	if _, err := e.d.GetRecord(e.ctx, "apikey", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get unknown record: %v, want ErrNotFound", err)
	}
	var ids []string
	after := ""
	for {
		page, err := e.d.Records(e.ctx, "apikey", after, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			if r.Kind != "apikey" {
				t.Fatalf("listed a record of kind %q", r.Kind)
			}
			ids = append(ids, r.ID)
		}
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1].ID
	}
	equal(t, "ids", ids, []string{"k00", "k01", "k02", "k03", "k04", "k05", "k06"})
	if err := e.d.DeleteRecord(e.ctx, "apikey", "k01"); err != nil {
		t.Fatal(err)
	}
	if err := e.d.DeleteRecord(e.ctx, "apikey", "k01"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	page, err := e.d.Records(e.ctx, "apikey", "k00", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].ID != "k02" || page[1].ID != "k03" {
		t.Fatalf("after delete, page after k00 = %+v", page)
	}
	if other, err := e.d.Records(e.ctx, "apikeys", "", 10); err != nil || len(other) != 1 {
		t.Fatalf("kind apikeys = %+v, %v; want its one record", other, err)
	}
	e.reopen(t)
	if got, err := e.d.GetRecord(e.ctx, "apikey", "k06"); err != nil || string(got.Data) != `{"n":0}` {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
}

// testSKUs: every SKU with an entry is listed once, in byte order, with
// pagination; a SKU with only dead letters or no entries is not.
func testSKUs(t *testing.T, e *env) {
	wantErrs(t, "Commit", commit(t, e,
		step(key("MUG", "berlin"), 0, "e1", 1),
		step(key("MUG", "paris"), 0, "e2", 1),
		step(key("A-1", "berlin"), 0, "e3", 1),
		step(key("Z", "berlin"), 0, "e4", 1),
		step(key("MUG-2", "berlin"), 0, "e5", 1),
	), nil, nil, nil, nil, nil)
	wantErrs(t, "Commit", commit(t, e, step(key("MUG", "berlin"), 1, "e6", 2)), nil)
	var got []string
	after := ""
	for {
		page, err := e.d.SKUs(e.ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1]
	}
	equal(t, "skus", got, []string{"A-1", "MUG", "MUG-2", "Z"})
}
