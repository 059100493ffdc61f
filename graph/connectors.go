package graph

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/stockgate/stockgate/auth"
	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/graph/model"
	"github.com/stockgate/stockgate/mapping"
	"github.com/stockgate/stockgate/registry"
	"github.com/stockgate/stockgate/store"
)

// setPaused pauses or resumes a connector's webhooks (registry) and its
// pushes (dispatcher), whichever it has.
func (r *mutationResolver) setPaused(ctx context.Context, id string, paused bool) (*model.ConnectorConfig, error) {
	p, _ := auth.FromContext(ctx)
	inbound := false
	var v registry.View
	if r.Registry != nil {
		var err error
		v, err = r.Registry.SetPaused(ctx, id, paused, p.ID)
		switch {
		case err == nil:
			inbound = true
		case !errors.Is(err, registry.ErrNotFound):
			return nil, registryError(err)
		}
	}
	outbound := false
	if r.Dispatcher != nil {
		var err error
		if paused {
			err = r.Dispatcher.Pause(id)
		} else {
			err = r.Dispatcher.Resume(id)
		}
		switch {
		case err == nil:
			outbound = true
		case !errors.Is(err, dispatch.ErrUnknownAccount):
			return nil, err
		}
	}
	if !inbound && !outbound {
		return nil, &codedError{CodeNotFound, "no connector " + id}
	}
	if !inbound {
		v = registry.View{Input: registry.Input{ID: id}, Static: true, Paused: paused}
	}
	return r.connectorConfig(v), nil
}

func (r *Resolver) connectorConfig(v registry.View) *model.ConnectorConfig {
	out := &model.ConnectorConfig{
		ID: v.ID, Kind: v.Kind, Source: model.ConnectorSourceRuntime,
		Shop: opt(v.Shop), DefaultLocation: opt(v.DefaultLocation), NotificationURL: opt(v.NotificationURL),
		APIBaseURL: opt(v.APIBaseURL), SellerID: opt(v.SellerID), SnsTopics: v.SNSTopics,
		Locations: idMappings(v.Locations), Items: idMappings(v.Items), Stores: idMappings(v.Stores),
		Paused: v.Paused, WebhookSecrets: int64(v.WebhookSecrets), APITokenSet: v.APITokenSet,
		SecretsRotatedAt: optTime(v.SecretsRotatedAt), CreatedAt: optTime(v.CreatedAt), UpdatedAt: optTime(v.UpdatedAt),
		UpdatedBy: opt(v.By),
	}
	if out.SnsTopics == nil {
		out.SnsTopics = []string{}
	}
	if v.Static {
		out.Source = model.ConnectorSourceFile
	}
	if r.Dispatcher != nil {
		for _, st := range r.Dispatcher.Status() {
			if st.Account == v.ID {
				out.Status = connectorStatus(st)
				out.Paused = out.Paused || st.Paused
			}
		}
	}
	return out
}

func connectorInput(in model.ConnectorInput) registry.Input {
	out := registry.Input{
		ID: in.ID, Kind: in.Kind, Shop: deref(in.Shop), DefaultLocation: deref(in.DefaultLocation),
		NotificationURL: deref(in.NotificationURL), APIBaseURL: deref(in.APIBaseURL),
		SellerID: deref(in.SellerID), SNSTopics: in.SnsTopics, AuthHeader: deref(in.AuthHeader),
		Locations: idMap(in.Locations), Items: idMap(in.Items), Stores: idMap(in.Stores),
	}
	if in.ToleranceSeconds != nil {
		out.Tolerance = time.Duration(*in.ToleranceSeconds) * time.Second
	}
	return out
}

func connectorSecrets(in *model.ConnectorSecretsInput) registry.Secrets {
	if in == nil {
		return registry.Secrets{}
	}
	return registry.Secrets{Webhook: in.WebhookSecrets, APIToken: in.APIToken}
}

func registryError(err error) error {
	switch {
	case errors.Is(err, registry.ErrNotFound), errors.Is(err, registry.ErrNoRules):
		return &codedError{CodeNotFound, err.Error()}
	case errors.Is(err, registry.ErrInvalid), errors.Is(err, registry.ErrExists), errors.Is(err, registry.ErrStatic):
		return badInput(err.Error())
	}
	return err
}

func idMap(in []*model.IDMappingInput) map[string]string {
	if len(in) == 0 {
		return nil
	}
	m := make(map[string]string, len(in))
	for _, x := range in {
		m[x.External] = x.Internal
	}
	return m
}

func idMappings(m map[string]string) []*model.IDMapping {
	out := []*model.IDMapping{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, &model.IDMapping{External: k, Internal: m[k]})
	}
	return out
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// retryWrite replays a dispatch dead letter: the account writes the SKU
// again with the ledger's quantity now, and the dead letter is resolved.
func (r *mutationResolver) retryWrite(ctx context.Context, dl store.DeadLetter) (*model.DeadLetter, error) {
	var b struct {
		Account string `json:"account"`
		SKU     string `json:"sku"`
	}
	if err := json.Unmarshal(dl.Body, &b); err != nil || b.Account == "" || b.SKU == "" {
		return nil, badInput("dead letter " + dl.ID + " names no account and SKU")
	}
	if r.Dispatcher == nil {
		return nil, &codedError{CodeNotFound, "no connector pushes availability"}
	}
	if err := r.Dispatcher.Retry(ctx, b.Account, b.SKU); err != nil {
		if errors.Is(err, dispatch.ErrUnknownAccount) || errors.Is(err, dispatch.ErrUnsynced) {
			return nil, &codedError{CodeNotFound, err.Error()}
		}
		return nil, err
	}
	if err := r.Store.ResolveDeadLetter(ctx, dl.ID, mapping.Replayed, time.Now().UTC()); err != nil {
		return nil, err
	}
	out, err := r.Mapping.Get(ctx, dl.ID)
	if err != nil {
		return nil, err
	}
	return deadLetter(out), nil
}

func channelRuleIn(connector string, in model.ChannelRuleInput) channel.Rule {
	r := channel.Rule{Channel: connector, Locations: in.Locations, Max: in.Max}
	if in.BufferUnits != nil {
		r.BufferUnits = *in.BufferUnits
	}
	if in.BufferPercent != nil {
		r.BufferPercent = *in.BufferPercent
	}
	if in.Floor != nil {
		r.Floor = *in.Floor
	}
	return r
}

func channelRuleOut(r channel.Rule) *model.ChannelRule {
	return &model.ChannelRule{
		Channel: r.Channel, Locations: r.Locations, BufferUnits: r.BufferUnits,
		BufferPercent: r.BufferPercent, Max: r.Max, Floor: r.Floor,
	}
}
