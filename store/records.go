package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Record kinds used by stockgate. A record is a small document of admin
// state that is not part of the ledger: who may call the API, how each
// connector is set up, what admins did.
const (
	// RecordAPIKey holds one API key made by an admin (hashed secret,
	// role, channels, revocation).
	RecordAPIKey = "apikey"
	// RecordConnector holds one connector made or changed at runtime,
	// its secrets sealed.
	RecordConnector = "connector"
	// RecordAudit holds one admin write; ids sort by time.
	RecordAudit = "audit"
	// RecordChannelRule holds one channel rule set at runtime.
	RecordChannelRule = "channelrule"
	// RecordIdempotency holds what an admin command's idempotency key was
	// first used for, so that the key reused for another request is refused.
	RecordIdempotency = "idempotency"
	// RecordEcho holds the quantity stockgate last wrote to a channel for
	// one item at one location, so that every replica, and the gateway
	// after a restart, recognizes the channel's webhook reporting it back
	// (connectors.SharedEchoLog).
	RecordEcho = "echo"
)

// Record is one document of admin state, kept by kind and id.
type Record struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	// Data is the document, opaque to the store (JSON by convention).
	Data      []byte    `json:"data"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// RecordDriver is the part of a Driver that keeps records and lists the
// ledger's SKUs.
type RecordDriver interface {
	// PutRecord adds or replaces the record (Kind, ID). With create set,
	// it returns ErrDuplicate instead of replacing one that exists.
	PutRecord(ctx context.Context, r Record, create bool) error
	// GetRecord returns a record, or ErrNotFound.
	GetRecord(ctx context.Context, kind, id string) (Record, error)
	// Records returns up to limit records of a kind with ID > after, in
	// ID order.
	Records(ctx context.Context, kind, after string, limit int) ([]Record, error)
	// DeleteRecord removes a record; ErrNotFound when there is none.
	DeleteRecord(ctx context.Context, kind, id string) error
	// SKUs returns up to limit non-empty SKUs that have ledger entries at
	// some location, with SKU > after, in byte order.
	SKUs(ctx context.Context, after string, limit int) ([]string, error)
}

func checkRecord(kind, id string) error {
	if kind == "" || id == "" {
		return errors.New("a record needs a kind and an id")
	}
	if len(kind) > 64 || len(id) > 512 {
		return fmt.Errorf("record %q/%q: kind or id too long", kind, id)
	}
	return nil
}

// PutRecord adds or replaces a record.
func (s *Store) PutRecord(ctx context.Context, r Record) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := checkRecord(r.Kind, r.ID); err != nil {
		return wrap("put record", err)
	}
	return wrap("put record", s.d.PutRecord(ctx, r, false))
}

// CreateRecord adds a record; ErrDuplicate when (Kind, ID) exists.
func (s *Store) CreateRecord(ctx context.Context, r Record) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := checkRecord(r.Kind, r.ID); err != nil {
		return wrap("create record", err)
	}
	return wrap("create record", s.d.PutRecord(ctx, r, true))
}

// GetRecord returns one record, or an error wrapping ErrNotFound.
func (s *Store) GetRecord(ctx context.Context, kind, id string) (Record, error) {
	if err := s.check(ctx); err != nil {
		return Record{}, err
	}
	r, err := s.d.GetRecord(ctx, kind, id)
	return r, wrap("get record", err)
}

// Records lists records of a kind by id, after the given id.
func (s *Store) Records(ctx context.Context, kind, after string, limit int) ([]Record, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	rs, err := s.d.Records(ctx, kind, after, limit)
	return rs, wrap("records", err)
}

// AllRecords lists every record of a kind.
func (s *Store) AllRecords(ctx context.Context, kind string) ([]Record, error) {
	var out []Record
	after := ""
	for {
		page, err := s.Records(ctx, kind, after, 500)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < 500 {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// DeleteRecord removes a record.
func (s *Store) DeleteRecord(ctx context.Context, kind, id string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return wrap("delete record", s.d.DeleteRecord(ctx, kind, id))
}

// SKUs lists the SKUs the ledger has entries for, after the given SKU.
func (s *Store) SKUs(ctx context.Context, after string, limit int) ([]string, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	ss, err := s.d.SKUs(ctx, after, limit)
	return ss, wrap("skus", err)
}
