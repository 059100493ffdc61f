package shopifyfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The slice of the GraphQL Admin API schema the fake serves. Names and
// types follow the shopify.dev reference pages cited in the package doc;
// fields outside this slice are answered with graphql-ruby's
// "undefinedField" error, so a typo in a client's query fails in tests.

// typeRef is a GraphQL type reference such as "[InventoryQuantityInput!]!".
type typeRef struct {
	name    string   // named type; empty for a list
	elem    *typeRef // list element; nil for a named type
	nonNull bool
	text    string // as written
}

func parseType(s string) *typeRef {
	t := &typeRef{text: s}
	if strings.HasSuffix(s, "!") {
		t.nonNull = true
		s = s[:len(s)-1]
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		t.elem = parseType(s[1 : len(s)-1])
		return t
	}
	t.name = s
	return t
}

// fieldDef is an output field: typ names an object type, or is empty for
// a scalar or enum (cost 0, no selections).
type fieldDef struct {
	typ  string
	list bool
	args map[string]*typeRef
}

var scalarField = fieldDef{}

func objectField(typ string) fieldDef { return fieldDef{typ: typ} }
func listField(typ string) fieldDef   { return fieldDef{typ: typ, list: true} }

const (
	queryRoot    = "QueryRoot"
	mutationRoot = "Mutation"
)

var schema = map[string]map[string]fieldDef{
	queryRoot: {
		// https://shopify.dev/docs/api/admin-graphql/latest/queries/inventoryItem
		"inventoryItem": {typ: "InventoryItem", args: map[string]*typeRef{"id": parseType("ID!")}},
	},
	mutationRoot: {
		// ref §4.2
		"inventorySetQuantities": {typ: "InventorySetQuantitiesPayload",
			args: map[string]*typeRef{"input": parseType("InventorySetQuantitiesInput!")}},
	},
	"InventorySetQuantitiesPayload": {
		"inventoryAdjustmentGroup": objectField("InventoryAdjustmentGroup"),
		"userErrors":               listField("InventorySetQuantitiesUserError"),
	},
	"InventorySetQuantitiesUserError": {
		"code": scalarField, "field": scalarField, "message": scalarField,
	},
	"InventoryAdjustmentGroup": {
		"id": scalarField, "createdAt": scalarField, "reason": scalarField,
		"referenceDocumentUri": scalarField, "changes": listField("InventoryChange"),
	},
	"InventoryChange": {
		"name": scalarField, "delta": scalarField, "quantityAfterChange": scalarField,
	},
	// https://shopify.dev/docs/api/admin-graphql/latest/objects/InventoryItem
	"InventoryItem": {
		"id": scalarField, "tracked": scalarField,
		"inventoryLevel": {typ: "InventoryLevel", args: map[string]*typeRef{"locationId": parseType("ID!")}},
	},
	// https://shopify.dev/docs/api/admin-graphql/latest/objects/InventoryLevel
	"InventoryLevel": {
		"id": scalarField, "updatedAt": scalarField,
		"quantities": {typ: "InventoryQuantity", list: true, args: map[string]*typeRef{"names": parseType("[String!]!")}},
	},
	"InventoryQuantity": {
		"name": scalarField, "quantity": scalarField, "updatedAt": scalarField,
	},
}

// inputField is a field of an input object, present in API versions
// [since, until) (empty bounds are open).
type inputField struct {
	typ          *typeRef
	since, until string
}

// Input objects, with the CAS fields by API version (ref §4.2 table).
var inputTypes = map[string]map[string]inputField{
	"InventorySetQuantitiesInput": {
		"name":                  {typ: parseType("String!")},
		"reason":                {typ: parseType("String!")},
		"referenceDocumentUri":  {typ: parseType("String")},
		"quantities":            {typ: parseType("[InventoryQuantityInput!]!")},
		"ignoreCompareQuantity": {typ: parseType("Boolean"), until: v202604},
	},
	"InventoryQuantityInput": {
		"inventoryItemId":    {typ: parseType("ID!")},
		"locationId":         {typ: parseType("ID!")},
		"quantity":           {typ: parseType("Int!")},
		"compareQuantity":    {typ: parseType("Int"), until: v202604},
		"changeFromQuantity": {typ: parseType("Int"), since: v202601},
	},
}

// API versions at which inventorySetQuantities changed (ref §4.2, §4.4).
const (
	v202601 = "2026-01" // changeFromQuantity and @idempotent added
	v202604 = "2026-04" // both mandatory; compareQuantity removed
)

// apiVersion is "YYYY-MM"; "unstable" sorts after every release.
type apiVersion string

func (v apiVersion) atLeast(w string) bool {
	if v == "unstable" {
		return true
	}
	return string(v) >= w
}

func (f inputField) inVersion(v apiVersion) bool {
	if f.since != "" && !v.atLeast(f.since) {
		return false
	}
	if f.until != "" && v.atLeast(f.until) {
		return false
	}
	return true
}

// parseVersion accepts the quarterly release names (ref §4.1) and
// "unstable".
func parseVersion(s string) (apiVersion, bool) {
	if s == "unstable" {
		return apiVersion(s), true
	}
	if len(s) != 7 || s[4] != '-' {
		return "", false
	}
	y, err := strconv.Atoi(s[:4])
	if err != nil || y < 2000 {
		return "", false
	}
	switch s[5:] {
	case "01", "04", "07", "10":
		return apiVersion(s), true
	}
	return "", false
}

// MaxInputArray is the documented maximum size of any input array
// (ref §5.1 "Input limits", https://shopify.dev/api/usage/rate-limits).
const MaxInputArray = 250

// problem is one invalid part of an argument value, as graphql-ruby
// reports it in extensions.problems.
type problem struct {
	Path        []any  `json:"path"`
	Explanation string `json:"explanation"`
}

// sizeViolation is an input array over MaxInputArray.
type sizeViolation struct {
	path []any
	size int
}

// coercer turns a resolved argument value into the fake's Go values
// (string, int64, bool, []any, map[string]any with absent keys kept
// absent), collecting problems and oversize arrays.
type coercer struct {
	version  apiVersion
	problems []problem
	sizes    []sizeViolation
}

func clonePath(p []any, next any) []any {
	out := make([]any, len(p), len(p)+1)
	copy(out, p)
	return append(out, next)
}

func (c *coercer) fail(path []any, format string, args ...any) {
	c.problems = append(c.problems, problem{Path: append([]any{}, path...), Explanation: fmt.Sprintf(format, args...)})
}

func (c *coercer) coerce(t *typeRef, v any, path []any) any {
	if v == nil {
		if t.nonNull {
			c.fail(path, "Expected value to not be null")
		}
		return nil
	}
	if t.elem != nil {
		list, ok := v.([]any)
		if !ok { // input coercion: a single value is a list of one
			list = []any{v}
		}
		if len(list) > MaxInputArray {
			c.sizes = append(c.sizes, sizeViolation{path: append([]any{}, path...), size: len(list)})
			return nil
		}
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = c.coerce(t.elem, e, clonePath(path, i))
		}
		return out
	}
	if fields, ok := inputTypes[t.name]; ok {
		m, ok := v.(map[string]any)
		if !ok {
			c.fail(path, "Expected value to be an object (%s)", t.name)
			return nil
		}
		out := make(map[string]any, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fv := m[k]
			f, ok := fields[k]
			if !ok || !f.inVersion(c.version) {
				c.fail(clonePath(path, k), "Field is not defined on %s", t.name)
				continue
			}
			out[k] = c.coerce(f.typ, fv, clonePath(path, k))
		}
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			f := fields[k]
			if _, present := m[k]; !present && f.typ.nonNull && f.inVersion(c.version) {
				c.fail(clonePath(path, k), "Expected value to not be null")
			}
		}
		return out
	}
	switch t.name {
	case "String":
		if s, ok := v.(string); ok {
			return s
		}
	case "ID":
		if s, ok := v.(string); ok {
			return s
		}
		if n, ok := toInt(v); ok {
			return strconv.FormatInt(n, 10)
		}
	case "Int": // GraphQL Int is a signed 32-bit integer
		if n, ok := toInt(v); ok && n >= math.MinInt32 && n <= math.MaxInt32 {
			return n
		}
	case "Boolean":
		if b, ok := v.(bool); ok {
			return b
		}
	}
	raw, _ := json.Marshal(v)
	c.fail(path, "Could not coerce value %s to %s", raw, t.name)
	return nil
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	}
	return 0, false
}

// joinPath renders a problem path as graphql-ruby does: "quantities.0.quantity".
func joinPath(p []any) string {
	parts := make([]string, len(p))
	for i, e := range p {
		parts[i] = fmt.Sprint(e)
	}
	return strings.Join(parts, ".")
}
