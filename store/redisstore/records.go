package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/store"
)

// putRecordScript adds or replaces a record and indexes its id.
//
//	KEYS: the kind's records HASH, its ids ZSET
//	ARGV: id, record JSON, "1" to refuse replacing
var putRecordScript = redis.NewScript(`
if ARGV[3] == '1' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 0
`)

// deleteRecordScript removes a record and its id; 1 when there was none.
var deleteRecordScript = redis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 1 end
redis.call('ZREM', KEYS[2], ARGV[1])
return 0
`)

// PutRecord implements store.Driver.
func (d *driver) PutRecord(ctx context.Context, r store.Record, create bool) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	v, err := json.Marshal(&r)
	if err != nil {
		return err
	}
	flag := "0"
	if create {
		flag = "1"
	}
	res, err := putRecordScript.Run(ctx, d.c, []string{d.k.records(r.Kind), d.k.recordIDs(r.Kind)}, r.ID, v, flag).Int64()
	if err != nil {
		return fmt.Errorf("redisstore: put record: %w", err)
	}
	if res == 1 {
		return store.ErrDuplicate
	}
	return nil
}

// GetRecord implements store.Driver.
func (d *driver) GetRecord(ctx context.Context, kind, id string) (store.Record, error) {
	if err := d.check(ctx); err != nil {
		return store.Record{}, err
	}
	v, err := d.c.HGet(ctx, d.k.records(kind), id).Bytes()
	if errors.Is(err, redis.Nil) {
		return store.Record{}, store.ErrNotFound
	}
	if err != nil {
		return store.Record{}, fmt.Errorf("redisstore: get record: %w", err)
	}
	var r store.Record
	if err := json.Unmarshal(v, &r); err != nil {
		return store.Record{}, fmt.Errorf("redisstore: record %q/%q: %w", kind, id, err)
	}
	return r, nil
}

// Records implements store.Driver.
func (d *driver) Records(ctx context.Context, kind, after string, limit int) ([]store.Record, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	ids, err := d.c.ZRangeByLex(ctx, d.k.recordIDs(kind), &redis.ZRangeBy{Min: lexAfter(after), Max: "+", Count: int64(limit)}).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: records: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	vs, err := d.c.HMGet(ctx, d.k.records(kind), ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: records: %w", err)
	}
	out := make([]store.Record, 0, len(vs))
	for i, v := range vs {
		s, ok := v.(string)
		if !ok {
			continue // deleted between the two reads
		}
		var r store.Record
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			return nil, fmt.Errorf("redisstore: record %q/%q: %w", kind, ids[i], err)
		}
		out = append(out, r)
	}
	return out, nil
}

// DeleteRecord implements store.Driver.
func (d *driver) DeleteRecord(ctx context.Context, kind, id string) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	res, err := deleteRecordScript.Run(ctx, d.c, []string{d.k.records(kind), d.k.recordIDs(kind)}, id).Int64()
	if err != nil {
		return fmt.Errorf("redisstore: delete record: %w", err)
	}
	if res == 1 {
		return store.ErrNotFound
	}
	return nil
}

// SKUs implements store.Driver.
func (d *driver) SKUs(ctx context.Context, after string, limit int) ([]string, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	ss, err := d.c.ZRangeByLex(ctx, d.k.skus, &redis.ZRangeBy{Min: lexAfter(after), Max: "+", Count: int64(limit)}).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: skus: %w", err)
	}
	return ss, nil
}

// lexAfter is the ZRANGEBYLEX minimum for members greater than after.
func lexAfter(after string) string {
	if after == "" {
		return "-"
	}
	return "(" + after
}
