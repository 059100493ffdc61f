package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/store"
)

// Options configure Open; nil means defaults.
type Options struct {
	// Prefix starts the name of every key the store uses, so that several
	// stores (or tests) share one database. Zero: DefaultPrefix,
	// "{stockgate}:". With a Cluster or Ring client the prefix must contain
	// a hash tag ("{…}") so that every key lands in one slot or shard.
	Prefix string
	// Now reads the clock for dedup expiry and applied marks; a dedup key
	// stops deduplicating when Now reaches its acceptance time plus its
	// TTL, whatever Redis's own clock says. Nil: time.Now.
	Now func() time.Time
	// DedupGrace is how much longer than its TTL Redis keeps a dedup key
	// before expiring it. The key stops deduplicating by Now; the Redis TTL
	// only frees the memory, so it must not fire first when the gateway's
	// clock is behind Redis's. Zero: one hour. Negative: no Redis TTL;
	// expired keys then stay in Redis, though they no longer deduplicate.
	DedupGrace time.Duration
}

// defaultDedupGrace is Options.DedupGrace's zero value.
const defaultDedupGrace = time.Hour

// errClosed is what a closed driver returns.
var errClosed = fmt.Errorf("redisstore: %w", store.ErrClosed)

// driver is the Redis store driver; it is safe for concurrent use.
type driver struct {
	c      redis.UniversalClient
	own    bool // Close closes c: OpenURL made it
	k      keys
	now    func() time.Time
	grace  time.Duration
	closed atomic.Bool
}

var _ store.Driver = (*driver)(nil)

// Open returns a driver that keeps its state in Redis through client,
// under Options.Prefix. It loads the scripts, so it fails when Redis does
// not answer. Close leaves client open: it is the caller's.
//
// go-redis retries a command that failed on the network MaxRetries times
// (default 3). A retried Accept of an acceptance without a dedup key may
// store its messages twice; a retried Commit reports ErrAlreadyApplied for
// the step it applied. Give the client MaxRetries: -1 to leave retrying to
// the caller, as OpenURL does.
func Open(ctx context.Context, client redis.UniversalClient, opts *Options) (store.Driver, error) {
	d, err := open(ctx, client, false, opts)
	if err != nil {
		return nil, fmt.Errorf("redisstore: open: %w", err)
	}
	return d, nil
}

func open(ctx context.Context, client redis.UniversalClient, own bool, opts *Options) (*driver, error) {
	if client == nil {
		return nil, errors.New("nil client")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DedupGrace == 0 {
		o.DedupGrace = defaultDedupGrace
	}
	switch client.(type) {
	case *redis.ClusterClient, *redis.Ring:
		if !hasHashTag(o.Prefix) {
			return nil, fmt.Errorf("prefix %q has no hash tag such as {stockgate}, which a Redis Cluster or Ring needs to keep the store's keys on one shard", o.Prefix)
		}
	}
	for _, s := range []*redis.Script{acceptScript, commitScript} {
		if err := s.Load(ctx, client).Err(); err != nil {
			return nil, fmt.Errorf("loading scripts: %w", err)
		}
	}
	return &driver{c: client, own: own, k: newKeys(o.Prefix), now: o.Now, grace: o.DedupGrace}, nil
}

func (d *driver) check(ctx context.Context) error {
	if d.closed.Load() {
		return errClosed
	}
	return ctx.Err()
}

// call is one script invocation.
type call struct {
	keys []string
	args []any
}

// run runs s once per call and returns each call's integer result. The
// calls of a batch go in one MULTI/EXEC, one round trip: Redis runs them in
// order with no other client's command between them, and none of them
// unless the whole transaction arrived.
func (d *driver) run(ctx context.Context, s *redis.Script, calls []call) ([]int64, error) {
	out := make([]int64, len(calls))
	if len(calls) == 1 {
		v, err := s.Run(ctx, d.c, calls[0].keys, calls[0].args...).Int64()
		out[0] = v
		return out, err
	}
	for attempt := 0; ; attempt++ {
		cmds := make([]*redis.Cmd, len(calls))
		_, err := d.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for i := range calls {
				cmds[i] = s.EvalSha(ctx, p, calls[i].keys, calls[i].args...)
			}
			return nil
		})
		// A script missing from the cache (Redis restarted or SCRIPT FLUSH)
		// is missing for every call of the transaction, so none ran: load
		// it and run them again.
		if attempt == 0 && (isNoScript(err) || isNoScript(cmds[0].Err())) {
			if err := s.Load(ctx, d.c).Err(); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		for i, cmd := range cmds {
			if out[i], err = cmd.Int64(); err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
		}
		return out, nil
	}
}

func isNoScript(err error) bool {
	return err != nil && (errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT"))
}

// Accept implements store.Driver: one acceptScript per item.
func (d *driver) Accept(ctx context.Context, items []store.Acceptance) ([]error, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	errs := make([]error, len(items))
	if len(items) == 0 {
		return errs, nil
	}
	now := d.now()
	calls := make([]call, len(items))
	for i := range items {
		c, err := d.acceptCall(&items[i], now)
		if err != nil {
			return nil, fmt.Errorf("redisstore: accept item %d: %w", i, err)
		}
		calls[i] = c
	}
	res, err := d.run(ctx, acceptScript, calls)
	if err != nil {
		return nil, fmt.Errorf("redisstore: accept: %w", err)
	}
	for i, r := range res {
		if r == resDuplicate {
			errs[i] = store.ErrDuplicate
		}
	}
	return errs, nil
}

func (d *driver) acceptCall(a *store.Acceptance, now time.Time) (call, error) {
	ks := []string{d.k.seqs, d.k.outbox, d.k.deadLetters, d.k.deadLetterIDs}
	exp, px := "0", ""
	if a.DedupKey != "" {
		ks = append(ks, d.k.dedup(a.DedupKey))
		exp, px = expiry(now, a.DedupTTL, d.grace)
	}
	args := make([]any, 0, 4+len(a.Messages)+2*len(a.DeadLetters))
	args = append(args, unixNano20(now), exp, px, len(a.Messages))
	for j := range a.Messages {
		m := a.Messages[j]
		m.Seq = 0 // the seq is the member's prefix
		v, err := json.Marshal(&m)
		if err != nil {
			return call{}, fmt.Errorf("message %d: %w", j, err)
		}
		args = append(args, v)
	}
	for j := range a.DeadLetters {
		v, err := json.Marshal(&a.DeadLetters[j])
		if err != nil {
			return call{}, fmt.Errorf("dead letter %d: %w", j, err)
		}
		args = append(args, a.DeadLetters[j].ID, v)
	}
	return call{keys: ks, args: args}, nil
}

// expiry returns when a dedup key accepted at now with ttl stops
// deduplicating, as 20 decimal digits of Unix nanoseconds ("0": never),
// and the Redis TTL in milliseconds ("": none) that frees it grace later.
func expiry(now time.Time, ttl, grace time.Duration) (exp, px string) {
	if ttl <= 0 {
		return "0", ""
	}
	n := max(now.UnixNano(), 0)
	if ttl > time.Duration(math.MaxInt64-n) {
		return "0", "" // beyond 2262: as good as never
	}
	exp = pad20(uint64(n + int64(ttl)))
	if grace < 0 || ttl > math.MaxInt64-grace {
		return exp, ""
	}
	keep := ttl + grace
	return exp, strconv.FormatInt(int64((keep+time.Millisecond-1)/time.Millisecond), 10)
}

func unixNano20(t time.Time) string { return pad20(uint64(max(t.UnixNano(), 0))) }

// pad20 formats v in decimal with leading zeros to 20 digits, the width of
// the largest uint64, so that the scripts can compare times exactly.
func pad20(v uint64) string {
	s := strconv.FormatUint(v, 10)
	return "00000000000000000000"[len(s):] + s
}

// Commit implements store.Driver: one commitScript per item.
func (d *driver) Commit(ctx context.Context, items []store.Commit) ([]error, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	errs := make([]error, len(items))
	if len(items) == 0 {
		return errs, nil
	}
	now := strconv.FormatInt(d.now().UnixNano(), 10)
	calls := make([]call, len(items))
	for i := range items {
		c, err := d.commitCall(&items[i], now)
		if err != nil {
			return nil, fmt.Errorf("redisstore: commit item %d: %w", i, err)
		}
		calls[i] = c
	}
	res, err := d.run(ctx, commitScript, calls)
	if err != nil {
		return nil, fmt.Errorf("redisstore: commit: %w", err)
	}
	for i, r := range res {
		switch r {
		case resOK:
		case resAlreadyApplied:
			errs[i] = store.ErrAlreadyApplied
		case resConflict:
			errs[i] = store.ErrConflict
		default:
			return nil, fmt.Errorf("redisstore: commit item %d: unexpected script result %d", i, r)
		}
	}
	return errs, nil
}

// stepAt returns a commit's i-th keyed step, the main one first.
func stepAt(c *store.Commit, i int) (exp uint64, e *store.Entry, p *store.Projection) {
	if c.Entry != nil {
		if i == 0 {
			return c.ExpectedSeq, c.Entry, c.Projection
		}
		i--
	}
	s := &c.Extra[i]
	return s.ExpectedSeq, &s.Entry, &s.Projection
}

func (d *driver) commitCall(c *store.Commit, now string) (call, error) {
	switch {
	case c.EventID == "":
		return call{}, errors.New("event id is required")
	case c.Entry != nil && c.Projection == nil:
		return call{}, errors.New("entry without projection")
	}
	n := len(c.Extra)
	if c.Entry != nil {
		n++
	}
	ks := make([]string, 0, 8+2*n)
	ks = append(ks, d.k.applied, d.k.seqs, d.k.outbox, d.k.alerts, d.k.alertIDs, d.k.deadLetters, d.k.deadLetterIDs)
	args := make([]any, 0, 3+5*n+3+len(c.Outbox)+2*len(c.Alerts)+len(c.DeleteOutbox)+2)
	args = append(args, c.EventID, now, n)
	for i := range n {
		exp, ep, pp := stepAt(c, i)
		if exp == math.MaxUint64 {
			return call{}, fmt.Errorf("step %d: expected seq overflows", i)
		}
		e, p := *ep, *pp
		e.Seq, p.Seq, p.Key = exp+1, exp+1, e.Key
		ev, err := json.Marshal(&e)
		if err != nil {
			return call{}, fmt.Errorf("step %d: entry: %w", i, err)
		}
		pv, err := json.Marshal(&p)
		if err != nil {
			return call{}, fmt.Errorf("step %d: projection: %w", i, err)
		}
		ks = append(ks, d.k.projections(e.SKU), d.k.entries(e.Key))
		args = append(args, e.Location, strconv.FormatUint(exp, 10), strconv.FormatUint(exp+1, 10), ev, pv)
	}
	ks = append(ks, d.k.skus)
	args = append(args, len(c.Outbox))
	for j := range c.Outbox {
		m := c.Outbox[j]
		m.Seq = 0
		v, err := json.Marshal(&m)
		if err != nil {
			return call{}, fmt.Errorf("message %d: %w", j, err)
		}
		args = append(args, v)
	}
	args = append(args, len(c.Alerts))
	for j := range c.Alerts {
		v, err := json.Marshal(&c.Alerts[j])
		if err != nil {
			return call{}, fmt.Errorf("alert %d: %w", j, err)
		}
		args = append(args, c.Alerts[j].ID, v)
	}
	args = append(args, len(c.DeleteOutbox))
	for _, s := range c.DeleteOutbox {
		args = append(args, strconv.FormatUint(s, 10))
	}
	args = append(args, len(c.Enqueue))
	for _, it := range c.Enqueue {
		ks = append(ks, d.k.queueTokens(it.Account), d.k.queueSince(it.Account))
		args = append(args, it.SKU, unixNano20(it.Since))
	}
	if c.DeadLetter != nil {
		v, err := json.Marshal(c.DeadLetter)
		if err != nil {
			return call{}, fmt.Errorf("dead letter: %w", err)
		}
		args = append(args, c.DeadLetter.ID, v)
	}
	return call{keys: ks, args: args}, nil
}

// Applied implements store.Driver.
func (d *driver) Applied(ctx context.Context, eventID string) (bool, error) {
	if err := d.check(ctx); err != nil {
		return false, err
	}
	ok, err := d.c.HExists(ctx, d.k.applied, eventID).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: applied: %w", err)
	}
	return ok, nil
}

// Projection implements store.Driver; a key with no entries has
// store.Projection{Key: k}.
func (d *driver) Projection(ctx context.Context, k store.Key) (store.Projection, error) {
	p := store.Projection{Key: k}
	if err := d.check(ctx); err != nil {
		return p, err
	}
	v, err := d.c.HGet(ctx, d.k.projections(k.SKU), k.Location).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return p, nil
	case err != nil:
		return p, fmt.Errorf("redisstore: projection: %w", err)
	}
	if err := decodeProjection(v, &p); err != nil {
		return store.Projection{Key: k}, fmt.Errorf("redisstore: projection of %v: %w", k, err)
	}
	return p, nil
}

// decodeProjection decodes a projections hash value, "<seq>:<JSON>".
func decodeProjection(v string, p *store.Projection) error {
	_, js, ok := strings.Cut(v, ":")
	if !ok {
		return errors.New("corrupt projection")
	}
	return json.Unmarshal([]byte(js), p)
}

// Projections implements store.Driver.
func (d *driver) Projections(ctx context.Context, sku string) ([]store.Projection, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	m, err := d.c.HGetAll(ctx, d.k.projections(sku)).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: projections: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	locs := make([]string, 0, len(m))
	for loc := range m {
		locs = append(locs, loc)
	}
	slices.Sort(locs)
	out := make([]store.Projection, len(locs))
	for i, loc := range locs {
		if err := decodeProjection(m[loc], &out[i]); err != nil {
			return nil, fmt.Errorf("redisstore: projections of %q at %q: %w", sku, loc, err)
		}
	}
	return out, nil
}

// History implements store.Driver.
func (d *driver) History(ctx context.Context, k store.Key, after uint64, limit int) ([]store.Entry, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 || after > uint64(math.MaxInt64-limit) {
		return nil, nil
	}
	// Entry seq n is at index n−1: the entries after `after` start at
	// index `after`.
	vs, err := d.c.LRange(ctx, d.k.entries(k), int64(after), int64(after)+int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: history: %w", err)
	}
	if len(vs) == 0 {
		return nil, nil
	}
	out := make([]store.Entry, len(vs))
	for i, v := range vs {
		if err := json.Unmarshal([]byte(v), &out[i]); err != nil {
			return nil, fmt.Errorf("redisstore: history of %v: entry %d: %w", k, after+uint64(i)+1, err)
		}
	}
	return out, nil
}

// rangeAfter returns up to limit members of zset with seq above after, in
// order, split into seq and JSON.
func (d *driver) rangeAfter(ctx context.Context, zset string, after uint64, limit int) ([]uint64, [][]byte, error) {
	if limit <= 0 {
		return nil, nil, nil
	}
	vs, err := d.c.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key:     zset,
		Start:   "(" + strconv.FormatUint(after, 10),
		Stop:    "+inf",
		ByScore: true,
		Count:   int64(limit),
	}).Result()
	if err != nil || len(vs) == 0 {
		return nil, nil, err
	}
	seqs, jss := make([]uint64, len(vs)), make([][]byte, len(vs))
	for i, v := range vs {
		s, js, ok := strings.Cut(v, ":")
		seq, err := strconv.ParseUint(s, 10, 64)
		if !ok || err != nil {
			return nil, nil, fmt.Errorf("corrupt member %.40q", v)
		}
		seqs[i], jss[i] = seq, []byte(js)
	}
	return seqs, jss, nil
}

// Outbox implements store.Driver.
func (d *driver) Outbox(ctx context.Context, after uint64, limit int) ([]store.Message, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	seqs, jss, err := d.rangeAfter(ctx, d.k.outbox, after, limit)
	if err != nil {
		return nil, fmt.Errorf("redisstore: outbox: %w", err)
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	out := make([]store.Message, len(seqs))
	for i := range seqs {
		if err := json.Unmarshal(jss[i], &out[i]); err != nil {
			return nil, fmt.Errorf("redisstore: outbox: message %d: %w", seqs[i], err)
		}
		out[i].Seq = seqs[i]
	}
	return out, nil
}

// DeleteOutbox implements store.Driver: all the seqs in one MULTI/EXEC.
func (d *driver) DeleteOutbox(ctx context.Context, seqs []uint64) error {
	if err := d.check(ctx); err != nil || len(seqs) == 0 {
		return err
	}
	_, err := d.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, s := range seqs {
			v := strconv.FormatUint(s, 10)
			p.ZRemRangeByScore(ctx, d.k.outbox, v, v)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: delete outbox: %w", err)
	}
	return nil
}

// page returns up to limit members of zset after the one whose id is after
// ("" for the start); ids maps ids to seqs.
func (d *driver) page(ctx context.Context, zset, ids, after string, limit int) ([]uint64, [][]byte, error) {
	var from uint64
	if after != "" {
		s, err := d.c.HGet(ctx, ids, after).Result()
		if errors.Is(err, redis.Nil) {
			return nil, nil, fmt.Errorf("redisstore: no item with id %q: %w", after, store.ErrNotFound)
		}
		if err != nil {
			return nil, nil, err
		}
		if from, err = strconv.ParseUint(s, 10, 64); err != nil {
			return nil, nil, fmt.Errorf("corrupt seq %q of id %q", s, after)
		}
	}
	return d.rangeAfter(ctx, zset, from, limit)
}

// DeadLetters implements store.Driver.
func (d *driver) DeadLetters(ctx context.Context, after string, limit int) ([]store.DeadLetter, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	seqs, jss, err := d.page(ctx, d.k.deadLetters, d.k.deadLetterIDs, after, limit)
	if errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: dead letters: %w", err)
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	out := make([]store.DeadLetter, len(seqs))
	for i := range seqs {
		if err := json.Unmarshal(jss[i], &out[i]); err != nil {
			return nil, fmt.Errorf("redisstore: dead letters: %d: %w", seqs[i], err)
		}
		if out[i].ID == "" {
			out[i].ID = "dl-" + hex16(seqs[i])
		}
	}
	ids := make([]string, len(out))
	for i := range out {
		ids[i] = out[i].ID
	}
	res, err := d.c.HMGet(ctx, d.k.resolved, ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: dead letters: resolutions: %w", err)
	}
	for i, v := range res {
		if s, ok := v.(string); ok {
			var r resolution
			if err := json.Unmarshal([]byte(s), &r); err != nil {
				return nil, fmt.Errorf("redisstore: dead letters: resolution of %s: %w", ids[i], err)
			}
			out[i].Resolution, out[i].ResolvedAt = r.Resolution, r.At
		}
	}
	return out, nil
}

// resolution is a dead letter's entry in the resolved hash.
type resolution struct {
	Resolution string    `json:"resolution"`
	At         time.Time `json:"at"`
}

// ResolveDeadLetter implements store.Driver. Dead letters are never
// deleted, so checking the id and then writing its resolution needs no
// script.
func (d *driver) ResolveDeadLetter(ctx context.Context, id, res string, at time.Time) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	ok, err := d.c.HExists(ctx, d.k.deadLetterIDs, id).Result()
	if err != nil {
		return fmt.Errorf("redisstore: resolve dead letter: %w", err)
	}
	if !ok {
		return fmt.Errorf("redisstore: dead letter %q: %w", id, store.ErrNotFound)
	}
	buf, err := json.Marshal(resolution{Resolution: res, At: at})
	if err != nil {
		return err
	}
	if err := d.c.HSet(ctx, d.k.resolved, id, buf).Err(); err != nil {
		return fmt.Errorf("redisstore: resolve dead letter: %w", err)
	}
	return nil
}

func mappingField(connector, kind, external string) string {
	var b strings.Builder
	for _, p := range []string{connector, kind, external} {
		b.WriteString(strconv.Itoa(len(p)))
		b.WriteByte(':')
		b.WriteString(p)
	}
	return b.String()
}

// PutMapping implements store.Driver.
func (d *driver) PutMapping(ctx context.Context, m store.Mapping) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	buf, err := json.Marshal(&m)
	if err != nil {
		return err
	}
	if err := d.c.HSet(ctx, d.k.mappings, mappingField(m.Connector, m.Kind, m.External), buf).Err(); err != nil {
		return fmt.Errorf("redisstore: put mapping: %w", err)
	}
	return nil
}

// Mappings implements store.Driver.
func (d *driver) Mappings(ctx context.Context, connector string) ([]store.Mapping, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	all, err := d.c.HGetAll(ctx, d.k.mappings).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: mappings: %w", err)
	}
	var out []store.Mapping
	for _, v := range all {
		var m store.Mapping
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return nil, fmt.Errorf("redisstore: mappings: %w", err)
		}
		if connector == "" || m.Connector == connector {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Connector != b.Connector {
			return a.Connector < b.Connector
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.External < b.External
	})
	return out, nil
}

// Alerts implements store.Driver.
func (d *driver) Alerts(ctx context.Context, after string, limit int) ([]store.Alert, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	seqs, jss, err := d.page(ctx, d.k.alerts, d.k.alertIDs, after, limit)
	if errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: alerts: %w", err)
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	out := make([]store.Alert, len(seqs))
	for i := range seqs {
		if err := json.Unmarshal(jss[i], &out[i]); err != nil {
			return nil, fmt.Errorf("redisstore: alerts: %d: %w", seqs[i], err)
		}
		if out[i].ID == "" {
			out[i].ID = "al-" + hex16(seqs[i])
		}
	}
	return out, nil
}

// hex16 formats v as 16 hex digits, as the scripts' record does, so that
// assigned IDs sort like their seqs.
func hex16(v uint64) string {
	s := strconv.FormatUint(v, 16)
	return "0000000000000000"[len(s):] + s
}

// Ping implements store.Driver.
func (d *driver) Ping(ctx context.Context) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	if err := d.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

// Close makes later calls fail and closes the client if OpenURL made it;
// a client given to Open stays open.
func (d *driver) Close() error {
	if d.closed.Swap(true) {
		return errClosed
	}
	if d.own {
		if err := d.c.Close(); err != nil {
			return fmt.Errorf("redisstore: close: %w", err)
		}
	}
	return nil
}
