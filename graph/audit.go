package graph

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/stockgate/stockgate/auth"
	"github.com/stockgate/stockgate/graph/model"
	"github.com/stockgate/stockgate/store"
)

// auditRecord is one audit log entry as the store keeps it.
type auditRecord struct {
	At        time.Time `json:"at"`
	KeyID     string    `json:"keyId"`
	KeyName   string    `json:"keyName"`
	Action    string    `json:"action"`
	Arguments string    `json:"arguments"`
	OK        bool      `json:"ok"`
	Error     string    `json:"error,omitempty"`
}

// Auditor is a gqlgen extension that records every mutation call, allowed
// or refused, in the store's audit log with the key that made it and its
// arguments, secrets redacted.
type Auditor struct {
	Store *store.Store
	// Log receives audit records the store could not keep. Nil: slog's
	// default.
	Log *slog.Logger
}

var (
	_ graphql.HandlerExtension = Auditor{}
	_ graphql.FieldInterceptor = Auditor{}
)

// ExtensionName implements graphql.HandlerExtension.
func (Auditor) ExtensionName() string { return "Audit" }

// Validate implements graphql.HandlerExtension.
func (Auditor) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptField implements graphql.FieldInterceptor.
func (a Auditor) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Object != "Mutation" {
		return next(ctx)
	}
	res, err := next(ctx)
	p, _ := auth.FromContext(ctx)
	rec := auditRecord{
		At: time.Now().UTC(), KeyID: p.ID, KeyName: p.Name, Action: fc.Field.Name,
		Arguments: redactedJSON(fc.Args), OK: err == nil,
	}
	if err != nil {
		rec.Error = ErrorPresenter(ctx, err).Message
	}
	data, _ := json.Marshal(rec)
	r := store.Record{Kind: store.RecordAudit, ID: auditID(rec.At), Data: data, UpdatedAt: rec.At}
	// Record even when the caller went away: the write happened.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if serr := a.Store.CreateRecord(sctx, r); serr != nil {
		log := a.Log
		if log == nil {
			log = slog.Default()
		}
		log.Error("audit: record not stored", "action", rec.Action, "key", rec.KeyID, "err", serr)
	}
	return res, err
}

// auditID sorts by time: nanoseconds, then a random suffix.
func auditID(t time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%019d-%s", t.UnixNano(), hex.EncodeToString(b))
}

// redactedJSON renders args as JSON with every field whose name speaks of
// a secret replaced by "[redacted]".
func redactedJSON(args map[string]any) string {
	raw, err := json.Marshal(args)
	if err != nil {
		return "{}"
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "{}"
	}
	out, _ := json.Marshal(redact(v))
	return string(out)
}

func redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if secretName(k) {
				x[k] = "[redacted]"
			} else {
				x[k] = redact(val)
			}
		}
	case []any:
		for i := range x {
			x[i] = redact(x[i])
		}
	}
	return v
}

func secretName(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"secret", "token", "password", "credential", "apikey"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func auditEntry(r store.Record) (*model.AuditEntry, error) {
	var a auditRecord
	if err := json.Unmarshal(r.Data, &a); err != nil {
		return nil, fmt.Errorf("audit %s: %w", r.ID, err)
	}
	e := &model.AuditEntry{ID: r.ID, At: a.At, KeyID: a.KeyID, KeyName: a.KeyName, Action: a.Action, Arguments: a.Arguments, Ok: a.OK}
	if a.Error != "" {
		e.Error = &a.Error
	}
	return e, nil
}
