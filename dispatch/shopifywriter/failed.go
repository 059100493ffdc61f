package shopifywriter

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stockgate/stockgate/connectors/shopify/admin"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/event"
)

// failed sorts out a SetQuantities call that failed. Shopify applies a
// mutation all or nothing (ref §4.2), so nothing was written. An error
// that is not about single quantities fails the call; otherwise each
// quantity gets its own outcome, the ones Shopify found stale are re-read
// (so the next write compares against what the channel shows), and the
// rest are Aborted: sent again at once.
func (w *Writer) failed(ctx context.Context, p dispatch.Pacer, req admin.SetRequest, at []int, outs []dispatch.Outcome, ues []admin.UserError, err error) ([]dispatch.Outcome, error) {
	if len(ues) == 0 {
		return nil, err // throttled, 5xx, transport, credentials, request errors
	}
	per := make(map[int]admin.UserError, len(ues))
	for _, ue := range ues {
		j, ok := quantityIndex(ue.Field, len(req.Quantities))
		if !ok {
			switch ue.Code {
			case "IDEMPOTENCY_KEY_PARAMETER_MISMATCH", "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED":
				// The key is forgotten (the outcome was definitive): the
				// retry gets a new one.
				return nil, &errcode.Error{Code: errcode.Aborted, Err: err}
			}
			return nil, err
		}
		if prev, dup := per[j]; !dup || rank(userErrorCode(ue.Code)) > rank(userErrorCode(prev.Code)) {
			per[j] = ue
		}
	}
	stale := make([]int, 0, len(per))
	for j := range per {
		if userErrorCode(per[j].Code) == errcode.FailedPrecondition {
			stale = append(stale, j)
		}
	}
	slices.Sort(stale)
	gone := make(map[int]error)
	for _, j := range stale {
		err := w.reread(ctx, p, req.Quantities[j].InventoryItemID)
		switch {
		case err == nil:
		case admin.ErrorCode(err) == errcode.NotFound:
			gone[j] = err // the level went away meanwhile: this item's problem only
		default:
			return nil, err
		}
	}
	for j := range req.Quantities {
		i := at[j]
		if err, ok := gone[j]; ok {
			outs[i] = dispatch.Outcome{Code: errcode.InvalidArgument, Err: err}
			continue
		}
		ue, ok := per[j]
		if !ok {
			outs[i] = dispatch.Outcome{Code: errcode.Aborted, Err: fmt.Errorf("not applied: another quantity of the call failed: %w", err)}
			continue
		}
		outs[i] = dispatch.Outcome{Code: userErrorCode(ue.Code),
			Err: fmt.Errorf("shopify %s at %s: %s", ue.Code, strings.Join(ue.Field, "."), ue.Message)}
	}
	return outs, nil
}

// reread reads what the channel shows for item and remembers it.
func (w *Writer) reread(ctx context.Context, p dispatch.Pacer, item int64) error {
	w.mu.Lock()
	cost := w.readCost
	w.mu.Unlock()
	if err := p.Wait(ctx, cost); err != nil {
		return err
	}
	v, c, err := w.c.Available(ctx, item, w.loc)
	p.Observe(admin.Observation(c, cost, err))
	w.mu.Lock()
	defer w.mu.Unlock()
	w.learnCost(&w.readCost, c)
	if err != nil {
		return err
	}
	w.known[item] = v
	return nil
}

// quantityIndex reads the quantity a userError's field points at:
// ["input", "quantities", "3", …].
func quantityIndex(field []string, n int) (int, bool) {
	if len(field) < 3 || field[0] != "input" || field[1] != "quantities" {
		return 0, false
	}
	j, err := strconv.Atoi(field[2])
	if err != nil || j < 0 || j >= n {
		return 0, false
	}
	return j, true
}

// userErrorCode classifies one InventorySetQuantitiesUserErrorCode for one
// quantity (ref §4.2 table; the admin client does the same for a whole
// call, keeping the most severe).
func userErrorCode(code string) errcode.Code {
	switch code {
	case "CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE":
		return errcode.FailedPrecondition
	case "COMPARE_QUANTITY_REQUIRED", "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
		"ITEM_NOT_STOCKED_AT_LOCATION", "NON_MUTABLE_INVENTORY_ITEM":
		return errcode.InvalidArgument
	}
	if strings.HasPrefix(code, "INVALID_") {
		return errcode.InvalidArgument
	}
	return errcode.Unknown
}

// rank orders the codes of one quantity's userErrors: a bad item is not
// fixed by a re-read.
func rank(c errcode.Code) int {
	switch c {
	case errcode.InvalidArgument:
		return 3
	case errcode.Unknown:
		return 2
	case errcode.FailedPrecondition:
		return 1
	}
	return 0
}

// ambiguous reports whether a call that failed with c may have been
// applied: then a retry of the same content must reuse its idempotency
// key, so Shopify answers with the original outcome instead of applying
// twice (ref §4.4).
func ambiguous(c errcode.Code) bool {
	switch c {
	case errcode.Unavailable, errcode.Aborted, errcode.Unknown, errcode.Canceled, errcode.DeadlineExceeded:
		return true
	}
	return false
}

// contentHash identifies a request's content: the account, and each
// quantity's item, location, value, compare-and-set value and ledger
// version.
func contentHash(account string, qs []admin.Quantity, ups []dispatch.Update, at []int) string {
	h := sha256.New()
	h.Write([]byte(account))
	var b [8 * 5]byte
	for j, q := range qs {
		binary.BigEndian.PutUint64(b[0:], uint64(q.InventoryItemID))
		binary.BigEndian.PutUint64(b[8:], uint64(q.LocationID))
		binary.BigEndian.PutUint64(b[16:], uint64(q.Quantity))
		from := uint64(1 << 63) // null
		if q.ChangeFrom != nil {
			from = uint64(*q.ChangeFrom)
		}
		binary.BigEndian.PutUint64(b[24:], from)
		binary.BigEndian.PutUint64(b[32:], ups[at[j]].Version)
		h.Write(b[:])
	}
	return string(h.Sum(nil))
}

// keyFor returns the idempotency key for content h: the key of an earlier
// call with the same content whose outcome is unknown (a retry), else a
// new one. Keys are never derived from the content alone: the same
// content can be a new operation (the channel was set back by hand, and
// the same quantity is sent again from the same old value), which Shopify
// would otherwise answer with the first call's result without applying
// it. Callers hold w.mu.
func (w *Writer) keyFor(h string) string {
	if k, ok := w.ambiguous[h]; ok {
		return k
	}
	w.seq++
	k := event.DeterministicID("stockgate-dispatch", w.account, w.nonce, strconv.FormatUint(w.seq, 10))
	if len(w.ambiguous) >= maxAmbiguous {
		for old := range w.ambiguous {
			delete(w.ambiguous, old)
			break
		}
	}
	return k
}

// learnCost keeps the requested cost of the last answer of a kind of
// call, to reserve it next time. Callers hold w.mu.
func (w *Writer) learnCost(est *float64, c admin.Cost) {
	if c.Requested > 0 {
		*est = max(c.Requested, c.Actual)
	}
}
