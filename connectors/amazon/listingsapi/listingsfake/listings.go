package listingsfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	attrPath       = "/attributes/fulfillment_availability"
	attrName       = "fulfillment_availability"
	channelDefault = "DEFAULT"
)

var pathUnescape = url.PathUnescape

// listing is one SKU of the catalogue: its product type and its
// fulfillment_availability entries, in order.
type listing struct {
	productType string
	entries     []map[string]any
}

// AddListings adds listings of productType for skus, without quantities
// (a SKU already listed is left as it is).
func (s *Server) AddListings(productType string, skus ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sku := range skus {
		if s.listings[sku] == nil {
			s.listings[sku] = &listing{productType: productType}
		}
	}
}

// SetQuantity sets the DEFAULT (MFN) quantity of sku, listing it (as
// product type PRODUCT) if needed: a change made by hand in Seller
// Central.
func (s *Server) SetQuantity(sku string, qty int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.listings[sku]
	if l == nil {
		l = &listing{productType: "PRODUCT"}
		s.listings[sku] = l
	}
	entry := map[string]any{"fulfillment_channel_code": channelDefault, "quantity": json.Number(strconv.FormatInt(qty, 10))}
	l.apply("merge", []map[string]any{entry})
}

// Quantity returns the DEFAULT (MFN) quantity of sku; ok is false when the
// SKU is not listed or has no DEFAULT quantity.
func (s *Server) Quantity(sku string) (qty int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.opts.Now())
	l := s.listings[sku]
	if l == nil {
		return 0, false
	}
	i := l.find(channelDefault)
	if i < 0 {
		return 0, false
	}
	n, isNum := l.entries[i]["quantity"].(json.Number)
	if !isNum {
		return 0, false
	}
	q, err := n.Int64()
	return q, err == nil
}

// Listing returns a copy of sku's fulfillment_availability entries, with
// quantities as json.Number; nil when the SKU is not listed.
func (s *Server) Listing(sku string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.opts.Now())
	l := s.listings[sku]
	if l == nil {
		return nil
	}
	out := make([]map[string]any, len(l.entries))
	for i, e := range l.entries {
		out[i] = maps.Clone(e)
	}
	return out
}

func (l *listing) find(code string) int {
	return slices.IndexFunc(l.entries, func(e map[string]any) bool { return e["fulfillment_channel_code"] == code })
}

// apply runs one patch operation on the attribute (see the package doc).
func (l *listing) apply(op string, vals []map[string]any) {
	for _, v := range vals {
		i := l.find(v["fulfillment_channel_code"].(string))
		switch op {
		case "merge":
			if i >= 0 {
				maps.Copy(l.entries[i], v)
			} else {
				l.entries = append(l.entries, maps.Clone(v))
			}
		case "replace", "add":
			if i >= 0 {
				l.entries[i] = maps.Clone(v)
			} else {
				l.entries = append(l.entries, maps.Clone(v))
			}
		case "delete":
			if i >= 0 {
				l.entries = slices.Delete(l.entries, i, i+1)
			}
		}
	}
}

// issue is a submission issue (listings model Issue).
type issue struct {
	Code           string   `json:"code"`
	Message        string   `json:"message"`
	Severity       string   `json:"severity"`
	AttributeNames []string `json:"attributeNames,omitempty"`
	Categories     []string `json:"categories"`
}

func invalidAttribute(name string) issue {
	return issue{Code: "90000900", Message: "The attributes are invalid.", Severity: "ERROR",
		AttributeNames: []string{name}, Categories: []string{"INVALID_ATTRIBUTE"}}
}

// patchOp is a JSON Patch operation as sent.
type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

func (p patchOp) hasValue() bool {
	v := strings.TrimSpace(string(p.Value))
	return v != "" && v != "null"
}

// check validates patches of sku and returns each patch's entries, or the
// issues that make the submission INVALID. Callers hold s.mu.
func (s *Server) check(sku string, ops []patchOp) ([][]map[string]any, []issue) {
	var issues []issue
	if s.listings[sku] == nil && !s.opts.AcceptUnknownSKUs {
		issues = append(issues, issue{Code: "NOT_FOUND", Severity: "ERROR", Categories: []string{},
			Message: fmt.Sprintf("SKU '%s' is not a listing of seller %s in marketplace %s.", sku, s.opts.SellerID, s.opts.MarketplaceID)})
	}
	vals := make([][]map[string]any, len(ops))
	for i, op := range ops {
		switch op.Op {
		case "add", "replace", "merge", "delete":
		default:
			issues = append(issues, issue{Code: "90000900", Severity: "ERROR", Categories: []string{},
				Message: fmt.Sprintf("Unsupported patch operation '%s'.", op.Op)})
			continue
		}
		if op.Path != attrPath {
			issues = append(issues, invalidAttribute(strings.TrimPrefix(op.Path, "/attributes/")))
			continue
		}
		dec := json.NewDecoder(strings.NewReader(string(op.Value)))
		dec.UseNumber()
		var entries []map[string]any
		if err := dec.Decode(&entries); err != nil || len(entries) == 0 {
			issues = append(issues, invalidAttribute(attrName))
			continue
		}
		for _, e := range entries {
			if code, _ := e["fulfillment_channel_code"].(string); code == "" {
				issues = append(issues, issue{Code: "99022", Severity: "ERROR", AttributeNames: []string{attrName}, Categories: []string{"MISSING_ATTRIBUTE"},
					Message: "The field 'fulfillment_channel_code' for the attribute 'fulfillment_availability' does not have enough values. The required minimum is '1' value(s)."})
				continue
			}
			if q, present := e["quantity"]; present {
				n, isNum := q.(json.Number)
				v, err := n.Int64()
				if !isNum || err != nil || v < 0 {
					issues = append(issues, invalidAttribute(attrName))
				}
			}
		}
		vals[i] = entries
	}
	return vals, issues
}

// applyChecked applies patches that passed check. Callers hold s.mu.
func (s *Server) applyChecked(sku, productType string, ops []patchOp, vals [][]map[string]any) {
	l := s.listings[sku]
	if l == nil {
		l = &listing{productType: productType}
		s.listings[sku] = l
	}
	for i, op := range ops {
		l.apply(op.Op, vals[i])
	}
}

// patch answers patchListingsItem.
func (s *Server) patch(w http.ResponseWriter, r *http.Request, sellerID, sku string, now time.Time) {
	const op = OpPatchListingsItem
	if sellerID != s.opts.SellerID {
		s.fail(w, op, http.StatusForbidden, unauthorized)
		return
	}
	q := r.URL.Query()
	var ids []string
	for _, v := range q["marketplaceIds"] {
		ids = append(ids, strings.Split(v, ",")...)
	}
	if len(ids) == 0 || !slices.Contains(ids, s.opts.MarketplaceID) {
		s.fail(w, op, http.StatusBadRequest, apiError{Code: "InvalidInput",
			Message: fmt.Sprintf("Invalid marketplaceIds %q: this seller sells in %s.", strings.Join(ids, ","), s.opts.MarketplaceID)})
		return
	}
	var body struct {
		ProductType string    `json:"productType"`
		Patches     []patchOp `json:"patches"`
	}
	if !s.readJSON(w, r, op, &body) {
		return
	}
	if body.ProductType == "" || len(body.Patches) == 0 {
		s.fail(w, op, http.StatusBadRequest, unparsable)
		return
	}
	for i, p := range body.Patches {
		if p.Op != "delete" && !p.hasValue() {
			s.fail(w, op, http.StatusBadRequest, apiError{Code: "InvalidInput", Message: fmt.Sprintf("Value is missing for patch at index of %d.", i)})
			return
		}
	}
	preview := q.Get("mode") == "VALIDATION_PREVIEW"
	s.mu.Lock()
	s.seq++
	subID := fmt.Sprintf("%016x%016x", uint64(s.seq)*0x9e3779b97f4a7c15, uint64(s.seq))
	vals, issues := s.check(sku, body.Patches)
	status := "ACCEPTED"
	switch {
	case len(issues) > 0:
		status = "INVALID"
		if !preview {
			s.stats.PatchesInvalid++
		}
	case preview:
		status = "VALID"
	default:
		s.applyChecked(sku, body.ProductType, body.Patches, vals)
		s.stats.PatchesAccepted++
	}
	s.mu.Unlock()
	if issues == nil {
		issues = []issue{}
	}
	s.reply(w, op, http.StatusOK, map[string]any{"sku": sku, "status": status, "submissionId": subID, "issues": issues})
}
