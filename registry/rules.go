package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/store"
)

// Rules is where channel rules are applied: the dispatcher.
type Rules interface {
	// Rule returns an account's rule; an error for an unknown account.
	Rule(account string) (channel.Rule, error)
	// SetRule replaces an account's rule.
	SetRule(account string, r channel.Rule) error
}

// ErrNoRules: nothing pushes availability, so there is no rule to set.
var ErrNoRules = errors.New("registry: no connector pushes availability")

// ruleRecord is a channel rule as the store keeps it.
type ruleRecord struct {
	Rule    channel.Rule `json:"rule"`
	By      string       `json:"by"`
	Version int64        `json:"version"`
}

// SetRule replaces an account's channel rule, on this replica at once and
// on the others at their next refresh, and keeps it across restarts (it
// wins over the configuration file's).
func (r *Registry) SetRule(ctx context.Context, account string, rule channel.Rule, by string) (channel.Rule, error) {
	if r.o.Rules == nil {
		return channel.Rule{}, ErrNoRules
	}
	if _, err := r.o.Rules.Rule(account); err != nil {
		return channel.Rule{}, fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	if rule.Channel == "" {
		rule.Channel = account
	}
	if err := rule.Validate(); err != nil {
		return channel.Rule{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	rec := ruleRecord{Rule: rule, By: by, Version: 1}
	if sr, err := r.o.Store.GetRecord(ctx, store.RecordChannelRule, account); err == nil {
		var prev ruleRecord
		if json.Unmarshal(sr.Data, &prev) == nil {
			rec.Version = prev.Version + 1
		}
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return channel.Rule{}, err
	}
	now := r.o.Now().UTC()
	if err := r.o.Store.PutRecord(ctx, store.Record{Kind: store.RecordChannelRule, ID: account, Data: data, UpdatedAt: now}); err != nil {
		return channel.Rule{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.o.Rules.SetRule(account, rule); err != nil {
		return channel.Rule{}, err
	}
	r.rules[account] = rec.Version
	return rule, nil
}

// applyRules applies the stored rules that changed.
func (r *Registry) applyRules(ctx context.Context) error {
	if r.o.Rules == nil {
		return nil
	}
	rs, err := r.o.Store.AllRecords(ctx, store.RecordChannelRule)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, sr := range rs {
		var rec ruleRecord
		if err := json.Unmarshal(sr.Data, &rec); err != nil {
			errs = append(errs, fmt.Errorf("registry: rule of %q: %w", sr.ID, err))
			continue
		}
		if r.rules[sr.ID] == rec.Version {
			continue
		}
		if err := r.o.Rules.SetRule(sr.ID, rec.Rule); err != nil {
			errs = append(errs, fmt.Errorf("registry: rule of %q: %w", sr.ID, err))
			continue
		}
		r.rules[sr.ID] = rec.Version
	}
	return errors.Join(errs...)
}
