package event

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

//go:embed schemas/*.json
var schemaFS embed.FS

var (
	schemasOnce sync.Once
	schemas     map[Type]*jsonschema.Schema
	schemasErr  error
	// fast holds the fast-path rules of each type whose schema
	// deriveRules understands; a type without an entry always runs the
	// validator.
	fast map[Type]*fastRules
)

// SchemaFile returns the file name of t's JSON Schema under schemas/.
func SchemaFile(t Type) string { return "schemas/" + t.Short() + "." + version(t) + ".json" }

func version(t Type) string {
	s := string(t)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return s[i+1:]
		}
	}
	return ""
}

// Schema returns the raw JSON Schema document of t.
func Schema(t Type) ([]byte, error) {
	if _, err := ParseType(string(t)); err != nil {
		return nil, err
	}
	return schemaFS.ReadFile(SchemaFile(t))
}

func compileSchemas() {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	schemas = make(map[Type]*jsonschema.Schema, len(Types))
	fast = make(map[Type]*fastRules, len(Types))
	for _, t := range Types {
		raw, err := schemaFS.ReadFile(SchemaFile(t))
		if err != nil {
			schemasErr = fmt.Errorf("event: schema for %s: %w", t, err)
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			schemasErr = fmt.Errorf("event: schema for %s: %w", t, err)
			return
		}
		url := "mem:///" + SchemaFile(t)
		if err := c.AddResource(url, doc); err != nil {
			schemasErr = fmt.Errorf("event: schema for %s: %w", t, err)
			return
		}
		s, err := c.Compile(url)
		if err != nil {
			schemasErr = fmt.Errorf("event: schema for %s: %w", t, err)
			return
		}
		schemas[t] = s
		// The schema compiled, so it is well formed; read the fast-path
		// rules from the same document.
		if r, err := deriveRules(doc); err == nil {
			fast[t] = r
		}
	}
}

// fastFor returns t's fast-path rules, or nil when t has none (or the
// schemas did not compile, which validateDoc reports).
func fastFor(t Type) *fastRules {
	schemasOnce.Do(compileSchemas)
	if schemasErr != nil {
		return nil
	}
	return fast[t]
}

// schemaFor returns t's compiled schema.
func schemaFor(t Type) (*jsonschema.Schema, error) {
	schemasOnce.Do(compileSchemas)
	if schemasErr != nil {
		return nil, schemasErr
	}
	s, ok := schemas[t]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownType, t)
	}
	return s, nil
}

// ValidateData checks an event's JSON data against t's schema and the rules
// a schema cannot say (a transfer between two different locations).
func ValidateData(t Type, data []byte) error {
	if _, err := schemaFor(t); err != nil {
		return err
	}
	doc, err := decodeDoc(t, data)
	if err != nil {
		return err
	}
	if r := fastFor(t); r != nil && r.docOK(t, doc) {
		return nil
	}
	return validateDoc(t, doc)
}

// decodeDoc decodes JSON data the way the schema validator expects it:
// objects as map[string]any and numbers as json.Number.
func decodeDoc(t Type, data []byte) (any, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: data is not JSON: %v", ErrInvalid, t.Short(), err)
	}
	return doc, nil
}

// validateDoc checks a decoded document (from decodeDoc, or built by
// Movement.doc or Availability.doc) against t's schema and the rules a
// schema cannot say.
func validateDoc(t Type, doc any) error {
	s, err := schemaFor(t)
	if err != nil {
		return err
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, t.Short(), describe(err))
	}
	if t == StockTransferred {
		m, _ := doc.(map[string]any)
		if m["location"] == m["toLocation"] {
			return fmt.Errorf("%w: %s: at '/toLocation': must differ from location", ErrInvalid, t.Short())
		}
	}
	return nil
}

// describe renders a schema validation error on one line: each failed
// keyword with the JSON pointer of the value it failed at, sorted:
//
//	at '': missing property 'sku'; at '/quantity': minimum: got 0, want 1
func describe(err error) string {
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return err.Error()
	}
	var msgs []string
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			// The validator lists names in map order; sort them so the
			// message, kept in dead-letter records, is stable.
			switch k := e.ErrorKind.(type) {
			case *kind.AdditionalProperties:
				slices.Sort(k.Properties)
			case *kind.Required:
				slices.Sort(k.Missing)
			}
			msgs = append(msgs, e.Error())
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(verr)
	slices.Sort(msgs)
	return strings.Join(msgs, "; ")
}
