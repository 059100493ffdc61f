package shopifyfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// A minimal GraphQL executor for the schema slice in schema.go: the
// document is parsed with gqlparser (no schema validation), then the
// fake checks fields, arguments, directives and variables itself and
// reports problems with graphql-ruby's messages and extensions.code values
// (Shopify's Admin API is served by graphql-ruby).

// gqlError is one entry of the top-level "errors" array.
type gqlError struct {
	Message    string         `json:"message"`
	Locations  []location     `json:"locations,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

type location struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

func locOf(p *ast.Position) []location {
	if p == nil {
		return nil
	}
	return []location{{Line: p.Line, Column: p.Column}}
}

// object is a JSON object that keeps its keys in selection order, as a
// GraphQL response does.
type object struct {
	keys []string
	vals []any
}

func (o *object) set(k string, v any) {
	if i := slices.Index(o.keys, k); i >= 0 {
		o.vals[i] = v
		return
	}
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

func (o *object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// lazy is a field value that needs the field's arguments.
type lazy func(args map[string]any) any

// CostModel prices a request; see the package doc, "Cost model". Each
// field's zero value selects the default.
type CostModel struct {
	// Mutation is the cost of each mutation root field. Zero: 10.
	Mutation float64
	// Object is the cost of each selected field that returns an object or
	// a list of objects, including query root fields. Zero: 1.
	Object float64
	// PerInputItem is added to a mutation root field for each entry of
	// its input array (input.quantities). Zero: nothing added.
	PerInputItem float64
}

// DefaultCostModel is the cost model of a zero CostModel.
var DefaultCostModel = CostModel{Mutation: 10, Object: 1}

func (m CostModel) withDefaults() CostModel {
	if m.Mutation == 0 {
		m.Mutation = DefaultCostModel.Mutation
	}
	if m.Object == 0 {
		m.Object = DefaultCostModel.Object
	}
	return m
}

// SingleQueryMaxCost is the largest requested cost one request may have
// (ref §5.1) [S].
const SingleQueryMaxCost = 1000

// docCache holds parsed documents by query text: clients send the same few
// documents over and over. Parsed documents are only read afterwards.
type docCache struct {
	mu   sync.Mutex
	docs map[string]*ast.QueryDocument
}

const docCacheSize = 256

func (c *docCache) parse(q string) (*ast.QueryDocument, error) {
	c.mu.Lock()
	doc, ok := c.docs[q]
	c.mu.Unlock()
	if ok {
		return doc, nil
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.docs == nil || len(c.docs) >= docCacheSize {
		c.docs = make(map[string]*ast.QueryDocument)
	}
	c.docs[q] = doc
	c.mu.Unlock()
	return doc, nil
}

// idemKey is the key of an @idempotent directive.
type idemKey struct {
	key     string
	present bool
}

// operation is a parsed, checked request ready to run.
type operation struct {
	version apiVersion
	cost    CostModel
	doc     *ast.QueryDocument
	op      *ast.OperationDefinition
	vars    map[string]any
	root    string
	fields  []*ast.Field
	args    map[*ast.Field]map[string]any
	keys    map[*ast.Field]idemKey
	errs    []gqlError
}

// prepare parses and checks a request. The errors it returns are request
// errors: the operation does not run.
func prepare(cache *docCache, version apiVersion, cost CostModel, query, opName string, vars map[string]any) (*operation, []gqlError) {
	if strings.TrimSpace(query) == "" {
		return nil, []gqlError{{Message: "No query string was present"}}
	}
	doc, err := cache.parse(query)
	if err != nil {
		var ge *gqlerror.Error
		if errors.As(err, &ge) {
			e := gqlError{Message: ge.Message}
			for _, l := range ge.Locations {
				e.Locations = append(e.Locations, location{Line: l.Line, Column: l.Column})
			}
			return nil, []gqlError{e}
		}
		return nil, []gqlError{{Message: err.Error()}}
	}
	var op *ast.OperationDefinition
	switch {
	case len(doc.Operations) == 0:
		return nil, []gqlError{{Message: "No operations in the document"}}
	case opName == "" && len(doc.Operations) > 1:
		return nil, []gqlError{{Message: "An operation name is required"}}
	default:
		if op = doc.Operations.ForName(opName); op == nil {
			return nil, []gqlError{{Message: fmt.Sprintf("No operation named %q", opName)}}
		}
	}
	o := &operation{
		version: version, cost: cost, doc: doc, op: op, vars: vars,
		args: make(map[*ast.Field]map[string]any), keys: make(map[*ast.Field]idemKey),
	}
	switch op.Operation {
	case ast.Query:
		o.root = queryRoot
	case ast.Mutation:
		o.root = mutationRoot
	default:
		return nil, []gqlError{{Message: fmt.Sprintf("Schema is not configured for %ss", op.Operation), Locations: locOf(op.Position)}}
	}
	for _, d := range op.VariableDefinitions {
		if d.Type.NonNull && d.DefaultValue == nil && vars[d.Variable] == nil {
			o.errs = append(o.errs, gqlError{
				Message:   fmt.Sprintf("Variable $%s of type %s was provided invalid value", d.Variable, d.Type.String()),
				Locations: locOf(d.Position),
				Extensions: map[string]any{"value": nil, "problems": []problem{
					{Path: []any{}, Explanation: "Expected value to not be null"}}},
			})
		}
	}
	o.fields = o.collect(op.SelectionSet)
	o.check(o.root, o.fields, nil)
	if len(o.errs) > 0 {
		return o, o.errs
	}
	return o, nil
}

// collect flattens fragments into the fields they select. Type conditions
// are not checked: every type in the slice is a concrete object.
func (o *operation) collect(sel ast.SelectionSet) []*ast.Field {
	var out []*ast.Field
	var walk func(ast.SelectionSet, int)
	walk = func(sel ast.SelectionSet, depth int) {
		if depth > 10 {
			return
		}
		for _, s := range sel {
			switch s := s.(type) {
			case *ast.Field:
				out = append(out, s)
			case *ast.InlineFragment:
				walk(s.SelectionSet, depth+1)
			case *ast.FragmentSpread:
				if f := o.doc.Fragments.ForName(s.Name); f != nil {
					walk(f.SelectionSet, depth+1)
				} else {
					o.errs = append(o.errs, gqlError{Message: fmt.Sprintf("Fragment %s was used, but not defined", s.Name),
						Locations: locOf(s.Position), Extensions: map[string]any{"code": "useAndDefineFragment", "fragmentName": s.Name}})
				}
			}
		}
	}
	walk(sel, 0)
	return out
}

// resolve evaluates an argument value against the variables; present is
// false for a variable that was not supplied and has no default.
func (o *operation) resolve(v *ast.Value) (val any, present bool) {
	switch v.Kind {
	case ast.Variable:
		if x, ok := o.vars[v.Raw]; ok {
			return x, true
		}
		d := o.op.VariableDefinitions.ForName(v.Raw)
		if d == nil {
			o.errs = append(o.errs, gqlError{
				Message:    fmt.Sprintf("Variable $%s is used by %s but not declared", v.Raw, opLabel(o.op)),
				Locations:  locOf(v.Position),
				Extensions: map[string]any{"code": "variableNotDefined", "variableName": v.Raw},
			})
			return nil, false
		}
		if d.DefaultValue != nil {
			return o.resolve(d.DefaultValue)
		}
		return nil, false
	case ast.ListValue:
		out := make([]any, 0, len(v.Children))
		for _, c := range v.Children {
			x, _ := o.resolve(c.Value)
			out = append(out, x)
		}
		return out, true
	case ast.ObjectValue:
		out := make(map[string]any, len(v.Children))
		for _, c := range v.Children {
			if x, ok := o.resolve(c.Value); ok {
				out[c.Name] = x
			}
		}
		return out, true
	case ast.IntValue:
		return json.Number(v.Raw), true
	case ast.FloatValue:
		return json.Number(v.Raw), true
	case ast.BooleanValue:
		return v.Raw == "true", true
	case ast.NullValue:
		return nil, true
	default: // strings, block strings, enums
		return v.Raw, true
	}
}

func opLabel(op *ast.OperationDefinition) string {
	if op.Name != "" {
		return op.Name
	}
	return "anonymous " + string(op.Operation)
}

// check validates the fields selected on typ.
func (o *operation) check(typ string, fields []*ast.Field, path []any) {
	for _, f := range fields {
		if f.Name == "__typename" {
			continue
		}
		def, ok := schema[typ][f.Name]
		if !ok {
			o.errs = append(o.errs, gqlError{
				Message:    fmt.Sprintf("Field '%s' doesn't exist on type '%s'", f.Name, typ),
				Locations:  locOf(f.Position),
				Path:       clonePath(path, f.Alias),
				Extensions: map[string]any{"code": "undefinedField", "typeName": typ, "fieldName": f.Name},
			})
			continue
		}
		o.checkArgs(f, def, path)
		o.checkDirectives(typ, f)
		switch {
		case def.typ == "" && len(f.SelectionSet) > 0:
			o.errs = append(o.errs, gqlError{
				Message:    fmt.Sprintf("Selections can't be made on scalars (field '%s' returns a scalar but has selections)", f.Name),
				Locations:  locOf(f.Position),
				Path:       clonePath(path, f.Alias),
				Extensions: map[string]any{"code": "selectionMismatch", "nodeName": "field '" + f.Name + "'"},
			})
		case def.typ != "" && len(f.SelectionSet) == 0:
			o.errs = append(o.errs, gqlError{
				Message: fmt.Sprintf("Field must have selections (field '%s' returns %s but has no selections. Did you mean '%s { ... }'?)",
					f.Name, def.typ, f.Name),
				Locations:  locOf(f.Position),
				Path:       clonePath(path, f.Alias),
				Extensions: map[string]any{"code": "selectionMismatch", "nodeName": "field '" + f.Name + "'"},
			})
		case def.typ != "":
			o.check(def.typ, o.collect(f.SelectionSet), clonePath(path, f.Alias))
		}
	}
}

func (o *operation) checkArgs(f *ast.Field, def fieldDef, path []any) {
	got := make(map[string]any, len(f.Arguments))
	for _, a := range f.Arguments {
		t, ok := def.args[a.Name]
		if !ok {
			o.errs = append(o.errs, gqlError{
				Message:   fmt.Sprintf("Field '%s' doesn't accept argument '%s'", f.Name, a.Name),
				Locations: locOf(a.Position),
				Path:      clonePath(path, f.Alias),
				Extensions: map[string]any{"code": "argumentNotAccepted", "name": f.Name, "typeName": "Field",
					"argumentName": a.Name},
			})
			continue
		}
		v, present := o.resolve(a.Value)
		if !present {
			continue // reported as missing below
		}
		c := coercer{version: o.version}
		got[a.Name] = c.coerce(t, v, nil)
		for _, sv := range c.sizes {
			// Shopify's answer for an input array over the limit (ref §5.1
			// "Input limits" says only "Requests return an error"); the
			// message and code are those reported by users [S/U].
			o.errs = append(o.errs, gqlError{
				Message: fmt.Sprintf("The input array size of %d is greater than the maximum allowed of %d.",
					sv.size, MaxInputArray),
				Locations:  locOf(a.Position),
				Path:       append(clonePath(path, f.Alias), append([]any{a.Name}, sv.path...)...),
				Extensions: map[string]any{"code": "MAX_INPUT_SIZE_EXCEEDED"},
			})
		}
		if len(c.problems) == 0 {
			continue
		}
		first := c.problems[0]
		where := ""
		if len(first.Path) > 0 {
			where = " for " + joinPath(first.Path)
		}
		if a.Value.Kind == ast.Variable {
			typ := t.text
			if d := o.op.VariableDefinitions.ForName(a.Value.Raw); d != nil {
				typ = d.Type.String()
			}
			o.errs = append(o.errs, gqlError{
				Message: fmt.Sprintf("Variable $%s of type %s was provided invalid value%s (%s)",
					a.Value.Raw, typ, where, first.Explanation),
				Locations:  locOf(a.Value.Position),
				Extensions: map[string]any{"problems": c.problems},
			})
		} else {
			o.errs = append(o.errs, gqlError{
				Message: fmt.Sprintf("Argument '%s' on Field '%s' has an invalid value%s (%s). Expected type '%s'.",
					a.Name, f.Name, where, first.Explanation, t.text),
				Locations: locOf(a.Position),
				Path:      clonePath(path, f.Alias),
				Extensions: map[string]any{"code": "argumentLiteralsIncompatible", "typeName": "Argument",
					"argumentName": a.Name, "problems": c.problems},
			})
		}
	}
	var missing []string
	for _, name := range slices.Sorted(maps.Keys(def.args)) {
		t := def.args[name]
		if _, ok := got[name]; ok || !t.nonNull {
			continue
		}
		a := f.Arguments.ForName(name)
		if a == nil {
			missing = append(missing, name)
			continue
		}
		// A variable that was not supplied: a non-null declaration was
		// reported by prepare; a nullable one cannot feed a non-null
		// argument.
		if d := o.op.VariableDefinitions.ForName(a.Value.Raw); a.Value.Kind == ast.Variable && d != nil && !d.Type.NonNull {
			o.errs = append(o.errs, gqlError{
				Message: fmt.Sprintf("Nullability mismatch on variable $%s and argument %s (%s / %s)",
					a.Value.Raw, name, d.Type.String(), t.text),
				Locations:  locOf(a.Position),
				Extensions: map[string]any{"code": "variableMismatch", "variableName": a.Value.Raw, "argumentName": name},
			})
		}
	}
	if len(missing) > 0 {
		o.errs = append(o.errs, gqlError{
			Message:   fmt.Sprintf("Field '%s' is missing required arguments: %s", f.Name, strings.Join(missing, ", ")),
			Locations: locOf(f.Position),
			Path:      clonePath(path, f.Alias),
			Extensions: map[string]any{"code": "missingRequiredArguments", "className": "Field", "name": f.Name,
				"arguments": strings.Join(missing, ", ")},
		})
	}
	o.args[f] = got
}

// checkDirectives accepts @idempotent(key: String!) on
// inventorySetQuantities from API 2026-01 (ref §4.4); any other directive
// is undefined in the fake.
func (o *operation) checkDirectives(typ string, f *ast.Field) {
	for _, d := range f.Directives {
		if d.Name != "idempotent" || !o.version.atLeast(v202601) {
			o.errs = append(o.errs, gqlError{
				Message:    fmt.Sprintf("Directive @%s is not defined", d.Name),
				Locations:  locOf(d.Position),
				Extensions: map[string]any{"code": "undefinedDirective", "directiveName": d.Name},
			})
			continue
		}
		if typ != mutationRoot || f.Name != "inventorySetQuantities" {
			o.errs = append(o.errs, gqlError{
				Message:    fmt.Sprintf("'@idempotent' can't be applied to %s (allowed: inventory and refund mutations)", f.Name),
				Locations:  locOf(d.Position),
				Extensions: map[string]any{"code": "directiveCannotBeApplied", "targetName": f.Name, "name": "idempotent"},
			})
			continue
		}
		a := d.Arguments.ForName("key")
		if a == nil {
			o.errs = append(o.errs, gqlError{
				Message:    "Directive 'idempotent' is missing required arguments: key",
				Locations:  locOf(d.Position),
				Extensions: map[string]any{"code": "missingRequiredArguments", "className": "Directive", "name": "idempotent", "arguments": "key"},
			})
			continue
		}
		v, present := o.resolve(a.Value)
		s, ok := v.(string)
		if present && v != nil && !ok {
			raw, _ := json.Marshal(v)
			o.errs = append(o.errs, gqlError{
				Message:    fmt.Sprintf("Argument 'key' on Directive 'idempotent' has an invalid value (%s). Expected type 'String!'.", raw),
				Locations:  locOf(a.Position),
				Extensions: map[string]any{"code": "argumentLiteralsIncompatible", "typeName": "Argument", "argumentName": "key"},
			})
			continue
		}
		o.keys[f] = idemKey{key: s, present: s != ""}
	}
}

// inputItems is the size of a mutation field's input array.
func (o *operation) inputItems(f *ast.Field) int {
	in, _ := o.args[f]["input"].(map[string]any)
	q, _ := in["quantities"].([]any)
	return len(q)
}

// rootCost is the cost of a root field itself.
func (o *operation) rootCost(f *ast.Field) float64 {
	if o.root == mutationRoot {
		return o.cost.Mutation + o.cost.PerInputItem*float64(o.inputItems(f))
	}
	return o.cost.Object
}

// requested is the requested cost: every selected object field and
// mutation as if it returned a value (one element per list).
func (o *operation) requested() float64 {
	var total float64
	for _, f := range o.fields {
		if def, ok := schema[o.root][f.Name]; ok && def.typ != "" {
			total += o.rootCost(f) + o.selectionCost(def.typ, f.SelectionSet)
		}
	}
	return total
}

func (o *operation) selectionCost(typ string, sel ast.SelectionSet) float64 {
	var total float64
	for _, f := range o.collect(sel) {
		if def, ok := schema[typ][f.Name]; ok && def.typ != "" {
			total += o.cost.Object + o.selectionCost(def.typ, f.SelectionSet)
		}
	}
	return total
}

// project renders src through the selection set of typ and returns the
// actual cost of what it rendered: a field that resolved to null costs
// nothing, nor does anything below it; a list costs as its most expensive
// element.
func (o *operation) project(typ string, sel ast.SelectionSet, src map[string]any) (*object, float64) {
	out := &object{}
	var total float64
	for _, f := range o.collect(sel) {
		if f.Name == "__typename" {
			out.set(f.Alias, typ)
			continue
		}
		def := schema[typ][f.Name]
		v, c := o.value(def, f, src[f.Name])
		out.set(f.Alias, v)
		total += c
	}
	return out, total
}

func (o *operation) value(def fieldDef, f *ast.Field, v any) (any, float64) {
	if fn, ok := v.(lazy); ok {
		v = fn(o.args[f])
	}
	if def.typ == "" {
		return v, 0
	}
	switch v := v.(type) {
	case map[string]any:
		obj, c := o.project(def.typ, f.SelectionSet, v)
		return obj, o.cost.Object + c
	case []map[string]any:
		list := make([]any, len(v))
		var most float64
		for i, e := range v {
			obj, c := o.project(def.typ, f.SelectionSet, e)
			list[i] = obj
			most = max(most, c)
		}
		return list, o.cost.Object + most
	}
	return nil, 0
}
